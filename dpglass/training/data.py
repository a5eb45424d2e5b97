"""Training data: labelled frames -> deepmd/npy training and validation systems, split in time
blocks inside every phase of the melt-quench."""

from __future__ import annotations

import shutil
from pathlib import Path

from dpglass.core.io import write_json


def time_block_split(n_frames: int, validation_fraction: float, n_blocks: int = 1,
                     gap: int = 0) -> tuple[list[int], list[int]]:
    """Frame indices for training and validation, validation being contiguous time blocks.

    A random split puts each validation frame between its correlated neighbours in the training set
    and makes the validation error look better than it is. Here validation is `n_blocks` contiguous
    blocks, spread evenly over the trajectory with the last one ending at the last frame (so the
    melt, the quench and the hold are all represented), and `gap` frames on each side of a block are
    left out of both sets as a decorrelation buffer.
    """
    if n_blocks < 1 or gap < 0:
        raise ValueError(f"n_blocks={n_blocks} must be >= 1 and gap={gap} >= 0")
    n_valid = max(n_blocks, int(round(n_frames * validation_fraction)))
    sizes = [n_valid // n_blocks + (1 if b < n_valid % n_blocks else 0) for b in range(n_blocks)]
    stride = n_frames / n_blocks
    valid: list[int] = []
    excluded: set[int] = set()
    for b, size in enumerate(sizes):
        stop = int(round((b + 1) * stride))
        block = range(stop - size, stop)
        valid.extend(block)
        excluded.update(range(max(0, block.start - gap), min(n_frames, block.stop + gap)))
    train = [i for i in range(n_frames) if i not in excluded]
    if not train or len(set(valid)) != len(valid) or min(valid) < 0:
        raise ValueError(f"{n_frames} labelled frames are too few to split (validation_fraction="
                         f"{validation_fraction}, {n_blocks} block(s), gap {gap})")
    return train, valid


def index_ranges(indices: list[int]) -> list[list[int]]:
    """[0, 1, 2, 5, 6] -> [[0, 3], [5, 7]] (half-open ranges, for the split record)."""
    ranges: list[list[int]] = []
    for i in indices:
        if ranges and ranges[-1][1] == i:
            ranges[-1][1] = i + 1
        else:
            ranges.append([i, i + 1])
    return ranges


def read_labelled_frames(frames_path: str | Path, type_map: list[str]):
    """All frames of an extxyz file with energy/forces (and stress) as one dpdata.LabeledSystem."""
    import dpdata
    from ase.io import iread

    system = None
    for atoms in iread(str(frames_path), index=":"):
        unknown = sorted(set(atoms.get_chemical_symbols()) - set(type_map))
        if unknown:
            raise ValueError(f"{frames_path}: species {unknown} are not in type_map {type_map}")
        frame = dpdata.LabeledSystem(atoms, fmt="ase/structure", type_map=type_map)
        if system is None:
            system = frame
        else:
            system.append(frame)
    if system is None:
        raise ValueError(f"{frames_path}: no labelled frames")
    return system


def phase_segments(phases: list[str]) -> list[tuple[str, range]]:
    """Contiguous runs of equal phase labels: [("melt", range(0, 50)), ("cool", range(50, 90)), ...]."""
    segments: list[tuple[str, range]] = []
    start = 0
    for i in range(1, len(phases) + 1):
        if i == len(phases) or phases[i] != phases[start]:
            segments.append((phases[start], range(start, i)))
            start = i
    return segments


def phase_block_split(phases: list[str], validation_fraction: float, n_blocks: int = 1,
                      gap: int = 0) -> tuple[list[int], list[int], list[dict]]:
    """Training and validation frame indices with validation blocks inside every phase.

    Each contiguous phase of the labelled trajectory (melt, cool, hold, every sampling run) gets
    `validation_fraction` of its frames as `n_blocks` contiguous time blocks (time_block_split
    within the phase), so validation measures the model at every temperature the data cover and
    training still sees each of them. `gap` frames on each side of every block, in the phase or
    its neighbour, belong to neither set. Returns (training, validation, per-phase counts).
    """
    valid: list[int] = []
    for phase, segment in phase_segments(phases):
        try:
            _, block = time_block_split(len(segment), validation_fraction, n_blocks, gap)
        except ValueError as err:
            raise ValueError(f"phase {phase!r} has {len(segment)} labelled frames: too few to "
                             f"split (config keys train.validation_fraction="
                             f"{validation_fraction}, train.validation_blocks={n_blocks}, "
                             f"train.split_gap_frames={gap})") from err
        valid.extend(segment.start + i for i in block)
    valid_set = set(valid)
    excluded = {j for i in valid for j in range(i - gap, i + gap + 1)}
    train = [i for i in range(len(phases)) if i not in excluded and i not in valid_set]
    train_set, rows = set(train), []
    for phase, segment in phase_segments(phases):
        n_train = sum(1 for i in segment if i in train_set)
        n_valid = sum(1 for i in segment if i in valid_set)
        if n_train == 0:
            raise ValueError(f"phase {phase!r} has {len(segment)} labelled frames and none left "
                             f"for training after its validation block and gap (config keys "
                             f"train.validation_fraction={validation_fraction}, "
                             f"train.split_gap_frames={gap}); sample it longer")
        rows.append({"phase": phase, "frames": len(segment), "training": n_train,
                     "validation": n_valid})
    return train, sorted(valid), rows


def frame_phases(frames_path: str | Path) -> list[str]:
    """The `phase` of every frame of an extxyz file (frames without one: "md")."""
    from ase.io import iread

    return [str(a.info.get("phase", "md")) for a in iread(str(frames_path), index=":")]


def build_datasets(frames_path: str | Path, type_map: list[str], validation_fraction: float,
                   out_dir: str | Path, validation_blocks: int = 1, gap_frames: int = 0) -> dict:
    """extxyz frames -> deepmd/npy `training` and `validation` systems; writes and returns the split record."""
    out_dir = Path(out_dir)
    system = read_labelled_frames(frames_path, type_map)
    phases = frame_phases(frames_path)
    train_idx, valid_idx, per_phase = phase_block_split(phases, validation_fraction,
                                                        validation_blocks, gap_frames)
    for name, idx in (("training", train_idx), ("validation", valid_idx)):
        shutil.rmtree(out_dir / name, ignore_errors=True)
        system.sub_system(idx).to("deepmd/npy", str(out_dir / name))
    split = {
        "method": "contiguous time blocks inside every phase",
        "frames": len(system),
        "training_frames": index_ranges(train_idx),
        "validation_frames": index_ranges(valid_idx),
        "n_training": len(train_idx),
        "n_validation": len(valid_idx),
        "excluded_gap_frames": len(system) - len(train_idx) - len(valid_idx),
        "validation_blocks": validation_blocks,
        "per_phase": per_phase,
        "type_map": type_map,
        "atoms_per_frame": system.get_natoms(),
        "has_virial": "virials" in system.data,
    }
    write_json(out_dir / "split.json", split)
    return split
