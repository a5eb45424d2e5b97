"""Training data: labelled frames -> deepmd/npy training and validation systems, split in time blocks."""

from __future__ import annotations

import shutil
from pathlib import Path

from dpglass.io import write_json


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


def build_datasets(frames_path: str | Path, type_map: list[str], validation_fraction: float,
                   out_dir: str | Path, validation_blocks: int = 1, gap_frames: int = 0) -> dict:
    """extxyz frames -> deepmd/npy `training` and `validation` systems; writes and returns the split record."""
    out_dir = Path(out_dir)
    system = read_labelled_frames(frames_path, type_map)
    train_idx, valid_idx = time_block_split(len(system), validation_fraction, validation_blocks,
                                            gap_frames)
    for name, idx in (("training", train_idx), ("validation", valid_idx)):
        shutil.rmtree(out_dir / name, ignore_errors=True)
        system.sub_system(idx).to("deepmd/npy", str(out_dir / name))
    split = {
        "method": "contiguous time blocks",
        "frames": len(system),
        "training_frames": index_ranges(train_idx),
        "validation_frames": index_ranges(valid_idx),
        "n_training": len(train_idx),
        "n_validation": len(valid_idx),
        "excluded_gap_frames": len(system) - len(train_idx) - len(valid_idx),
        "validation_blocks": validation_blocks,
        "type_map": type_map,
        "atoms_per_frame": system.get_natoms(),
        "has_virial": "virials" in system.data,
    }
    write_json(out_dir / "split.json", split)
    return split
