from dpglass.steps.learning import select
from dpglass.steps.rulelog import rule_log

with rule_log(snakemake.log[0]):
    select(runs=list(zip(snakemake.input.runs, snakemake.input.dumps)),
           learning=snakemake.params.learning, trust=snakemake.params.trust,
           type_map=snakemake.params.type_map, iteration=int(snakemake.wildcards.k),
           verify_only=snakemake.params.verify_only, out_frames=snakemake.output.frames,
           out_json=snakemake.output.selection)
