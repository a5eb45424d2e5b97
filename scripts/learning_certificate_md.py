from dpglass.learning.certificate import run_student_md
from dpglass.rulelog import rule_log

with rule_log(snakemake.log[0]):
    run_student_md(sampled_path=snakemake.input.sampled, models=list(snakemake.input.models),
                   type_map=snakemake.params.type_map, melt_quench=snakemake.params.melt_quench,
                   sweep=snakemake.params.sweep, threads=snakemake.threads,
                   run_json=snakemake.output.run, dump=snakemake.output.dump)
