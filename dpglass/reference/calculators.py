"""Reference calculators by name: the one registry the melt-quench and the labelling use.

Adding a code means adding one entry to REGISTRY, not touching the rules. The DFT codes are driven
through ASE with a configurable run command, and start from PBE defaults close to the paper's
(VASP, PBE, Γ-point AIMD); any key in the config's `kwargs` overrides a default.

- ``vasp``: ``command`` kwarg, else ASE_VASP_COMMAND (e.g. "mpirun -np 64 vasp_std"); POTCARs
  from VASP_PP_PATH. ASE 3.29 reads both from the [environment] section of its config file
  (~/.config/ase/config.ini) and still accepts, with a deprecation warning, environment variables.
- ``espresso``: ``command`` (default "pw.x") and ``pseudo_dir`` kwargs build the ASE 3.29
  EspressoProfile; ``pseudopotentials`` maps element -> UPF file.
- ``cp2k``: ``command`` kwarg, else $ASE_CP2K_COMMAND (default "cp2k.psmp -s", the CP2K shell);
  ``data_dir`` (basis and potential files), ``cutoff_Ry``; an unconverged SCF raises
  (dpglass.reference.cp2k, which also checks the installation before a run).
- ``chgnet`` (default, offline) and ``sevennet`` (optional: ``pip install sevenn``).
- anything else: an import path "package.module:Class" called with the kwargs.
"""

from __future__ import annotations

import copy
import importlib
from pathlib import Path
from typing import Any, Callable

# Per-code defaults; user kwargs override them key by key (nested dicts merged).
VASP_DEFAULTS = {
    "xc": "PBE", "setups": "recommended", "encut": 520, "prec": "Accurate", "ediff": 1e-6,
    "nelm": 200, "ismear": 0, "sigma": 0.05, "ispin": 1, "lreal": "Auto", "algo": "Normal",
    "ibrion": -1, "nsw": 0, "isif": 2,  # single point; ISIF=2 still computes the stress
    "kpts": (1, 1, 1), "gamma": True, "lwave": False, "lcharg": False,
}
ESPRESSO_DEFAULTS = {
    "input_data": {
        "control": {"calculation": "scf", "tprnfor": True, "tstress": True, "disk_io": "none"},
        "system": {"ecutwfc": 60, "ecutrho": 480, "occupations": "fixed", "input_dft": "PBE"},
        "electrons": {"conv_thr": 1e-8, "mixing_beta": 0.5, "electron_maxstep": 200},
    },
    "kpts": None,  # Γ-point tricks of pw.x
}


class CalculatorUnavailable(ImportError):
    """A registered calculator whose package is not installed."""


def merged(defaults: dict, overrides: dict) -> dict:
    """Defaults updated by overrides, nested dicts merged key by key."""
    out = copy.deepcopy(defaults)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merged(out[key], value)
        else:
            out[key] = value
    return out


def _chgnet(directory=None, **kwargs):
    from chgnet.model import CHGNet
    from chgnet.model.dynamics import CHGNetCalculator

    model = CHGNet.load(verbose=False)
    kwargs.setdefault("use_device", "cpu")
    return CHGNetCalculator(model=model, **kwargs)


def _sevennet(directory=None, **kwargs):
    try:
        from sevenn.calculator import SevenNetCalculator
    except ImportError as err:
        raise CalculatorUnavailable(
            f"reference calculator 'sevennet' needs the SevenNet package, which is not installed "
            f"({err}); install it with: pip install sevenn") from None
    kwargs.setdefault("model", "7net-0")
    kwargs.setdefault("device", "cpu")
    return SevenNetCalculator(**kwargs)


def _vasp(directory=None, **kwargs):
    from ase.calculators.vasp import Vasp

    params = merged(VASP_DEFAULTS, kwargs)
    if directory is not None:
        params.setdefault("directory", str(directory))
    return Vasp(**params)


def _espresso(directory=None, **kwargs):
    from ase.calculators.espresso import Espresso, EspressoProfile

    params = merged(ESPRESSO_DEFAULTS, kwargs)
    command = params.pop("command", "pw.x")
    pseudo_dir = params.pop("pseudo_dir", ".")
    if directory is not None:
        params.setdefault("directory", str(directory))
    return Espresso(profile=EspressoProfile(command=command, pseudo_dir=pseudo_dir), **params)


def _cp2k(directory=None, **kwargs):
    from dpglass.reference.cp2k import make_calculator as make_cp2k

    return make_cp2k(directory=directory, **kwargs)


REGISTRY: dict[str, Callable[..., Any]] = {
    "chgnet": _chgnet,
    "sevennet": _sevennet,
    "vasp": _vasp,
    "espresso": _espresso,
    "cp2k": _cp2k,
}


