"""How the ion moves (the seed paper's Fig. 2): per sweep run the MSD of every species with the
framework's glass verdict, the ion's hop events and where it has been; per temperature the runs
pooled, with the observed hop count beside the one the plan's error model predicted.

Per-run keys (``run_mechanism``): ``species_msd`` (per species: MSD curve, β over the last decade
of lags, MSD at the window end, state; dpglass.analysis.species_msd), ``glass`` (verdict
glass / relaxing / flows and why), ``hops`` (dpglass.analysis.hops), ``density``
(dpglass.analysis.density). Per-temperature rows (``mechanism_table``) are described there.
"""

from __future__ import annotations

import numpy as np

from dpglass.analysis.density import position_density
from dpglass.analysis.hops import binomial_error, hop_statistics, length_peaks
from dpglass.analysis.species_msd import GLASS_VERDICTS, glass_verdict, species_msd
from dpglass.analysis.trajectory import Trajectory
from dpglass.core.units import quantity

# At least this many dumped frames to smooth over / to stay in a new site for a hop.
MIN_RESIDENCE_FRAMES = 2


def hop_frames(settings: dict, dt_ps: float) -> tuple[int, int]:
    """analysis.hop_events smoothing_ps / min_residence_ps in dumped frames (at least 1 / 2)."""
    smoothing = max(1, int(round(settings["smoothing_ps"] / dt_ps)))
    residence = max(MIN_RESIDENCE_FRAMES, int(round(settings["min_residence_ps"] / dt_ps)))
    return smoothing, residence


def run_mechanism(trajectory: Trajectory, ion: str, temperature_K: float,
                  hop_events: dict) -> dict:
    """Species MSDs, glass verdict, hops and position density of one run (``hop_events``: the
    analysis.hop_events keys)."""
    symbols = trajectory.symbols
    if ion not in set(symbols.tolist()):
        raise ValueError(f"ion {ion!r} not in trajectory species {sorted(set(symbols.tolist()))}")
    positions = trajectory.drift_corrected()
    dt = trajectory.timestep_ps
    per_species = species_msd(positions, symbols, trajectory.times_ps)
    smoothing, residence = hop_frames(hop_events, dt)
    selected = symbols == ion
    return {
        "ion": ion,
        "temperature": quantity(float(temperature_K), None, "K"),
        "duration": quantity(float(trajectory.times_ps[-1]), None, "ps"),
        "timestep": quantity(dt, None, "ps"),
        "species_msd": per_species,
        "glass": glass_verdict(per_species, ion),
        "hops": hop_statistics(positions[:, selected], dt, hop_events["threshold_A"], smoothing,
                               residence),
        "density": position_density(trajectory.positions[:, selected], trajectory.cells),
    }


def _residences(hops: dict) -> list[float]:
    """Complete residence times (ps) of one run from its events (consecutive hops of an ion)."""
    events = hops["events"]
    times = events["time"]["value"]
    by_ion: dict[int, list[float]] = {}
    for ion, time in zip(events["ion"], times):
        by_ion.setdefault(ion, []).append(time)
    return [b - a for ion_times in by_ion.values()
            for a, b in zip(ion_times[:-1], ion_times[1:])]


