rule training_data:
    input:
        "results/{comp}/melt_quench/frames.extxyz",
    output:
        training=directory("results/{comp}/train/data/training"),
        validation=directory("results/{comp}/train/data/validation"),
        split="results/{comp}/train/data/split.json",
    params:
        type_map=type_map_of,
        validation_fraction=config["train"]["validation_fraction"],
    log:
        "logs/{comp}/training_data.log",
    script:
        "../../scripts/training_data.py"


rule train_model:
    input:
        training="results/{comp}/train/data/training",
        validation="results/{comp}/train/data/validation",
    output:
        input_json="results/{comp}/train/model_{i}/input.json",
        lcurve="results/{comp}/train/model_{i}/lcurve.out",
        frozen=f"results/{{comp}}/train/model_{{i}}/frozen.{MODEL_EXT}",
    params:
        type_map=type_map_of,
        train=config["train"],
        backend=BACKEND,
    threads: 2
    resources:
        runtime=lambda wc, attempt: 720 * attempt,
        mem_mb=8000,
        **gpu_resources(),
    log:
        "logs/{comp}/train_model_{i}.log",
    benchmark:
        "benchmarks/rules/{comp}/train_model_{i}.tsv"
    script:
        "../../scripts/train_model.py"


rule compress_model:
    input:
        frozen=f"results/{{comp}}/train/model_{{i}}/frozen.{MODEL_EXT}",
        input_json="results/{comp}/train/model_{i}/input.json",
    output:
        compressed=f"results/{{comp}}/train/model_{{i}}/compressed.{MODEL_EXT}",
    params:
        backend=BACKEND,
    threads: 2
    resources:
        runtime=60,
        mem_mb=8000,
    log:
        "logs/{comp}/compress_model_{i}.log",
    benchmark:
        "benchmarks/rules/{comp}/compress_model_{i}.tsv"
    script:
        "../../scripts/compress_model.py"


rule test_model:
    input:
        model=lambda wc: deployed_model(wc.comp, wc.i),
        validation="results/{comp}/train/data/validation",
        lcurve="results/{comp}/train/model_{i}/lcurve.out",
    output:
        result="results/{comp}/train/model_{i}/test.json",
        lcurve_png=report(
            "results/{comp}/train/model_{i}/lcurve.png",
            caption="../report/lcurve.rst",
            category="Training",
        ),
    params:
        backend=BACKEND,
    threads: 2
    log:
        "logs/{comp}/test_model_{i}.log",
    script:
        "../../scripts/test_model.py"
