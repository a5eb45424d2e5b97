"""Reference calculators by name; DFT codes write correct inputs without their binaries; CP2K's
convergence check and installation check against a stand-in shell and installation."""

import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
from ase import Atoms

from dpglass.reference.calculators import CalculatorUnavailable, check_calculator_name, make_calculator


def small_cell() -> Atoms:
    return Atoms("LiAlCl2O", scaled_positions=[[0, 0, 0], [0.5, 0.5, 0.5], [0.25, 0.25, 0.5],
                                               [0.75, 0.75, 0.5], [0.5, 0.5, 0.25]],
                 cell=[6.0, 6.0, 6.0], pbc=True)


def test_unknown_name_and_import_path():
    with pytest.raises(ValueError, match="'reference.calculator': 'gaussian-dft' is unknown"):
        make_calculator("gaussian-dft")
    calc = make_calculator("ase.calculators.lj:LennardJones", {"sigma": 2.5, "rc": 6.0})
    assert calc.parameters.sigma == 2.5
    with pytest.raises(ValueError, match="cannot import"):
        make_calculator("ase.calculators.nothing:Calc")
    check_calculator_name("vasp")
    with pytest.raises(ValueError, match="reference.relabel.calculator"):
        check_calculator_name("dft", "reference.relabel.calculator")


def test_sevennet_missing_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "sevenn", None)  # import sevenn -> ImportError, as when absent
    monkeypatch.setitem(sys.modules, "sevenn.calculator", None)
    with pytest.raises(CalculatorUnavailable, match="pip install sevenn"):
        make_calculator("sevennet")


@pytest.fixture
def fake_potcars(tmp_path, monkeypatch):
    """A VASP_PP_PATH with stand-in POTCARs (ASE only concatenates them)."""
    root = tmp_path / "pp"
    for setup in ("Li_sv", "Al", "Cl", "O"):
        folder = root / "potpaw_PBE" / setup
        folder.mkdir(parents=True)
        (folder / "POTCAR").write_text(f"  PAW_PBE {setup} 01Jan2000\n   1.0\n End of Dataset\n")
    monkeypatch.setenv("VASP_PP_PATH", str(root))
    return root


def test_vasp_writes_pbe_single_point_inputs(tmp_path, fake_potcars):
    run = tmp_path / "vasp"
    calc = make_calculator("vasp", {"command": "mpirun -np 64 vasp_std", "encut": 600},
                           directory=run)
    assert calc.command == "mpirun -np 64 vasp_std"
    run.mkdir()  # Vasp.calculate makes it; write_input alone does not
    calc.write_input(small_cell())
    incar = {line.split("=")[0].strip(): line.split("=")[1].strip()
             for line in (run / "INCAR").read_text().splitlines() if "=" in line}
    assert incar["GGA"] == "PE"  # PBE
    assert incar["ENCUT"] == "600.000000"  # the kwarg overrides the default 520
    assert float(incar["EDIFF"]) == 1e-6
    assert incar["IBRION"] == "-1" and incar["NSW"] == "0" and incar["ISIF"] == "2"
    assert incar["ISMEAR"] == "0" and incar["PREC"] == "Accurate"
    kpoints = (run / "KPOINTS").read_text().splitlines()
    assert kpoints[2].strip().lower().startswith("g") and kpoints[3].split() == ["1", "1", "1"]
    poscar = (run / "POSCAR").read_text().splitlines()
    assert poscar[5].split() == ["Li", "Al", "Cl", "O"] and poscar[6].split() == ["1", "1", "2", "1"]
    potcar = (run / "POTCAR").read_text()
    assert potcar.index("Li_sv") < potcar.index("PAW_PBE Al") < potcar.index("PAW_PBE Cl")


def test_espresso_writes_pw_input_with_pseudopotentials(tmp_path):
    pseudos = {"Li": "li_pbe_v1.4.uspp.F.UPF", "Al": "Al.pbe-n-kjpaw_psl.1.0.0.UPF",
               "Cl": "cl_pbe_v1.4.uspp.F.UPF", "O": "O.pbe-n-kjpaw_psl.0.1.UPF"}
    calc = make_calculator("espresso", {"command": "mpirun -np 8 pw.x", "pseudo_dir": "/opt/sssp",
                                        "pseudopotentials": pseudos,
                                        "input_data": {"system": {"ecutwfc": 70}}},
                           directory=tmp_path / "qe")
    assert calc.profile.command == "mpirun -np 8 pw.x"
    calc.write_inputfiles(small_cell(), ["energy", "forces", "stress"])
    text = (tmp_path / "qe" / "espresso.pwi").read_text()
    assert "ecutwfc          = 70" in text  # override merged into the defaults
    assert "ecutrho          = 480" in text  # default kept
    assert "tstress          = .true." in text and "tprnfor          = .true." in text
    assert "input_dft        = 'PBE'" in text
    assert "pseudo_dir       = '/opt/sssp'" in text
    for element, upf in pseudos.items():
        assert any(line.split()[0] == element and line.split()[-1] == upf
                   for line in text.splitlines() if upf in line)
    assert "K_POINTS gamma" in text


