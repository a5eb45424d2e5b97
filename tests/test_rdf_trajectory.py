"""`dpglass rdf` and the workflow's rdf step give the same result: one function behind both."""

import json

import numpy as np
import pytest

from dpglass.steps import workflow as steps
from dpglass.cli import build_parser, main
from dpglass.analysis.rdf_files import parse_pairs, trajectory_rdf

TYPE_MAP = ["Li", "Al", "Cl", "O"]


def write_dump(path, box_A=9.0, n_frames=3, seed=0):
    """A LAMMPS custom dump of a random Li/Al/Cl cell (no O): 4 Li, 4 Al, 16 Cl."""
    rng = np.random.default_rng(seed)
    types = [1] * 4 + [2] * 4 + [3] * 16
    with open(path, "w") as out:
        for frame in range(n_frames):
            positions = rng.uniform(0, box_A, (len(types), 3))
            out.write(f"ITEM: TIMESTEP\n{frame * 100}\nITEM: NUMBER OF ATOMS\n{len(types)}\n"
                      f"ITEM: BOX BOUNDS pp pp pp\n0 {box_A}\n0 {box_A}\n0 {box_A}\n"
                      "ITEM: ATOMS id type xu yu zu\n")
            for i, (t, xyz) in enumerate(zip(types, positions)):
                out.write(f"{i + 1} {t} {xyz[0]:.5f} {xyz[1]:.5f} {xyz[2]:.5f}\n")


def test_cli_and_workflow_step_agree_skip_absent_pairs_and_cap_r_max(tmp_path):
    dump = tmp_path / "dump.lammpstrj"
    write_dump(dump)
    (tmp_path / "run.json").write_text(json.dumps({"timestep_fs": 1.0}))
    pairs = ["Li-Li", "Al-O", "Al-Cl"]  # no O in the trajectory
    steps.rdf(dump_path=str(dump), run_json=str(tmp_path / "run.json"), type_map=TYPE_MAP,
              pair_names=pairs, r_max_A=6.0, result_path=str(tmp_path / "step.json"),
              png_path=str(tmp_path / "step.png"), formula="LiAlCl4")
    assert main(["rdf", str(dump), "--format", "lammps-dump", "--type-map", ",".join(TYPE_MAP),
                 "--pairs", ",".join(pairs), "--r-max", "6.0", "--formula", "LiAlCl4",
                 "--json", str(tmp_path / "cli.json")]) == 0
    step, cli = (json.loads((tmp_path / f"{name}.json").read_text()) for name in ("step", "cli"))
    assert step == cli
    assert step["paper_reference"]["Li-Li"]["value"] == [4.22, 4.88]  # LiAlCl4's, not LACO75's
    assert step["skipped_pairs"] == ["Al-O"] and set(step["g"]) == {"Li-Li", "Al-Cl"}
    # 9 Å box: r_max 6 Å is capped just below half the cell width
    assert step["r"]["value"][-1] < 4.5


def test_no_pair_present_and_malformed_pairs_are_errors(tmp_path):
    dump = tmp_path / "dump.lammpstrj"
    write_dump(dump)
    with pytest.raises(ValueError, match="no pair has both species"):
        trajectory_rdf(dump, ["O-O"], 4.0, fmt="lammps-dump", type_map=TYPE_MAP)
    with pytest.raises(ValueError, match="analysis.rdf_pairs: 'LiLi'"):
        parse_pairs(["LiLi"])


def test_cli_analysis_defaults_come_from_the_schema(monkeypatch):
    """Change the schema's analysis defaults and the CLI's defaults follow."""
    import dpglass.cli as cli
    from dpglass.config import load_schema

    schema = load_schema()
    options = schema["properties"]["analysis"]["properties"]
    options["hop_distance_A"]["default"] = 3.5
    options["arrhenius_window_K"]["default"] = [250, 400]
    options["rdf_pairs"]["default"] = ["Na-Cl"]
    options["rdf_r_max_A"]["default"] = 4.25
    monkeypatch.setattr(cli, "load_schema", lambda: schema)
    parser = build_parser()
    assert parser.parse_args(["diffusion", "t.dump", "--ion", "Li", "--temperature", "300",
                              "--json", "o.json"]).hop_distance == 3.5
    assert parser.parse_args(["arrhenius", "a.json", "--json", "o.json"]).window == [250, 400]
    rdf = parser.parse_args(["rdf", "t.dump", "--json", "o.json"])
    assert rdf.pairs == ["Na-Cl"] and rdf.r_max == 4.25
