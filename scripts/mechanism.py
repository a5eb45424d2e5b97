from dpglass.steps.rulelog import rule_log
from dpglass.steps.workflow import mechanism

with rule_log(snakemake.log[0]):
    mechanism(run_paths=list(snakemake.input.runs), diffusion_paths=list(snakemake.input.diffusion),
              prior_D=snakemake.params.prior_D, hop_distance_A=snakemake.params.hop_distance,
              formula=snakemake.params.formula, result_path=snakemake.output.result,
              msd_png=snakemake.output.msd, hops_png=snakemake.output.hops,
              density_png=snakemake.output.density)
