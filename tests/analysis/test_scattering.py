"""Total scattering: rock-salt LiCl by hand, the form factors, S(Q) of a shell, measured G(r)."""

import numpy as np
import pytest
from ase.build import bulk

from dpglass.analysis.scattering import (NEUTRON_SCATTERING_LENGTH_FM, partial_structure_factors,
                                         r_factor, read_measured_gr, total_scattering,
                                         xray_form_factor)
from dpglass.analysis.trajectory import Frame

A_LICL = 5.13  # Å, rock-salt LiCl
B_LI, B_CL = -1.90, 9.577  # fm, Sears (1992)


def rocksalt_frames(n_frames=4, jitter_A=0.05, seed=0):
    crystal = bulk("LiCl", "rocksalt", a=A_LICL, cubic=True).repeat(4)  # 512 atoms, 20.5 Å
    rng = np.random.default_rng(seed)
    for _ in range(n_frames):
        positions = crystal.positions + rng.normal(scale=jitter_A, size=crystal.positions.shape)
        yield Frame(None, np.array(crystal.get_chemical_symbols()), positions,
                    np.array(crystal.cell), False)


def peak_area(result, low, high):
    """∫ 4π r² ρ0 g(r) dr over [low, high]: the weighted number of neighbours in that shell."""
    r = np.array(result["r"]["value"])
    g = np.array(result["g"]["value"])
    inside = (r >= low) & (r <= high)
    dr = r[1] - r[0]
    return float(np.sum(4 * np.pi * r[inside] ** 2 * result["number_density"]["value"]
                        * g[inside]) * dr)


def test_rocksalt_licl_neutron_peaks_sit_where_and_weigh_what_the_scattering_lengths_say():
    result = total_scattering(rocksalt_frames(), "neutron", q_max_per_A=10)
    # Peak areas by hand, Faber–Ziman: Σ_ab c_a b_a b_b N_ab / ⟨b⟩² with c = 1/2 each,
    # ⟨b⟩ = (b_Li + b_Cl)/2. First shell: 6 Cl around each Li and 6 Li around each Cl at a/2.
    mean_b2 = ((B_LI + B_CL) / 2) ** 2
    first = (0.5 * B_LI * B_CL * 6 + 0.5 * B_CL * B_LI * 6) / mean_b2        # = -7.41
    second = (0.5 * B_LI**2 * 12 + 0.5 * B_CL**2 * 12) / mean_b2            # = +38.8, at a/√2
    assert first == pytest.approx(-7.41, abs=0.01) and second == pytest.approx(38.82, abs=0.01)
    assert peak_area(result, 2.3, 2.85) == pytest.approx(first, rel=0.02)
    assert peak_area(result, 3.3, 3.95) == pytest.approx(second, rel=0.02)
    r, G = np.array(result["r"]["value"]), np.array(result["G"]["value"])
    near_first = (r > 2.3) & (r < 2.85)
    near_second = (r > 3.3) & (r < 3.95)
    # Li's negative length makes the Li–Cl peak a dip of G(r), at a/2; the like pairs a peak at a/√2
    assert r[near_first][np.argmin(G[near_first])] == pytest.approx(A_LICL / 2, abs=0.03)
    assert r[near_second][np.argmax(G[near_second])] == pytest.approx(A_LICL / np.sqrt(2), abs=0.03)
    assert result["weights"]["Li"]["value"] == B_LI and result["weights"]["Li"]["unit"] == "fm"


def test_rocksalt_licl_xray_weights_make_the_first_peak_positive():
    result = total_scattering(rocksalt_frames(2), "xray", q_max_per_A=10)
    f_li, f_cl = (float(xray_form_factor(e, 0.0)) for e in ("Li", "Cl"))
    expected = (0.5 * f_li * f_cl * 6 * 2) / ((f_li + f_cl) / 2) ** 2      # ≈ 3·17·6/100 = 3.06
    assert expected == pytest.approx(3.06, abs=0.01)
    assert peak_area(result, 2.3, 2.85) == pytest.approx(expected, rel=0.02)
    # S(Q) weighs the partials with f(Q): Li's share shrinks with Q faster than Cl's
    assert result["weights"]["Cl"]["unit"] == "e" and np.all(np.isfinite(result["S"]["value"]))
    f_ratio = xray_form_factor("Li", 8.0) / xray_form_factor("Cl", 8.0)
    assert f_ratio < f_li / f_cl


@pytest.mark.parametrize("element, Z", [("Li", 3), ("Na", 11), ("Al", 13), ("O", 8), ("Cl", 17),
                                        ("Br", 35), ("I", 53)])
