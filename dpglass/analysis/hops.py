"""Hop events of the mobile ion: residence in a site, then a displacement beyond a threshold.

Each ion's unwrapped (drift-corrected) positions are first smoothed with a moving average over
``smoothing_frames`` (it takes out rattling, not hops). The ion sits in a site whose centre is the
mean of its first ``min_residence_frames`` smoothed positions. A hop is the first frame at which
the smoothed position lies more than ``threshold_A`` from the centre *and* the ion then settles:
its next ``min_residence_frames`` smoothed positions stay within threshold_A / 2 of their mean,
and that mean (the new centre) lies more than threshold_A from the old one. An excursion that
returns, or one still under way at the end of the run, is not a hop.

Reported per run: the hop events (ion, frame, time, length), the hop lengths (between the
centres of consecutive sites, each the mean of the unsmoothed positions over the
min_residence_frames that confirmed it: the site where the ion arrived, even when a glass's site
drifts later), their histogram and peaks,
residence times (complete residences only: the first and last of
each ion are cut by the run), the back-jump fraction (hops that end within threshold_A of the
site the previous hop left) and hops per ion per ns. Hops shorter than the sampling resolves
(a hop and its return within min_residence_frames) are not seen; the result says the resolution.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dpglass.core.units import quantity

# Hop-length histogram: bin width and the Gaussian kernel that finds its peaks, Å.
LENGTH_BIN_A = 0.1
PEAK_BANDWIDTH_A = 0.1
# A peak is reported when the smoothed histogram there is at least this fraction of its maximum.
PEAK_MIN_FRACTION = 0.2
MAX_PEAKS = 4


@dataclass
class HopEvent:
    ion: int
    frame: int           # first frame beyond the threshold
    length_A: float      # distance between the centres of the sites left and reached
    back_jump: bool | None  # returns to the site the ion's previous hop left (None: first hop)


def smooth(positions: np.ndarray, frames: int) -> np.ndarray:
    """Centred moving average over ``frames`` along axis 0 (fewer at the ends)."""
    if frames <= 1:
        return np.asarray(positions, dtype=float)
    positions = np.asarray(positions, dtype=float)
    cumulative = np.concatenate([np.zeros((1,) + positions.shape[1:]),
                                 np.cumsum(positions, axis=0)])
    n = len(positions)
    index = np.arange(n)
    low = np.clip(index - frames // 2, 0, n)
    high = np.clip(index - frames // 2 + frames, 0, n)
    shape = (-1,) + (1,) * (positions.ndim - 1)
    return (cumulative[high] - cumulative[low]) / (high - low).reshape(shape)


def ion_sites(track: np.ndarray, threshold_A: float, residence: int) -> list[int]:
    """Frames at which one ion (smoothed track, (n_frames, 3)) hops; see the module docstring."""
    n = len(track)
    hops: list[int] = []
    if n < 2 * residence:
        return hops
    centre = track[:residence].mean(axis=0)
    search = 1
    while search < n:
        away = np.nonzero(np.linalg.norm(track[search:] - centre, axis=1) > threshold_A)[0]
        if not len(away):
            break
        frame = search + int(away[0])
        window = track[frame:frame + residence]
        if len(window) < residence:
            break  # under way at the end of the run: censored
        new_centre = window.mean(axis=0)
        settled = np.all(np.linalg.norm(window - new_centre, axis=1) <= 0.5 * threshold_A)
        if settled and np.linalg.norm(new_centre - centre) > threshold_A:
            hops.append(frame)
            centre = new_centre
        search = frame + 1  # after a hop, or past an excursion that keeps the site
    return hops


def _site_centres(track: np.ndarray, hop_frames: list[int], residence: int) -> np.ndarray:
    """Centre of each site: the mean of the ion's (unsmoothed) positions over the
    ``residence`` frames that confirmed it (from the hop frame on; the first site from frame 0),
    the same windows the hop decision used."""
    return np.array([track[start:start + residence].mean(axis=0)
                     for start in [0] + list(hop_frames)])


def detect_hops(positions: np.ndarray, threshold_A: float, smoothing_frames: int = 1,
                min_residence_frames: int = 2) -> tuple[list[HopEvent], list[list[int]]]:
    """Hop events of every ion in ``positions`` (n_frames, n_ions, 3), unwrapped, Å; also each
    ion's hop frames (for residence times)."""
    positions = np.asarray(positions, dtype=float)
    if positions.ndim != 3 or positions.shape[2] != 3:
        raise ValueError(f"positions must be (n_frames, n_ions, 3), got {positions.shape}")
    if not threshold_A > 0:
        raise ValueError(f"hop threshold must be > 0 Å, got {threshold_A}")
    if smoothing_frames < 1 or min_residence_frames < 1:
        raise ValueError("smoothing_frames and min_residence_frames must be >= 1")
    smoothed = smooth(positions, smoothing_frames)
    events, frames_per_ion = [], []
    for ion in range(positions.shape[1]):
        track = smoothed[:, ion]
        frames = ion_sites(track, threshold_A, min_residence_frames)
        frames_per_ion.append(frames)
        centres = _site_centres(positions[:, ion], frames, min_residence_frames)
        for k, frame in enumerate(frames):
            length = float(np.linalg.norm(centres[k + 1] - centres[k]))
            back = (None if k == 0 else
                    bool(np.linalg.norm(centres[k + 1] - centres[k - 1]) < threshold_A))
            events.append(HopEvent(ion, frame, length, back))
    return events, frames_per_ion


