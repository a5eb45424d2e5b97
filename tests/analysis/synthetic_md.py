"""Synthetic trajectories with known transport, written in the formats the readers accept."""

from __future__ import annotations

import numpy as np
from scipy.signal import lfilter

# A charge-neutral toy glass: 8 Li+ walk, the Al3+/Cl-/O2- framework vibrates in place.
SPECIES_COUNTS = {"Li": 8, "Al": 8, "Cl": 20, "O": 6}
TYPE_MAP = ["Li", "Al", "Cl", "O"]
BOX_A = 14.0


def random_walk(n_frames: int, n_atoms: int, D_A2_per_ps: float, dt_ps: float,
                rng: np.random.Generator) -> np.ndarray:
    """Gaussian random walk with MSD = 6 D t exactly in expectation."""
    steps = rng.normal(scale=np.sqrt(2 * D_A2_per_ps * dt_ps), size=(n_frames, n_atoms, 3))
    steps[0] = rng.uniform(0, BOX_A, size=(n_atoms, 3))
    return np.cumsum(steps, axis=0)


def toy_glass(n_frames: int, D_A2_per_ps: float, dt_ps: float, seed: int = 0):
    """Unwrapped positions (n_frames, n_atoms, 3) and symbols: Li diffuse, the rest vibrate."""
    rng = np.random.default_rng(seed)
    n_li = SPECIES_COUNTS["Li"]
    n_framework = sum(SPECIES_COUNTS.values()) - n_li
    lithium = random_walk(n_frames, n_li, D_A2_per_ps, dt_ps, rng)
    sites = rng.uniform(0, BOX_A, size=(n_framework, 3))
    framework = sites + rng.normal(scale=0.1, size=(n_frames, n_framework, 3))
    symbols = np.repeat(list(SPECIES_COUNTS), list(SPECIES_COUNTS.values()))
    return np.concatenate([lithium, framework], axis=1), symbols


def write_lammps_dump(path, positions, symbols, step_stride=1000, box=BOX_A, wrapped=False,
                      shuffle_seed=1, columns=("id", "type", "xu", "yu", "zu"), type_map=TYPE_MAP):
    """LAMMPS custom dump; atoms in shuffled order each frame, columns in the given order."""
    rng = np.random.default_rng(shuffle_seed)
    types = np.array([list(type_map).index(s) + 1 for s in symbols])
    with open(path, "w") as stream:
        for frame_index, frame in enumerate(positions):
            shown = np.mod(frame, box) if wrapped else frame
            stream.write(f"ITEM: TIMESTEP\n{frame_index * step_stride}\n"
                         f"ITEM: NUMBER OF ATOMS\n{len(frame)}\n"
                         f"ITEM: BOX BOUNDS pp pp pp\n0 {box}\n0 {box}\n0 {box}\n"
                         f"ITEM: ATOMS {' '.join(columns)}\n")
            axis_names = {"xu": 0, "yu": 1, "zu": 2, "x": 0, "y": 1, "z": 2}
            for atom in rng.permutation(len(frame)):
                fields = {"id": str(atom + 1), "type": str(types[atom]), "vx": "0.0"}
                for name, axis in axis_names.items():
                    fields[name] = f"{shown[atom, axis]:.6f}"
                stream.write(" ".join(fields[c] for c in columns) + "\n")


# --- Trajectory families that mimic Li in a glass, each with its true long-time D (Å²/ps). ---
# Every generator returns (positions (n_frames, n_ions, 3), D_true) and is vectorised over ions.

HOP_A = 2.55  # Li–Li hop distance in LACO75 (Dai et al. 2023)


def _unit_vectors(rng: np.random.Generator, shape) -> np.ndarray:
    vectors = rng.normal(size=tuple(shape) + (3,))
    return vectors / np.linalg.norm(vectors, axis=-1, keepdims=True)


def gaussian_walk(n_frames, n_ions, dt_ps, rng, D=0.05):
    return random_walk(n_frames, n_ions, D, dt_ps, rng), D


def hopping(n_frames, n_ions, dt_ps, rng, rate_per_ps=0.2, rattle_A=0.4, back_jump=0.0,
            pairs=False, hop_A=HOP_A):
    """Discrete hops of hop_A Å at rate ``rate_per_ps`` (one per frame at most) plus rattling.

    back_jump: probability that a hop reverses the previous one (else a random direction), which
    makes consecutive hops anti-correlated, <u_n·u_(n+k)> = (-p)^k, so
    D = rate·a²/6 · (1 - p)/(1 + p). pairs: ions 2k and 2k+1 hop together (same vector), each
    rattles on its own; D per ion is unchanged, but the pair counts as one walker.
    """
    walkers = (n_ions + 1) // 2 if pairs else n_ions
    if not rate_per_ps * dt_ps <= 0.2:
        raise ValueError(f"rate_per_ps * dt_ps = {rate_per_ps * dt_ps:g}: keep it <= 0.2")
    # At most one hop per frame (probability rate·dt), so the D below is exact.
    hop_counts = (rng.random((n_frames - 1, walkers)) < rate_per_ps * dt_ps).astype(int)
    directions = _unit_vectors(rng, (n_frames - 1, walkers))
    if back_jump > 0:
        # Direction of the n-th hop of each walker: reversed previous one with probability p.
        order = np.cumsum(hop_counts > 0, axis=0)  # hop index per frame (when a hop happens)
        n_hops = int(order[-1].max()) + 1
        fresh = _unit_vectors(rng, (n_hops, walkers))
        reverse = rng.random((n_hops, walkers)) < back_jump
        sequence = np.empty_like(fresh)
        sequence[0] = fresh[0]
        for index in range(1, n_hops):  # n_hops ~ tens: cheap loop over hops, vectorised over ions
            sequence[index] = np.where(reverse[index][:, None], -sequence[index - 1], fresh[index])
        directions = np.take_along_axis(sequence, np.clip(order - 1, 0, None)[..., None], axis=0)
    steps = hop_A * hop_counts[..., None] * directions
    centres = np.concatenate([np.zeros((1, walkers, 3)), np.cumsum(steps, axis=0)])
    if pairs:
        centres = np.repeat(centres, 2, axis=1)[:, :n_ions]
    sites = rng.uniform(0, BOX_A, size=(n_ions, 3))
    positions = sites + centres + rng.normal(scale=rattle_A, size=(n_frames, n_ions, 3))
    D = rate_per_ps * hop_A**2 / 6 * (1 - back_jump) / (1 + back_jump)
    return positions, D


