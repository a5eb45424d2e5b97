from dpglass.steps.rulelog import rule_log
from dpglass.steps.workflow import melt_quench

with rule_log(snakemake.log[0]):
    melt_quench(start_path=snakemake.input[0], structure=snakemake.params.structure,
                reference=snakemake.params.reference, protocol=snakemake.params.protocol,
                formula=snakemake.params.formula, frames_path=snakemake.output.sampled,
                quenched_path=snakemake.output.quenched, trace_path=snakemake.output.trace,
                report_path=snakemake.output.report, threads=snakemake.threads,
                # not a param: relabel.* must not rerun the melt-quench; checked here all the same
                relabel=snakemake.config["reference"]["relabel"])
