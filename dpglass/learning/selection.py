"""Which explored frames to label: candidates in [low, high), capped, spread over temperatures,
no near-duplicates."""

from __future__ import annotations

import numpy as np


def classify(max_devi_f, trust_levels: list[float], unreached: int = 0) -> dict:
    """Counts and fractions of accurate (< low), candidate ([low, high)) and failed (>= high)
    frames. `unreached`: planned frames an exploration never wrote because its MD blew up; they
    count as failed (the ensemble drove the run there)."""
    low, high = trust_levels
    devi = np.asarray(max_devi_f, dtype=float)
    n = int(devi.size) + unreached
    if n == 0:
        raise ValueError("no model-deviation frames to classify")
    accurate = int((devi < low).sum())
    failed = int((devi >= high).sum()) + unreached
    candidate = n - accurate - failed
    return {"frames": n, "accurate": accurate, "candidate": candidate, "failed": failed,
            "accurate_fraction": accurate / n, "candidate_fraction": candidate / n,
            "failed_fraction": failed / n, "unreached": unreached}


def thin_candidates(max_devi_f, trust_levels: list[float], min_separation: int,
                    exclude: set[int] = frozenset()) -> list[int]:
    """Frame indices in [low, high), largest deviation first, no two closer than `min_separation`
    frames (the larger deviation wins); indices in `exclude` are never taken."""
    low, high = trust_levels
    devi = np.asarray(max_devi_f, dtype=float)
    order = [int(i) for i in np.argsort(-devi, kind="stable")
             if low <= devi[i] < high and int(i) not in exclude]
    chosen: list[int] = []
    for i in order:
        if all(abs(i - j) >= min_separation for j in chosen):
            chosen.append(i)
    return chosen


def select_frames(deviations: dict[float, np.ndarray], trust_levels: list[float], cap: int,
                  min_separation: int,
                  exclude: dict[float, set[int]] | None = None) -> dict[float, list[int]]:
    """Per temperature, the frame indices to label: at most `cap` in all, taken round-robin over
    the temperatures (hottest first), each temperature's largest deviations first; never an index
    in exclude[T] (a run's start frame, which is labelled already)."""
    if cap < 1:
        raise ValueError(f"cap {cap}: at least one frame per iteration")
    exclude = exclude or {}
    queues = {T: thin_candidates(d, trust_levels, min_separation, exclude.get(T, set()))
              for T, d in deviations.items()}
    picked: dict[float, list[int]] = {T: [] for T in deviations}
    total = 0
    while total < cap and any(queues.values()):
        for T in sorted(queues, reverse=True):
            if queues[T] and total < cap:
                picked[T].append(queues[T].pop(0))
                total += 1
    return {T: sorted(v) for T, v in picked.items()}


def spot_check_frames(max_devi_f, trust_levels: list[float], count: int, min_separation: int,
                      rng, exclude: set[int] = frozenset()) -> list[int]:
    """`count` frame indices the deviation calls accurate (< low), drawn at random (`rng`), no
    two closer than `min_separation`, none in `exclude`. Labelled like the candidates, they
    measure the true error where the ensemble agrees, and teach the models there: members
    trained on the same data can agree on a wrong force (the demo's glass drifted to Al-Cl
    coordinations the reference never visits, at deviations below the low trust level)."""
    low = trust_levels[0]
    devi = np.asarray(max_devi_f, dtype=float)
    pool = [int(i) for i in np.flatnonzero(devi < low) if int(i) not in exclude]
    chosen: list[int] = []
    for i in rng.permutation(pool) if pool else []:
        if len(chosen) == count:
            break
        if all(abs(int(i) - j) >= min_separation for j in chosen):
            chosen.append(int(i))
    return sorted(chosen)


