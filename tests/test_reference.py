"""Reference calculators by name; DFT codes write correct inputs without their binaries."""

import sys

import numpy as np
import pytest
from ase import Atoms

from dpglass.reference import CalculatorUnavailable, check_calculator_name, make_calculator


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


# A stand-in for `cp2k.psmp -s` that speaks the CP2K shell protocol (VERSION, HARSH, WRITE_FILE)
# up to LOAD, keeps the input file CP2K would have been given (argv[1]), and stops there.
FAKE_CP2K_SHELL = """
import sys
print("* READY", flush=True)
for line in sys.stdin:
    command = line.strip()
    if command == "VERSION":
        print("CP2K Shell Version: 9.1", flush=True)
    elif command == "WRITE_FILE":
        name, count = sys.stdin.readline().strip(), int(sys.stdin.readline())
        lines = [sys.stdin.readline().rstrip("\\n") for _ in range(count)]
        assert sys.stdin.readline().strip() == "*END"
        if name.endswith(".inp"):
            open(sys.argv[1], "w").write("\\n".join(lines))
    elif command.startswith("LOAD"):
        sys.exit(3)
    print("* READY", flush=True)
"""


def test_cp2k_generates_pbe_input(tmp_path):
    shell, kept = tmp_path / "fake_cp2k_shell.py", tmp_path / "given.inp"
    shell.write_text(FAKE_CP2K_SHELL)
    command = f"{sys.executable} {shell} {kept}"
    atoms = small_cell()
    atoms.calc = make_calculator("cp2k", {"command": command, "max_scf": 60},
                                 directory=tmp_path / "calc")
    assert atoms.calc.command == command
    with pytest.raises(Exception):  # the stand-in stops after LOAD: no energy
        atoms.get_potential_energy()
    text = kept.read_text()  # what CP2K would have run
    assert "&PBE" in text and "&XC_FUNCTIONAL" in text
    assert "CUTOFF [eV] 8.16" in text  # 600 Ry
    assert "STRESS_TENSOR ANALYTICAL" in text and "MAX_SCF 60" in text
    assert "BASIS_SET DZVP-MOLOPT-SR-GTH" in text and "POTENTIAL GTH-PBE" in text
    for element in ("Li", "Al", "Cl", "O"):
        assert f"&KIND {element}" in text


@pytest.mark.md  # CHGNet
def test_chgnet_default_gives_finite_energy_forces_stress():
    atoms = small_cell()
    atoms.calc = make_calculator("chgnet")
    assert np.isfinite(atoms.get_potential_energy())
    assert atoms.get_forces().shape == (5, 3) and np.all(np.isfinite(atoms.get_stress()))


def test_missing_relabel_package_is_caught_before_the_melt_quench(monkeypatch):
    from dpglass.reference import check_available

    monkeypatch.setitem(sys.modules, "sevenn", None)  # find_spec raises ValueError: as if absent
    with pytest.raises(CalculatorUnavailable,
                       match=r"'reference.relabel.calculator': calculator 'sevennet' .*pip install sevenn"):
        check_available("sevennet", "reference.relabel.calculator")
    check_available("vasp")  # ASE's own calculators need no extra package
    check_available("chgnet")
