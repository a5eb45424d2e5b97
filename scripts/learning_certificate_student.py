from dpglass.learning.certificate import run_students
from dpglass.steps.rulelog import rule_log
from dpglass.core.threads import limit_torch_threads

with rule_log(snakemake.log[0]):
    limit_torch_threads(snakemake.threads)
    run_students(start_path=snakemake.input.start, model=snakemake.input.models[0],
                 protocol=snakemake.params.protocol, runs=len(snakemake.output),
                 seed=snakemake.params.seed, out_paths=list(snakemake.output))
