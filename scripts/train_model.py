from dpglass.rulelog import rule_log
from dpglass.steps import train_model

with rule_log(snakemake.log[0]) as log:
    train_model(list(snakemake.input.training), list(snakemake.input.validation),
                snakemake.input.neighbor_stat, snakemake.params.type_map, snakemake.params.train,
                int(snakemake.wildcards.i), snakemake.params.backend, snakemake.params.device,
                snakemake.threads, snakemake.output.input_json, snakemake.output.lcurve,
                snakemake.output.frozen, snakemake.output.lcurve_png, log)
