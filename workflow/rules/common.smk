# Config validation, wildcard constraints and the path helpers every rule uses.
import re
import sys

sys.path.insert(0, workflow.basedir)  # dpglass importable from a checkout without installing

from dpglass import config as dpconfig
from dpglass.core.composition import parse_formula
from dpglass.learning import settings as learning_settings


# The config is the whole --configfile (over the schema's defaults only), or config/config.yaml
# when none is given; --config key=value on the command line layers on top of either.
if not workflow.overwrite_configfiles:
    _default = dpconfig.default_config_file(workflow.basedir)
    config.clear()
    config.update(dpconfig.load_config_file(_default))
# Snakemake reads nested --config values as strings ('train={n_models: 3}' -> '3'): typed here.
dpconfig.update_nested(config, dpconfig.typed_overrides(dict(workflow.config_settings.config)))
_validated = dpconfig.validate_config(config)
config.clear()
config.update(_validated)
print(f"dpglass: config from {', '.join(map(str, workflow.overwrite_configfiles or [_default]))}"
      f"{' + --config' if workflow.config_settings.config else ''}; effective config hash "
      f"{dpconfig.config_hash(config)} (`dpglass config show FILE` prints it)", file=sys.stderr)


# Before any job of a real run (never in a dry run): the reference codes can run, e.g. CP2K's
# program, basis sets and pseudopotentials for every species (a missing one would otherwise
# surface after hours of melt-quench).
onstart:
    dpconfig.check_reference_codes(config)


COMPOSITIONS = list(config["compositions"])
TEMPERATURES = [dpconfig.temperature_label(t) for t in dpconfig.temperatures(config)]
MODELS = [str(i) for i in range(config["train"]["n_models"])]
# Train scopes: one per composition, or the single shared ensemble (train.shared_model).
TRAIN_SCOPES = sorted({dpconfig.train_scope(config, comp) for comp in COMPOSITIONS})
BACKEND = dpconfig.backend(config)
TRAINING_THREADS = config["execution"]["training_threads"]  # every DeePMD (`dp`) job
MODEL_EXT = {"tensorflow": "pb", "pytorch": "pth"}[BACKEND]
ON_GPU = config["execution"]["device"] == "gpu"
REPLICAS = [str(r) for r in range(config["sweep"]["replicas"])]
# Path suffix of each independent glass (structure.glasses): '' (glass 0), '_glass1', ...
GLASSES = dpconfig.glass_suffixes(config)
# A glass's sweep files: its LAMMPS data file, the preflight, and each (T, replica) run's.
SWEEP_DATA = "results/{comp}/sweep{gs}/data.lmp"
SWEEP_PREFLIGHT = "results/{comp}/sweep{gs}/preflight/run.json"
SWEEP_RUN = "results/{comp}/sweep{gs}/T{T}/r{rep}/"
# GPU profile: (T, replica) runs packed several to a GPU job; None = one job per run.
SWEEP_PACKS = (
    dpconfig.sweep_packs(config) if ON_GPU and config["execution"]["runs_per_gpu_job"] > 1 else None
)
# Concurrent learning (dpglass.learning): label+retrain iterations 1..N, explorations 1..N+1.
LEARN_ITERATIONS = config["learning"]["max_iterations"]
ITERATIONS = [str(k) for k in range(1, LEARN_ITERATIONS + 1)]
EXPLORATIONS = [str(k) for k in range(1, LEARN_ITERATIONS + 2)] if LEARN_ITERATIONS else []
LEARN_TEMPERATURES = [
    dpconfig.temperature_label(t)
    for t in learning_settings.explore_temperatures(config, dpconfig.temperatures(config))
]


wildcard_constraints:
    comp="|".join(map(re.escape, COMPOSITIONS)),  # names may hold '.' and '+' 
    T=r"[0-9]+(\.[0-9]+)?",
    i=r"[0-9]+",
    scope="|".join(map(re.escape, TRAIN_SCOPES)),
    rep=r"[0-9]+",
    gs=r"(_glass[1-9][0-9]*)?",
    k=r"[0-9]+",


def formula_of(wildcards):
    return config["compositions"][wildcards.comp]["formula"]


def ion_of(wildcards):
    """The composition's mobile ion (compositions.<name>.ion, default its alkali)."""
    return config["compositions"][wildcards.comp]["ion"]


def rdf_pairs_of(wildcards):
    """analysis.rdf_pairs with the composition's own mobile-ion pair (Na-Na for a Na glass) in
    front when the list lacks it: the ion's RDF is the hop-distance picture of every composition."""
    ion = ion_of(wildcards)
    pairs = list(config["analysis"]["rdf_pairs"])
    return pairs if f"{ion}-{ion}" in pairs else [f"{ion}-{ion}"] + pairs


