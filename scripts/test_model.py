from dpglass.rulelog import rule_log
from dpglass.steps import test_model

with rule_log(snakemake.log[0]) as log:
    test_model(snakemake.input.model, snakemake.input.validation, snakemake.input.lcurve,
               snakemake.params.backend, snakemake.threads, snakemake.params.max_energy_rmse,
               snakemake.params.max_force_rmse, snakemake.output.result,
               snakemake.output.parity_energy, snakemake.output.parity_force, log)
