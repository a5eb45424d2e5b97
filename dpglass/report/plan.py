"""What a config's sweep will cost before anything runs: `dpglass plan --configfile FILE`.

Per composition and temperature: atoms, expected MD steps, the ion's expected MSD and hops per ion
at the maximum production length, and whether the D error target is reachable within it; then the
total cost in atom-steps and hours on this machine, the concurrent-learning loop's MD included (with
its reference single points and retraining steps, which the MD throughput cannot price).

The expectation comes from a prior D(T) = Nernst–Einstein D from σ(T_ref) extrapolated with an
Arrhenius Ea: the seed paper's numbers where the composition has them (dpglass.core.paper), else
sweep.prior. The error model is the empirical one of He, Zhu, Epstein & Mo (npj Comput. Mater. 4,
18 (2018)): the relative standard deviation of D from an MD run is ≈ 3.43 / √N_eff, with N_eff
the total number of ion hops (ions × hops per ion). A run also has to be diffusive by the
analysis' own test (the MSD at the fit window start must reach the hop distance squared), which
needs several hops per ion; the plan asks for MIN_HOPS_PER_ION.

The reference single points that label the training data (the relabelled melt-quench frames,
the perturbed frames, the loop's labels) are priced apart: their count times the seconds one
single point takes, from a labelling this work directory already ran, else
execution.label_seconds_per_point, else (CP2K) the table benchmarks/bench_cp2k.py measured.

Imported by snakemake's dry-run: no ASE, TensorFlow, torch, LAMMPS or DeePMD here.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

from dpglass.core.composition import FORMAL_CHARGES, parse_formula
from dpglass.analysis.resolution import (HE_COEFFICIENT, MIN_HOPS_PER_ION, expected_hops_per_ion,
                                         he_relative_error)
from dpglass.lammps.inputs import production_limits_ps
from dpglass.core.units import (ANGSTROM2_PER_PS_IN_CM2_PER_S, AVOGADRO_PER_MOL, BOLTZMANN_EV_PER_K, BOLTZMANN_J_PER_K,
                           ELEMENTARY_CHARGE_C, SIEMENS_PER_M_IN_MS_PER_CM, steps_for)

# Standard atomic weights, g/mol (IUPAC), of the elements dpglass.core.composition knows; kept here so
# the plan does not import ASE.
ATOMIC_MASS = {"Li": 6.94, "Na": 22.98977, "K": 39.0983, "Mg": 24.305, "Ca": 40.078,
               "Al": 26.981538, "Ga": 69.723, "B": 10.81, "Si": 28.085, "P": 30.973762,
               "O": 15.999, "S": 32.06, "Se": 78.971, "F": 18.998403, "Cl": 35.45, "Br": 79.904,
               "I": 126.90447}


@dataclass(frozen=True)
class Prior:
    sigma_mS_per_cm: float
    temperature_K: float
    activation_energy_eV: float
    source: str

    def sigma(self, temperature_K: float) -> float:
        """σ(T) in mS/cm (Arrhenius in σ·T, as the analysis fits it)."""
        factor = math.exp(-self.activation_energy_eV / BOLTZMANN_EV_PER_K
                          * (1.0 / temperature_K - 1.0 / self.temperature_K))
        return self.sigma_mS_per_cm * self.temperature_K / temperature_K * factor


def prior_for(formula: str, prior_config: dict) -> Prior:
    """The paper's σ(303 K) and Ea where it has them for this formula, else sweep.prior."""
    from dpglass.core.paper import paper_values

    paper = paper_values(formula)
    sigma = paper.get("sigma_303K_experiment")
    ea = paper.get("Ea_md_303_378K") or paper.get("Ea_experiment")
    if sigma and ea:
        return Prior(sigma["value"], 303.0, ea["value"], "paper σ(303 K), Ea")
    literature = paper.get("sigma_literature")  # room temperature, taken as 303 K
    if sigma or literature:
        return Prior((sigma or literature)["value"], 303.0, prior_config["activation_energy_eV"],
                     ("paper σ(303 K)" if sigma else "literature σ (room temperature)")
                     + ", Ea from sweep.prior")
    return Prior(prior_config["sigma_mS_per_cm"], prior_config["temperature_K"],
                 prior_config["activation_energy_eV"], "sweep.prior")