def ion_charge_of(wildcards):
    """The mobile ion's charge in e, or None for its formal oxidation state."""
    return config["compositions"][wildcards.comp].get("ion_charge")


def start_cell_composition(wildcards):
    return dpconfig.start_cell_settings(config, wildcards.comp)[0]


def start_cell_structure(wildcards):
    """Structure keys of one glass's start cell (glass g: structure.seed + 1000 g)."""
    structure = dpconfig.start_cell_settings(config, wildcards.comp)[1]
    return dpconfig.canonical(dpconfig.glass_settings(structure, wildcards.gs))


def stopping_of(wildcards):
    """What an adaptive run's stopping criterion analyses (sweep.target_relative_error): the
    composition's mobile ion and the hop distance; None for fixed-length runs."""
    if not config["sweep"]["target_relative_error"]:
        return None
    comp = config["compositions"][wildcards.comp]
    return {"ion": comp["ion"], "hop_distance_A": config["analysis"]["hop_distance_A"]}


def melt_quench_protocol(wildcards):
    """melt_quench keys of one glass (glass g: melt_quench.seed + 1000 g)."""
    return dpconfig.canonical(dpconfig.glass_settings(config["melt_quench"], wildcards.gs))


def type_map_of(wildcards):
    """Species of one composition, in the canonical order (LAMMPS types and DeePMD type_map)."""
    return parse_formula(config["compositions"][wildcards.comp]["formula"]).elements


def model_dir(comp, i):
    """Directory of ensemble member i used by composition comp (its own, or the shared one)."""
    return f"results/{dpconfig.train_scope(config, comp)}/train/model_{i}"


def learning_model_dir(scope, i, k):
    """Ensemble member i of learning iteration k (0: the first training)."""
    k = int(k)
    return f"results/{scope}/train/model_{i}" if k == 0 else f"results/{scope}/learning/iter{k}/model_{i}"


def deployed_model_dir(comp, i):
    """Directory of the member the sweep runs: the last learning iteration's, else the first."""
    return learning_model_dir(dpconfig.train_scope(config, comp), i, LEARN_ITERATIONS)


def deployed_model(comp, i):
    """The model file the sweep of `comp` runs: compressed (train.compress) or frozen."""
    stem = "compressed" if config["train"]["compress"] else "frozen"
    return f"{deployed_model_dir(comp, i)}/{stem}.{MODEL_EXT}"


def iteration_model(comp, i, k):
    """The model an exploration with the models of iteration k runs (the deployed one for 0)."""
    if int(k) == 0:
        return f"{model_dir(comp, i)}/{'compressed' if config['train']['compress'] else 'frozen'}.{MODEL_EXT}"
    return f"{learning_model_dir(dpconfig.train_scope(config, comp), i, k)}/frozen.{MODEL_EXT}"


def is_final_check(wildcards):
    """Exploration k past the last iteration is the final check: it labels spot checks only."""
    return int(wildcards.k) > LEARN_ITERATIONS


def learning_summary_input(wildcards):
    """The loop's record for the summary (none without a loop)."""
    if not LEARN_ITERATIONS:
        return []
    return [f"results/{wildcards.comp}/learning/{name}.json" for name in ("loop", "certificate")]


def scope_compositions(scope):
    """Compositions whose data a train scope learns from."""
    return COMPOSITIONS if scope == dpconfig.SHARED_SCOPE else [scope]


def model_type_map_of(wildcards):
    """DeePMD type_map of the model a rule trains or converts data for (union when shared)."""
    comp = wildcards.get("comp", None)
    if comp is None and wildcards.scope != dpconfig.SHARED_SCOPE:
        comp = wildcards.scope
    return dpconfig.model_type_map(config, comp)


def ensemble_models(wildcards):
    return [deployed_model(wildcards.comp, i) for i in MODELS]


def certificate_runs(side):
    """The certificate's run files of one side (teacher|student)."""
    count = config["learning"]["certificate"][f"{side}_runs"]
    return [
        f"results/{{comp}}/learning/certificate/{side}/run{n}.extxyz" for n in range(count)
    ]


def certificate_protocol(wildcards):
    """The NVT protocol of the certificate's runs (dpglass.learning.certificate)."""
    return learning_settings.certificate_protocol(
        config["learning"]["certificate"], config["melt_quench"]
    )