def fractional_brownian(n_frames, n_ions, dt_ps, rng, hurst=0.35, scale_A=1.0):
    """Fractional Brownian motion, MSD = 3 scale² (t/ps)^(2H) (circulant embedding, exact)."""
    lags = np.arange(n_frames)
    # Autocovariance of the increments (fractional Gaussian noise), unit scale.
    gamma = 0.5 * (np.abs(lags + 1)**(2 * hurst) - 2 * np.abs(lags)**(2 * hurst)
                   + np.abs(lags - 1)**(2 * hurst))
    circulant = np.concatenate([gamma, gamma[-2:0:-1]])
    eigenvalues = np.clip(np.fft.fft(circulant).real, 0, None)
    size = len(circulant)
    noise = rng.normal(size=(size, n_ions, 3)) + 1j * rng.normal(size=(size, n_ions, 3))
    increments = np.fft.fft(np.sqrt(eigenvalues / size)[:, None, None] * noise, axis=0).real
    increments = increments[:n_frames - 1] * scale_A * dt_ps**hurst
    start = rng.uniform(0, BOX_A, size=(1, n_ions, 3))
    return np.concatenate([start, start + np.cumsum(increments, axis=0)]), 0.0


def slow_cage(n_frames, n_ions, dt_ps, rng, D=0.01, cage_A=2.0, relax_ps=100.0):
    """Random walk plus an Ornstein–Uhlenbeck cage coordinate of amplitude cage_A (per axis)
    relaxing over relax_ps: MSD = 6 D t + 6 cage² (1 - exp(-t/τ)), bent for ~τ; D_true = D."""
    decay = np.exp(-dt_ps / relax_ps)
    kicks = rng.normal(scale=cage_A * np.sqrt(1 - decay**2), size=(n_frames, n_ions, 3))
    kicks[0] = rng.normal(scale=cage_A, size=(n_ions, 3))
    # OU recursion x_k = decay x_(k-1) + kick_k, as a first-order filter along time.
    cage = lfilter([1.0], [1.0, -decay], kicks, axis=0)
    return random_walk(n_frames, n_ions, D, dt_ps, rng) + cage, D


# The MD-like families the coverage tests and benchmarks/bench_kinisi.py share:
# name: (generator(rng) -> (positions, D_true), frame spacing in ps)
MD_LIKE_FAMILIES = {
    "gaussian walk": (lambda rng: gaussian_walk(1000, 16, 0.1, rng, D=0.2), 0.1),
    "hops with rattling": (lambda rng: hopping(1000, 16, 0.1, rng, rate_per_ps=0.2), 0.1),
    "hops with back-jumps": (lambda rng: hopping(1000, 16, 0.2, rng, rate_per_ps=0.4,
                                                 back_jump=0.5), 0.2),
    "rare hops": (lambda rng: hopping(1000, 16, 0.5, rng, rate_per_ps=0.02), 0.5),
    "cooperative pairs": (lambda rng: hopping(1000, 16, 0.1, rng, rate_per_ps=0.2,
                                              pairs=True), 0.1),
}


def lattice_walk(n_frames, n_ions, rng, lengths_A=(HOP_A,), mean_residence_frames=150,
                 min_residence_frames=30, back_jump=0.3, rattle_A=0.3, quiet_end_frames=50):
    """Ions hopping between sites with known hops: residences of min_residence_frames plus an
    exponential part, then a jump of one of ``lengths_A`` (chosen at random) in a random
    direction (at least 60° from the way back), or, with probability ``back_jump``, straight back to the site the previous hop
    left; Gaussian rattling about the site; no hop in the last ``quiet_end_frames``. Returns positions (n_frames, n_ions, 3) and the
    truth: per ion the list of (frame, length, back_jump or None for the first hop)."""
    positions = np.empty((n_frames, n_ions, 3))
    truth = []
    for ion in range(n_ions):
        site = rng.uniform(0, BOX_A, 3)
        previous = None
        frame, events = 0, []
        while True:
            stay = min_residence_frames + int(rng.exponential(mean_residence_frames))
            end = frame + stay
            if end >= n_frames - quiet_end_frames:
                end = n_frames
            positions[frame:end, ion] = site
            if end >= n_frames:
                break
            back = previous is not None and rng.random() < back_jump
            if back:
                target = previous
            else:
                # another site: at least 60 degrees away from the way back, so (as between
                # the sites of a glass, ~2.5 Å apart) it never lands on the site left before
                while True:
                    direction = _unit_vectors(rng, ())
                    if previous is None or direction @ (previous - site) < 0.5 * np.linalg.norm(
                            previous - site):
                        break
                target = site + lengths_A[rng.integers(len(lengths_A))] * direction
            events.append((end, float(np.linalg.norm(target - site)),
                           None if previous is None else bool(back)))
            previous, site, frame = site, target, end
        truth.append(events)
    positions += rng.normal(scale=rattle_A, size=positions.shape)
    return positions, truth
