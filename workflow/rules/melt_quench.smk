rule melt_quench:
    """Density protocol, melt, quench, hold and sampling runs with reference.calculator."""
    input:
        "results/{comp}/structure{gs}/start.extxyz",
    output:
        sampled="results/{comp}/melt_quench{gs}/sampled.extxyz",
        quenched="results/{comp}/melt_quench{gs}/quenched.extxyz",
        trace="results/{comp}/melt_quench{gs}/trace.csv",
        report="results/{comp}/melt_quench{gs}/melt_quench.json",
    params:
        formula=formula_of,
        # only what the trajectory depends on (reference.relabel.* is label_frames' business)
        structure=dpconfig.melt_quench_settings(config)[0],
        reference=dpconfig.melt_quench_settings(config)[1],
        protocol=melt_quench_protocol,
    threads: 2
    resources:
        runtime=runtime_per_attempt(240),
        mem_mb=4000,
    log:
        "logs/{comp}/melt_quench{gs}.log",
    benchmark:
        "benchmarks/rules/{comp}/melt_quench{gs}.tsv"
    script:
        "../../scripts/melt_quench.py"


rule label_frames:
    """The training set: sampled frames relabelled with reference.relabel (or their own labels,
    checked); failed single points dropped and counted in labelling.json."""
    input:
        "results/{comp}/melt_quench{gs}/sampled.extxyz",
    output:
        frames="results/{comp}/melt_quench{gs}/frames.extxyz",
        report="results/{comp}/melt_quench{gs}/labelling.json",
    params:
        reference=dpconfig.canonical(config["reference"]),
    threads: 2
    resources:
        runtime=runtime_per_attempt(240),
        mem_mb=4000,
    log:
        "logs/{comp}/label_frames{gs}.log",
    benchmark:
        "benchmarks/rules/{comp}/label_frames{gs}.tsv"
    script:
        "../../scripts/label_frames.py"


rule plot_melt_quench:
    input:
        trace="results/{comp}/melt_quench{gs}/trace.csv",
        report="results/{comp}/melt_quench{gs}/melt_quench.json",
    output:
        report(
            "results/{comp}/melt_quench{gs}/trace.png",
            caption="../report/melt_quench.rst",
            category="Melt-quench",
        ),
    log:
        "logs/{comp}/plot_melt_quench{gs}.log",
    script:
        "../../scripts/plot_melt_quench.py"
