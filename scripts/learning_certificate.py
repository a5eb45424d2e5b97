from dpglass.learning.certificate import run_certificate
from dpglass.rulelog import rule_log

with rule_log(snakemake.log[0]):
    run_certificate(sampled_path=snakemake.input.sampled, labelled_path=snakemake.input.labelled,
                    student_run=snakemake.input.run, student_dump=snakemake.input.dump,
                    models=list(snakemake.input.models), type_map=snakemake.params.type_map,
                    melt_quench=snakemake.params.melt_quench, ion=snakemake.params.ion,
                    rdf_pairs=list(snakemake.params.rdf_pairs),
                    rdf_r_max_A=snakemake.params.rdf_r_max,
                    hop_distance_A=snakemake.params.hop_distance, backend=snakemake.params.backend,
                    threads=snakemake.threads, out_json=snakemake.output[0])
