from dpglass.steps.rulelog import rule_log
from dpglass.steps.workflow import compare_compositions

with rule_log(snakemake.log[0]):
    compare_compositions(summary_paths=list(snakemake.input), json_path=snakemake.output.table,
                         markdown_path=snakemake.output.markdown, png_path=snakemake.output.plot)
