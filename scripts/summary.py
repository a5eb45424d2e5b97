from dpglass.rulelog import rule_log
from dpglass.steps import summary

with rule_log(snakemake.log[0]):
    summary(snakemake.params.composition, snakemake.params.formula, list(snakemake.input.diffusion),
            list(snakemake.input.tests), snakemake.params.window, snakemake.params.config,
            snakemake.output.summary, snakemake.output.markdown, snakemake.output.plot,
            list(snakemake.input.runs), learning_paths=list(snakemake.input.learning))
