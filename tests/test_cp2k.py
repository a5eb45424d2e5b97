"""CP2K for real (marker dft; tests/cp2k/install.sh installs it from Debian when missing): its
forces and stress are derivatives of its energy, its labels reach the deepmd data in deepmd's
units and sign, and an unconverged SCF is a failed label with its reason, never a training frame.

One CP2K shell labels a 5-atom Li/Al/Cl/O cell through the workflow's labeller and then does
the finite-difference single points (module fixture): about a dozen single points in all.
"""

import json
import subprocess

import numpy as np
import pytest

from cp2k_helpers import QUICK, ensure_cp2k, small_cell
from dpglass.reference.cp2k import SCF_SECTION
from dpglass.reference.labelling import LabellingError, calculator_arguments, label, single_point

pytestmark = pytest.mark.dft

# Tight SCF for finite differences (an energy difference of ~1e-3 eV must be right to 1e-6 eV),
# and the forces printed in CP2K's output for dpdata's reader.
TIGHT = QUICK | {"inp": SCF_SECTION.replace("EPS_SCF 1.0E-6", "EPS_SCF 1.0E-8").replace(
    "&FORCE_EVAL\n", "&FORCE_EVAL\n  &PRINT\n    &FORCES ON\n    &END FORCES\n  &END PRINT\n", 1)}
STEP_A = 0.005  # Å, central differences of positions
STRAIN = 1e-3  # central differences of the strain
FORCE_TOLERANCE = 1e-3  # eV/Å (measured: 3e-4 at these settings)
STRESS_TOLERANCE = 2e-4  # eV/Å^3, 0.03 GPa (measured: 8e-5)
FORCE_COMPONENTS = [(1, 0), (4, 2)]  # (atom, Cartesian component)
STRAIN_COMPONENTS = [(0, 0), (0, 1)]  # a normal and a shear component


def strained(atoms, i, j, amount):
    """`atoms` with the symmetric strain ε_ij = ε_ji = amount (ε_ii = amount on the diagonal)."""
    eps = np.zeros((3, 3))
    eps[i, j] += amount if i == j else amount / 2
    if i != j:
        eps[j, i] += amount / 2
    out = atoms.copy()
    out.set_cell(np.asarray(atoms.cell[:]) @ (np.eye(3) + eps), scale_atoms=True)
    return out


@pytest.fixture(scope="module")
def cp2k_run(tmp_path_factory):
    """The small cell labelled by the workflow's labeller with CP2K, then (same CP2K shell) the
    energies of displaced and strained copies."""
    ensure_cp2k()
    work = tmp_path_factory.mktemp("cp2k")
    frame = small_cell()
    arguments = calculator_arguments("cp2k", TIGHT, work, "reference.relabel",
                                     sorted(set(frame.get_chemical_symbols())))
    made = []

    def make_calc():
        made.append(arguments["make_calc"]())
        return made[-1]

    labelled, report = label([frame], calculator_name="cp2k", max_failed_fraction=0.0,
                             work=work, **{**arguments, "make_calc": make_calc})
    calc = made[0]

    def energy(atoms):
        results, reason = single_point(atoms, calc)
        assert reason is None, reason
        return results["energy"]

    forces_fd = {}
    for atom, axis in FORCE_COMPONENTS:
        plus, minus = frame.copy(), frame.copy()
        plus.positions[atom, axis] += STEP_A
        minus.positions[atom, axis] -= STEP_A
        forces_fd[(atom, axis)] = -(energy(plus) - energy(minus)) / (2 * STEP_A)
    strain_derivative = {(i, j): (energy(strained(frame, i, j, STRAIN))
                                  - energy(strained(frame, i, j, -STRAIN))) / (2 * STRAIN)
                         for i, j in STRAIN_COMPONENTS}
    return {"frame": frame, "labelled": labelled[0], "report": report, "work": work,
            "forces_fd": forces_fd, "dE_dstrain": strain_derivative}


def test_forces_are_minus_the_gradient_of_the_energy(cp2k_run):
    forces = cp2k_run["labelled"].get_forces()
    for (atom, axis), fd in cp2k_run["forces_fd"].items():
        print(f"F[{atom},{axis}] = {forces[atom, axis]:.6f} eV/Å, -dE/dx = {fd:.6f} eV/Å")
        assert abs(forces[atom, axis]) > 10 * FORCE_TOLERANCE  # a force worth checking
        assert forces[atom, axis] == pytest.approx(fd, abs=FORCE_TOLERANCE)


def test_stress_is_the_strain_derivative_of_the_energy(cp2k_run):
    """ASE's stress (eV/Å^3, tension positive) is (1/V) dE/dε."""
    stress = cp2k_run["labelled"].get_stress(voigt=False)
    volume = cp2k_run["frame"].get_volume()
    for (i, j), derivative in cp2k_run["dE_dstrain"].items():
        print(f"stress[{i},{j}] = {stress[i, j]:.6f}, (1/V) dE/dε = {derivative / volume:.6f} eV/Å^3")
        assert abs(stress[i, j]) > 5 * STRESS_TOLERANCE
        assert stress[i, j] == pytest.approx(derivative / volume, abs=STRESS_TOLERANCE)


