from dpglass.steps.rulelog import rule_log
from dpglass.steps.workflow import total_scattering

with rule_log(snakemake.log[0]):
    total_scattering(dump_path=snakemake.input.dump, run_json=snakemake.input.run,
                     type_map=snakemake.params.type_map, radiation=snakemake.params.radiation,
                     q_max_per_A=snakemake.params.q_max,
                     measured_gr=snakemake.input.measured[0] if snakemake.input.measured else None,
                     result_path=snakemake.output.result, png_path=snakemake.output.plot,
                     gr_path=snakemake.output.gr)
