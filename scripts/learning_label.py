from dpglass.steps.learning import label
from dpglass.steps.rulelog import rule_log

with rule_log(snakemake.log[0]):
    label(selected_frames=snakemake.input.frames, selection_json=snakemake.input.selection,
          reference=snakemake.params.reference, type_map=snakemake.params.type_map,
          out_frames=snakemake.output.frames, out_report=snakemake.output.report,
          data_dir=snakemake.output.data, threads=snakemake.threads,
          models=list(snakemake.input.models))