def true_max_force_error(member_forces: np.ndarray, reference: np.ndarray) -> float:
    """The model deviation's statistic with the reference in place of the ensemble mean:
    max over atoms of sqrt(mean over members |F_i^m - F_i^ref|^2), in the forces' unit.
    member_forces: (members, atoms, 3); reference: (atoms, 3). Beside max_devi_f (max over atoms
    of sqrt(mean over members |F_i^m - <F_i>|^2)) it says whether the deviation saw the error."""
    return float(np.sqrt(_atom_squared_errors(member_forces, reference).max()))


def _atom_squared_errors(member_forces: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Per atom, the mean over members of |F_i^m - F_i^ref|^2."""
    return ((np.asarray(member_forces) - np.asarray(reference)[None]) ** 2).sum(-1).mean(0)


def frame_error_profile(member_forces: np.ndarray, atoms) -> dict:
    """One labelled frame's true force error: true_max_f (true_max_force_error, eV/Å), rms_f
    (the RMS over atoms of the same per-atom error, eV/Å) and worst_species (the species of the
    atom true_max_f picks). true_max_f / rms_f says how far a frame's worst atom sits above the
    typical one: what a force RMSE must be for the worst atom to pass a trust level."""
    squared = _atom_squared_errors(member_forces, atoms.get_forces())
    return {"true_max_f": float(np.sqrt(squared.max())), "rms_f": float(np.sqrt(squared.mean())),
            "worst_species": atoms.get_chemical_symbols()[int(squared.argmax())]}


def member_forces(models: list[str], labelled: list) -> list[np.ndarray]:
    """Forces (eV/Å) of every member of `models` on each labelled frame: per frame an array
    (members, atoms, 3). One evaluation serves frame_error_profiles and true_errors."""
    from dpglass.learning.certificate import predictions

    members = [[forces for _, forces in predictions(model, labelled)] for model in models]
    return [np.array([m[j] for m in members]) for j in range(len(labelled))]


def frame_error_profiles(forces: list[np.ndarray], labelled: list) -> list[dict]:
    """frame_error_profile of the ensemble on each labelled frame (true_max_f, rms_f,
    worst_species), from its members' forces on them (member_forces)."""
    return [frame_error_profile(f, atoms) for f, atoms in zip(forces, labelled)]


def true_errors(forces: list[np.ndarray], labelled: list) -> list[dict]:
    """Per kind and temperature of the labelled frames: the models' force RMSE (per component)
    and RMS of the force-error vector against the reference labels, mean over members, on
    frames no model has trained on, from the members' forces on them (member_forces). A spot
    check's true error is what the deviation could not see."""
    from dpglass.core.units import quantity

    groups: dict[tuple, list[int]] = {}
    for j, atoms in enumerate(labelled):
        key = (atoms.info.get("kind", "candidate"), float(atoms.info["temperature_K"]))
        groups.setdefault(key, []).append(j)
    rows = []
    for (kind, temperature), frames in sorted(groups.items()):
        # per atom, the squared force-error vector averaged over members: its mean over the
        # group's atoms is the members' mean of their squared error per atom
        atom_sq = {j: _atom_squared_errors(forces[j], labelled[j].get_forces()) for j in frames}
        vector = 1000.0 * np.sqrt(np.concatenate(list(atom_sq.values())).mean())
        by_species: dict[str, list[float]] = {}
        for j in frames:
            for symbol, value in zip(labelled[j].get_chemical_symbols(), atom_sq[j]):
                by_species.setdefault(symbol, []).append(value)
        rows.append({"kind": kind, "temperature_K": temperature, "frames": len(frames),
                     "force_rmse": quantity(vector / np.sqrt(3.0), unit="meV/Å"),
                     "force_error_vector_rms": quantity(vector, unit="meV/Å"),
                     # per species: force RMSE per component, mean square over members
                     "force_rmse_by_species": {
                         symbol: quantity(1000.0 * float(np.sqrt(np.mean(v) / 3.0)), unit="meV/Å")
                         for symbol, v in sorted(by_species.items())}})
    return rows
