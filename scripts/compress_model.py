from dpglass.steps.rulelog import rule_log
from dpglass.steps.workflow import compress_model

with rule_log(snakemake.log[0]) as log:
    compress_model(frozen=snakemake.input.frozen, validation_dirs=list(snakemake.input.validation),
                   backend=snakemake.params.backend, threads=snakemake.threads,
                   tolerance_meV_per_A=snakemake.params.tolerance,
                   compressed=snakemake.output.compressed, check_json=snakemake.output.check, log=log,
                   input_json=snakemake.input.input_json)
