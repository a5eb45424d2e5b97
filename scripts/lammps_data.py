from dpglass.steps.rulelog import rule_log
from dpglass.steps.workflow import lammps_data

with rule_log(snakemake.log[0]):
    lammps_data(quenched_path=snakemake.input[0], type_map=snakemake.params.type_map,
                out_path=snakemake.output[0])
