rule diffusion:
    input:
        dump=SWEEP_RUN + "dump.lammpstrj",
        run=SWEEP_RUN + "run.json",
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


rule mechanism_run:
    input:
        dump=SWEEP_RUN + "dump.lammpstrj",
        run=SWEEP_RUN + "run.json",
    output:
        result="results/{comp}/analysis{gs}/mechanism_T{T}_r{rep}.json",
    params:
        ion=ion_of,
        type_map=type_map_of,
        hop_events=config["analysis"]["hop_events"],
    log:
        "logs/{comp}/mechanism{gs}_T{T}_r{rep}.log",
    benchmark:
        "benchmarks/rules/{comp}/mechanism{gs}_T{T}_r{rep}.tsv"
    script:
        "../../scripts/mechanism_run.py"


rule mechanism:
    input:
        runs=mechanism_runs,
        diffusion=diffusion_results,
    output:
        result="results/{comp}/analysis/mechanism.json",
        msd=report(
            "results/{comp}/analysis/species_msd.png",
            caption="../report/species_msd.rst",
            category="Mechanism",
            subcategory="MSD of every species",
        ),
        hops=report(
            "results/{comp}/analysis/hops.png",
            caption="../report/hops.rst",
            category="Mechanism",
            subcategory="Hops",
        ),
        density=report(
            "results/{comp}/analysis/ion_density.png",
            caption="../report/ion_density.rst",
            category="Mechanism",
            subcategory="Where the ion has been",
        ),
    params:
        prior_D=prior_D_of,
        hop_distance=config["analysis"]["hop_distance_A"],
        formula=formula_of,
    log:
        "logs/{comp}/mechanism.log",
    script:
        "../../scripts/mechanism.py"


rule summary:
    input:
        diffusion=diffusion_results,
        runs=sweep_runs,
        tests=model_tests,
        learning=learning_summary_input,
        labels=label_reports,
        mechanism="results/{comp}/analysis/mechanism.json",
        rdf="results/{comp}/analysis/rdf.json",
        scattering="results/{comp}/analysis/total_scattering.json",
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
        network=report(
            "results/{comp}/analysis/network.png",
            caption="../report/network.rst",
            category="Mechanism",
            subcategory="Al–O–Al network",
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


rule total_scattering:
    input:
        dump=f"results/{{comp}}/sweep/T{rdf_temperature()}/r0/dump.lammpstrj",
        run=f"results/{{comp}}/sweep/T{rdf_temperature()}/r0/run.json",
        measured=measured_gr_of,
    output:
        result="results/{comp}/analysis/total_scattering.json",
        gr="results/{comp}/analysis/total_scattering.gr",
        plot=report(
            "results/{comp}/analysis/total_scattering.png",
            caption="../report/total_scattering.rst",
            category="Mechanism",
            subcategory="Total scattering",
        ),
    params:
        type_map=type_map_of,
        radiation=config["analysis"]["total_scattering"]["radiation"],
        q_max=config["analysis"]["total_scattering"]["q_max_per_A"],
    log:
        "logs/{comp}/total_scattering.log",
    benchmark:
        "benchmarks/rules/{comp}/total_scattering.tsv"
    script:
        "../../scripts/total_scattering.py"
