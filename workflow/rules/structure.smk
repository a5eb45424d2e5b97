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
