from dpglass.rulelog import rule_log
from dpglass.steps import neighbor_stat

with rule_log(snakemake.log[0]) as log:
    neighbor_stat(list(snakemake.input.training) + list(snakemake.input.validation),
                  snakemake.params.type_map, snakemake.params.train, snakemake.params.backend,
                  snakemake.threads, snakemake.output[0], log)
