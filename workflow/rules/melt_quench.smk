rule melt_quench:
    input:
        "results/{comp}/structure/start.extxyz",
    output:
        frames="results/{comp}/melt_quench/frames.extxyz",
        quenched="results/{comp}/melt_quench/quenched.extxyz",
        trace="results/{comp}/melt_quench/trace.csv",
    params:
        structure=config["structure"],
        reference=config["reference"],
        protocol=config["melt_quench"],
    threads: 2
    resources:
        runtime=lambda wc, attempt: 240 * attempt,
        mem_mb=4000,
    log:
        "logs/{comp}/melt_quench.log",
    benchmark:
        "benchmarks/rules/{comp}/melt_quench.tsv"
    script:
        "../../scripts/melt_quench.py"


rule plot_melt_quench:
    input:
        "results/{comp}/melt_quench/trace.csv",
    output:
        report(
            "results/{comp}/melt_quench/trace.png",
            caption="../report/melt_quench.rst",
            category="Melt-quench",
        ),
    log:
        "logs/{comp}/plot_melt_quench.log",
    script:
        "../../scripts/plot_melt_quench.py"
