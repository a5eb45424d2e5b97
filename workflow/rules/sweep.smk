rule lammps_data:
    input:
        "results/{comp}/melt_quench{gs}/quenched.extxyz",
    output:
        SWEEP_DATA,
    params:
        type_map=type_map_of,
    log:
        "logs/{comp}/lammps_data{gs}.log",
    script:
        "../../scripts/lammps_data.py"


rule sweep_preflight:
    """A few steps with the deployed ensemble, so a broken plugin, model or type_map fails in seconds."""
    input:
        data=SWEEP_DATA,
        models=ensemble_models,
    output:
        SWEEP_PREFLIGHT,
    params:
        type_map=type_map_of,
        sweep=dpconfig.sweep_settings(config),
        # 300 steps of the production system: on the CPU, so the check never waits for a GPU
        execution={"device": "cpu"},
        runs=[[300.0, 0]],
        preflight=True,
    log:
        "logs/{comp}/sweep_preflight{gs}.log",
    script:
        "../../scripts/sweep_md.py"


# One job per composition x temperature x replica; in.lammps, restart/ and chunks/ live beside
# run.json (undeclared, so a failed or killed job's restart state survives for the rerun).
rule sweep_md:
    input:
        data=SWEEP_DATA,
        models=ensemble_models,
        preflight=SWEEP_PREFLIGHT,
    output:
        run=SWEEP_RUN + "run.json",
        dump=SWEEP_RUN + "dump.lammpstrj",
    wildcard_constraints:
        # With GPU packing the sweep_md_pack rules below produce every run instead.
        T=r"(?!)" if SWEEP_PACKS else r"[0-9]+(\.[0-9]+)?",
    params:
        type_map=type_map_of,
        # what the trajectory depends on: not the temperature list, trust levels or GPU ids
        sweep=dpconfig.sweep_settings(config),
        execution={"device": config["execution"]["device"]},
        runs=single_run,
        preflight=False,
        # what an adaptive run's stopping rule analyses (sweep.target_relative_error)
        stopping=stopping_of,
    threads: sweep_threads
    resources:
        runtime=runtime_per_attempt(1440),
        mem_mb=4000,
        **sweep_mpi_resources(),
        **gpu_resources(),
    log:
        "logs/{comp}/sweep_md{gs}_T{T}_r{rep}.log",
    benchmark:
        "benchmarks/rules/{comp}/sweep_md{gs}_T{T}_r{rep}.tsv"
    script:
        "../../scripts/sweep_md.py"


# GPU profile with execution.runs_per_gpu_job > 1: one job (one GPU) per pack of runs, each run
# its own LAMMPS process on that GPU, so one rule per pack, generated here from the pack list.
# Not Snakemake `group:`s of sweep_md jobs: a group's resources are the sum of its members' (n runs
# would ask for n GPUs), groups are ignored in local execution, and the SLURM plugin runs a group's
# members one after the other in the job, while a pack's runs must share the GPU at the same time.
# Not one rule with a pack wildcard either: a pack's outputs are the runs' own paths
# (results/COMP/sweep/T<T>/r<rep>/...), which diffusion and summary ask for, and a wildcard
# cannot say which (T, rep) runs a pack holds.
for _index, _pack in enumerate(SWEEP_PACKS or []):

    rule:
        name:
            f"sweep_md_pack{_index}"
        input:
            data=SWEEP_DATA,
            models=ensemble_models,
            preflight=SWEEP_PREFLIGHT,
        output:
            [
                f"results/{{comp}}/sweep{{gs}}/T{T}/r{rep}/{name}"
                for T, rep in _pack
                for name in ("run.json", "dump.lammpstrj")
            ],
        params:
            type_map=type_map_of,
            sweep=dpconfig.sweep_settings(config),
            execution={"device": config["execution"]["device"]},
            runs=[[float(T), int(rep)] for T, rep in _pack],
            preflight=False,
            stopping=stopping_of,
        threads: sweep_threads
        resources:
            runtime=runtime_per_attempt(1440),
            mem_mb=4000 * len(_pack),
            **gpu_resources(),
        log:
            f"logs/{{comp}}/sweep_md{{gs}}_pack{_index}.log",
        benchmark:
            f"benchmarks/rules/{{comp}}/sweep_md{{gs}}_pack{_index}.tsv"
        script:
            "../../scripts/sweep_md.py"
