r"""Trajectory diagnostics of broken rotational symmetry and of water's structure and dynamics.

Every function takes plain arrays (so synthetic trajectories test them against known answers);
:func:`trajectory_arrays` reads them from a list of ASE ``Atoms`` (an ``ase.io.Trajectory``).
Times in fs, lengths in Å, energies in eV.

- angular momentum and torque about the centre of mass (a model that is not rotation-invariant
  exerts a torque on an isolated molecule: its angular momentum precesses);
- the power spectrum of a time series (the energy, or its non-invariant part);
- the orientational free energy of molecular axes, :math:`F(\cos\theta) = -k_BT \ln p(\cos\theta)`
  relative to the isotropic value, with its statistical noise;
- O–O radial distribution function; orientation correlation :math:`C_l(t) = \langle P_l(\mathbf u(0)\cdot\mathbf u(t))\rangle`;
- mean-square displacement and the diffusion coefficient; dipole autocorrelation;
- drift of the conserved quantity per molecule per ns.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._errors import SymbreakError

__all__ = [
    "trajectory_arrays", "angular_momentum", "torque", "power_spectrum", "water_molecules", "water_axes", "orientation_free_energy",
    "radial_distribution", "orientation_correlation", "mean_square_displacement", "diffusion_coefficient", "dipole_autocorrelation",
    "drift", "random_force_drift", "water_dipoles", "orientation_block_noise", "KB_EV",
]  # fmt: skip

KB_EV = 8.617333262e-5  # eV/K


def trajectory_arrays(frames: list[Any], dt_fs: float | None = None) -> dict[str, np.ndarray]:
    """Arrays of a trajectory: ``positions`` (T, n, 3), ``velocities`` (T, n, 3) Å/fs, ``masses`` (n,),
    ``numbers`` (n,), ``cell`` (3, 3), ``energy`` (T,) potential, ``kinetic`` (T,), ``forces`` (T, n, 3)
    where stored, and ``time`` (T,) fs (from ``dt_fs`` per frame, or the frames' ``info['time_fs']``)."""
    from ase import units

    if not frames:
        raise SymbreakError("the trajectory is empty")
    n = len(frames[0])
    for i, a in enumerate(frames):
        if len(a) != n:
            raise SymbreakError(f"every frame of a trajectory must have the same atoms: frame {i} has {len(a)}, frame 0 has {n}")
        if not np.array_equal(a.numbers, frames[0].numbers):
            raise SymbreakError(f"every frame of a trajectory must have the same atoms: frame {i} is {a.get_chemical_formula()}, "
                                f"frame 0 {frames[0].get_chemical_formula()} (or the same atoms in another order)")  # fmt: skip
    out: dict[str, np.ndarray] = {
        "positions": np.array([a.get_positions() for a in frames]),
        "masses": frames[0].get_masses(),
        "numbers": frames[0].numbers.copy(),
        "cell": np.asarray(frames[0].cell),
        "pbc": np.asarray(frames[0].pbc),
    }
    out["velocities"] = np.array([a.get_velocities() for a in frames]) * units.fs  # Å/fs
    out["kinetic"] = np.array([a.get_kinetic_energy() for a in frames])  # eV
    calcs = [a.calc for a in frames]
    if all(c is not None and "energy" in c.results for c in calcs):
        out["energy"] = np.array([c.results["energy"] for c in calcs])
    if all(c is not None and "forces" in c.results for c in calcs):
        out["forces"] = np.array([c.results["forces"] for c in calcs])
    if dt_fs is not None:
        out["time"] = dt_fs * np.arange(len(frames))
    elif all("time_fs" in a.info for a in frames):
        out["time"] = np.array([a.info["time_fs"] for a in frames], dtype=float)
    return out


def _centred(positions: np.ndarray, masses: np.ndarray) -> np.ndarray:
    return positions - np.einsum("n,tni->ti", masses, positions)[:, None, :] / masses.sum()


def angular_momentum(positions: np.ndarray, velocities: np.ndarray, masses: np.ndarray) -> np.ndarray:
    r""":math:`\mathbf L(t) = \sum_i m_i (\mathbf r_i - \mathbf R)\times(\mathbf v_i - \mathbf V)` (T, 3), amu·Å²/fs.

    positions, velocities: (T, n, 3) (Å, Å/fs); masses: (n,) amu.
    """
    r = _centred(positions, masses)
    v = velocities - np.einsum("n,tni->ti", masses, velocities)[:, None, :] / masses.sum()
    return np.einsum("n,tni->ti", masses, np.cross(r, v))


def torque(positions: np.ndarray, forces: np.ndarray, masses: np.ndarray) -> np.ndarray:
    r"""Net torque about the centre of mass :math:`\sum_i (\mathbf r_i - \mathbf R) \times \mathbf F_i` (T, 3), eV."""
    return np.cross(_centred(positions, masses), forces).sum(1)


def power_spectrum(series: np.ndarray, dt_fs: float) -> tuple[np.ndarray, np.ndarray]:
    r"""One-sided power spectrum :math:`|\hat s(\nu)|^2` of a mean-removed series (T,), with a Hann
    window: frequencies in THz (cycles per ps) and power in units² · fs."""
    s = np.asarray(series, dtype=float)
    if s.ndim != 1 or len(s) < 4:
        raise SymbreakError("power_spectrum needs a 1-D series of at least 4 values")
    s = (s - s.mean()) * np.hanning(len(s))
    spec = np.abs(np.fft.rfft(s)) ** 2 * dt_fs / len(s)
    return np.fft.rfftfreq(len(s), d=dt_fs) * 1e3, spec


def _mic(d: np.ndarray, cell: np.ndarray | None) -> np.ndarray:
    """Minimum-image difference vectors (..., 3) in a periodic cell (None: as they are)."""
    if cell is None or abs(np.linalg.det(cell)) == 0:
        return d
    frac = d @ np.linalg.inv(cell)
    return (frac - np.round(frac)) @ cell


def water_molecules(numbers: np.ndarray, positions: np.ndarray, cell: np.ndarray | None = None) -> np.ndarray:
    """(m, 3) atom indices (O, H, H) of each water molecule: every O with its two nearest H
    (minimum image in a periodic cell); an H claimed twice, or a leftover atom, is an error."""
    o = np.flatnonzero(numbers == 8)
    h = np.flatnonzero(numbers == 1)
    if len(h) != 2 * len(o) or len(o) + len(h) != len(numbers) or len(o) == 0:
        raise SymbreakError("not a water system: expected only O and H, two H per O")
    d = np.linalg.norm(_mic(positions[h][None, :, :] - positions[o][:, None, :], cell), axis=-1)
    nearest = np.argsort(d, axis=1)[:, :2]
    if len(np.unique(nearest)) != len(h):
        raise SymbreakError("could not assign every H to one O (an H is nearest to two O)")
    return np.concatenate([o[:, None], h[nearest]], axis=1)


def water_axes(positions: np.ndarray, molecules: np.ndarray, cell: np.ndarray | None = None) -> np.ndarray:
    """Unit vectors from each O to the midpoint of its two H (the dipole axis), (T, m, 3)."""
    o = positions[:, molecules[:, 0]]
    mid = o + 0.5 * (_mic(positions[:, molecules[:, 1]] - o, cell) + _mic(positions[:, molecules[:, 2]] - o, cell))
    u = mid - o
    return u / np.linalg.norm(u, axis=-1, keepdims=True)


def orientation_free_energy(axes: np.ndarray, temperature_K: float, bins: int = 20) -> dict[str, np.ndarray]:
    r"""Orientational free energy of molecular axes in the lab frame.

    axes: (..., 3) unit vectors. Histograms of :math:`\cos\theta` (uniform for an isotropic
    distribution) and of the azimuth :math:`\varphi`, turned into
    :math:`F = -k_BT\ln(p/p_\text{iso})` in units of :math:`k_BT` and in meV, with the one-sigma
    counting noise :math:`k_BT/\sqrt{N_\text{bin}}` (correlated frames make the real noise larger).
    Returns bin centres and ``F_cos``, ``F_cos_err``, ``F_phi``, ``F_phi_err`` (kT units) and
    ``kT_meV``.
    """
    u = np.asarray(axes, dtype=float).reshape(-1, 3)
    if len(u) < bins:
        raise SymbreakError(f"{len(u)} orientations are too few for {bins} bins")
    out = {"kT_meV": np.array(KB_EV * temperature_K * 1e3)}
    for name, values, lo, hi in (("cos", u[:, 2], -1.0, 1.0), ("phi", np.arctan2(u[:, 1], u[:, 0]), -np.pi, np.pi)):
        counts, edges = np.histogram(values, bins=bins, range=(lo, hi))
        expected = len(u) / bins
        with np.errstate(divide="ignore"):
            f = -np.log(counts / expected)
        out[f"{name}_centres"] = 0.5 * (edges[1:] + edges[:-1])
        out[f"F_{name}"] = f
        out[f"F_{name}_err"] = 1.0 / np.sqrt(np.maximum(counts, 1))
    return out


def orientation_block_noise(axes: np.ndarray, temperature_K: float, bins: int = 20, blocks: int = 4) -> float:
    """Statistical noise of :func:`orientation_free_energy`'s ``F_cos`` (kT) from the spread over
    ``blocks`` consecutive time blocks of axes (T, m, 3): the median over bins of std/√blocks.
    Unlike the counting noise it sees the correlation between consecutive frames."""
    parts = np.array_split(np.asarray(axes), blocks)
    if min(p.size // 3 for p in parts) < bins:  # too short to split: no estimate
        return float("nan")
    f = np.array([orientation_free_energy(p, temperature_K, bins)["F_cos"] for p in parts])
    spreads = [np.std(col[np.isfinite(col)], ddof=1) / np.sqrt(blocks) for col in f.T if np.isfinite(col).sum() >= 2]
    return float(np.median(spreads)) if spreads else float("nan")


def radial_distribution(positions: np.ndarray, cell: np.ndarray, a: np.ndarray, b: np.ndarray | None = None, r_max: float | None = None, bins: int = 100) -> tuple[np.ndarray, np.ndarray]:
    r""":math:`g_{ab}(r)` in a periodic cell, averaged over frames: bin centres (Å) and g.

    positions: (T, n, 3); a, b: atom indices (b=None: the same set). r_max defaults to half the
    smallest cell width (minimum image).
    """
    widths = 1.0 / np.linalg.norm(np.linalg.inv(cell).T, axis=1)
    r_max = float(r_max or 0.5 * widths.min())
    if r_max > 0.5 * widths.min() + 1e-9:
        raise SymbreakError(f"r_max {r_max:.3g} Å exceeds half the cell width ({0.5 * widths.min():.3g} Å)")
    same = b is None
    b = a if b is None else b
    d = np.linalg.norm(_mic(positions[:, b][:, None, :, :] - positions[:, a][:, :, None, :], cell), axis=-1)  # (T, A, B)
    if same:
        iu = np.triu_indices(len(a), 1)
        d = d[:, iu[0], iu[1]]
        pairs = len(a) * (len(a) - 1) / 2
    else:
        d = d.reshape(len(d), -1)
        pairs = len(a) * len(b)
    counts, edges = np.histogram(d.ravel(), bins=bins, range=(0.0, r_max))
    shell = 4.0 / 3.0 * np.pi * (edges[1:] ** 3 - edges[:-1] ** 3)
    density = pairs / abs(np.linalg.det(cell))
    return 0.5 * (edges[1:] + edges[:-1]), counts / (len(positions) * density * shell)


def orientation_correlation(axes: np.ndarray, max_lag: int, l: int = 2) -> np.ndarray:  # noqa: E741
    r""":math:`C_l(\tau) = \langle P_l(\mathbf u_m(t)\cdot\mathbf u_m(t+\tau))\rangle_{t,m}` for lags 0..max_lag (frames). axes: (T, m, 3)."""
    from numpy.polynomial.legendre import legval

    coef = np.zeros(l + 1)
    coef[l] = 1.0
    out = []
    for lag in range(max_lag + 1):
        c = (axes[: len(axes) - lag] * axes[lag:]).sum(-1)
        out.append(legval(c, coef).mean())
    return np.array(out)


def mean_square_displacement(positions: np.ndarray, max_lag: int, atoms: np.ndarray | None = None) -> np.ndarray:
    r"""MSD :math:`\langle|\mathbf r_i(t+\tau) - \mathbf r_i(t)|^2\rangle` (Å²) for lags 0..max_lag,
    averaged over time origins and atoms. positions must be unwrapped (as ASE's MD writes them)."""
    x = positions if atoms is None else positions[:, atoms]
    return np.array([((x[lag:] - x[: len(x) - lag]) ** 2).sum(-1).mean() for lag in range(max_lag + 1)])


def diffusion_coefficient(msd: np.ndarray, dt_fs: float, fit_from: float = 0.3) -> float:
    r"""Einstein relation :math:`D = \lim \mathrm{MSD}/6t`: the slope of a line fitted to the MSD
    from ``fit_from`` of the lags on, over 6. Returns D in Å²/ps (1 Å²/ps = 1e-8 m²/s)."""
    t = dt_fs * np.arange(len(msd))
    start = int(fit_from * len(msd))
    if len(msd) - start < 2:
        raise SymbreakError("too few lags to fit a diffusion coefficient")
    slope = np.polyfit(t[start:], msd[start:], 1)[0]
    return float(slope / 6.0 * 1e3)


def water_dipoles(positions: np.ndarray, molecules: np.ndarray, cell: np.ndarray | None = None, charges: tuple[float, float] = (-0.834, 0.417)) -> np.ndarray:
    r"""Total dipole :math:`\mathbf M(t) = \sum_m \sum_{a \in m} q_a (\mathbf r_a - \mathbf r_{O_m})` (T, 3), e·Å,
    from fixed point charges (TIP3P's by default), each molecule made whole by the minimum image."""
    o = positions[:, molecules[:, 0]]
    h = _mic(positions[:, molecules[:, 1]] - o, cell) + _mic(positions[:, molecules[:, 2]] - o, cell)
    return charges[1] * h.sum(1)  # the O charge sits at the origin of each molecule's vectors


def dipole_autocorrelation(dipoles: np.ndarray, max_lag: int) -> np.ndarray:
    r"""Normalised autocorrelation :math:`\langle \mathbf M(t)\cdot\mathbf M(t+\tau)\rangle / \langle|\mathbf M|^2\rangle` of (T, 3) dipoles."""
    m = np.asarray(dipoles, dtype=float)
    norm = (m * m).sum(-1).mean()
    return np.array([(m[: len(m) - lag] * m[lag:]).sum(-1).mean() / norm for lag in range(max_lag + 1)])


def drift(conserved: np.ndarray, dt_fs: float, molecules: int) -> float:
    """Drift of a conserved quantity (T,) eV: the slope of a fitted line, in meV per molecule per ns."""
    t = dt_fs * np.arange(len(conserved))
    if len(conserved) < 3:
        raise SymbreakError("drift needs at least 3 values")
    return float(np.polyfit(t, conserved, 1)[0] * 1e3 * 1e6 / molecules)


def random_force_drift(sigma_eV_A: float, masses: np.ndarray, dt_fs: float, molecules: int) -> float:
    r"""Energy drift (meV per molecule per ns) from a force error that is drawn afresh at every step.

    A velocity-Verlet step turns a force error :math:`\delta F` (RMS :math:`\sigma` per component)
    into a velocity kick :math:`\delta F\,\Delta t/m`; uncorrelated kicks add kinetic energy
    :math:`\sum_i 3\sigma^2\Delta t^2/2m_i` per step on average (a random walk of the momenta).
    This is the random-rotation protocol: each call sees another rotation, so the non-invariant
    part of the force is a fresh draw of RMS σ (the raw model's RMS force deviation from its average).
    """
    from ase import units

    masses = np.asarray(masses, dtype=float)
    for name, value in (("sigma_eV_A", sigma_eV_A), ("dt_fs", dt_fs)):
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) or not np.isfinite(value) or value < 0:
            raise SymbreakError(f"{name} must be a finite number >= 0, got {value!r}")
    if not dt_fs > 0 or isinstance(molecules, bool) or not isinstance(molecules, (int, np.integer)) or molecules < 1:
        raise SymbreakError(f"dt_fs must be positive and molecules an integer >= 1, got {dt_fs!r} and {molecules!r}")
    if masses.size == 0 or not (np.isfinite(masses).all() and (masses > 0).all()):
        raise SymbreakError("masses must be positive, finite atomic masses (amu)")
    dt = dt_fs * units.fs
    per_step = float(np.sum(3.0 * sigma_eV_A**2 * dt**2 / (2.0 * masses)))
    return per_step * (1e6 / dt_fs) * 1e3 / molecules
