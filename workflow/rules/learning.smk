# Concurrent learning (learning.max_iterations > 0): iteration k explores with the models of
# k-1 (0 = the first training), selects frames in [low, high) trust and spot checks (frames the
# deviation calls accurate), labels them with the reference, decides convergence from the
# deviation verified by the spot checks' true errors, and (not converged) retrains every member
# from its previous model; exploration max_iterations+1 checks the final models (spot checks
# only). Every iteration is an ordinary planned job (a dry run shows the whole chain); one after
# convergence copies the previous models in seconds. See dpglass.learning.
#
# Starts: each exploration starts from its own training frame of a glass's melt-quench hold
# (never a validation frame; spread over the hold, dpglass.learning.settings.exploration_start).
# Glasses (structure.glasses) go round-robin over temperatures and iterations, so an iteration
# with at least as many temperatures as glasses explores every glass at no extra cost, and the
# selection (spread over temperatures) is spread over glasses too.


rule learning_explore:
    input:
        unpack(exploration_frames),
        models=exploration_models,
        previous=previous_convergence,
    output:
        run="results/{comp}/learning/iter{k}/explore/T{T}/run.json",
        dump="results/{comp}/learning/iter{k}/explore/T{T}/dump.lammpstrj",
    params:
        type_map=type_map_of,
        start=exploration_start,
        # fixed-length NVT: the thermostat/seed keys of the sweep, not its length or adaptivity
        sweep=dpconfig.canonical(learning_settings.run_sweep_settings(config)),
        learning=learning_settings.rule_settings(config, "explore"),
        trust=learning_settings.trust_levels(config),
        ion=ion_of,
        hop_distance=config["analysis"]["hop_distance_A"],
    threads: 1
    resources:
        runtime=runtime_per_attempt(120),
        mem_mb=4000,
    log:
        "logs/{comp}/learning/explore_iter{k}_T{T}.log",
    benchmark:
        "benchmarks/rules/{comp}/learning/explore_iter{k}_T{T}.tsv"
    script:
        "../../scripts/learning_explore.py"


# The deviation's accurate fractions, verified by the spot checks labelled this iteration (the
# reference's true error on frames the deviation called accurate).
rule learning_convergence:
    input:
        runs=explore_runs("run.json"),
        previous=previous_convergence,
        labelling="results/{comp}/learning/iter{k}/labelling.json",
    output:
        "results/{comp}/learning/iter{k}/convergence.json",
    params:
        learning=learning_settings.rule_settings(config, "convergence"),
        trust=learning_settings.trust_levels(config),
    log:
        "logs/{comp}/learning/convergence_iter{k}.log",
    script:
        "../../scripts/learning_convergence.py"


# Candidates and spot checks of every exploration; the final check's exploration (iteration
# max_iterations + 1, the final models) only spot checks: they verify, nothing retrains on them.
rule learning_select:
    input:
        runs=explore_runs("run.json"),
        dumps=explore_runs("dump.lammpstrj"),
    output:
        frames="results/{comp}/learning/iter{k}/selected.extxyz",
        selection="results/{comp}/learning/iter{k}/selection.json",
    params:
        type_map=type_map_of,
        learning=learning_settings.rule_settings(config, "select"),
        trust=learning_settings.trust_levels(config),
        verify_only=is_final_check,
    log:
        "logs/{comp}/learning/select_iter{k}.log",
    script:
        "../../scripts/learning_select.py"


# Single points go to label_work/frame_NNNN.json one by one (not outputs): a killed job's
# finished frames survive and the rerun labels only the rest.
rule learning_label:
    input:
        frames="results/{comp}/learning/iter{k}/selected.extxyz",
        selection="results/{comp}/learning/iter{k}/selection.json",
        models=exploration_models,  # their true errors on the labelled frames
    output:
        frames="results/{comp}/learning/iter{k}/labelled.extxyz",
        report="results/{comp}/learning/iter{k}/labelling.json",
        data=directory("results/{comp}/learning/iter{k}/data"),
    params:
        reference=dpconfig.canonical(learning_settings.label_reference_settings(config)),
        type_map=model_type_map_of,
    threads: 2
    resources:
        runtime=runtime_per_attempt(240),
        mem_mb=4000,
    log:
        "logs/{comp}/learning/label_iter{k}.log",
    benchmark:
        "benchmarks/rules/{comp}/learning/label_iter{k}.tsv"
    script:
        "../../scripts/learning_label.py"


