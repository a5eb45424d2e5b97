from dpglass.steps.rulelog import rule_log
from dpglass.steps.workflow import label_frames

with rule_log(snakemake.log[0]):
    label_frames(sampled_path=snakemake.input[0], reference=snakemake.params.reference,
                 frames_path=snakemake.output.frames, report_path=snakemake.output.report,
                 threads=snakemake.threads)
