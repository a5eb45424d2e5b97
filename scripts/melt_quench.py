from dpglass.rulelog import rule_log
from dpglass.steps import melt_quench

with rule_log(snakemake.log[0]):
    melt_quench(snakemake.input[0], snakemake.params.structure, snakemake.params.reference,
                snakemake.params.protocol, snakemake.output.frames, snakemake.output.quenched,
                snakemake.output.trace, snakemake.threads)
