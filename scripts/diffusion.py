from dpglass.config import glass_index
from dpglass.rulelog import rule_log
from dpglass.steps import diffusion

with rule_log(snakemake.log[0]):
    diffusion(snakemake.input.dump, snakemake.input.run, snakemake.params.ion,
              snakemake.params.type_map, float(snakemake.wildcards.T), snakemake.output.result,
              snakemake.output.msd_png, snakemake.params.cage_distance, snakemake.params.charge,
              glass=glass_index(snakemake.wildcards.get("gs", "")))
