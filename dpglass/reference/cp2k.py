"""CP2K as a reference code: where its program and data files are, whether a single point's SCF
converged, and what the labels it gives are (code, version, functional, basis, pseudopotentials,
cutoff).

ASE drives CP2K through its shell mode (``cp2k.psmp -s``), which keeps one CP2K process alive
over many single points. ASE's calculator has no `converged` flag: CP2K 2023 finishes an SCF that
ran out of steps with the warning "SCF run NOT converged" in its output file and returns the
unconverged energy and forces; CP2K 2024 and later abort (unless IGNORE_CONVERGENCE_FAILURE is
set), which kills the shell. `make_calculator` gives a calculator that reads the output file of
every evaluation and raises `SCFNotConverged` in both cases, and starts a fresh shell for the next
single point after any failure.

Where CP2K finds its basis and potential files: a name that is not a path is looked up in
`data_dir` (a dpglass keyword of reference.kwargs / reference.relabel.kwargs), else in
$CP2K_DATA_DIR, else in the data directory compiled into the program (`cp2k.psmp --version`
prints it), which is where Debian's cp2k-data puts them (/usr/share/cp2k).

Light at import (the installation check runs while Snakemake starts a workflow): ASE is imported
only by `make_calculator`.
"""

from __future__ import annotations

import functools
import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path

RYDBERG_EV = 13.605693122994  # ase.units.Rydberg (CODATA 2014), without importing ASE

# PBE labels close to the paper's (VASP PBE, Γ point): DZVP-MOLOPT-SR basis, GTH-PBE
# pseudopotentials (Li with its 1s semicore, as VASP's Li_sv), 600 Ry density cutoff, analytic
# stress. The SCF: ASE's CP2K leaves CP2K's default (diagonalisation, plain density mixing), which
# on a 21-atom random packing of LiAlCl2.5O0.75 oscillated for 90+ steps without converging;
# orbital transformation (OT, DIIS) converged CHGNet-MD frames of that glass in 72, 30 and 28
# steps; diagonalisation with Broyden mixing and a 300 K Fermi-Dirac smearing (no effect on a
# gapped glass, but it keeps a frame with a small gap from sloshing) in 16, 14 and 15 steps, to
# the same energy within 2e-6 eV (benchmarks/bench_cp2k.py's frames, CP2K 2023.1).
SCF_SECTION = """&FORCE_EVAL
  &DFT
    &SCF
      EPS_SCF 1.0E-6
      ADDED_MOS 20
      &SMEAR ON
        METHOD FERMI_DIRAC
        ELECTRONIC_TEMPERATURE [K] 300
      &END SMEAR
      &MIXING
        METHOD BROYDEN_MIXING
        ALPHA 0.3
        NBROYDEN 8
      &END MIXING
    &END SCF
  &END DFT
&END FORCE_EVAL
"""
DEFAULTS = {
    "xc": "PBE", "cutoff": 600 * RYDBERG_EV,  # in eV, as ASE's CP2K expects
    "basis_set": "DZVP-MOLOPT-SR-GTH", "basis_set_file": "BASIS_MOLOPT",
    "pseudo_potential": "GTH-PBE", "potential_file": "GTH_POTENTIALS",
    "max_scf": 100, "stress_tensor": True, "print_level": "LOW", "inp": SCF_SECTION,
}
DEFAULT_COMMAND = "cp2k.psmp -s"  # ASE's default, when neither `command` nor $ASE_CP2K_COMMAND
# Keywords dpglass reads itself (never passed to ASE): the data directory, and the density cutoff
# in Ry (CP2K's own unit; ASE's `cutoff` is in eV).
OWN_KEYWORDS = ("data_dir", "cutoff_Ry")
SCF_NOT_CONVERGED = "SCF run NOT converged"


class CP2KSetupError(ValueError):
    """CP2K cannot run as configured: program, data directory or a basis/potential missing."""


class SCFNotConverged(RuntimeError):
    """A CP2K single point whose SCF did not converge: its energy and forces are not labels."""


class CP2KError(RuntimeError):
    """CP2K stopped with an error of its own (the message is CP2K's)."""