FAKE_SHELL = Path(__file__).resolve().parent / "fake_cp2k_shell.py"


def fake_cp2k(tmp_path, outcomes, **kwargs):
    """dpglass's CP2K calculator on tests/fake_cp2k_shell.py with these evaluation outcomes."""
    plan = tmp_path / "plan"
    plan.write_text("\n".join(outcomes))
    command = f"{sys.executable} {FAKE_SHELL} {plan}"
    return make_calculator("cp2k", {"command": command, **kwargs}, directory=tmp_path / "calc"), plan


def test_cp2k_generates_pbe_input(tmp_path):
    atoms = small_cell()
    atoms.calc, plan = fake_cp2k(tmp_path, ["converged"], max_scf=60, cutoff_Ry=500)
    assert atoms.get_potential_energy() == pytest.approx(-5.0)
    text = (tmp_path / "plan.inp").read_text()  # what CP2K would have run
    assert "&PBE" in text and "&XC_FUNCTIONAL" in text
    assert f"CUTOFF [eV] {500 * 13.605693122994:.18e}" in text  # cutoff_Ry: 500 Ry
    assert "STRESS_TENSOR ANALYTICAL" in text and "MAX_SCF 60" in text
    assert "BASIS_SET DZVP-MOLOPT-SR-GTH" in text and "POTENTIAL GTH-PBE" in text
    assert "POTENTIAL_FILE_NAME GTH_POTENTIALS" in text and "BASIS_SET_FILE_NAME BASIS_MOLOPT" in text
    assert "METHOD BROYDEN_MIXING" in text and "METHOD FERMI_DIRAC" in text  # dpglass's SCF
    for element in ("Li", "Al", "Cl", "O"):
        assert f"&KIND {element}" in text


def test_unconverged_cp2k_is_a_failed_single_point_and_the_next_one_runs(tmp_path):
    """CP2K 2023 warns and returns numbers ('warn'); CP2K 2024+ aborts and its shell dies
    ('abort'): both are 'SCF not converged' with CP2K's line, and the next frame is labelled
    by a fresh shell. The version and data directory come from the output."""
    from dpglass.reference.labelling import single_point

    atoms = small_cell()
    calc, plan = fake_cp2k(tmp_path, ["warn", "abort", "converged", "converged"])
    results, reason = single_point(atoms, calc)
    assert results is None
    assert reason == "SCF not converged: WARNING in qs_scf.F:601 :: SCF run NOT converged"
    atoms.rattle(0.01, seed=1)
    results, reason = single_point(atoms, calc)
    assert results is None and reason.startswith("SCF not converged: SCF run NOT converged. "
                                                 "To continue the calculation regardless")
    atoms.rattle(0.01, seed=2)
    results, reason = single_point(atoms, calc)  # a new shell (the old one died)
    assert reason is None and results["energy"] == pytest.approx(-5.0)
    assert results["forces"].shape == (5, 3) and results["stress"].shape == (6,)
    assert calc.version == "CP2K version 2099.9 (git:fake)" and calc.data_directory == "/fake/data"
    assert plan.read_text().split() == ["converged"]  # one evaluation per frame, no retry
    from dpglass.reference.calculators import describe

    assert describe("cp2k", {"cutoff_Ry": 500}, calc) | {"input_template": None} == {
        "code": "CP2K", "version": "CP2K version 2099.9 (git:fake)",
        "data_directory": "/fake/data", "functional": "PBE", "basis_set": "DZVP-MOLOPT-SR-GTH",
        "basis_set_file": "BASIS_MOLOPT", "pseudopotential": "GTH-PBE",
        "pseudopotential_file": "GTH_POTENTIALS", "max_scf": 100,
        "cutoff": {"value": 500.0, "error": None, "unit": "Ry"}, "input_template": None}


@pytest.fixture
def cp2k_install(tmp_path, monkeypatch):
    """A fake CP2K installation: a `cp2k.psmp` on PATH whose --version names its data directory,
    which holds a basis file with Li/Al/Cl and O and a potential file without O."""
    bin_dir, data = tmp_path / "bin", tmp_path / "data"
    bin_dir.mkdir()
    data.mkdir()
    program = bin_dir / "cp2k.psmp"
    program.write_text(f"#!/bin/sh\necho ' -D __DATA_DIR=\"{data}\" -D __SHORT_FILE__=x'\n")
    program.chmod(0o755)
    (data / "BASIS_MOLOPT").write_text("".join(
        f"# {el}\n {el} DZVP-MOLOPT-SR-GTH DZVP-MOLOPT-SR-GTH-q3\n 1\n 2 0 1 7 2 2\n"
        for el in ("Li", "Al", "Cl", "O")))
    (data / "GTH_POTENTIALS").write_text("".join(
        f"{el} GTH-PBE-q3 GTH-PBE\n    1    2\n" for el in ("Li", "Al", "Cl")))
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    monkeypatch.delenv("CP2K_DATA_DIR", raising=False)
    monkeypatch.delenv("ASE_CP2K_COMMAND", raising=False)
    return data


