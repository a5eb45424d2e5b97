from dpglass.learning.certificate import run_teacher
from dpglass.steps.rulelog import rule_log

with rule_log(snakemake.log[0]):
    run_teacher(start_path=snakemake.input.start, reference=snakemake.params.reference,
                protocol=snakemake.params.protocol, run=int(snakemake.wildcards.n),
                seed=snakemake.params.seed, threads=snakemake.threads, out_path=snakemake.output[0])