def cell_counts(config: dict, name: str) -> dict[str, int]:
    """Atom counts of a composition's start cell (random packing; a crystal source is sized by
    the same n_atoms / formula_units rule up to whole crystal cells)."""
    comp = config["compositions"][name]
    structure = config["structure"]
    if "formula_units" in comp:
        n_atoms, units = None, comp["formula_units"]
    elif "n_atoms" in comp:
        n_atoms, units = comp["n_atoms"], None
    elif structure.get("formula_units") is not None:
        n_atoms, units = None, structure["formula_units"]
    else:
        n_atoms, units = structure["n_atoms"], None
    return parse_formula(comp["formula"]).integer_counts(n_atoms, units)


def copies(config: dict, natoms: int) -> int:
    """Supercell copies of the start cell in a sweep run (sweep.target_atoms: at least that many
    atoms; the exact supercell depends on the quenched cell's shape, the fewest copies is used)."""
    sweep = config["sweep"]
    if sweep.get("target_atoms"):
        return max(1, math.ceil(sweep["target_atoms"] / natoms))
    return math.prod(sweep["supercell"])


def nernst_einstein_D_cm2_per_s(sigma_mS_per_cm: float, ion_density_per_A3: float,
                                charge_e: float, temperature_K: float) -> float:
    """Tracer D from σ with Haven ratio 1: D = σ k_B T / (n q²)."""
    sigma_S_per_m = sigma_mS_per_cm / SIEMENS_PER_M_IN_MS_PER_CM
    n_per_m3 = ion_density_per_A3 * 1e30
    D_m2_per_s = sigma_S_per_m * BOLTZMANN_J_PER_K * temperature_K / (
        n_per_m3 * (charge_e * ELEMENTARY_CHARGE_C) ** 2)
    return D_m2_per_s * 1e4


def read_throughput(config: dict, name: str, results: Path) -> tuple[float | None, str]:
    """katom-step/s: the composition's preflight run.json when present, else
    execution.throughput_katom_steps_per_s, else unknown."""
    path = results / name / "sweep" / "preflight" / "run.json"
    if path.is_file():
        run = json.loads(path.read_text())
        measured = (run.get("md_step_katom_step_per_s") or run.get("md_loop_katom_step_per_s")
                    or run.get("katom_step_per_s"))
        if measured and measured.get("value"):
            return float(measured["value"]), f"measured by {path}"
    given = config["execution"].get("throughput_katom_steps_per_s")
    if given:
        return float(given), "execution.throughput_katom_steps_per_s"
    return None, "unknown: run the sweep_preflight rule or set execution.throughput_katom_steps_per_s"


# Seconds per CP2K single point against atoms, measured by benchmarks/bench_cp2k.py with the
# default settings of dpglass.reference.cp2k (shipped with the repository; absent from a bare install).
CP2K_TIMINGS = Path(__file__).resolve().parent.parent / "benchmarks" / "results" / "cp2k.json"


def melt_quench_frames(protocol: dict) -> int:
    """Frames one melt-quench samples (dpglass.reference.meltquench: one every sample_every_steps in each
    segment: NPT, melt, cool and hold, each sampling run)."""
    every, dt = protocol["sample_every_steps"], protocol["timestep_fs"]
    total_ps = (protocol["melt_time_ps"] + protocol["hold_time_ps"]
                + (protocol["melt_temperature_K"] - protocol["final_temperature_K"])
                / protocol["cool_rate_K_per_ps"])
    melt = steps_for(protocol["melt_time_ps"], dt)
    segments = [melt, steps_for(total_ps, dt) - melt]
    if protocol["density_protocol"] == "npt":
        segments.append(steps_for(protocol["npt_ps"], dt))
    segments += [steps_for(protocol["sampling_ps"], dt)] * len(protocol["sampling_temperatures_K"])
    return sum(math.ceil(steps / every) for steps in segments if steps > 0)


