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
    output:
        summary="results/{comp}/summary.json",
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
