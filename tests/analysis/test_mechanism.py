"""The mechanism steps on a dump with known hops: per run, pooled per temperature beside the
plan's prediction, in summary.md; and their bad inputs."""

import json

import numpy as np
import pytest

from dpglass.core.io import write_json
from dpglass.report.markdown import summary_markdown
from dpglass.steps.workflow import mechanism, mechanism_run, total_scattering
from dpglass.core.units import quantity
from synthetic_md import BOX_A, SPECIES_COUNTS, TYPE_MAP, lattice_walk, write_lammps_dump

HOPS = {"threshold_A": 1.5, "smoothing_ps": 0.05, "min_residence_ps": 0.1}
N_FRAMES = 1500  # 10 fs apart (10 steps of 1 fs)


def glass_dump(tmp_path, seed):
    """Li walking between sites (known hops), the framework vibrating in place."""
    rng = np.random.default_rng(seed)
    lithium, truth = lattice_walk(N_FRAMES, SPECIES_COUNTS["Li"], rng, mean_residence_frames=120)
    n_framework = sum(SPECIES_COUNTS.values()) - SPECIES_COUNTS["Li"]
    framework = rng.uniform(0, BOX_A, (n_framework, 3)) + rng.normal(
        scale=0.1, size=(N_FRAMES, n_framework, 3))
    symbols = np.repeat(list(SPECIES_COUNTS), list(SPECIES_COUNTS.values()))
    dump = tmp_path / f"dump{seed}.lammpstrj"
    write_lammps_dump(dump, np.concatenate([lithium, framework], axis=1), symbols, step_stride=10)
    run = tmp_path / f"run{seed}.json"
    write_json(run, {"timestep_fs": 1.0, "replica": 0, "temperature": quantity(303.0, None, "K")})
    return dump, run, truth


def test_mechanism_of_runs_with_known_hops_beside_the_plans_prediction(tmp_path):
    results, hops_true = [], 0
    for seed in (1, 2):
        dump, run, truth = glass_dump(tmp_path, seed)
        hops_true += sum(len(ion) for ion in truth)
        out = tmp_path / f"mechanism_{seed}.json"
        mechanism_run(dump_path=str(dump), run_json=str(run), ion="Li", type_map=TYPE_MAP,
                      temperature_K=303.0, hop_events=HOPS, result_path=str(out), glass=seed - 1)
        result = json.loads(out.read_text())
        assert result["hops"]["n_hops"]["value"] == sum(len(ion) for ion in truth)
        assert result["glass"]["verdict"] == "glass"  # the framework only vibrates
        assert set(result["species_msd"]) == set(TYPE_MAP)
        results.append(str(out))
    prior_D = 2e-6  # cm²/s = 0.02 Å²/ps
    aggregate = tmp_path / "mechanism.json"
    pngs = [tmp_path / name for name in ("msd.png", "hops.png", "density.png")]
    mechanism(run_paths=results, diffusion_paths=[], prior_D=[[303.0, prior_D]],
              hop_distance_A=2.0, formula="LiAlCl2.5O0.75", result_path=str(aggregate),
              msd_png=str(pngs[0]), hops_png=str(pngs[1]), density_png=str(pngs[2]))
    row = json.loads(aggregate.read_text())["temperatures"][0]
    assert row["n_runs"]["value"] == 2
    assert row["hops_per_ion"]["value"] == pytest.approx(hops_true / 16)
    duration_ps = (N_FRAMES - 1) * 0.01
    # the plan's count: 6 D t / a², D in Å²/ps
    assert row["hops_per_ion_plan"]["value"] == pytest.approx(6 * 0.02 * duration_ps / 2.0**2)
    assert row["he_relative_error"]["value"] == pytest.approx(3.43 / np.sqrt(hops_true))
    assert row["length_peaks"]["value"][0] == pytest.approx(2.55, abs=0.05)
    assert all(p.read_bytes()[:4] == b"\x89PNG" for p in pngs)
    text = summary_markdown({"composition": "X", "formula": "LiAlCl2.5O0.75", "ion": "Li",
                             "transport": [], "mechanism": [row],
                             "paper": {"Li_Li_shortest_hops": quantity([2.55, 3.08], None, "Å")}})
    assert "## Mechanism: how the ion moves" in text
    line = next(line for line in text.splitlines() if line.startswith("| 303 |"))
    cells = [cell.strip() for cell in line.strip("|").split("|")]
    assert cells[2] == "glass" and float(cells[3].split(" ± ")[0]) == pytest.approx(
        hops_true / 16, rel=1e-2)
    assert float(cells[4]) == pytest.approx(6 * 0.02 * duration_ps / 4, rel=1e-2)
    assert "2.55, 3.08 Å" in text


def test_a_species_not_in_the_trajectory_is_named(tmp_path):
    dump, run, _ = glass_dump(tmp_path, 3)
    with pytest.raises(ValueError, match=r"species \['Na'\] not in trajectory species"):
        mechanism_run(dump_path=str(dump), run_json=str(run), ion="Na", type_map=TYPE_MAP,
                      temperature_K=303.0, hop_events=HOPS, result_path=str(tmp_path / "o.json"),
                      glass=0)


def test_total_scattering_step_writes_json_plot_and_a_gr_file(tmp_path):
    dump, run, _ = glass_dump(tmp_path, 4)
    out, png, gr = tmp_path / "ts.json", tmp_path / "ts.png", tmp_path / "ts.gr"
    total_scattering(dump_path=str(dump), run_json=str(run), type_map=TYPE_MAP,
                     radiation="neutron", q_max_per_A=10.0, measured_gr=None,
                     result_path=str(out), png_path=str(png), gr_path=str(gr))
    result = json.loads(out.read_text())
    assert result["frame_stride"] == 8 and result["n_frames"]["value"] == 188  # ≤ 200 frames
    r, G = np.loadtxt(gr, comments="#").T
    np.testing.assert_allclose(G, result["G"]["value"], atol=1e-6)
    assert png.read_bytes()[:4] == b"\x89PNG"
