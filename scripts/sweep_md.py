from dpglass.rulelog import rule_log
from dpglass.steps import sweep_md

with rule_log(snakemake.log[0]):
    preflight = snakemake.params.preflight
    temperature = 300.0 if preflight else float(snakemake.wildcards.T)
    sweep_md(snakemake.input.data, list(snakemake.input.models), snakemake.params.type_map,
             snakemake.params.sweep, temperature, snakemake.output[0], preflight,
             snakemake.threads)
