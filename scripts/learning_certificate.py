from dpglass.learning.certificate import certify
from dpglass.report.certificate import write_markdown
from dpglass.steps.rulelog import rule_log

with rule_log(snakemake.log[0]):
    certify(teacher_paths=list(snakemake.input.teacher),
            student_paths=list(snakemake.input.student), models=list(snakemake.input.models),
            ion=snakemake.params.ion, rdf_pairs=list(snakemake.params.rdf_pairs),
            rdf_r_max_A=snakemake.params.rdf_r_max, trust_low_eV_per_A=snakemake.params.trust[0],
            confidence=snakemake.params.confidence, out_json=snakemake.output.json,
            reference_label="glass 0's quenched glass")
    write_markdown(snakemake.output.json, snakemake.output.markdown)