def diffusion_results(wildcards):
    return expand(
        "results/{comp}/analysis{gs}/diffusion_T{T}_r{rep}.json",
        comp=wildcards.comp,
        gs=GLASSES,
        T=TEMPERATURES,
        rep=REPLICAS,
    )


def mechanism_runs(wildcards):
    """The mechanism of every sweep run (glass, temperature, replica) of a composition."""
    return expand(
        "results/{comp}/analysis{gs}/mechanism_T{T}_r{rep}.json",
        comp=wildcards.comp,
        gs=GLASSES,
        T=TEMPERATURES,
        rep=REPLICAS,
    )


def prior_D_of(wildcards):
    """[T, D] pairs: the plan's prior tracer D (cm²/s) of the composition at each sweep
    temperature, from which it predicts the hops per ion (dpglass.report.plan)."""
    from dpglass.report.plan import prior_diffusion

    return [[T, D] for T, D in prior_diffusion(config, wildcards.comp)[1].items()]


def measured_gr_of(wildcards):
    """compositions.<name>.measured_gr, tracked as an input (none when not given)."""
    path = config["compositions"][wildcards.comp].get("measured_gr")
    return [path] if path else []


def check_measured_gr_files():
    """Read every compositions.<name>.measured_gr now: a missing or malformed file stops the
    workflow before any job, naming the key, the file and the line."""
    for name, comp in config["compositions"].items():
        if not comp.get("measured_gr"):
            continue
        from dpglass.analysis.scattering import read_measured_gr

        try:
            read_measured_gr(comp["measured_gr"])
        except (OSError, ValueError) as error:
            raise ValueError(f"config key 'compositions.{name}.measured_gr': {error}") from None


check_measured_gr_files()


def sweep_runs(wildcards):
    """run.json of every (temperature, replica): throughput and the extrapolation flags."""
    return expand(
        SWEEP_RUN + "run.json",
        comp=wildcards.comp,
        gs=GLASSES,
        T=TEMPERATURES,
        rep=REPLICAS,
    )


def sweep_threads(wildcards):
    """One core per MPI rank (CPU), per packed run (GPU)."""
    packed = config["execution"]["runs_per_gpu_job"] if SWEEP_PACKS else 1
    return config["execution"]["mpi_tasks"] * packed


def sweep_mpi_resources():
    """MPI ranks of one sweep run: snakemake's `tasks` and `mpi` resources (SLURM reads them too).

    Each rank is one single-threaded process: SLURM gets --ntasks=N --cpus-per-task=1 (without
    cpus_per_task the plugin would ask --cpus-per-task=threads=N, N x N CPUs for N ranks).
    """
    tasks = config["execution"]["mpi_tasks"]
    if tasks == 1:
        return {}
    return {"tasks": tasks, "mpi": config["execution"]["mpi_launcher"], "cpus_per_task": 1}


def rdf_temperature():
    """The sweep temperature closest to analysis.rdf_temperature_K, as it appears in paths."""
    wanted = config["analysis"]["rdf_temperature_K"]
    return min(TEMPERATURES, key=lambda t: abs(float(t) - wanted))


def gpu_resources():
    """GPU rules ask for one GPU only when the config's execution device is gpu."""
    return {"gpu": 1} if ON_GPU else {}


def crystal_file_of(wildcards):
    """The crystal a 'crystal' start cell is built from (tracked as an input), else nothing."""
    if config["structure"]["source"] != "crystal":
        return []
    comp = config["compositions"][wildcards.comp]
    return comp.get("crystal_file", config["structure"].get("crystal_file"))


PERTURBED = config["train"]["perturbed_frames"]["count"] > 0


def scope_data(kind):
    """Input function: the `kind` (training|validation) systems of every composition in a scope;
    training includes each glass's perturbed frames (train.perturbed_frames) when there are any."""
    kinds = [kind] + (["perturbed"] if kind == "training" and PERTURBED else [])

    def inputs(wildcards):
        return [
            f"results/{comp}/train/data{gs}/{name}"  # every glass (structure.glasses)
            for comp in scope_compositions(wildcards.scope)
            for gs in GLASSES
            for name in kinds
        ]

    return inputs


def tested_model(wildcards):
    """The deployed model that test_model checks on the composition's validation frames."""
    return deployed_model(wildcards.comp, wildcards.i)


def tested_model_lcurve(wildcards):
    return f"{deployed_model_dir(wildcards.comp, wildcards.i)}/lcurve.out"


def model_tests(wildcards):
    return expand("results/{comp}/train/model_{i}/test.json", comp=wildcards.comp, i=MODELS)


def composition_of(wildcards):
    return wildcards.comp


