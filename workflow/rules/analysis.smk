rule diffusion:
    input:
        dump="results/{comp}/sweep{gs}/T{T}/r{rep}/dump.lammpstrj",
        run="results/{comp}/sweep{gs}/T{T}/r{rep}/run.json",
    output:
        result="results/{comp}/analysis{gs}/diffusion_T{T}_r{rep}.json",
        msd_png=report(
            "results/{comp}/analysis{gs}/msd_T{T}_r{rep}.png",
            caption="../report/msd.rst",
            category="Transport",
            subcategory="MSD",
        ),
    params:
        ion=ion_of,
        charge=ion_charge_of,
        type_map=type_map_of,
        hop_distance=config["analysis"]["hop_distance_A"],
    log:
        "logs/{comp}/diffusion{gs}_T{T}_r{rep}.log",
    script:
        "../../scripts/diffusion.py"


rule summary:
    input:
        diffusion=diffusion_results,
        runs=sweep_runs,
        tests=model_tests,
        learning=learning_summary_input,
        labels=label_reports,
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
        composition=composition_of,
        formula=formula_of,
        window=config["analysis"]["arrhenius_window_K"],
        config=dpconfig.canonical(config),
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
        formula=formula_of,
        pairs=rdf_pairs_of,
        r_max=config["analysis"]["rdf_r_max_A"],
    log:
        "logs/{comp}/rdf.log",
    script:
        "../../scripts/rdf.py"
