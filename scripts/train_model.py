from dpglass.rulelog import rule_log
from dpglass.steps import train_model

with rule_log(snakemake.log[0]) as log:
    train_model(training_dirs=list(snakemake.input.training),
                validation_dirs=list(snakemake.input.validation),
                stats_json=snakemake.input.neighbor_stat, type_map=snakemake.params.type_map,
                train_cfg=snakemake.params.train, index=int(snakemake.wildcards.i),
                backend=snakemake.params.backend, device=snakemake.params.device,
                threads=snakemake.threads, input_json=snakemake.output.input_json,
                lcurve=snakemake.output.lcurve, frozen=snakemake.output.frozen,
                lcurve_png=snakemake.output.lcurve_png, log=log)
