from dpglass.rulelog import rule_log
from dpglass.steps import compare_compositions

with rule_log(snakemake.log[0]):
    compare_compositions(list(snakemake.input), snakemake.output.table, snakemake.output.markdown,
                         snakemake.output.plot)
