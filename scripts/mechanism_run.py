from dpglass.config import glass_index
from dpglass.steps.rulelog import rule_log
from dpglass.steps.workflow import mechanism_run

with rule_log(snakemake.log[0]):
    mechanism_run(dump_path=snakemake.input.dump, run_json=snakemake.input.run,
                  ion=snakemake.params.ion, type_map=snakemake.params.type_map,
                  temperature_K=float(snakemake.wildcards.T),
                  hop_events=snakemake.params.hop_events, result_path=snakemake.output.result,
                  glass=glass_index(snakemake.wildcards.get("gs", "")))