# Registered calculators whose Python package is optional: (module, install hint).
OPTIONAL_PACKAGES = {"chgnet": ("chgnet", "pip install chgnet"), "sevennet": ("sevenn", "pip install sevenn")}


def check_available(name: str, key: str = "reference.calculator") -> None:
    """Fail fast (no import, only a module lookup) when a registered calculator's package is missing,
    e.g. before a long melt-quench whose frames a missing relabelling calculator could never label."""
    import importlib.util

    if name not in OPTIONAL_PACKAGES:
        return
    module, hint = OPTIONAL_PACKAGES[name]
    try:
        found = importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        found = False
    if not found:
        raise CalculatorUnavailable(f"config key '{key}': calculator {name!r} needs the {module} "
                                    f"package, which is not installed; install it with: {hint}")


def check_calculator_name(name: str, key: str = "reference.calculator") -> None:
    """Cheap check (no imports) that `name` is registered or looks like 'package.module:Class'."""
    if name in REGISTRY:
        return
    module_name, sep, attr = name.partition(":")
    if not (sep and module_name and attr):
        raise ValueError(f"config key '{key}': {name!r} is unknown; use one of "
                         f"{', '.join(sorted(REGISTRY))} or an import path 'package.module:Class'")


def make_calculator(name: str, kwargs: dict | None = None, directory=None):
    """An ASE calculator from a registered name or an import path 'package.module:Class'.

    `directory` is where file-based codes (VASP, QE, CP2K) run, unless kwargs name one.
    """
    check_calculator_name(name)
    kwargs = dict(kwargs or {})
    if name in REGISTRY:
        return REGISTRY[name](directory=directory, **kwargs)
    module_name, _, attr = name.partition(":")
    try:
        factory = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as err:
        raise ValueError(f"reference.calculator {name!r}: cannot import ({err})") from None
    calc = factory(**kwargs)
    # ASE calculators run (and write their files) in calc.directory, '.' by default: give each
    # rule its own so parallel compositions never share files.
    if directory is not None and "directory" not in kwargs and hasattr(calc, "directory"):
        Path(directory).mkdir(parents=True, exist_ok=True)
        calc.directory = str(directory)
    return calc


def check_ready(section: str, settings: dict, elements: list[str]) -> None:
    """Before a run: the package of the calculator `settings` names (check_available) and, for
    CP2K, its program and a basis set and pseudopotential for every element. `section` is the
    config key of `settings` ('reference', 'reference.relabel'); errors name its keys."""
    name = settings.get("calculator")
    if name is None:
        return
    check_available(name, f"{section}.calculator")
    if name == "cp2k":
        from dpglass.reference.cp2k import check_installation

        check_installation(settings.get("kwargs") or {}, elements, f"{section}.kwargs")


def _package_version(module: str) -> str | None:
    from importlib import metadata

    try:
        return metadata.version(module)
    except metadata.PackageNotFoundError:
        return None


def describe(name: str, kwargs: dict | None = None, calc=None) -> dict:
    """What labels a calculator gives, for provenance: at least the code and its version; for
    DFT codes the functional, basis or cutoff and pseudopotentials. `calc` (the calculator that
    ran, when there is one) supplies what only a run knows, e.g. CP2K's version string."""
    kwargs = dict(kwargs or {})
    if name == "cp2k":
        from dpglass.reference.cp2k import describe as describe_cp2k

        return describe_cp2k(kwargs, getattr(calc, "version", None),
                             getattr(calc, "data_directory", None))
    if name == "chgnet":
        model = getattr(getattr(calc, "model", None), "version", None)
        return {"code": "CHGNet", "version": _package_version("chgnet"),
                "model": f"CHGNet {model}" if model else "CHGNet (package default)"}
    if name == "sevennet":
        return {"code": "SevenNet", "version": _package_version("sevenn"),
                "model": kwargs.get("model", "7net-0")}
    if name == "vasp":
        params = merged(VASP_DEFAULTS, kwargs)
        return {"code": "VASP", "version": None, "functional": params.get("xc"),
                "pseudopotential": f"PAW ({params.get('setups')} setups)",
                "cutoff": {"value": params.get("encut"), "error": None, "unit": "eV"}}
    if name == "espresso":
        system = merged(ESPRESSO_DEFAULTS, kwargs)["input_data"]["system"]
        return {"code": "Quantum ESPRESSO", "version": None,
                "functional": system.get("input_dft"),
                "pseudopotential": kwargs.get("pseudopotentials"),
                "cutoff": {"value": system.get("ecutwfc"), "error": None, "unit": "Ry"}}
    module = name.partition(":")[0]
    return {"code": name, "version": _package_version(module.split(".")[0]),
            "kwargs": kwargs}
