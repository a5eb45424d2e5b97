from dpglass.config import glass_index
from dpglass.steps.rulelog import rule_log
from dpglass.steps.workflow import sweep_md

with rule_log(snakemake.log[0]):
    glass = glass_index(snakemake.wildcards.gs)
    # GPU ids say which GPU a local job leases, not what it computes: config, not a param
    execution = dict(snakemake.params.execution, gpu_ids=snakemake.config["execution"]["gpu_ids"])
    sweep_md(data_path=snakemake.input.data, models=list(snakemake.input.models),
             type_map=snakemake.params.type_map, sweep=snakemake.params.sweep, execution=execution,
             runs=snakemake.params.runs, outputs=list(snakemake.output),
             preflight=snakemake.params.preflight, threads=snakemake.threads,
             tasks=getattr(snakemake.resources, "tasks", 1),
             mpi=getattr(snakemake.resources, "mpi", None),
             stopping=getattr(snakemake.params, "stopping", None),
             label=f"{snakemake.wildcards.comp}, glass {glass}", glass=glass)
