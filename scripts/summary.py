from dpglass.steps.rulelog import rule_log
from dpglass.steps.workflow import summary

with rule_log(snakemake.log[0]):
    summary(composition=snakemake.params.composition, formula=snakemake.params.formula,
            diffusion_paths=list(snakemake.input.diffusion), test_paths=list(snakemake.input.tests),
            window=snakemake.params.window, config=snakemake.params.config,
            summary_path=snakemake.output.summary, markdown_path=snakemake.output.markdown,
            plot_path=snakemake.output.plot, run_paths=list(snakemake.input.runs),
            learning_paths=list(snakemake.input.learning),
            label_paths=list(snakemake.input.labels),
            mechanism_path=snakemake.input.mechanism, rdf_path=snakemake.input.rdf,
            scattering_path=snakemake.input.scattering)