def label_calculator(config: dict) -> tuple[str, dict]:
    """(name, kwargs) of the calculator that labels the training data."""
    reference = config["reference"]
    if reference["relabel"].get("calculator"):
        return reference["relabel"]["calculator"], reference["relabel"]["kwargs"]
    return reference["calculator"], reference["kwargs"]


def label_points(config: dict) -> dict:
    """Reference single points per composition that label training data: the relabelled
    melt-quench frames (none without reference.relabel: the MD's own labels are kept), the
    perturbed frames, the loop's (loop_label_points: at most)."""
    glasses = config["structure"].get("glasses", 1)
    relabel = config["reference"]["relabel"]
    frames = melt_quench_frames(config["melt_quench"])
    points = {"melt_quench": (math.ceil(frames / relabel["stride"]) * glasses
                              if relabel.get("calculator") else 0),
              "perturbed": config["train"]["perturbed_frames"]["count"] * glasses,
              "learning": loop_label_points(config)}
    return {**points, "total": sum(points.values())}


def loop_label_points(config: dict) -> int:
    """At most the loop's single points per composition: every iteration its candidates
    (max_frames_per_iteration) and the spot checks of each of its explorations (one per
    exploration temperature), and the final check's spot checks (they verify the final
    models)."""
    from dpglass.config import temperatures
    from dpglass.learning.settings import explore_temperatures

    learning = config["learning"]
    if not learning["max_iterations"]:
        return 0
    runs = len(explore_temperatures(config, temperatures(config)))
    return (learning["max_iterations"] * learning["max_frames_per_iteration"]
            + (learning["max_iterations"] + 1) * learning["spot_check_frames"] * runs)


def timing_fit(table: list[dict]) -> tuple[float, float]:
    """(a, p) of seconds = a · atoms^p, least squares in log-log over the table's rows."""
    xs = [math.log(row["atoms"]) for row in table]
    ys = [math.log(row["seconds_per_point"]["value"]) for row in table]
    if len(xs) == 1:
        return math.exp(ys[0] - 3.0 * xs[0]), 3.0  # cubic, the Kohn-Sham diagonalisation's order
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    p = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)
    return math.exp(my - p * mx), p


def label_seconds(config: dict, composition: str, atoms: int, results: Path,
                  timings: Path = CP2K_TIMINGS) -> tuple[float | None, str]:
    """Seconds per single point of the training-label calculator at `atoms` atoms, and where
    the number came from: the composition's melt-quench relabelling in this work directory, the
    config, or (CP2K) the benchmark table, fitted as a power of the atom count."""
    name = label_calculator(config)[0]
    for path in sorted((results / composition).glob("melt_quench*/labelling.json")):
        report = json.loads(path.read_text())
        measured = (report.get("seconds_per_single_point") or {}).get("value")
        if report.get("calculator") == name and measured:
            return float(measured), f"measured by {path}"
    given = config["execution"].get("label_seconds_per_point")
    if given:
        return float(given), "execution.label_seconds_per_point"
    if name == "cp2k" and timings.is_file():
        table = json.loads(timings.read_text())
        a, p = timing_fit(table["single_points"])
        return (a * atoms ** p,
                f"CPU s on one core, benchmarks/results/cp2k.md (benchmarks/bench_cp2k.py, "
                f"dpglass's default CP2K settings, {table.get('date', 'undated')}, "
                f"{table['machine']}): t ∝ atoms^{p:.2f}"
                + ("; your reference kwargs differ" if label_calculator(config)[1] else "") + ")")
    return None, ("unknown: set execution.label_seconds_per_point"
                  + (" (or run benchmarks/bench_cp2k.py)" if name == "cp2k" else ""))


def plan_labels(config: dict, composition: str, atoms: int, results: Path) -> dict:
    """The training labels' single points of one composition and their cost."""
    points = label_points(config)
    seconds, source = label_seconds(config, composition, atoms, results)
    return {"calculator": label_calculator(config)[0], "atoms": atoms, "single_points": points,
            "seconds_per_point": seconds, "seconds_source": source,
            "hours": points["total"] * seconds / 3600.0 if seconds is not None else None}


