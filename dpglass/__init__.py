"""dpglass: ionic conductivity of glass electrolytes from machine-learned-potential MD.

Layers, each importing only from itself and the layers below (tests/test_layering.py): steps (the
Snakemake rules' entry points, and the CLI) -> report (what a scientist reads: markdown, figures,
the summary, the cost plan) -> config -> learning -> lammps -> training -> reference -> analysis
-> core (units, io, composition, threads, progress, the paper's numbers).
"""

__version__ = "0.1.0"
