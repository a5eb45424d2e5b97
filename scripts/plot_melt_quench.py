from dpglass.steps.rulelog import rule_log
from dpglass.steps.workflow import plot_melt_quench

with rule_log(snakemake.log[0]):
    plot_melt_quench(trace_path=snakemake.input.trace, report_path=snakemake.input.report,
                     png_path=snakemake.output[0], title=snakemake.wildcards.comp)
