from dpglass.rulelog import rule_log
from dpglass.steps import label_frames

with rule_log(snakemake.log[0]):
    label_frames(snakemake.input[0], snakemake.params.reference, snakemake.output.frames,
                 snakemake.output.report, snakemake.threads)
