"""Perturbed training frames (train.perturbed_frames): dpgen init_bulk-style extra data.

Copies of melt-quench training frames with the cell compressed isotropically by a random factor
and every atom displaced by a Gaussian random vector, labelled by the reference. MD at the
sweep's temperatures never brings two cations much closer than their bond-mediated distance, so a
small model trained on MD frames alone knows nothing of the repulsive wall below it and may
extrapolate into an attraction: with NaAlCl2.5O0.75 on the test config, Al–Al pairs closed from
2.7 to < 1 Å in the sweep while two models agreed on the wrong force (deviation 1-2 eV/Å against a
reference force of +10 to +40 eV/Å). Perturbed frames put labelled short contacts in the data.

Sources are drawn from the training frames of the time-block split only, and the perturbed frames
are a training-only system: the validation frames stay MD frames, with no perturbed copy of them
in training.
"""

from __future__ import annotations

import zlib
import numpy as np


def training_indices(split: dict) -> list[int]:
    """Frame indices of the training set from a split record's half-open ranges."""
    return [i for start, stop in split["training_frames"] for i in range(start, stop)]


def source_indices(train_idx: list[int], count: int) -> list[int]:
    """`count` training frames spread evenly over the trajectory (melt, quench and hold all
    perturbed); frames repeat (with fresh perturbations) when count exceeds the training set."""
    if not train_idx:
        raise ValueError("no training frames to perturb")
    positions = np.floor((np.arange(count) + 0.5) * len(train_idx) / count).astype(int)
    return [train_idx[p] for p in positions]


def rng_for(seed: int, name: str) -> np.random.Generator:
    """Independent, reproducible random stream per glass (name: composition + glass suffix)."""
    return np.random.default_rng([seed, zlib.crc32(name.encode())])


def perturb(atoms, rng: np.random.Generator, displacement_A: float, cell_scale: list[float]):
    """A copy of `atoms`: cell (and positions) scaled by a factor uniform in cell_scale, then each
    atom displaced by N(0, displacement_A²) per Cartesian component. No labels."""
    out = atoms.copy()
    out.calc = None
    low, high = cell_scale
    scale = float(rng.uniform(low, high)) if high > low else float(low)
    out.set_cell(out.cell[:] * scale, scale_atoms=True)
    out.positions = out.positions + rng.normal(0.0, displacement_A, out.positions.shape)
    out.wrap()
    for key in list(out.info):
        if key not in ("temperature_K", "phase", "time_ps"):
            del out.info[key]
    out.info["cell_scale"] = scale
    out.info["displacement_A"] = displacement_A
    return out


def make_perturbed(frames: list, split: dict, settings: dict, name: str) -> list:
    """The unlabelled perturbed frames of one glass (settings: train.perturbed_frames)."""
    train_idx = training_indices(split)
    rng = rng_for(settings["seed"], name)
    out = []
    for source in source_indices(train_idx, settings["count"]):
        frame = perturb(frames[source], rng, settings["displacement_A"], settings["cell_scale"])
        frame.info["perturbed_from"] = source
        out.append(frame)
    return out


def summary(perturbed: list, labelled: list) -> dict:
    """What the perturbation did: scale range, closest pairs, largest reference force."""
    from dpglass.reference.cells import min_pair_distance
    from dpglass.core.units import quantity

    scales = [f.info["cell_scale"] for f in perturbed]
    closest = [min_pair_distance(f) for f in perturbed]
    forces = [float(np.abs(f.get_forces()).max()) for f in labelled]
    return {
        "cell_scale_range": [min(scales), max(scales)] if scales else None,
        "closest_pair_min": quantity(min(closest), unit="Å") if closest else None,
        "closest_pair_median": quantity(float(np.median(closest)), unit="Å") if closest else None,
        "max_force_component_median": (quantity(float(np.median(forces)), unit="eV/Å")
                                       if forces else None),
        "max_force_component_max": quantity(max(forces), unit="eV/Å") if forces else None,
    }
