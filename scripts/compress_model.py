from dpglass.rulelog import rule_log
from dpglass.steps import compress_model

with rule_log(snakemake.log[0]) as log:
    compress_model(snakemake.input.frozen, list(snakemake.input.validation),
                   snakemake.params.backend, snakemake.threads, snakemake.params.tolerance,
                   snakemake.output.compressed, snakemake.output.check, log,
                   input_json=snakemake.input.input_json)