def test_labels_reach_deepmd_in_its_units_and_sign_as_dpdata_reads_cp2k(cp2k_run, tmp_path):
    """The labeller's frame -> extxyz -> deepmd/npy (the workflow's path) gives what dpdata reads
    from a CP2K output of the same frame: eV, eV/Å and the virial W = -dE/dε in eV (checked
    against the finite differences too)."""
    import dpdata
    from ase.io import write

    from dpglass.training.data import read_labelled_frames

    type_map = ["Li", "Al", "Cl", "O"]
    write(tmp_path / "frames.extxyz", [cp2k_run["labelled"]], format="extxyz")
    read_labelled_frames(tmp_path / "frames.extxyz", type_map).to("deepmd/npy", tmp_path / "npy")
    energy = np.load(tmp_path / "npy/set.000/energy.npy")[0]
    forces = np.load(tmp_path / "npy/set.000/force.npy")[0].reshape(-1, 3)
    virial = np.load(tmp_path / "npy/set.000/virial.npy")[0].reshape(3, 3)
    volume = cp2k_run["frame"].get_volume()
    assert energy == pytest.approx(cp2k_run["labelled"].get_potential_energy(), abs=1e-6)
    for (i, j), derivative in cp2k_run["dE_dstrain"].items():
        assert virial[i, j] == pytest.approx(-derivative, abs=STRESS_TOLERANCE * volume)

    # the same frame as a plain CP2K run (the input the labeller's shell loaded), read by dpdata
    inp = (cp2k_run["work"] / "calc" / "cp2k.inp").read_text()
    lines = [("PROJECT standalone" if line.strip().startswith("PROJECT") else
              "PRINT_LEVEL MEDIUM" if line.strip().startswith("PRINT_LEVEL") else line)
             for line in inp.splitlines()]
    (tmp_path / "standalone.inp").write_text("\n".join(lines) + "\n")
    subprocess.run(["cp2k.psmp", "-i", "standalone.inp", "-o", "standalone.out"], cwd=tmp_path,
                   check=True, env={"OMP_NUM_THREADS": "2", "PATH": "/usr/bin:/bin"})
    system = dpdata.LabeledSystem(str(tmp_path / "standalone.out"), fmt="cp2k/output",
                                  type_map=type_map)
    order = [type_map.index(s) for s in cp2k_run["frame"].get_chemical_symbols()]
    assert list(system["atom_types"]) == order  # same atoms in the same order
    # CP2K's shell hands ASE the energy in eV converted with CP2K's own Hartree (27.211383857 eV,
    # CODATA 2006), dpdata converts the output's Hartree with CODATA 2018's (27.211386246 eV):
    # 8.8e-8 relative, 1.3e-4 eV of this cell's -1503 eV. A unit or sign slip is 1e-2 or more.
    assert system["energies"][0] == pytest.approx(energy, rel=2e-7)
    np.testing.assert_allclose(system["forces"][0], forces, atol=1e-4)
    # dpdata 1.1.0's cp2k/output reader returns no virial for this output: by hand from CP2K's
    # printed stress (GPa, positive = compressive): W = V σ_CP2K
    block = (tmp_path / "standalone.out").read_text()
    block = block[block.index("STRESS| Analytical stress tensor [GPa]"):].splitlines()[2:5]
    stress_gpa = np.array([line.split()[2:5] for line in block], dtype=float)
    np.testing.assert_allclose(stress_gpa / 160.21766208 * volume, virial, atol=1e-3)
    if "virials" in system.data:
        np.testing.assert_allclose(system["virials"][0], virial, atol=1e-3)


def test_labels_carry_their_provenance(cp2k_run):
    report = cp2k_run["report"]
    assert report["single_points_computed"] == 1 and report["frames_labelled"] == 1
    (reference,) = report["reference"]
    assert reference["code"] == "CP2K" and reference["version"].startswith("CP2K version 20")
    assert reference["functional"] == "PBE" and reference["pseudopotential"] == "GTH-PBE"
    assert reference["basis_set"] == "SZV-MOLOPT-SR-GTH"
    assert reference["cutoff"] == {"value": 300.0, "error": None, "unit": "Ry"}
    record = json.loads(next(cp2k_run["work"].glob("frame_*.json")).read_text())
    assert record["reference"] == reference and record["energy"] == pytest.approx(
        cp2k_run["labelled"].get_potential_energy())


def test_unconverged_scf_is_a_failed_label_counted_by_reason(cp2k_run, tmp_path):
    """max_scf 2: CP2K 2023 warns 'SCF run NOT converged' and returns numbers; the labeller
    records the failure with CP2K's line and never writes the frame."""
    frame = cp2k_run["frame"]
    kwargs = QUICK | {"max_scf": 2}
    arguments = calculator_arguments("cp2k", kwargs, tmp_path, "reference.relabel",
                                     sorted(set(frame.get_chemical_symbols())))
    with pytest.raises(LabellingError, match=r"1 of 1 single points failed .* reasons: "
                                             r"\{'SCF not converged': 1\}"):
        label([frame], calculator_name="cp2k", max_failed_fraction=0.5, work=tmp_path,
              **arguments)
    (record,) = [json.loads(p.read_text()) for p in tmp_path.glob("frame_*.json")]
    assert record["reason"].startswith("SCF not converged: WARNING in qs_scf.F")
    assert "SCF run NOT converged" in record["reason"] and "energy" not in record
