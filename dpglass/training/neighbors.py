"""Neighbour statistics: `dp neighbor-stat` at every cutoff a descriptor needs -> `sel` with headroom."""

from __future__ import annotations

import math
import os
import re
import sys
from pathlib import Path

from dpglass.core.io import write_json
from dpglass.training.dp import dp
from dpglass.training.inputs import DESCRIPTORS, DPA2_REPFORMER_RCUT_RATIO


def neighbor_stat_runs(train_cfg: dict) -> list[dict]:
    """The `dp neighbor-stat` calls a descriptor needs: one per cutoff; attention descriptors count
    all neighbours together (--mixed-type) because their `sel` is one number."""
    rcut, descriptor = train_cfg["rcut_A"], train_cfg["descriptor"]
    if descriptor == "se_e2_a":
        return [{"block": "descriptor", "rcut": rcut, "mixed_type": False}]
    if descriptor == "dpa1":
        return [{"block": "descriptor", "rcut": rcut, "mixed_type": True}]
    if descriptor == "dpa2":
        return [{"block": "repinit", "rcut": rcut, "mixed_type": True},
                {"block": "repformer", "rcut": round(rcut * DPA2_REPFORMER_RCUT_RATIO, 3),
                 "mixed_type": True}]
    raise ValueError(f"config key 'train.descriptor': unknown descriptor {descriptor!r} "
                     f"(known: {', '.join(DESCRIPTORS)})")


_MAX_NBOR = re.compile(r"max_nbor_size:\s*\[([0-9\s]+)\]")
_MIN_DIST = re.compile(r"min_nbor_dist:\s*([0-9.eE+-]+)")


def parse_neighbor_stat(text: str) -> tuple[float, list[int]]:
    """(min_nbor_dist in Å, max_nbor_size per type) from the output of `dp neighbor-stat`."""
    sizes, dists = _MAX_NBOR.findall(text), _MIN_DIST.findall(text)
    if not sizes or not dists:
        raise ValueError("`dp neighbor-stat` output has no max_nbor_size/min_nbor_dist lines")
    return float(dists[-1]), [int(n) for n in sizes[-1].split()]


def sel_from_counts(max_nbor: list[int], safety_factor: float) -> list[int]:
    """sel = max neighbours x safety factor, rounded up (at least 1: DeePMD needs a slot per type)."""
    return [max(1, math.ceil(n * safety_factor - 1e-9)) for n in max_nbor]


def neighbor_stat(data_dirs: list[str], type_map: list[str], train_cfg: dict, backend: str,
                  threads: int, out_json: str | Path, log=None) -> dict:
    """Run `dp neighbor-stat` on every data directory at every cutoff the descriptor needs; record
    the per-type maxima, the safety factor and the resulting `sel` in `out_json`."""
    log = log or sys.stdout
    work = Path(out_json).parent
    work.mkdir(parents=True, exist_ok=True)
    factor = train_cfg["sel_safety_factor"]
    blocks = {}
    for run in neighbor_stat_runs(train_cfg):
        min_dist, max_nbor = math.inf, None
        for data in data_dirs:
            args = ["neighbor-stat", "-s", os.path.relpath(data, work), "-r", f"{run['rcut']:g}",
                    "-t", *type_map] + (["--mixed-type"] if run["mixed_type"] else [])
            text = dp(args, backend, work, threads, log, capture=True)
            dist, counts = parse_neighbor_stat(text)
            min_dist = min(min_dist, dist)
            max_nbor = counts if max_nbor is None else [max(a, b) for a, b in zip(max_nbor, counts)]
        sel = sel_from_counts(max_nbor, factor)
        blocks[run["block"]] = {"rcut_A": run["rcut"], "mixed_type": run["mixed_type"],
                                "max_nbor_size": max_nbor, "min_nbor_dist_A": min_dist,
                                "sel": sel[0] if run["mixed_type"] else sel}
        print(f"neighbor-stat {run['block']} (rcut {run['rcut']:g} Å): max neighbours {max_nbor} "
              f"x {factor} -> sel {blocks[run['block']]['sel']}; closest pair {min_dist:.3f} Å",
              file=log, flush=True)
    record = {"descriptor": train_cfg["descriptor"], "type_map": type_map, "safety_factor": factor,
              "data": [str(d) for d in data_dirs], "blocks": blocks}
    write_json(out_json, record)
    return record
