from dpglass.steps.learning import explore
from dpglass.steps.rulelog import rule_log

with rule_log(snakemake.log[0]):
    explore(frames_path=snakemake.input.frames, split_path=snakemake.input.split,
            models=list(snakemake.input.models),
            type_map=snakemake.params.type_map, sweep=snakemake.params.sweep,
            learning=snakemake.params.learning, trust=snakemake.params.trust,
            iteration=int(snakemake.wildcards.k), temperature_K=float(snakemake.wildcards.T),
            start=snakemake.params.start,
            previous_convergence=(list(snakemake.input.previous) or [None])[0],
            run_json=snakemake.output.run, dump=snakemake.output.dump, threads=snakemake.threads,
            ion=snakemake.params.ion, hop_distance_A=snakemake.params.hop_distance)