def run_command(kwargs: dict) -> str:
    """The command that starts the CP2K shell: kwargs `command`, else $ASE_CP2K_COMMAND, else
    ASE's default."""
    return kwargs.get("command") or os.environ.get("ASE_CP2K_COMMAND") or DEFAULT_COMMAND


def program(command: str) -> str:
    """The CP2K program in a run command ('mpirun -np 4 cp2k.psmp -s' -> 'cp2k.psmp'): the first
    word naming cp2k, else the first word that is no environment assignment or `env`."""
    words = shlex.split(command)
    named = [w for w in words if "cp2k" in Path(w).name.lower()]
    if named:
        return named[0]
    plain = [w for w in words if w != "env" and not re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", w)]
    return plain[0] if plain else command


@functools.lru_cache(maxsize=None)
def compiled_data_dir(executable: str) -> str | None:
    """The data directory compiled into a CP2K program (__DATA_DIR in `--version`), or None."""
    try:
        out = subprocess.run([executable, "--version"], capture_output=True, text=True,
                             timeout=60).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.search(r'__DATA_DIR="([^"]+)"', out)
    return match.group(1) if match else None


def data_directory(kwargs: dict) -> tuple[Path | None, str]:
    """(directory, where that came from) of the basis and potential files given by name."""
    if kwargs.get("data_dir"):
        return Path(kwargs["data_dir"]).expanduser(), "data_dir"
    if os.environ.get("CP2K_DATA_DIR"):
        return Path(os.environ["CP2K_DATA_DIR"]), "$CP2K_DATA_DIR"
    executable = shutil.which(program(run_command(kwargs)))
    compiled = compiled_data_dir(executable) if executable else None
    if compiled:
        return Path(compiled), f"compiled into {executable}"
    return None, "none found"


def data_file(name: str, directory: Path | None) -> Path:
    """A basis or potential file as CP2K will open it: a path as given, a bare name in the data
    directory."""
    path = Path(name).expanduser()
    if path.is_absolute() or directory is None or len(path.parts) > 1:
        return path
    return directory / path


def names_for(path: Path, element: str) -> set[str]:
    """The names a CP2K basis-set or potential file gives `element` (upper case, as CP2K compares
    them): every word after the symbol on its header lines ('Li DZVP-MOLOPT-SR-GTH DZVP-...-q3')."""
    names: set[str] = set()
    with open(path, errors="replace") as handle:
        for line in handle:
            words = line.split("#", 1)[0].split()
            if len(words) >= 2 and words[0].lower() == element.lower() and not words[1][0].isdigit():
                names.update(word.upper() for word in words[1:])
    return names


def check_keywords(kwargs: dict, key: str) -> None:
    """Types of the keywords dpglass reads itself (no program, no files: the config check)."""
    for name in ("command", "data_dir"):
        if name in kwargs and not isinstance(kwargs[name], str):
            raise CP2KSetupError(f"config key '{key}.{name}': {kwargs[name]!r} must be a string")
    if "cutoff_Ry" in kwargs:
        value = kwargs["cutoff_Ry"]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
            raise CP2KSetupError(f"config key '{key}.cutoff_Ry': {value!r} must be a positive "
                                 f"number (the density cutoff in Ry)")
        if "cutoff" in kwargs:
            raise CP2KSetupError(f"config key '{key}.cutoff_Ry': give the cutoff once, as "
                                 f"cutoff_Ry (Ry) or ASE's cutoff (eV), not both")


def check_installation(kwargs: dict, elements: list[str], key: str) -> None:
    """Fail with the config key and what is missing when CP2K cannot label these elements: an
    unknown keyword, the program, the data directory, the basis or potential file, or a
    species' basis set or pseudopotential in them. Cheap (a `--version` call, two file reads)."""
    from ase.calculators.cp2k import CP2K

    check_keywords(kwargs, key)
    known = set(CP2K.default_parameters) | {"command", "directory", "label", "debug"}
    unknown = sorted(set(kwargs) - known - set(OWN_KEYWORDS))
    if unknown:
        raise CP2KSetupError(f"config key '{key}': unknown CP2K keyword(s) {', '.join(unknown)}; "
                             f"known: {', '.join(sorted(known | set(OWN_KEYWORDS)))} (anything "
                             f"else goes into an `inp` input template)")
    command = run_command(kwargs)
    executable = program(command)
    if shutil.which(executable) is None:
        raise CP2KSetupError(
            f"config key '{key}.command': CP2K program {executable!r} (from the run command "
            f"{command!r}) is not found on PATH; install CP2K (Debian/Ubuntu: apt-get install "
            f"cp2k; conda-forge: conda install cp2k; a cluster: module load cp2k) or set "
            f"{key}.command to the shell command, e.g. 'mpirun -np 4 /opt/cp2k/bin/cp2k.psmp -s'")
    directory, source = data_directory(kwargs)
    if kwargs.get("data_dir") and not directory.is_dir():
        raise CP2KSetupError(f"config key '{key}.data_dir': {str(directory)!r} is not a directory")
    params = settings(kwargs)
    for file_key, name_key, what in (("basis_set_file", "basis_set", "basis set"),
                                     ("potential_file", "pseudo_potential", "pseudopotential")):
        if not params.get(file_key) or not params.get(name_key):
            continue  # given in the user's `inp` template instead
        path = data_file(params[file_key], directory)
        if not path.is_file():
            raise CP2KSetupError(
                f"config key '{key}.{file_key}': {path} does not exist (data directory: "
                f"{directory if directory else 'none'}, {source}); set {key}.data_dir to the "
                f"directory holding CP2K's {Path(params[file_key]).name} (Debian: /usr/share/cp2k)")
        wanted = str(params[name_key]).upper()
        missing = [el for el in elements if wanted not in names_for(path, el)]
        if missing:
            raise CP2KSetupError(
                f"config key '{key}.{name_key}': {path} has no {what} {params[name_key]!r} for "
                f"{', '.join(missing)}")


def new_output(path: Path, offset: int) -> str:
    """What CP2K wrote to its output file after byte `offset` ('' when there is no file)."""
    try:
        with open(path, errors="replace") as handle:
            handle.seek(offset)
            return handle.read()
    except FileNotFoundError:
        return ""


def scf_failure(text: str) -> str | None:
    """Why the SCF of this output did not converge, or None: CP2K's own line."""
    for line in text.splitlines():
        if SCF_NOT_CONVERGED in line:
            return " ".join(line.replace("*", " ").split())
    return None


# The stick figure on the left of CP2K's error box, line by line (the message runs beside it).
_ABORT_ART = re.compile(r"^(\\___/|O/\||/\| \||/ \\|\|)(\s+|$)")
_SOURCE_LOCATION = re.compile(r"^\S+\.F:\d+$")


def error_message(text: str) -> str | None:
    """The message of CP2K's error box ('[ABORT]', a stick figure and the text beside it) as one
    line, or None."""
    lines = text.splitlines()
    for n, line in enumerate(lines):
        if "[ABORT]" not in line:
            continue
        words = []
        for following in lines[n + 1:]:
            content = following.strip()
            if content.startswith("****"):
                break
            content = _ABORT_ART.sub("", content.strip("*").strip()).strip()
            if content and not _SOURCE_LOCATION.match(content):
                words.append(content)
        return " ".join(words) or "CP2K aborted"
    return None


def version(text: str) -> str | None:
    """'CP2K version 2023.1 (git:b888bd8)' from the header of a CP2K output."""
    found = re.search(r"CP2K\| version string:\s+(.+)", text)
    if not found:
        return None
    revision = re.search(r"CP2K\| source code revision number:\s+(\S+)", text)
    return found.group(1).strip() + (f" ({revision.group(1)})" if revision else "")


def data_directory_used(text: str) -> str | None:
    """The data directory a CP2K output says it searched ('CP2K| Data directory path')."""
    found = re.search(r"CP2K\| Data directory path\s+(\S+)", text)
    return found.group(1) if found else None


def settings(kwargs: dict) -> dict:
    """The ASE CP2K parameters dpglass runs with: its DEFAULTS, then the user's kwargs; with
    `data_dir`, basis and potential files given by name become absolute paths in it (mpirun and a
    batch system's environment cannot lose them), else CP2K finds them itself."""
    params = {**DEFAULTS, **{k: v for k, v in kwargs.items() if k not in OWN_KEYWORDS}}
    if kwargs.get("cutoff_Ry") is not None:
        params["cutoff"] = float(kwargs["cutoff_Ry"]) * RYDBERG_EV
    if kwargs.get("data_dir"):
        directory = Path(kwargs["data_dir"]).expanduser()
        for file_key in ("basis_set_file", "potential_file"):
            if params.get(file_key):
                params[file_key] = str(data_file(params[file_key], directory))
    return params


def describe(kwargs: dict, code_version: str | None = None,
             data_dir: str | None = None) -> dict:
    """What labels these settings give, for provenance: code, version and data directory (as a
    CP2K output states them), functional, basis set, pseudopotentials (with their files) and the
    density cutoff."""
    params = settings(kwargs)
    return {
        "code": "CP2K",
        "version": code_version,
        "data_directory": data_dir,
        "functional": params.get("xc"),
        "basis_set": params.get("basis_set"),
        "basis_set_file": params.get("basis_set_file"),
        "pseudopotential": params.get("pseudo_potential"),
        "pseudopotential_file": params.get("potential_file"),
        "cutoff": {"value": round(params["cutoff"] / RYDBERG_EV, 6), "error": None, "unit": "Ry"}
        if params.get("cutoff") else None,
        "max_scf": params.get("max_scf"),
        "input_template": params.get("inp") or None,
    }


@functools.lru_cache(maxsize=None)
def _checked_class():
    """ASE's CP2K calculator that checks every evaluation's output (ASE imported here only)."""
    from ase.calculators.calculator import all_changes
    from ase.calculators.cp2k import CP2K

    class CheckedCP2K(CP2K):
        """CP2K whose unconverged SCF raises SCFNotConverged and whose failed evaluation leaves
        a fresh CP2K shell for the next one. `output_text` holds the last evaluation's output."""

        output_text = ""
        version = None
        data_directory = None

        @property
        def output_path(self) -> Path:
            return Path(self.label + ".out")

        def calculate(self, atoms=None, properties=None, system_changes=all_changes):
            offset = self.output_path.stat().st_size if self.output_path.exists() else 0
            try:
                super().calculate(atoms, properties, system_changes)
            except Exception as err:
                self.output_text = new_output(self.output_path, offset)
                self._abandon()
                message = error_message(self.output_text)
                if scf_failure(self.output_text):  # CP2K 2024+ aborts on an unconverged SCF
                    raise SCFNotConverged(message or scf_failure(self.output_text)) from err
                if message:
                    raise CP2KError(message) from err
                raise
            self.output_text = new_output(self.output_path, offset)
            self.version = version(self.output_text) or self.version
            self.data_directory = data_directory_used(self.output_text) or self.data_directory
            reason = scf_failure(self.output_text)
            if reason:
                self.reset()  # never hand out the unconverged results as if they were labels
                raise SCFNotConverged(reason)

        def _abandon(self):
            """A failed evaluation leaves the shell dead (CP2K aborted) or out of step: close
            it; the next evaluation starts a new one and loads the input again."""
            import warnings

            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # 'sending SIGTERM': we know
                try:
                    self.close()
                except Exception:  # noqa: BLE001 - a dead shell may fail to close cleanly
                    self._shell = None
                    self._force_env_id = None
            self.reset()

    return CheckedCP2K


def make_calculator(directory=None, **kwargs):
    """A CP2K calculator (ASE, shell mode) with dpglass's defaults and checks; `directory` is
    where CP2K writes its input, output and wavefunction files."""
    params = settings(kwargs)
    params["command"] = run_command(kwargs)
    if directory is not None:
        Path(directory).mkdir(parents=True, exist_ok=True)
        params.setdefault("directory", str(directory))
    return _checked_class()(**params)