def plan_learning(config: dict, cell_atoms: int) -> dict | None:
    """Upper bounds on the concurrent-learning loop's cost for one composition (None when
    learning.max_iterations is 0): explorations (every planned iteration plus the final check,
    one run per exploration temperature on the unreplicated cell, each learning.explore_ps),
    the certificate's student MD (DeePMD, priced with the sweep's throughput) and its teacher MD
    (reference-calculator steps, which an MD throughput cannot price: listed beside, as are the
    reference single points of the labelling and the retraining steps)."""
    from dpglass.config import temperatures
    from dpglass.learning.settings import certificate_protocol, enabled, explore_temperatures

    if not enabled(config):
        return None
    learning, sweep = config["learning"], config["sweep"]
    iterations = learning["max_iterations"]
    n_temperatures = len(explore_temperatures(config, temperatures(config)))
    explore_steps = steps_for(learning["explore_ps"], sweep["timestep_fs"])
    certificate = learning["certificate"]
    certificate_steps = certificate_protocol(certificate, config["melt_quench"])["steps"]
    explorations = (iterations + 1) * n_temperatures
    return {"iterations": iterations, "explorations": explorations,
            "explore_steps": explore_steps, "atoms": cell_atoms,
            "md_atom_steps": (explorations * explore_steps
                              + certificate["student_runs"] * certificate_steps) * cell_atoms,
            "certificate_steps_per_run": certificate_steps,
            "teacher_md_steps": certificate["teacher_runs"] * certificate_steps,
            "reference_single_points": loop_label_points(config),
            "retraining_steps": iterations * config["train"]["n_models"] * learning["numb_steps"]}


def prior_diffusion(config: dict, name: str) -> tuple[int, dict[float, float]]:
    """The ions in a sweep run of composition ``name`` and the prior tracer D (cm²/s) at each
    sweep temperature: Nernst–Einstein from the prior σ(T) at the structure's density."""
    from dpglass.config import temperatures

    comp = config["compositions"][name]
    ion = comp["ion"]
    charge = comp.get("ion_charge") or FORMAL_CHARGES.get(ion, 1.0)
    counts = cell_counts(config, name)
    n_copies = copies(config, sum(counts.values()))
    n_ions = counts.get(ion, 0) * n_copies
    mass_g = sum(ATOMIC_MASS[el] * n for el, n in counts.items()) * n_copies / AVOGADRO_PER_MOL
    volume_A3 = mass_g / config["structure"]["density_g_cm3"] * 1e24
    prior = prior_for(comp["formula"], config["sweep"]["prior"])
    return n_ions, {T: (nernst_einstein_D_cm2_per_s(prior.sigma(T), n_ions / volume_A3, charge, T)
                        if n_ions else 0.0) for T in temperatures(config)}


