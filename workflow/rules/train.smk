# DeePMD-kit: labelled frames -> deepmd/npy (time-block split) -> neighbour statistics (sel) ->
# ensemble of n_models trained with different seeds (per composition, or one shared ensemble under
# results/shared/) -> freeze -> compress (checked against the frozen model) -> dp test + quality gate.


rule training_data:
    input:
        "results/{comp}/melt_quench{gs}/frames.extxyz",
    output:
        training=directory("results/{comp}/train/data{gs}/training"),
        validation=directory("results/{comp}/train/data{gs}/validation"),
        split="results/{comp}/train/data{gs}/split.json",
    params:
        type_map=model_type_map_of,
        train=dpconfig.train_settings(config, "training_data"),
    log:
        "logs/{comp}/training_data{gs}.log",
    script:
        "../../scripts/training_data.py"


# Reference single points (as the loop's labelling, resumable) on perturbed copies of the
# training frames; its own rule so that changing train.perturbed_frames never relabels the
# melt-quench frames, and it needs the split so that no validation frame is perturbed.
rule perturbed_frames:
    input:
        frames="results/{comp}/melt_quench{gs}/frames.extxyz",
        split="results/{comp}/train/data{gs}/split.json",
    output:
        data=directory("results/{comp}/train/data{gs}/perturbed"),
        frames="results/{comp}/train/data{gs}/perturbed.extxyz",
        report="results/{comp}/train/data{gs}/perturbed.json",
    params:
        settings=dpconfig.canonical(config["train"]["perturbed_frames"]),
        reference=dpconfig.canonical(learning_settings.label_reference_settings(config)),
        type_map=model_type_map_of,
    threads: 2
    resources:
        runtime=runtime_per_attempt(240),
        mem_mb=4000,
    log:
        "logs/{comp}/perturbed_frames{gs}.log",
    benchmark:
        "benchmarks/rules/{comp}/perturbed_frames{gs}.tsv"
    script:
        "../../scripts/perturbed_frames.py"


rule neighbor_stat:
    input:
        training=scope_data("training"),
        validation=scope_data("validation"),
    output:
        "results/{scope}/train/neighbor_stat.json",
    params:
        type_map=model_type_map_of,
        train=dpconfig.train_settings(config, "neighbor_stat"),
        backend=BACKEND,
    threads: TRAINING_THREADS
    log:
        "logs/{scope}/neighbor_stat.log",
    script:
        "../../scripts/neighbor_stat.py"


# Checkpoints and lcurve.out live in model_{i}/work/, which is not an output: Snakemake deletes
# the outputs of a failed or killed job, and the rerun (--rerun-incomplete) resumes from there.
# learning_train (learning.smk) is this rule for a retraining: same threads, resources, script.
rule train_model:
    input:
        training=scope_data("training"),
        validation=scope_data("validation"),
        neighbor_stat="results/{scope}/train/neighbor_stat.json",
    output:
        input_json="results/{scope}/train/model_{i}/input.json",
        lcurve="results/{scope}/train/model_{i}/lcurve.out",
        frozen=f"results/{{scope}}/train/model_{{i}}/frozen.{MODEL_EXT}",
        lcurve_png=report(
            "results/{scope}/train/model_{i}/lcurve.png",
            caption="../report/lcurve.rst",
            category="Training",
        ),
    params:
        type_map=model_type_map_of,
        train=dpconfig.train_settings(config, "train_model"),
        backend=BACKEND,
        device=config["execution"]["device"],
    threads: TRAINING_THREADS
    resources:
        runtime=runtime_per_attempt(720),
        mem_mb=8000,
        **gpu_resources(),
    log:
        "logs/{scope}/train_model_{i}.log",
    benchmark:
        "benchmarks/rules/{scope}/train_model_{i}.tsv"
    script:
        "../../scripts/train_model.py"


# learning_compress (learning.smk) is this rule for a retrained member.
rule compress_model:
    input:
        frozen=f"results/{{scope}}/train/model_{{i}}/frozen.{MODEL_EXT}",
        input_json="results/{scope}/train/model_{i}/input.json",
        validation=scope_data("validation"),
    output:
        compressed=f"results/{{scope}}/train/model_{{i}}/compressed.{MODEL_EXT}",
        check="results/{scope}/train/model_{i}/compress_check.json",
    params:
        backend=BACKEND,
        tolerance=config["train"]["compress_tolerance_meV_per_A"],
    threads: TRAINING_THREADS
    resources:
        runtime=60,
        mem_mb=8000,
    log:
        "logs/{scope}/compress_model_{i}.log",
    benchmark:
        "benchmarks/rules/{scope}/compress_model_{i}.tsv"
    script:
        "../../scripts/compress_model.py"


rule test_model:
    input:
        model=tested_model,
        validation="results/{comp}/train/data/validation",
        lcurve=tested_model_lcurve,
    output:
        result="results/{comp}/train/model_{i}/test.json",
        parity_energy=report(
            "results/{comp}/train/model_{i}/parity_energy.png",
            caption="../report/parity.rst",
            category="Training",
        ),
        parity_force=report(
            "results/{comp}/train/model_{i}/parity_force.png",
            caption="../report/parity.rst",
            category="Training",
        ),
    params:
        backend=BACKEND,
        max_energy_rmse=config["train"]["max_energy_rmse_meV_per_atom"],
        max_force_rmse=config["train"]["max_force_rmse_meV_per_A"],
    threads: TRAINING_THREADS
    log:
        "logs/{comp}/test_model_{i}.log",
    script:
        "../../scripts/test_model.py"
