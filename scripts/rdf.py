from dpglass.rulelog import rule_log
from dpglass.steps import rdf

with rule_log(snakemake.log[0]):
    rdf(snakemake.input.dump, snakemake.input.run, snakemake.params.type_map,
        snakemake.params.pairs, snakemake.params.r_max, snakemake.output.result,
        snakemake.output.plot, snakemake.params.formula)
