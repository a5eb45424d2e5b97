from dpglass.steps.learning import retrain
from dpglass.steps.rulelog import rule_log
from dpglass.steps.workflow import train_model

# train_model, and learning_train (`use rule train_model as learning_train`): the input `previous`,
# the member of the iteration before, makes it a retraining
i, o, p, w = snakemake.input, snakemake.output, snakemake.params, snakemake.wildcards
member = dict(training_dirs=list(i.training), validation_dirs=list(i.validation),
              stats_json=i.neighbor_stat, type_map=p.type_map, train_cfg=p.train, index=int(w.i),
              backend=p.backend, device=p.device, threads=snakemake.threads,
              input_json=o.input_json, lcurve=o.lcurve, frozen=o.frozen)
with rule_log(snakemake.log[0]) as log:
    if "previous" in i.keys():
        retrain(**member, earlier_data=list(i.earlier_data), new_data=list(i.new_data),
                previous_frozen=i.previous, selections=list(i.selections),
                convergences=list(i.convergences), learning=p.learning,
                iteration=int(w.k), test_json=o.validation, log=log)
    else:
        train_model(**member, lcurve_png=o.lcurve_png, log=log)
