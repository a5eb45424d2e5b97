from dpglass.steps.rulelog import rule_log
from dpglass.steps.workflow import start_cell

with rule_log(snakemake.log[0]):
    start_cell(formula_text=snakemake.params.formula, composition=snakemake.params.composition,
               structure=snakemake.params.structure, out_path=snakemake.output[0])
