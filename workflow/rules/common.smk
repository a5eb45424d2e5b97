# Config validation, wildcard constraints and the path helpers every rule uses.
import sys

sys.path.insert(0, workflow.basedir)  # dpglass importable from a checkout without installing

from dpglass import config as dpconfig
from dpglass.composition import parse_formula
from dpglass.learning import settings as learning_settings


_validated = dpconfig.validate_config(config)
config.clear()
config.update(_validated)

COMPOSITIONS = list(config["compositions"])
TEMPERATURES = [dpconfig.temperature_label(t) for t in dpconfig.temperatures(config)]
MODELS = [str(i) for i in range(config["train"]["n_models"])]
# Train scopes: one per composition, or the single shared ensemble (train.shared_model).
TRAIN_SCOPES = sorted({dpconfig.train_scope(config, comp) for comp in COMPOSITIONS})
BACKEND = dpconfig.backend(config)
MODEL_EXT = {"tensorflow": "pb", "pytorch": "pth"}[BACKEND]
ON_GPU = config["execution"]["device"] == "gpu"
REPLICAS = [str(r) for r in range(config["sweep"]["replicas"])]
# GPU profile: (T, replica) runs packed several to a GPU job; None = one job per run.
SWEEP_PACKS = (
    dpconfig.sweep_packs(config) if ON_GPU and config["execution"]["temperatures_per_gpu_job"] > 1 else None
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
    comp="|".join(COMPOSITIONS),
    T=r"[0-9]+(\.[0-9]+)?",
    i=r"[0-9]+",
    scope="|".join(TRAIN_SCOPES),
    rep=r"[0-9]+",
    k=r"[0-9]+",


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


def diffusion_results(wildcards):
    return expand(
        "results/{comp}/analysis/diffusion_T{T}_r{rep}.json",
        comp=wildcards.comp,
        T=TEMPERATURES,
        rep=REPLICAS,
    )


def sweep_runs(wildcards):
    """run.json of every (temperature, replica): throughput and the extrapolation flags."""
    return expand(
        "results/{comp}/sweep/T{T}/r{rep}/run.json",
        comp=wildcards.comp,
        T=TEMPERATURES,
        rep=REPLICAS,
    )


def sweep_threads(wildcards):
    """One core per MPI rank (CPU), per packed run (GPU)."""
    packed = config["execution"]["temperatures_per_gpu_job"] if SWEEP_PACKS else 1
    return config["execution"]["mpi_tasks"] * packed


def sweep_mpi_resources():
    """MPI ranks of one sweep run: snakemake's `tasks` and `mpi` resources (SLURM reads them too)."""
    tasks = config["execution"]["mpi_tasks"]
    return {"tasks": tasks, "mpi": config["execution"]["mpi_launcher"]} if tasks > 1 else {}


def rdf_temperature():
    """The sweep temperature closest to analysis.rdf_temperature_K, as it appears in paths."""
    wanted = config["analysis"]["rdf_temperature_K"]
    return min(TEMPERATURES, key=lambda t: abs(float(t) - wanted))


def gpu_resources():
    """GPU rules ask for one GPU only when the config's execution device is gpu."""
    return {"gpu": 1} if ON_GPU else {}


def all_targets():
    return expand(
        [
            "results/{comp}/summary.json",
            "results/{comp}/summary.md",
            "results/{comp}/arrhenius.png",
            "results/{comp}/analysis/rdf.png",
            "results/{comp}/melt_quench/trace.png",
        ],
        comp=COMPOSITIONS,
    ) + expand(
        "results/{comp}/train/model_{i}/test.json", comp=COMPOSITIONS, i=MODELS
    ) + ["results/compositions.json", "results/compositions.png"]
