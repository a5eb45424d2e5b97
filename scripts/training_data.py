from dpglass.steps.rulelog import rule_log
from dpglass.steps.workflow import training_data

with rule_log(snakemake.log[0]):
    training_data(frames_path=snakemake.input[0], type_map=snakemake.params.type_map,
                  train_cfg=snakemake.params.train, split_path=snakemake.output.split)
