from dpglass.rulelog import rule_log
from dpglass.steps import start_cell

with rule_log(snakemake.log[0]):
    start_cell(snakemake.params.formula, snakemake.params.composition, snakemake.params.structure,
               snakemake.output[0])