# train_model's rule for a retraining (threads, resources and script inherited): the input
# `previous`, the member of iteration k-1, makes scripts/train_model.py retrain it. As in
# train_model, checkpoints live in work/ (not an output), so a killed job resumes.
use rule train_model as learning_train with:
    input:
        training=scope_data("training"),
        validation=scope_data("validation"),
        earlier_data=scope_learning("data", "earlier"),
        new_data=scope_learning("data", "this"),
        selections=scope_learning("selection.json", "this"),
        convergences=scope_learning("convergence.json", "this"),
        neighbor_stat="results/{scope}/train/neighbor_stat.json",
        previous=previous_member,
    output:
        input_json="results/{scope}/learning/iter{k}/model_{i}/input.json",
        lcurve="results/{scope}/learning/iter{k}/model_{i}/lcurve.out",
        frozen=f"results/{{scope}}/learning/iter{{k}}/model_{{i}}/frozen.{MODEL_EXT}",
        validation="results/{scope}/learning/iter{k}/model_{i}/validation.json",
    params:
        # added to train_model's params (type_map, train, backend, device)
        learning=learning_settings.rule_settings(config, "retrain"),
    log:
        "logs/{scope}/learning/train_iter{k}_model_{i}.log",
    benchmark:
        "benchmarks/rules/{scope}/learning/train_iter{k}_model_{i}.tsv"


# compress_model's rule (threads, resources, params and script inherited) for a retrained member.
use rule compress_model as learning_compress with:
    input:
        frozen=f"results/{{scope}}/learning/iter{{k}}/model_{{i}}/frozen.{MODEL_EXT}",
        input_json="results/{scope}/learning/iter{k}/model_{i}/input.json",
        validation=scope_data("validation"),
    output:
        compressed=f"results/{{scope}}/learning/iter{{k}}/model_{{i}}/compressed.{MODEL_EXT}",
        check="results/{scope}/learning/iter{k}/model_{i}/compress_check.json",
    log:
        "logs/{scope}/learning/compress_iter{k}_model_{i}.log",
    benchmark:
        "benchmarks/rules/{scope}/learning/compress_iter{k}_model_{i}.tsv"


rule learning_report:
    input:
        convergence=loop_files("convergence.json", EXPLORATIONS),
        selection=loop_files("selection.json", EXPLORATIONS),
        labelling=loop_files("labelling.json", EXPLORATIONS),
        validation=loop_validation,
    output:
        json="results/{comp}/learning/loop.json",
        markdown="results/{comp}/learning/loop.md",
        plot=report(
            "results/{comp}/learning/loop.png",
            caption="../report/learning.rst",
            category="Training",
        ),
    params:
        n_models=len(MODELS),
        max_iterations=LEARN_ITERATIONS,
    log:
        "logs/{comp}/learning/report.log",
    script:
        "../../scripts/learning_report.py"


# The certificate (dpglass.learning.certificate): teacher runs with the training-label calculator
# (one job each, they need only the glass: they run beside the training), student runs with the
# final ensemble's first model, both from glass 0's quenched glass with the melt-quench's
# thermostat; then the comparison (so an analysis key such as the RDF range reruns no MD).
rule learning_certificate_teacher:
    input:
        start="results/{comp}/melt_quench/quenched.extxyz",
    output:
        "results/{comp}/learning/certificate/teacher/run{n}.extxyz",
    params:
        reference=dpconfig.canonical(learning_settings.label_reference_settings(config)),
        protocol=certificate_protocol,
        seed=config["learning"]["certificate"]["seed"],
    threads: 1
    resources:
        runtime=runtime_per_attempt(240),
        mem_mb=4000,
    log:
        "logs/{comp}/learning/certificate_teacher_{n}.log",
    benchmark:
        "benchmarks/rules/{comp}/learning/certificate_teacher_{n}.tsv"
    script:
        "../../scripts/learning_certificate_teacher.py"


rule learning_certificate_student:
    input:
        start="results/{comp}/melt_quench/quenched.extxyz",
        models=ensemble_models,
    output:
        certificate_runs("student"),
    params:
        protocol=certificate_protocol,
        seed=config["learning"]["certificate"]["seed"],
    threads: 1
    resources:
        runtime=runtime_per_attempt(120),
        mem_mb=4000,
    log:
        "logs/{comp}/learning/certificate_student.log",
    benchmark:
        "benchmarks/rules/{comp}/learning/certificate_student.tsv"
    script:
        "../../scripts/learning_certificate_student.py"


rule learning_certificate:
    """The student runs against the teacher runs: permutation test of RDFs and ion MSD, forces
    and energies of every member on the teacher's frames (dpglass.learning.certificate)."""
    input:
        teacher=certificate_runs("teacher"),
        student=certificate_runs("student"),
        models=ensemble_models,
    output:
        json="results/{comp}/learning/certificate.json",
        markdown="results/{comp}/learning/certificate.md",
    params:
        ion=ion_of,
        rdf_pairs=config["analysis"]["rdf_pairs"],
        rdf_r_max=config["analysis"]["rdf_r_max_A"],
        trust=learning_settings.trust_levels(config),
        confidence=config["learning"]["certificate"]["confidence"],
    threads: 1
    log:
        "logs/{comp}/learning/certificate.log",
    benchmark:
        "benchmarks/rules/{comp}/learning/certificate.tsv"
    script:
        "../../scripts/learning_certificate.py"
