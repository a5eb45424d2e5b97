"""``dpglass`` command line: diffusion, arrhenius and rdf analyses writing JSON (and plots), and
``dpglass config show FILE`` (the config the workflow runs with ``--configfile FILE``)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Sequence

from dpglass.config import load_schema
from dpglass.core.io import write_json

# The analysis choices, as constants here so that `dpglass plan` need not import the analysis
# (tests/test_plan.py checks they match dpglass.analysis).
DRIFT_CORRECTIONS = ("system", "framework", "none")
TRAJECTORY_FORMATS = ("lammps-dump", "extxyz")


def _type_map(text: str) -> list[str]:
    return [symbol.strip() for symbol in text.split(",") if symbol.strip()]


def _charges(text: str) -> dict:
    """'Li=1,Cl=-1' -> {'Li': 1.0, 'Cl': -1.0}."""
    try:
        return {name.strip(): float(value) for name, value in
                (item.split("=") for item in text.split(",") if item.strip())}
    except ValueError:
        raise argparse.ArgumentTypeError(f"--charges expects Species=charge,..., got {text!r}")


def _pairs(text: str) -> list[str]:
    return [pair.strip() for pair in text.split(",") if pair.strip()]


def analysis_defaults() -> dict:
    """The analysis options' defaults: the config schema's `analysis.*` defaults, the one source."""
    options = load_schema()["properties"]["analysis"]["properties"]
    return {name: option["default"] for name, option in options.items() if "default" in option}


def _add_trajectory_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("trajectory", type=Path, help="LAMMPS custom dump or extended XYZ")
    parser.add_argument("--format", choices=TRAJECTORY_FORMATS, default=None,
                        help="default: from the file name (.xyz/.extxyz = extxyz)")
    parser.add_argument("--type-map", type=_type_map, default=None,
                        help="elements of LAMMPS types 1,2,..., e.g. Li,Al,Cl,O")
    parser.add_argument("--timestep-fs", type=float, default=1.0,
                        help="MD timestep (fs); frame times are dump step × this")


def build_parser() -> argparse.ArgumentParser:
    defaults = analysis_defaults()
    parser = argparse.ArgumentParser(prog="dpglass", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    diffusion = commands.add_parser("diffusion", help="MSD, D, σ tracer/collective, Haven ratio")
    _add_trajectory_arguments(diffusion)
    diffusion.add_argument("--ion", required=True, help="mobile species, e.g. Li")
    diffusion.add_argument("--temperature", type=float, required=True, help="temperature (K)")
    diffusion.add_argument("--dt-fs", type=float, default=None,
                           help="time between frames (fs); overrides the file's times")
    diffusion.add_argument("--charge", type=float, default=None,
                           help="charge of the ion (e); default its formal oxidation state")
    diffusion.add_argument("--charges", type=_charges, default=None,
                           help="charges of other species, e.g. Cl=-1,O=-2")
    diffusion.add_argument("--drift-correction", choices=DRIFT_CORRECTIONS, default="system")
    diffusion.add_argument("--max-lag-fraction", type=float, default=1.0,
                           help="longest lag fitted, as a fraction of the run (default: all)")
    diffusion.add_argument("--hop-distance", "--cage-distance", dest="hop_distance", type=float,
                           default=defaults["hop_distance_A"],
                           help="hop distance (Å): the MSD at the fit window's start must reach its "
                                "square for the run to count as diffusive (default: config key "
                                "analysis.hop_distance_A, %(default)s)")
    diffusion.add_argument("--json", type=Path, required=True)
    diffusion.add_argument("--plot", type=Path, default=None)

    arrhenius = commands.add_parser("arrhenius", help="Arrhenius/VFT fit of diffusion results")
    arrhenius.add_argument("results", type=Path, nargs="+", help="diffusion JSON files")
    arrhenius.add_argument("--window", type=float, nargs=2, default=defaults["arrhenius_window_K"],
                           metavar=("T_MIN", "T_MAX"),
                           help="Arrhenius window (K; default: config key analysis.arrhenius_window_K, "
                                "%(default)s)")
    arrhenius.add_argument("--quantity", choices=("sigma_tracer", "sigma_collective",
                                                  "sigma_collective_ion", "D"),
                           default="sigma_tracer")
    arrhenius.add_argument("--glass-transition", type=float, default=None, metavar="TG_K",
                           help="fit VFT only above this temperature (K)")
    arrhenius.add_argument("--formula", default=None,
                           help="composition whose published numbers (dpglass.core.paper) the fit "
                                "records and the plot draws; default none")
    arrhenius.add_argument("--json", type=Path, required=True)
    arrhenius.add_argument("--plot", type=Path, default=None)

    rdf = commands.add_parser("rdf", help="partial RDFs, Al coordination, bridging O")
    _add_trajectory_arguments(rdf)
    rdf.add_argument("--pairs", type=_pairs, default=defaults["rdf_pairs"],
                     help="e.g. Li-Li,Al-O (default: config key analysis.rdf_pairs, %(default)s); "
                          "pairs with a species absent from the trajectory are skipped")
    rdf.add_argument("--r-max", type=float, default=defaults["rdf_r_max_A"],
                     help="Å, capped at half the smallest cell width (default: config key "
                          "analysis.rdf_r_max_A, %(default)s)")
    rdf.add_argument("--formula", default=None,
                     help="mark the seed paper's pair distances of this formula, e.g. LiAlCl2.5O0.75")
    rdf.add_argument("--bins", type=int, default=200)
    rdf.add_argument("--stride", type=int, default=1, help="use every n-th frame")
    rdf.add_argument("--json", type=Path, required=True)
    rdf.add_argument("--plot", type=Path, default=None)

    config = commands.add_parser("config", help="the workflow config as the workflow uses it")
    config_commands = config.add_subparsers(dest="config_command", required=True)
    show = config_commands.add_parser(
        "show", help="validated, defaults filled in: what `snakemake --configfile FILE` runs (YAML)")
    show.add_argument("files", type=Path, nargs="+",
                      help="config file(s), merged in order as several --configfile are")
    learning = load_schema()["properties"]["learning"]["properties"]
    cert_defaults = {k: v.get("default") for k, v in
                     learning["certificate"]["properties"].items()}
    cert = commands.add_parser(
        "certificate", help="certify a DeePMD ensemble against teacher trajectories (energies "
                            "and forces): the workflow's teacher–student certificate")
    cert.add_argument("--models", type=Path, nargs="+", required=True,
                      help="frozen or compressed DeePMD models; the first drives the student runs")
    cert.add_argument("--reference", type=Path, nargs="+", required=True,
                      help="teacher trajectories (extxyz with energy and forces), at least two "
                           "runs from the same frame with other velocities")
    cert.add_argument("--ion", required=True, help="mobile species, e.g. Li")
    cert.add_argument("--out", type=Path, required=True,
                      help="directory for the student runs, certificate.json and certificate.md")
    cert.add_argument("--student-runs", type=int, default=cert_defaults["student_runs"])
    cert.add_argument("--confidence", type=float, default=cert_defaults["confidence"])
    cert.add_argument("--trust-low", type=float,
                      default=learning["trust_levels_eV_per_A"]["default"][0],
                      help="force threshold: RMS of the force-error vector (eV/Å; default the "
                           "loop's low trust level, %(default)s)")
    cert.add_argument("--pairs", type=_pairs, default=defaults["rdf_pairs"])
    cert.add_argument("--r-max", type=float, default=defaults["rdf_r_max_A"])
    cert.add_argument("--seed", type=int, default=cert_defaults["seed"])
    for name, kind, text in (("temperature-K", float, "K"), ("timestep-fs", float, "fs"),
                             ("every-steps", int, "steps between frames"),
                             ("steps", int, "MD steps per run"),
                             ("thermostat", str, "langevin, bussi, nose-hoover, berendsen"),
                             ("damping-ps", float, "thermostat coupling time, ps")):
        cert.add_argument(f"--{name}", type=kind, default=None,
                          help=f"the teacher's {text}; default: read from the teacher file")
    plan = commands.add_parser("plan", help="cost of a config's sweep before running it: steps, "
                                            "expected MSD and hops, atom-steps, hours")
    plan.add_argument("--configfile", type=Path, nargs="+", required=True,
                      help="config file(s), later ones update earlier ones (as snakemake does)")
    plan.add_argument("--results", type=Path, default=Path("results"),
                      help="results directory whose preflight run.json files give the throughput "
                           "(default: %(default)s)")
    plan.add_argument("--json", type=Path, default=None, help="also write the plan as JSON")
    return parser


def _run_diffusion(args) -> None:
    from dpglass.analysis.conductivity import analyze_diffusion

    if not args.temperature > 0:
        raise ValueError(f"--temperature must be > 0 K, got {args.temperature}")
    charges = dict(args.charges or {})
    if args.charge is not None:
        charges[args.ion] = args.charge
    result = analyze_diffusion(args.trajectory, args.ion, args.temperature, fmt=args.format,
                               type_map=args.type_map, timestep_fs=args.timestep_fs,
                               dt_fs=args.dt_fs, charges=charges,
                               drift_correction=args.drift_correction,
                               max_lag_fraction=args.max_lag_fraction,
                               hop_distance_A=args.hop_distance)
    write_json(args.json, result)
    if args.plot:
        from dpglass.report.figures import plot_msd
        plot_msd(result, args.plot)


def _run_arrhenius(args) -> None:
    from dpglass.analysis.arrhenius import fit_arrhenius

    results = []
    for path in args.results:
        if not path.is_file():
            raise FileNotFoundError(f"diffusion result not found: {path}")
        results.append(json.loads(path.read_text()))
    from dpglass.core.paper import paper_arrhenius

    fit = fit_arrhenius(results, window=tuple(args.window), quantity_name=args.quantity,
                        glass_transition_K=args.glass_transition)
    fit["paper_reference"] = paper_arrhenius(args.formula) if args.formula else {}
    write_json(args.json, fit)
    if args.plot:
        from dpglass.report.figures import plot_arrhenius
        plot_arrhenius(results, fit, args.plot, paper=fit["paper_reference"])


def _run_rdf(args) -> None:
    from dpglass.analysis.rdf_files import trajectory_rdf

    if args.stride < 1:
        raise ValueError(f"--stride must be >= 1, got {args.stride}")
    result = trajectory_rdf(args.trajectory, args.pairs, args.r_max, args.format, args.type_map,
                            args.timestep_fs, n_bins=args.bins, stride=args.stride, formula=args.formula,
                            log=lambda line: print(line, file=sys.stderr))
    write_json(args.json, result)
    if args.plot:
        from dpglass.report.figures import plot_rdf
        plot_rdf(result, args.plot)


def _run_config(args) -> None:
    import yaml

    from dpglass.config import config_hash, effective_config

    for path in args.files:
        if not path.is_file():
            raise FileNotFoundError(f"config file not found: {path}")
    config = effective_config(*args.files)
    print(f"# effective config of {' + '.join(map(str, args.files))} over the schema defaults; "
          f"hash {config_hash(config)}")
    print(yaml.safe_dump(config, sort_keys=False, allow_unicode=True), end="")


def _run_plan(args) -> None:
    from dpglass.config import effective_config
    from dpglass.report.plan import format_plan, plan_sweep

    for path in args.configfile:
        if not path.is_file():
            raise FileNotFoundError(f"config file not found: {path}")
    plan = plan_sweep(effective_config(*args.configfile), results=args.results)
    print(format_plan(plan))
    if args.json:
        write_json(args.json, plan)


def _run_certificate(args) -> None:
    from dpglass.learning.certificate import certify_ensemble
    from dpglass.report.certificate import write_markdown

    for path in args.models:
        if not path.is_file():
            raise FileNotFoundError(f"model not found: {path}")
    overrides = {key: getattr(args, key) for key in
                 ("temperature_K", "timestep_fs", "every_steps", "steps", "thermostat",
                  "damping_ps")}
    result = certify_ensemble(models=[str(m) for m in args.models],
                              teacher_paths=[str(p) for p in args.reference], out_dir=str(args.out),
                              ion=args.ion, student_runs=args.student_runs,
                              rdf_pairs=args.pairs, rdf_r_max_A=args.r_max,
                              trust_low_eV_per_A=args.trust_low, confidence=args.confidence,
                              seed=args.seed, overrides=overrides)
    write_markdown(str(args.out / "certificate.json"), str(args.out / "certificate.md"))
    print(f"{args.out / 'certificate.md'}: {result['verdict']['text']}")


def main(argv: Sequence[str] | None = None) -> int:
    from dpglass.config import ConfigError

    args = build_parser().parse_args(argv)
    runner = {"diffusion": _run_diffusion, "arrhenius": _run_arrhenius, "rdf": _run_rdf,
              "config": _run_config, "plan": _run_plan, "certificate": _run_certificate}
    try:
        runner[args.command](args)
    except (ConfigError, ValueError, FileNotFoundError, KeyError) as error:
        print(f"dpglass {args.command}: error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
