from dpglass.report.loop import loop_report
from dpglass.steps.rulelog import rule_log

with rule_log(snakemake.log[0]):
    loop_report(convergence_paths=list(snakemake.input.convergence),
                selection_paths=list(snakemake.input.selection),
                labelling_paths=list(snakemake.input.labelling),
                validation_paths=list(snakemake.input.validation),
                n_models=snakemake.params.n_models,
                max_iterations=snakemake.params.max_iterations,
                out_json=snakemake.output.json, out_markdown=snakemake.output.markdown,
                out_png=snakemake.output.plot)
