from dpglass.steps.rulelog import rule_log
from dpglass.steps.workflow import test_model

with rule_log(snakemake.log[0]) as log:
    test_model(model=snakemake.input.model, validation_dir=snakemake.input.validation,
               lcurve=snakemake.input.lcurve, backend=snakemake.params.backend,
               threads=snakemake.threads, max_energy_rmse=snakemake.params.max_energy_rmse,
               max_force_rmse=snakemake.params.max_force_rmse, result_path=snakemake.output.result,
               parity_energy_png=snakemake.output.parity_energy,
               parity_force_png=snakemake.output.parity_force, log=log)
