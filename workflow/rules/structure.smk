def crystal_file_of(wildcards):
    """The crystal a 'crystal' start cell is built from (tracked as an input), else nothing."""
    if config["structure"]["source"] != "crystal":
        return []
    comp = config["compositions"][wildcards.comp]
    return comp.get("crystal_file", config["structure"].get("crystal_file"))


rule start_cell:
    input:
        crystal=crystal_file_of,
    output:
        "results/{comp}/structure{gs}/start.extxyz",
    params:
        formula=formula_of,
        composition=start_cell_composition,
        structure=start_cell_structure,
    log:
        "logs/{comp}/start_cell{gs}.log",
    script:
        "../../scripts/start_cell.py"