def test_xray_form_factors_start_at_the_electron_count_and_fall_with_q(element, Z):
    assert float(xray_form_factor(element, 0.0)) == pytest.approx(Z, abs=0.01)
    values = xray_form_factor(element, np.array([0.0, 2.0, 6.0, 12.0]))
    assert np.all(np.diff(values) < 0)


def test_neutron_lengths_agree_with_pymatgens_copy_of_the_nist_table():
    """An independent copy of Sears (1992) (pymatgen's neutron diffraction data, when installed)."""
    import json
    from pathlib import Path

    diffraction = pytest.importorskip("pymatgen.analysis.diffraction.neutron")
    table = json.loads((Path(diffraction.__file__).parent / "neutron_scattering_length.json")
                       .read_text())
    for element, length in NEUTRON_SCATTERING_LENGTH_FM.items():
        assert length == pytest.approx(table[element], abs=1e-4), element


def test_structure_factor_of_one_shell_is_its_sinc():
    """g(r) − 1 = a thin shell of N neighbours at r0: S(Q) − 1 = N sin(Q r0)/(Q r0)."""
    r = np.arange(0.01, 12.0, 0.02)
    density, r0, width, N = 0.05, 3.0, 0.03, 6.0
    shell = np.exp(-0.5 * ((r - r0) / width) ** 2)
    shell *= N / np.sum(4 * np.pi * density * r**2 * shell * 0.02)
    q = np.linspace(0.5, 8.0, 40)
    s = partial_structure_factors(r, {"A-A": 1.0 + shell}, density, q, lorch=False)["A-A"]
    expected = 1.0 + N * np.sin(q * r0) / (q * r0) * np.exp(-0.5 * (q * width) ** 2)
    np.testing.assert_allclose(s, expected, atol=2e-3)


def test_measured_gr_file_with_a_header_gives_its_r_factor(tmp_path):
    result = total_scattering(rocksalt_frames(2), "neutron", q_max_per_A=5)
    r, G = np.array(result["r"]["value"]), np.array(result["G"]["value"])
    path = tmp_path / "measured.gr"
    rows = "\n".join(f"{x:.6f} {1.1 * y:.8f} 0.0 0.01" for x, y in zip(r[::5], G[::5]))
    path.write_text("[DEFAULT]\nversion = PDFgetX3-2.0\nqmax = 20.0\n#### start data\n"
                    f"#S 1\n#L r G dr dG\n{rows}\n")
    read_r, read_G = read_measured_gr(path)
    assert len(read_r) == len(r[::5])
    fit = r_factor(read_r, read_G, r, G)
    # G_obs = 1.1 G_calc: Rw = |0.1| / 1.1
    assert fit["Rw"]["value"] == pytest.approx(0.1 / 1.1, rel=1e-4)
    with_measured = total_scattering(rocksalt_frames(2), "neutron", q_max_per_A=5,
                                     measured_gr=path)
    assert with_measured["measured"]["Rw"]["value"] == pytest.approx(0.1 / 1.1, rel=1e-3)


@pytest.mark.parametrize("text, message", [
    ("1.0\n2.0\n" * 10, "0 rows of"),
    ("".join(f"{i * 0.1} {i}\n" for i in range(20)) + "oops here\n", "line 21"),
    ("".join(f"{2 - i * 0.1} {i}\n" for i in range(20)), "increase"),
])
def test_measured_gr_in_a_wrong_format_is_an_error_naming_the_file(tmp_path, text, message):
    path = tmp_path / "bad.gr"
    path.write_text(text)
    with pytest.raises(ValueError, match=message) as error:
        read_measured_gr(path)
    assert "bad.gr" in str(error.value)


def test_measured_gr_outside_the_cell_is_refused_before_the_pairs_are_counted(tmp_path):
    path = tmp_path / "far.gr"
    path.write_text("".join(f"{20 + i * 0.1} {i}\n" for i in range(30)))
    with pytest.raises(ValueError, match="inside the simulated range"):
        total_scattering(rocksalt_frames(1), "neutron", measured_gr=path)


def test_an_element_without_a_tabulated_weight_is_named():
    frame = next(rocksalt_frames(1))
    frame.symbols = np.where(frame.symbols == "Li", "Fe", frame.symbols)
    with pytest.raises(ValueError, match="neutron scattering length for element 'Fe'"):
        total_scattering([frame], "neutron")
    with pytest.raises(ValueError, match="X-ray form factor for element 'Fe'"):
        total_scattering([frame], "xray")
    with pytest.raises(ValueError, match="radiation"):
        total_scattering([frame], "electron")
