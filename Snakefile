# dpglass: ionic conductivity and activation energies of glass electrolytes from DeePMD + LAMMPS.
# formula -> start cell -> melt-quench (reference calculator, labelled frames) -> DeePMD ensemble
# (train, freeze, compress, test) -> LAMMPS temperature sweep -> MSD, D, sigma, Arrhenius -> summary
from snakemake.utils import min_version

min_version("9.20")


configfile: "config/config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/structure.smk"
include: "workflow/rules/melt_quench.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/learning.smk"
include: "workflow/rules/sweep.smk"
include: "workflow/rules/analysis.smk"


# Bookkeeping rules run where snakemake runs, never queued on a cluster.
localrules:
    all,
    compare_compositions,
    learning_convergence,
    learning_select,
    learning_report,


rule all:
    input:
        all_targets(),
