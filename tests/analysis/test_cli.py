import json

import numpy as np
import pytest

from dpglass.cli import main

from synthetic_md import toy_glass, write_lammps_dump

TYPE_MAP = "Li,Al,Cl,O"


def _is_quantity(entry) -> bool:
    return isinstance(entry, dict) and set(entry) == {"value", "error", "unit"}


def _bare_numbers(node, where="$"):
    """Paths of numbers in a JSON tree that are not inside a quantity object."""
    if _is_quantity(node):
        return []
    if isinstance(node, bool) or node is None or isinstance(node, str):
        return []
    if isinstance(node, (int, float)):
        return [where]
    children = node.items() if isinstance(node, dict) else enumerate(node)
    return [path for key, child in children for path in _bare_numbers(child, f"{where}.{key}")]


def test_diffusion_cli_writes_quantities_and_plot(toy_dump, tmp_path):
    path, *_ = toy_dump
    out, plot = tmp_path / "li_300.json", tmp_path / "msd.png"
    assert main(["diffusion", str(path), "--ion", "Li", "--temperature", "300", "--type-map",
                 TYPE_MAP, "--timestep-fs", "1", "--json", str(out), "--plot", str(plot)]) == 0
    result = json.loads(out.read_text())
    for key, unit in [("D", "cm^2/s"), ("sigma_tracer", "mS/cm"), ("sigma_collective", "mS/cm"),
                      ("haven_ratio", "1"), ("temperature", "K"), ("fit_window", "ps")]:
        assert _is_quantity(result[key]) and result[key]["unit"] == unit
    assert result["diffusive"] is True
    assert len(result["fit_window"]["value"]) == 2
    assert _bare_numbers(result) == []
    assert plot.stat().st_size > 10_000


def test_arrhenius_and_rdf_cli(tmp_path):
    result_paths = []
    for seed, temperature in enumerate((303, 318, 333, 348, 363)):  # VFT by AICc needs 5
        D = 0.02 * np.exp(-0.3 / 8.617333262e-5 * (1 / temperature - 1 / 303))
        positions, symbols = toy_glass(200, D, 1.0, seed=seed)
        dump = tmp_path / f"T{temperature}.dump"
        write_lammps_dump(dump, positions, symbols)
        result_paths.append(tmp_path / f"T{temperature}.json")
        assert main(["diffusion", str(dump), "--ion", "Li", "--temperature", str(temperature),
                     "--type-map", TYPE_MAP, "--json", str(result_paths[-1])]) == 0
    fit_path, plot = tmp_path / "arrhenius.json", tmp_path / "arrhenius.png"
    assert main(["arrhenius", *map(str, result_paths), "--window", "303", "378",
                 "--json", str(fit_path), "--plot", str(plot)]) == 0
    fit = json.loads(fit_path.read_text())
    assert fit["Ea"]["unit"] == "eV" and fit["sigma_303K"]["unit"] == "mS/cm"
    assert fit["window"]["value"] == [303.0, 378.0]
    assert _bare_numbers(fit) == []
    assert abs(fit["Ea"]["value"] - 0.3) < 3 * fit["Ea"]["error"]
    assert fit["model_comparison"]["verdict"] == "Arrhenius adequate"
    assert plot.stat().st_size > 10_000

    rdf_path, rdf_plot = tmp_path / "rdf.json", tmp_path / "rdf.png"
    assert main(["rdf", str(tmp_path / "T303.dump"), "--type-map", TYPE_MAP, "--stride", "50",
                 "--json", str(rdf_path), "--plot", str(rdf_plot)]) == 0
    rdf = json.loads(rdf_path.read_text())
    assert set(rdf["g"]) == {"Li-Li", "Al-Al", "Al-O", "Al-Cl"}
    assert rdf["n_frames"]["value"] == 4
    assert _is_quantity(rdf["bridging_oxygen_fraction"])
    assert _bare_numbers(rdf) == []
    assert rdf_plot.stat().st_size > 10_000


@pytest.mark.parametrize("arguments, message", [
    (["--ion", "Li", "--temperature", "0"], "--temperature"),
    (["--ion", "Xx", "--temperature", "300"], "ion 'Xx'"),
])
def test_bad_diffusion_input_fails_without_output(toy_dump, tmp_path, capsys, arguments, message):
    path, *_ = toy_dump
    out = tmp_path / "out.json"
    assert main(["diffusion", str(path), "--type-map", TYPE_MAP, *arguments,
                 "--json", str(out)]) != 0
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_missing_and_empty_trajectories_fail_without_output(tmp_path, capsys):
    out = tmp_path / "out.json"
    assert main(["diffusion", str(tmp_path / "nope.dump"), "--ion", "Li", "--temperature", "300",
                 "--json", str(out)]) != 0
    assert "nope.dump" in capsys.readouterr().err
    empty = tmp_path / "empty.dump"
    empty.write_text("")
    assert main(["diffusion", str(empty), "--ion", "Li", "--temperature", "300",
                 "--type-map", TYPE_MAP, "--json", str(out)]) != 0
    assert "no frames" in capsys.readouterr().err
    assert main(["arrhenius", str(tmp_path / "missing.json"), "--json", str(out)]) != 0
    assert not out.exists()


def test_species_without_a_formal_charge_still_gives_D_and_tracer_sigma(tmp_path, capsys):
    """Li10GeP2S12-like: Ge has no formal charge in dpglass; only the total σ is unavailable."""
    positions, symbols = toy_glass(300, 0.05, 1.0, seed=5)
    symbols = np.array([{"Al": "Ge", "Cl": "S", "O": "P"}.get(s, s) for s in symbols])
    dump, out = tmp_path / "lgps.dump", tmp_path / "lgps.json"
    write_lammps_dump(dump, positions, symbols, type_map=["Li", "Ge", "P", "S"])
    assert main(["diffusion", str(dump), "--ion", "Li", "--temperature", "300", "--type-map",
                 "Li,Ge,P,S", "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    assert result["D"]["value"] > 0 and result["D"]["error"] > 0
    assert result["sigma_tracer"]["value"] > 0 and result["sigma_tracer"]["unit"] == "mS/cm"
    assert result["sigma_collective_ion"]["value"] > 0
    assert result["sigma_collective"]["value"] is None and result["haven_ratio"]["value"] is None
    assert "Ge" in result["sigma_collective_unavailable"]
    assert result["ion_charge"] == {"value": 1.0, "error": None, "unit": "e"}  # Li's formal charge
    assert "total conductivity" in result["note"]
    assert _bare_numbers(result) == []
    # With Ge's charge given, the total conductivity is there.
    assert main(["diffusion", str(dump), "--ion", "Li", "--temperature", "300", "--type-map",
                 "Li,Ge,P,S", "--charges", "Ge=4", "--json", str(out)]) == 0
    assert json.loads(out.read_text())["sigma_collective"]["value"] is not None


def test_nan_coordinate_stops_with_frame_and_atom(tmp_path, capsys):
    positions, symbols = toy_glass(50, 0.05, 1.0, seed=6)
    positions[17, 20, 1] = np.nan  # a Cl atom (id 21) in frame 17
    dump, out = tmp_path / "nan.dump", tmp_path / "nan.json"
    write_lammps_dump(dump, positions, symbols)
    assert main(["diffusion", str(dump), "--ion", "Li", "--temperature", "300", "--type-map",
                 TYPE_MAP, "--json", str(out)]) != 0
    error = capsys.readouterr().err
    assert "frame 17 (step 17000)" in error and "atom id 21 (Cl)" in error
    assert "non-finite" in error
    assert not out.exists()
