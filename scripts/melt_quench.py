from dpglass.rulelog import rule_log
from dpglass.steps import melt_quench

with rule_log(snakemake.log[0]):
    melt_quench(snakemake.input[0], snakemake.params.structure, snakemake.params.reference,
                snakemake.params.protocol, snakemake.params.formula, snakemake.output.sampled,
                snakemake.output.quenched, snakemake.output.trace, snakemake.output.report,
                snakemake.threads,
                # not a param: relabel.* must not rerun the melt-quench; checked here all the same
                snakemake.config["reference"]["relabel"].get("calculator"))