def test_cp2k_installation_check_names_the_key_and_what_is_missing(cp2k_install, tmp_path):
    from dpglass.reference.cp2k import CP2KSetupError, check_installation, compiled_data_dir, data_directory

    compiled_data_dir.cache_clear()
    key = "reference.relabel.kwargs"
    check_installation({}, ["Li", "Al", "Cl"], key)  # the compiled data directory has them
    assert data_directory({}) == (cp2k_install, f"compiled into {shutil.which('cp2k.psmp')}")
    with pytest.raises(CP2KSetupError, match=r"'reference.relabel.kwargs.pseudo_potential': "
                                             r".*GTH_POTENTIALS has no pseudopotential 'GTH-PBE' "
                                             r"for O"):
        check_installation({}, ["Li", "O"], key)
    with pytest.raises(CP2KSetupError, match=r"'reference.relabel.kwargs.basis_set': .* no basis "
                                             r"set 'TZV2P-GTH' for Li, Al"):
        check_installation({"basis_set": "TZV2P-GTH"}, ["Li", "Al"], key)
    with pytest.raises(CP2KSetupError, match=r"'reference.relabel.kwargs.command': CP2K program "
                                             r"'/opt/nowhere/cp2k.psmp' .* not found on PATH.*module load cp2k"):
        check_installation({"command": "mpirun -np 4 /opt/nowhere/cp2k.psmp -s"}, ["Li"], key)
    with pytest.raises(CP2KSetupError, match=r"'reference.relabel.kwargs.data_dir': .* is not a "
                                             r"directory"):
        check_installation({"data_dir": str(tmp_path / "nowhere")}, ["Li"], key)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    with pytest.raises(CP2KSetupError, match=r"'reference.relabel.kwargs.basis_set_file': "
                                             r".*elsewhere/BASIS_MOLOPT does not exist"):
        check_installation({"data_dir": str(elsewhere)}, ["Li"], key)
    with pytest.raises(CP2KSetupError, match=r"unknown CP2K keyword\(s\) encut"):
        check_installation({"encut": 500}, ["Li"], key)
    # data_dir: files by name become absolute paths there (mpirun cannot lose them)
    from dpglass.reference.cp2k import settings

    params = settings({"data_dir": str(cp2k_install), "potential_file": "/opt/mine/POT"})
    assert params["basis_set_file"] == str(cp2k_install / "BASIS_MOLOPT")
    assert params["potential_file"] == "/opt/mine/POT" and "data_dir" not in params


@pytest.mark.parametrize("kwargs, match", [
    ({"cutoff_Ry": "600"}, "kwargs.cutoff_Ry': '600' must be a positive number"),
    ({"cutoff_Ry": 600, "cutoff": 8000}, "give the cutoff once"),
    ({"data_dir": 3}, "kwargs.data_dir': 3 must be a string"),
])
def test_cp2k_keywords_are_checked_with_the_config(kwargs, match):
    from dpglass.config import ConfigError, validate_config

    with pytest.raises(ConfigError, match=match):
        validate_config({"compositions": {"A": {"formula": "LiAlCl4"}},
                         "reference": {"relabel": {"calculator": "cp2k", "kwargs": kwargs}}})


def test_program_of_a_run_command():
    from dpglass.reference.cp2k import program

    assert program("cp2k.psmp -s") == "cp2k.psmp"
    assert program("env OMP_NUM_THREADS=2 mpirun -np 4 /opt/cp2k/bin/cp2k.psmp -s") == \
        "/opt/cp2k/bin/cp2k.psmp"
    assert program("OMP_NUM_THREADS=2 my-wrapper --shell") == "my-wrapper"


@pytest.mark.md  # CHGNet
def test_chgnet_default_gives_finite_energy_forces_stress():
    atoms = small_cell()
    atoms.calc = make_calculator("chgnet")
    assert np.isfinite(atoms.get_potential_energy())
    assert atoms.get_forces().shape == (5, 3) and np.all(np.isfinite(atoms.get_stress()))


def test_missing_relabel_package_is_caught_before_the_melt_quench(monkeypatch):
    from dpglass.reference.calculators import check_available

    monkeypatch.setitem(sys.modules, "sevenn", None)  # find_spec raises ValueError: as if absent
    with pytest.raises(CalculatorUnavailable,
                       match=r"'reference.relabel.calculator': calculator 'sevennet' .*pip install sevenn"):
        check_available("sevennet", "reference.relabel.calculator")
    check_available("vasp")  # ASE's own calculators need no extra package
    check_available("chgnet")