def plan_sweep(config: dict, results: str | Path = "results") -> dict:
    """The cost table of a validated config (see the module docstring)."""
    from dpglass.config import temperatures

    sweep = config["sweep"]
    hop_A = config["analysis"]["hop_distance_A"]
    dt = sweep["timestep_fs"]
    target, maximum_ps = production_limits_ps(sweep)
    chunk_ps = sweep["chunk_ps"] or maximum_ps
    pre_steps = steps_for(sweep["equilibration_ps"], dt) + steps_for(sweep["npt_equilibration_ps"], dt)
    replicas = sweep["replicas"]
    glasses = config["structure"].get("glasses", 1)
    rows, compositions = [], {}
    for name, comp in config["compositions"].items():
        ion = comp["ion"]  # the composition's mobile ion (compositions.<name>.ion)
        counts = cell_counts(config, name)
        natoms = sum(counts.values()) * copies(config, sum(counts.values()))
        n_ions, prior_D = prior_diffusion(config, name)
        prior = prior_for(comp["formula"], sweep["prior"])
        throughput, throughput_source = read_throughput(config, name, Path(results))
        comp_steps = 0
        for T in temperatures(config):
            D = prior_D[T]
            D_A2_ps = D / ANGSTROM2_PER_PS_IN_CM2_PER_S
            if target and n_ions and D_A2_ps > 0:
                hops_for_error = (HE_COEFFICIENT / target) ** 2 / n_ions
                hops_needed = max(hops_for_error, MIN_HOPS_PER_ION)
                needed_ps = hops_needed * hop_A**2 / (6.0 * D_A2_ps)
                reachable = needed_ps <= maximum_ps
                run_ps = min(maximum_ps, math.ceil(needed_ps / chunk_ps) * chunk_ps)
            else:
                needed_ps, reachable, run_ps = None, None, maximum_ps
            msd_max = 6.0 * D_A2_ps * maximum_ps
            steps = pre_steps + steps_for(run_ps, dt)
            comp_steps += steps * replicas * glasses
            hops = expected_hops_per_ion(D, maximum_ps, hop_A)
            rows.append({
                "composition": name, "temperature_K": T, "atoms": natoms, "ions": n_ions,
                "prior_D_cm2_per_s": D, "expected_steps": steps,
                "msd_at_max_A2": msd_max, "hops_per_ion_at_max": hops,
                "expected_relative_error_at_max": he_relative_error(hops * n_ions),
                "production_needed_ps": needed_ps, "reaches_target": reachable,
                "expected_production_ps": run_ps,
            })
        learning = plan_learning(config, sum(counts.values()))
        atom_steps = comp_steps * natoms + (learning["md_atom_steps"] if learning else 0)
        perturbed = config["train"]["perturbed_frames"]["count"] * glasses  # train.perturbed_frames
        compositions[name] = {"prior": prior.__dict__, "atoms": natoms, "atom_steps": atom_steps,
                              "perturbed_single_points": perturbed,
                              "labels": plan_labels(config, name, sum(counts.values()),
                                                    Path(results)),
                              "sweep_atom_steps": comp_steps * natoms, "learning": learning,
                              "throughput_katom_step_per_s": throughput,
                              "throughput_source": throughput_source,
                              "hours": (atom_steps / (throughput * 1000.0) / 3600.0
                                        if throughput else None)}
    total_atom_steps = sum(c["atom_steps"] for c in compositions.values())
    hours = [c["hours"] for c in compositions.values()]
    label_hours = [c["labels"]["hours"] for c in compositions.values()
                   if c["labels"]["single_points"]["total"]]
    return {"target_relative_error": target, "max_production_ps": maximum_ps,
            "hop_distance_A": hop_A, "ion": ion, "runs_per_temperature": replicas * glasses,
            "rows": rows, "compositions": compositions, "total_atom_steps": total_atom_steps,
            "total_hours": sum(hours) if all(h is not None for h in hours) else None,
            "total_label_hours": (sum(label_hours) if all(h is not None for h in label_hours)
                                  else None),
            "device": config["execution"]["device"]}


