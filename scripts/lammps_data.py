from dpglass.rulelog import rule_log
from dpglass.steps import lammps_data

with rule_log(snakemake.log[0]):
    lammps_data(snakemake.input[0], snakemake.params.type_map, snakemake.output[0])