def mechanism_table(runs: list[dict], diffusion: list[dict], prior_D_cm2_per_s,
                    hop_distance_A: float) -> list[dict]:
    """One row per temperature, its runs (replicas, glasses) pooled.

    ``glass``: the worst verdict of its runs (flows > relaxing > glass) and why;
    ``hops_per_ion``: hops observed per ion per run (Poisson error), beside
    ``hops_per_ion_plan`` = 6 D_prior t / a² (dpglass.report.plan: the prior D, the run length t and
    analysis.hop_distance_A a) and ``hops_per_ion_from_D`` = 6 D t / a² with the measured D
    (its upper bound when not diffusive, ``D_is_upper_bound``); ``he_relative_error``: the D
    error He et al. (2018) give for the hops observed at this temperature, beside
    ``D_relative_error`` of the pooled D; ``rate_per_ion_per_ns``, ``back_jump_fraction``,
    ``length_peaks`` and ``residence_time_mean`` over all runs' hops; ``visited_volume_fraction``
    the runs' mean.
    """
    from dpglass.analysis.arrhenius import pool_replicas
    from dpglass.analysis.resolution import expected_hops_per_ion, he_relative_error

    pooled_D = {row["temperature"]["value"]: row for row in pool_replicas(diffusion)} \
        if diffusion else {}
    by_temperature: dict[float, list[dict]] = {}
    for run in runs:
        by_temperature.setdefault(float(run["temperature"]["value"]), []).append(run)
    pairs = (prior_D_cm2_per_s.items() if isinstance(prior_D_cm2_per_s, dict)
             else prior_D_cm2_per_s)  # {T: D} or [[T, D], ...]
    prior = {float(t): float(d) for t, d in pairs}
    rows = []
    for temperature in sorted(by_temperature):
        group = by_temperature[temperature]
        hops = [run["hops"] for run in group]
        n_hops = sum(h["n_hops"]["value"] for h in hops)
        ions = sum(h["n_ions"]["value"] for h in hops)
        ion_ns = sum(h["n_ions"]["value"] * h["duration"]["value"] for h in hops) / 1000.0
        durations = [h["duration"]["value"] for h in hops]
        backs = sum(h["n_back_jumps"]["value"] for h in hops)
        with_previous = sum(sum(1 for b in h["events"]["back_jump"] if b is not None) for h in hops)
        lengths = np.array([x for h in hops for x in h["events"]["length"]["value"]])
        residences = np.array([x for h in hops for x in _residences(h)])
        verdicts = [run["glass"] for run in group if run["glass"].get("verdict")]
        worst = max(verdicts, key=lambda v: GLASS_VERDICTS.index(v["verdict"]), default={})
        D_row = pooled_D.get(temperature, {})
        diffusive = D_row.get("diffusive")
        D = (D_row.get("D") if diffusive else D_row.get("D_upper_bound")) or {}
        prior_D = prior.get(temperature)
        fraction = backs / with_previous if with_previous else None
        rows.append({
            "temperature": quantity(temperature, None, "K"),
            "n_runs": quantity(len(group), None, "1"),
            "glass": worst.get("verdict"),
            "glass_because": worst.get("because"),
            "hops_per_ion": quantity(n_hops / ions if ions else None,
                                     np.sqrt(n_hops) / ions if ions and n_hops else None, "1"),
            "hops_per_ion_plan": quantity(
                None if prior_D is None else float(np.mean(
                    [expected_hops_per_ion(prior_D, t, hop_distance_A) for t in durations])),
                None, "1"),
            "hops_per_ion_from_D": quantity(
                None if D.get("value") is None else float(np.mean(
                    [expected_hops_per_ion(D["value"], t, hop_distance_A) for t in durations])),
                None, "1"),
            "D_is_upper_bound": None if diffusive is None else not diffusive,
            "prior_D": quantity(prior_D, None, "cm^2/s"),
            "hop_distance": quantity(hop_distance_A, None, "Å"),
            "hop_threshold": hops[0]["threshold"],
            "he_relative_error": quantity(he_relative_error(n_hops), None, "1"),
            "D_relative_error": quantity(
                D_row["D"]["error"] / D_row["D"]["value"]
                if diffusive and D_row["D"].get("error") and D_row["D"]["value"] else None,
                None, "1"),
            "rate_per_ion_per_ns": quantity(n_hops / ion_ns if ion_ns else None,
                                            np.sqrt(n_hops) / ion_ns if ion_ns and n_hops
                                            else None, "1/ns"),
            "back_jump_fraction": quantity(fraction, binomial_error(fraction, with_previous), "1"),
            "length_peaks": quantity(length_peaks(lengths, max(6.0, float(lengths.max()) + 0.1))
                                     if len(lengths) else [], None, "Å"),
            "residence_time_mean": quantity(
                float(residences.mean()) if len(residences) else None,
                float(residences.std(ddof=1) / np.sqrt(len(residences)))
                if len(residences) > 1 else None, "ps"),
            "visited_volume_fraction": quantity(
                float(np.mean([run["density"]["visited_volume_fraction"]["value"]
                               for run in group])), None, "1"),
            "framework_beta": {
                species: quantity(float(np.mean([run["species_msd"][species]["beta"]["value"]
                                                 for run in group])), None, "1")
                for species in group[0]["species_msd"] if species != group[0]["ion"]},
        })
    return rows