def binomial_error(fraction: float | None, trials: int) -> float | None:
    """Standard error √(p(1 − p)/n) of a fraction; None when undefined (no trials, or p = 0 or 1,
    where it would claim an exact value)."""
    if fraction is None or fraction in (0, 1) or not trials:
        return None
    return float(np.sqrt(fraction * (1 - fraction) / trials))


def length_peaks(lengths: np.ndarray, r_max_A: float) -> list[float]:
    """Positions (Å) of the maxima of the Gaussian-smoothed hop-length distribution, highest
    first (at most MAX_PEAKS, each at least PEAK_MIN_FRACTION of the highest)."""
    if len(lengths) == 0:
        return []
    grid = np.arange(0.0, r_max_A + 1e-9, 0.01)
    density = np.exp(-0.5 * ((grid[:, None] - np.asarray(lengths)[None, :])
                             / PEAK_BANDWIDTH_A) ** 2).sum(axis=1)
    inner = (density[1:-1] > density[:-2]) & (density[1:-1] >= density[2:])
    candidates = np.nonzero(inner)[0] + 1
    candidates = [i for i in candidates if density[i] >= PEAK_MIN_FRACTION * density.max()]
    candidates.sort(key=lambda i: -density[i])
    return [round(float(grid[i]), 2) for i in candidates[:MAX_PEAKS]]


def hop_statistics(positions: np.ndarray, dt_ps: float, threshold_A: float,
                   smoothing_frames: int = 1, min_residence_frames: int = 2) -> dict:
    """The hop analysis of one run as result quantities (see the module docstring)."""
    n_frames, n_ions, _ = np.shape(positions)
    events, frames_per_ion = detect_hops(positions, threshold_A, smoothing_frames,
                                         min_residence_frames)
    duration_ps = (n_frames - 1) * dt_ps
    lengths = np.array([e.length_A for e in events])
    top = max(6.0, float(lengths.max()) + LENGTH_BIN_A) if len(lengths) else 6.0
    edges = np.arange(0.0, top + LENGTH_BIN_A, LENGTH_BIN_A)
    counts, _ = np.histogram(lengths, edges)
    residences = np.array([(b - a) * dt_ps for frames in frames_per_ion
                           for a, b in zip(frames[:-1], frames[1:])])
    with_previous = [e for e in events if e.back_jump is not None]
    backs = sum(e.back_jump for e in with_previous)
    n_hops = len(events)
    ion_ns = n_ions * duration_ps / 1000.0
    fraction = backs / len(with_previous) if with_previous else None
    return {
        "n_hops": quantity(n_hops, None, "1"),
        # Poisson counting errors (none for no hop: the count is exact, the rate unresolved)
        "hops_per_ion": quantity(n_hops / n_ions, np.sqrt(n_hops) / n_ions if n_hops else None,
                                 "1"),
        "ions_that_hopped": quantity(sum(1 for f in frames_per_ion if f), None, "1"),
        "rate_per_ion_per_ns": quantity(n_hops / ion_ns if ion_ns else None,
                                        np.sqrt(n_hops) / ion_ns if ion_ns and n_hops else None,
                                        "1/ns"),
        "back_jump_fraction": quantity(fraction, binomial_error(fraction, len(with_previous)),
                                       "1"),
        "n_back_jumps": quantity(int(backs), None, "1"),
        "residence_time_mean": quantity(
            float(residences.mean()) if len(residences) else None,
            float(residences.std(ddof=1) / np.sqrt(len(residences))) if len(residences) > 1
            else None, "ps"),
        "residence_time_median": quantity(float(np.median(residences)) if len(residences)
                                          else None, None, "ps"),
        "n_complete_residences": quantity(len(residences), None, "1"),
        "length_peaks": quantity(length_peaks(lengths, top), None, "Å"),
        "length_mean": quantity(float(lengths.mean()) if n_hops else None,
                                float(lengths.std(ddof=1) / np.sqrt(n_hops)) if n_hops > 1
                                else None, "Å"),
        "length_histogram": {"edges": quantity(edges, None, "Å"),
                             "counts": quantity(counts, None, "1")},
        "events": {"ion": [e.ion for e in events], "frame": [e.frame for e in events],
                   "time": quantity([e.frame * dt_ps for e in events], None, "ps"),
                   "length": quantity([round(e.length_A, 4) for e in events], None, "Å"),
                   "back_jump": [e.back_jump for e in events]},
        "threshold": quantity(threshold_A, None, "Å"),
        "smoothing": quantity(smoothing_frames * dt_ps, None, "ps"),
        "min_residence": quantity(min_residence_frames * dt_ps, None, "ps"),
        "frame_interval": quantity(dt_ps, None, "ps"),
        "duration": quantity(duration_ps, None, "ps"),
        "n_ions": quantity(n_ions, None, "1"),
    }
