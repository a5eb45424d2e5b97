from dpglass.rulelog import rule_log
from dpglass.steps import sweep_md

with rule_log(snakemake.log[0]):
    outputs = list(snakemake.output)
    runs = [
        {"temperature_K": T, "replica": rep, "run_json": outputs[2 * i],
         "dump": outputs[2 * i + 1] if len(outputs) > 2 * i + 1 else None}
        for i, (T, rep) in enumerate(snakemake.params.runs)
    ]
    # GPU ids say which GPU a local job leases, not what it computes: config, not a param
    execution = dict(snakemake.params.execution, gpu_ids=snakemake.config["execution"]["gpu_ids"])
    sweep_md(snakemake.input.data, list(snakemake.input.models), snakemake.params.type_map,
             snakemake.params.sweep, execution, runs, snakemake.params.preflight,
             snakemake.threads, getattr(snakemake.resources, "tasks", 1),
             getattr(snakemake.resources, "mpi", None),
             stopping=getattr(snakemake.params, "stopping", None))
