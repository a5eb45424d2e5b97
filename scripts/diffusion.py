from dpglass.config import glass_index
from dpglass.steps.rulelog import rule_log
from dpglass.steps.workflow import diffusion

with rule_log(snakemake.log[0]):
    diffusion(dump_path=snakemake.input.dump, run_json=snakemake.input.run, ion=snakemake.params.ion,
              type_map=snakemake.params.type_map, temperature_K=float(snakemake.wildcards.T),
              result_path=snakemake.output.result, msd_png=snakemake.output.msd_png,
              hop_distance_A=snakemake.params.hop_distance, charge=snakemake.params.charge,
              glass=glass_index(snakemake.wildcards.get("gs", "")))
