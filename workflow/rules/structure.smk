rule start_cell:
    output:
        "results/{comp}/structure/start.extxyz",
    params:
        formula=lambda wc: config["compositions"][wc.comp]["formula"],
        n_atoms=lambda wc: dpconfig.composition_setting(config, wc.comp, "n_atoms"),
        density=lambda wc: dpconfig.composition_setting(config, wc.comp, "density_g_cm3"),
        structure=config["structure"],
    log:
        "logs/{comp}/start_cell.log",
    script:
        "../../scripts/start_cell.py"
