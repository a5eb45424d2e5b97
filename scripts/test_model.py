from dpglass.rulelog import rule_log
from dpglass.steps import test_model

with rule_log(snakemake.log[0]) as log:
    test_model(snakemake.input.model, snakemake.input.validation, snakemake.input.lcurve,
               snakemake.params.backend, snakemake.threads, snakemake.output.result,
               snakemake.output.lcurve_png, log)
