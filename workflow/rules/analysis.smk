rule diffusion:
    input:
        dump="results/{comp}/sweep/T{T}/r{rep}/dump.lammpstrj",
        run="results/{comp}/sweep/T{T}/r{rep}/run.json",
    output:
        result="results/{comp}/analysis/diffusion_T{T}_r{rep}.json",
        msd_png=report(
            "results/{comp}/analysis/msd_T{T}_r{rep}.png",
            caption="../report/msd.rst",
            category="Transport",
            subcategory="MSD",
        ),
    params:
        ion=config["analysis"]["ion"],
        type_map=type_map_of,
        timestep_fs=config["sweep"]["timestep_fs"],
        cage_distance=config["analysis"]["cage_distance_A"],
    log:
        "logs/{comp}/diffusion_T{T}_r{rep}.log",
    script:
        "../../scripts/diffusion.py"


rule summary:
    input:
        diffusion=diffusion_results,
        runs=sweep_runs,
        tests=lambda wc: expand(
            "results/{comp}/train/model_{i}/test.json", comp=wc.comp, i=MODELS
        ),
        learning=learning_summary_input,
    output:
        summary="results/{comp}/summary.json",
        markdown=report(
            "results/{comp}/summary.md",
            caption="../report/summary.rst",
            category="Summary",
        ),
        plot=report(
            "results/{comp}/arrhenius.png",
            caption="../report/arrhenius.rst",
            category="Transport",
            subcategory="Arrhenius",
        ),
    params:
        composition=lambda wc: wc.comp,
        formula=lambda wc: config["compositions"][wc.comp]["formula"],
        window=config["analysis"]["arrhenius_window_K"],
        config=config,
    log:
        "logs/{comp}/summary.log",
    script:
        "../../scripts/summary.py"


rule compare_compositions:
    input:
        expand("results/{comp}/summary.json", comp=COMPOSITIONS),
    output:
        table="results/compositions.json",
        markdown="results/compositions.md",
        plot=report(
            "results/compositions.png",
            caption="../report/compositions.rst",
            category="Compositions",
        ),
    log:
        "logs/compare_compositions.log",
    script:
        "../../scripts/compare_compositions.py"


rule rdf:
    input:
        dump=f"results/{{comp}}/sweep/T{rdf_temperature()}/r0/dump.lammpstrj",
        run=f"results/{{comp}}/sweep/T{rdf_temperature()}/r0/run.json",
    output:
        result="results/{comp}/analysis/rdf.json",
        plot=report(
            "results/{comp}/analysis/rdf.png",
            caption="../report/rdf.rst",
            category="Structure",
        ),
    params:
        type_map=type_map_of,
        pairs=config["analysis"]["rdf_pairs"],
        r_max=config["analysis"]["rdf_r_max_A"],
    log:
        "logs/{comp}/rdf.log",
    script:
        "../../scripts/rdf.py"
