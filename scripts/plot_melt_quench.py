from dpglass.rulelog import rule_log
from dpglass.steps import plot_melt_quench

with rule_log(snakemake.log[0]):
    plot_melt_quench(snakemake.input.trace, snakemake.input.report, snakemake.output[0],
                     snakemake.wildcards.comp)
