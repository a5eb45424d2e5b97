# dpglass: ionic conductivity and activation energies of glass electrolytes from DeePMD + LAMMPS.
# formula -> start cell -> melt-quench (reference calculator, labelled frames) -> DeePMD ensemble
# (train, freeze, compress, test) -> LAMMPS temperature sweep -> MSD, D, sigma, Arrhenius -> summary
from snakemake.utils import min_version

min_version("9.20")


# No `configfile:` here: Snakemake would deep-merge a --configfile over it. The config is the
# --configfile given on the command line (over the schema's defaults only), else config/config.yaml;
# --config key=value layers on top of either (workflow/rules/common.smk).


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/structure.smk"
include: "workflow/rules/melt_quench.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/learning.smk"
include: "workflow/rules/sweep.smk"
include: "workflow/rules/analysis.smk"


# Bookkeeping and seconds-long rules run where snakemake runs, never queued on a cluster: a
# format conversion, a plot, the fits of the summary (start_cell stays a job: a crystal start
# cell of paper size takes longer, and it is the SLURM test's cheap job).
localrules:
    all,
    plot_melt_quench,
    training_data,
    lammps_data,
    summary,
    mechanism,
    compare_compositions,
    learning_convergence,
    learning_select,
    learning_report,


rule all:
    input:
        all_targets(),