def format_plan(plan: dict) -> str:
    """The plan as a text table, units in the headers."""
    target = plan["target_relative_error"]
    head = (f"dpglass plan: production up to {plan['max_production_ps']:g} ps per run"
            + (f", stopping when D({plan['ion']}) has relative error <= {target:g}" if target
               else " (fixed length: sweep.target_relative_error not set)")
            + f"; hop distance {plan['hop_distance_A']:g} Å; {plan['runs_per_temperature']} "
            f"run(s) per temperature")
    lines = [head,
             f"{'composition':<14}{'T/K':>7}{'atoms':>7}{'ions':>6}{'D_prior/cm²s⁻¹':>16}"
             f"{'steps':>12}{'MSD@max/Å²':>12}{'hops@max':>10}{'err@max':>9}  target"]
    for row in plan["rows"]:
        reach = {None: "-", True: "reached", False: "NOT within max"}[row["reaches_target"]]
        err = row["expected_relative_error_at_max"]
        lines.append(f"{row['composition']:<14}{row['temperature_K']:>7g}{row['atoms']:>7d}"
                     f"{row['ions']:>6d}{row['prior_D_cm2_per_s']:>16.3g}{row['expected_steps']:>12d}"
                     f"{row['msd_at_max_A2']:>12.3g}{row['hops_per_ion_at_max']:>10.3g}"
                     f"{(f'{err:.2f}' if err is not None else '-'):>9}  {reach}")
    for name, comp in plan["compositions"].items():
        hours = f"{comp['hours']:.3g} h" if comp["hours"] is not None else "? h"
        throughput = comp["throughput_katom_step_per_s"]
        lines.append(f"{name}: {comp['atom_steps']:.3g} atom-steps = {hours} at "
                     + (f"{throughput:.3g} katom-step/s" if throughput else "unknown throughput")
                     + f" ({comp['throughput_source']}); prior: {comp['prior']['source']} "
                     f"(σ = {comp['prior']['sigma_mS_per_cm']:g} mS/cm at "
                     f"{comp['prior']['temperature_K']:g} K, Ea = "
                     f"{comp['prior']['activation_energy_eV']:g} eV)")
        if comp.get("perturbed_single_points"):
            lines.append(f"{name} perturbed training frames: {comp['perturbed_single_points']} "
                         f"reference single points (train.perturbed_frames, all glasses)")
        labels = comp["labels"]
        if labels["single_points"]["total"]:
            lines.append(f"{name} training labels: {label_text(labels)}")
        loop = comp.get("learning")
        if loop:
            lines.append(f"{name} learning loop (at most, included above): {loop['iterations']} "
                         f"iteration(s) + final check, {loop['explorations']} explorations of "
                         f"{loop['explore_steps']} steps at {loop['atoms']} atoms and "
                         f"the certificate's student runs: {loop['md_atom_steps']:.3g} "
                         f"atom-steps; {loop['teacher_md_steps']} reference MD steps (the "
                         f"certificate's teacher runs); "
                         f"{loop['reference_single_points']} reference single points; "
                         f"{loop['retraining_steps']} retraining steps (all models)")
    missing = [f"{r['composition']} {r['temperature_K']:g} K" for r in plan["rows"]
               if r["reaches_target"] is False]
    if missing:
        lines.append("cannot reach the target within the maximum (reported as upper bounds if not "
                     "diffusive): " + ", ".join(missing))
    total = plan["total_hours"]
    labelling = plan["total_label_hours"]
    lines.append(f"total: {plan['total_atom_steps']:.3g} atom-steps, "
                 + (f"{total:.3g} h" if total is not None else "hours unknown")
                 + (f" + {labelling:.3g} h of reference single points" if labelling else "")
                 + (" (throughput from a CPU preflight; the GPU runs are faster)"
                    if plan["device"] == "gpu" else ""))
    return "\n".join(lines)


PARTS = {"melt_quench": "relabelled melt-quench frames", "perturbed": "perturbed frames",
         "learning": "loop frames and spot checks (at most)"}


def label_text(labels: dict) -> str:
    """'cp2k at 21 atoms: 160 relabelled melt-quench frames + 16 loop frames (at most) = 176
    single points x 95 s (source) = 4.64 h'."""
    points = labels["single_points"]
    parts = " + ".join(f"{points[key]} {text}" for key, text in PARTS.items() if points[key])
    seconds = labels["seconds_per_point"]
    cost = (f"{seconds:.3g} s ({labels['seconds_source']}) = {labels['hours']:.3g} h"
            if seconds is not None else f"? s, hours {labels['seconds_source']}")
    return (f"{labels['calculator']} at {labels['atoms']} atoms: {parts} = {points['total']} "
            f"single points x {cost}")


def summary_line(plan: dict) -> str:
    """One line for a dry-run's log."""
    total = plan["total_hours"]
    unreachable = sum(1 for r in plan["rows"] if r["reaches_target"] is False)
    return (f"dpglass plan: {len(plan['rows'])} composition x temperature points, "
            f"{plan['total_atom_steps']:.3g} atom-steps"
            + (f", ~{total:.3g} h" if total is not None else ", hours unknown (no throughput)")
            + (f"; {unreachable} cannot reach the error target within the maximum"
               if unreachable else "")
            + "; details: dpglass plan --configfile FILE")
