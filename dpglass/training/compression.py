"""Whether a compressed model still is the frozen one: both evaluated on the validation frames."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from dpglass.training.dp import TrainingError
from dpglass.core.units import quantity


def load_systems(dirs: list[str]):
    """deepmd/npy systems (each dir may hold several) as dpdata.LabeledSystem objects."""
    import dpdata

    systems = []
    for root in dirs:
        for type_raw in sorted(Path(root).rglob("type.raw")):
            systems.append(dpdata.LabeledSystem(str(type_raw.parent), fmt="deepmd/npy"))
    if not systems:
        raise ValueError(f"no deepmd/npy systems under {dirs}")
    return systems


def predict(model, system) -> tuple[np.ndarray, np.ndarray]:
    """Energies (nframes,) and forces (nframes, natoms, 3) of a DeepPot on a dpdata system."""
    model_types = model.get_type_map()
    names = system["atom_names"]
    try:
        atype = np.array([model_types.index(names[t]) for t in system["atom_types"]])
    except ValueError as err:
        raise ValueError(f"species of the data {names} not in the model's type_map "
                         f"{model_types}") from err
    nframes = len(system)
    coords = system["coords"].reshape(nframes, -1)
    cells = system["cells"].reshape(nframes, -1)
    energy, force, _ = model.eval(coords, cells, atype)
    return np.asarray(energy).reshape(nframes), np.asarray(force).reshape(nframes, -1, 3)


def compare_models(model_a: str, model_b: str, systems_dirs: list[str]) -> dict:
    """Max |ΔF| (meV/Å) and max |ΔE|/atom (meV/atom) between two models on the given frames."""
    from deepmd.infer import DeepPot

    a, b = DeepPot(str(model_a)), DeepPot(str(model_b))
    max_df, max_de, frames = 0.0, 0.0, 0
    for system in load_systems(systems_dirs):
        ea, fa = predict(a, system)
        eb, fb = predict(b, system)
        max_df = max(max_df, float(np.abs(fa - fb).max()) * 1000.0)
        max_de = max(max_de, float(np.abs(ea - eb).max()) / system.get_natoms() * 1000.0)
        frames += len(system)
    return {"frames": frames,
            "max_force_deviation": quantity(max_df, unit="meV/Å"),
            "max_energy_deviation": quantity(max_de, unit="meV/atom")}


def check_compression(deviation: dict, tolerance_meV_per_A: float) -> None:
    measured = deviation["max_force_deviation"]["value"]
    if not measured <= tolerance_meV_per_A:
        raise TrainingError(
            f"compressed and uncompressed models disagree: max force deviation {measured:.4g} "
            f"meV/Å on {deviation['frames']} validation frames exceeds config key "
            f"'train.compress_tolerance_meV_per_A' = {tolerance_meV_per_A:g} meV/Å")
