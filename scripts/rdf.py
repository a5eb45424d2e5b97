from dpglass.steps.rulelog import rule_log
from dpglass.steps.workflow import rdf

with rule_log(snakemake.log[0]):
    rdf(dump_path=snakemake.input.dump, run_json=snakemake.input.run, type_map=snakemake.params.type_map,
        pair_names=snakemake.params.pairs, r_max_A=snakemake.params.r_max,
        result_path=snakemake.output.result, png_path=snakemake.output.plot,
        formula=snakemake.params.formula, network_png=snakemake.output.network)
