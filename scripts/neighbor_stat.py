from dpglass.steps.rulelog import rule_log
from dpglass.steps.workflow import neighbor_stat

with rule_log(snakemake.log[0]) as log:
    neighbor_stat(data_dirs=list(snakemake.input.training) + list(snakemake.input.validation),
                  type_map=snakemake.params.type_map, train_cfg=snakemake.params.train,
                  backend=snakemake.params.backend, threads=snakemake.threads,
                  out_json=snakemake.output[0], log=log)
