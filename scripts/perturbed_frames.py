from dpglass.steps.rulelog import rule_log
from dpglass.steps.workflow import perturbed_frames

with rule_log(snakemake.log[0]):
    perturbed_frames(frames_path=snakemake.input.frames, split_path=snakemake.input.split,
                     settings=snakemake.params.settings, reference=snakemake.params.reference,
                     type_map=snakemake.params.type_map,
                     name=f"{snakemake.wildcards.comp}{snakemake.wildcards.gs}",
                     out_frames=snakemake.output.frames, out_report=snakemake.output.report,
                     data_dir=snakemake.output.data, threads=snakemake.threads)
