from dpglass.rulelog import rule_log
from dpglass.steps import compress_model

with rule_log(snakemake.log[0]) as log:
    compress_model(snakemake.input.frozen, snakemake.params.backend, snakemake.threads,
                   snakemake.output.compressed, log)
