from dpglass.learning.steps import retrain
from dpglass.rulelog import rule_log

with rule_log(snakemake.log[0]) as log:
    retrain(training_dirs=list(snakemake.input.training),
            validation_dirs=list(snakemake.input.validation),
            earlier_data=list(snakemake.input.earlier_data),
            new_data=list(snakemake.input.new_data),
            stats_json=snakemake.input.neighbor_stat, previous_frozen=snakemake.input.previous,
            selections=list(snakemake.input.selections), type_map=snakemake.params.type_map,
            train_cfg=snakemake.params.train, learning=snakemake.params.learning,
            index=int(snakemake.wildcards.i), iteration=int(snakemake.wildcards.k),
            backend=snakemake.params.backend, device=snakemake.params.device,
            threads=snakemake.threads, input_json=snakemake.output.input_json,
            lcurve=snakemake.output.lcurve, frozen=snakemake.output.frozen,
            test_json=snakemake.output.validation, log=log)
