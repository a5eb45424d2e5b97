from dpglass.steps.learning import convergence
from dpglass.steps.rulelog import rule_log

with rule_log(snakemake.log[0]):
    convergence(run_jsons=list(snakemake.input.runs),
                previous_convergence=(list(snakemake.input.previous) or [None])[0],
                labelling_json=snakemake.input.labelling,
                learning=snakemake.params.learning, trust=snakemake.params.trust,
                iteration=int(snakemake.wildcards.k), out_json=snakemake.output[0])
