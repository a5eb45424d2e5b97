rule lammps_data:
    input:
        "results/{comp}/melt_quench/quenched.extxyz",
    output:
        "results/{comp}/sweep/data.lmp",
    params:
        type_map=type_map_of,
    log:
        "logs/{comp}/lammps_data.log",
    script:
        "../../scripts/lammps_data.py"


rule sweep_preflight:
    """A few steps with the deployed ensemble, so a broken plugin or model fails in seconds."""
    input:
        data="results/{comp}/sweep/data.lmp",
        models=ensemble_models,
    output:
        "results/{comp}/sweep/preflight/run.json",
    params:
        type_map=type_map_of,
        sweep=config["sweep"],
        preflight=True,
    log:
        "logs/{comp}/sweep_preflight.log",
    script:
        "../../scripts/sweep_md.py"


rule sweep_md:
    input:
        data="results/{comp}/sweep/data.lmp",
        models=ensemble_models,
        preflight="results/{comp}/sweep/preflight/run.json",
    output:
        run="results/{comp}/sweep/T{T}/run.json",
        dump="results/{comp}/sweep/T{T}/dump.lammpstrj",
    params:
        type_map=type_map_of,
        sweep=config["sweep"],
        preflight=False,
    threads: 1
    resources:
        runtime=lambda wc, attempt: 1440 * attempt,
        mem_mb=4000,
        **gpu_resources(),
    log:
        "logs/{comp}/sweep_md_T{T}.log",
    benchmark:
        "benchmarks/rules/{comp}/sweep_md_T{T}.tsv"
    script:
        "../../scripts/sweep_md.py"