def single_run(wildcards):
    """sweep_md's one (temperature, replica) run."""
    return [[float(wildcards.T), int(wildcards.rep)]]


def runtime_per_attempt(minutes):
    """Resource function: `minutes` of walltime per attempt (a retry gets twice as long)."""

    def runtime(wildcards, attempt):
        return minutes * attempt

    return runtime


def all_targets():
    return expand(
        [
            "results/{comp}/summary.json",
            "results/{comp}/summary.md",
            "results/{comp}/arrhenius.png",
            "results/{comp}/analysis/rdf.png",
        ],
        comp=COMPOSITIONS,
    ) + expand(
        "results/{comp}/melt_quench{gs}/trace.png", comp=COMPOSITIONS, gs=GLASSES
    ) + expand(
        "results/{comp}/train/model_{i}/test.json", comp=COMPOSITIONS, i=MODELS
    ) + ["results/compositions.json", "results/compositions.png"]


# ---- the concurrent-learning loop's input functions (rules in learning.smk)
def _iteration(wildcards):
    return int(wildcards.k)


def previous_convergence(wildcards):
    """convergence.json of iteration k-1 (none for k = 1)."""
    k = _iteration(wildcards)
    return [f"results/{wildcards.comp}/learning/iter{k - 1}/convergence.json"] if k > 1 else []


def exploration_start(wildcards):
    """[glass, slot]: the glass the exploration (k, T) starts from and its slot among that
    glass's explorations (dpglass.learning.settings.exploration_start)."""
    return list(
        learning_settings.exploration_start(
            LEARN_TEMPERATURES.index(wildcards.T),
            _iteration(wildcards),
            len(LEARN_TEMPERATURES),
            len(GLASSES),
        )
    )


def exploration_frames(wildcards):
    """The labelled frames and the split of the exploration's glass: it starts from one of the
    hold's training frames."""
    gs = GLASSES[exploration_start(wildcards)[0]]
    return {
        "frames": f"results/{wildcards.comp}/melt_quench{gs}/frames.extxyz",
        "split": f"results/{wildcards.comp}/train/data{gs}/split.json",
    }


def exploration_models(wildcards):
    return [iteration_model(wildcards.comp, i, _iteration(wildcards) - 1) for i in MODELS]


def previous_member(wildcards):
    """The frozen model member i of iteration k-1 continues from."""
    k = _iteration(wildcards)
    return f"{learning_model_dir(wildcards.scope, wildcards.i, k - 1)}/frozen.{MODEL_EXT}"


def loop_files(name, iterations):
    """`name` of every iteration in `iterations`, for one composition (the loop report)."""

    def inputs(wildcards):
        return [f"results/{wildcards.comp}/learning/iter{k}/{name}" for k in iterations]

    return inputs


def label_reports(wildcards):
    """Every labelling report of a composition's training data, for the summary's provenance
    (who labelled it): each glass's melt-quench frames and perturbed frames, the loop's labels."""
    comp = wildcards.comp
    reports = [f"results/{comp}/melt_quench{gs}/labelling.json" for gs in GLASSES]
    if PERTURBED:
        reports += [f"results/{comp}/train/data{gs}/perturbed.json" for gs in GLASSES]
    if LEARN_ITERATIONS:
        reports += loop_files("labelling.json", ITERATIONS)(wildcards)
    return reports


def loop_validation(wildcards):
    """validation.json of every member of every retraining (the loop report)."""
    scope = dpconfig.train_scope(config, wildcards.comp)
    return [
        f"{learning_model_dir(scope, i, k)}/validation.json" for k in ITERATIONS for i in MODELS
    ]


def explore_runs(kind):
    def inputs(wildcards):
        return [
            f"results/{wildcards.comp}/learning/iter{wildcards.k}/explore/T{T}/{kind}"
            for T in LEARN_TEMPERATURES
        ]

    return inputs


def scope_learning(name, iterations):
    """Per composition of the scope: iteration files `name` of iteration k ("this") or of every
    earlier iteration 1..k-1 ("earlier")."""

    def inputs(wildcards):
        k = _iteration(wildcards)
        chosen = {"this": [k], "earlier": range(1, k)}[iterations]
        return [
            f"results/{comp}/learning/iter{j}/{name}"
            for comp in scope_compositions(wildcards.scope)
            for j in chosen
        ]

    return inputs


# ---- the sweep's cost in every log (details: dpglass plan --configfile FILE)
def _plan_line():
    from dpglass.report.plan import plan_sweep, summary_line

    return summary_line(plan_sweep(config))


if workflow.is_main_process:  # not again in every job's own snakemake process
    print(_plan_line(), file=sys.stderr)
