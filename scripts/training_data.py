from dpglass.rulelog import rule_log
from dpglass.steps import training_data

with rule_log(snakemake.log[0]):
    training_data(snakemake.input[0], snakemake.params.type_map, snakemake.params.train,
                  snakemake.output.split)
