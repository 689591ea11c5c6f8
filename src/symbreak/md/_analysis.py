"""Every diagnostic of a trajectory in one call, as numbers (JSON) and one figure (PNG)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from .._errors import SymbreakError
from . import _diagnostics as dg

__all__ = ["analyze_trajectory", "plot_analysis"]


def analyze_trajectory(
    frames: list[Any] | dict[str, np.ndarray], *, dt_fs: float, temperature_K: float = 300.0, conserved: np.ndarray | None = None,
    max_lag_fs: float | None = None, out: str | Path | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Diagnostics of a trajectory (ASE ``Atoms`` frames with velocities, or :func:`trajectory_arrays`).

    dt_fs: time between frames. conserved: the conserved quantity per frame (eV) for the drift;
    default: potential plus kinetic energy, right for NVE (a thermostat's exchanged energy must
    be added by the caller). Finite systems get angular momentum and torque; water (only O and
    H, two H per O) gets orientations, and, when periodic, g_OO(r), C_1/C_2, MSD, D and the dipole
    autocorrelation. ``out``: a folder for ``trajectory.json`` and ``trajectory.png``.
    """
    if not (isinstance(dt_fs, (int, float, np.floating, np.integer)) and np.isfinite(dt_fs) and dt_fs > 0):
        raise SymbreakError(f"dt_fs must be a positive finite time step in fs, got {dt_fs!r}")
    if not (isinstance(temperature_K, (int, float, np.floating, np.integer)) and np.isfinite(temperature_K) and temperature_K > 0):
        raise SymbreakError(f"temperature_K must be a positive finite temperature in K, got {temperature_K!r}")
    if out is not None and not str(out).strip():
        raise SymbreakError("out is empty: name a folder for trajectory.json and trajectory.png, or leave it None")
    arr = frames if isinstance(frames, dict) else dg.trajectory_arrays(frames)
    pos, masses, numbers = arr["positions"], arr["masses"], arr["numbers"]
    if not np.all(np.isfinite(pos)):
        frame = int(np.flatnonzero(~np.isfinite(pos).all(axis=(1, 2)))[0])
        raise SymbreakError(f"positions contain NaN or inf (first in frame {frame})")
    for key, what in (("velocities", "velocities"), ("energy", "energies"), ("forces", "forces")):
        if key in arr and not np.all(np.isfinite(arr[key])):
            bad = np.asarray(arr[key], dtype=float).reshape(len(arr[key]), -1)
            frame = int(np.flatnonzero(~np.isfinite(bad).all(axis=1))[0])
            raise SymbreakError(f"{what} contain NaN or inf (first in frame {frame})")
    if not np.any(arr["velocities"]):
        raise SymbreakError("the trajectory has no velocities (all zero or not stored): angular momentum, kinetic energy "
                            "and drift need them; write the frames with velocities (ASE: atoms.set_velocities, extxyz 'momenta')")
    t_len = len(pos)
    if t_len < 4:
        raise SymbreakError(f"a trajectory of {t_len} frames is too short to analyse (need at least 4)")
    periodic = bool(np.any(arr.get("pbc", False)) and abs(np.linalg.det(arr["cell"])) > 0)
    cell = arr["cell"] if periodic else None
    max_lag = max(2, min(t_len // 2, int((max_lag_fs or 0.5 * t_len * dt_fs) / dt_fs)))
    res: dict[str, Any] = {"frames": t_len, "dt_fs": dt_fs, "atoms": len(numbers), "periodic": periodic, "temperature_K": temperature_K}
    series: dict[str, Any] = {"time_fs": dt_fs * np.arange(t_len)}
    if "energy" in arr:
        series["energy"] = arr["energy"]
        f, p = dg.power_spectrum(arr["energy"], dt_fs)
        series["energy_spectrum"] = (f, p)
    if conserved is None and "energy" in arr:
        conserved = arr["energy"] + arr["kinetic"]
    is_water = bool(set(np.unique(numbers)) <= {1, 8}) and (numbers == 1).sum() == 2 * (numbers == 8).sum() > 0
    molecules = dg.water_molecules(numbers, pos[0], cell) if is_water else None
    if conserved is not None:
        series["conserved"] = np.asarray(conserved)
        m = len(molecules) if molecules is not None else 1
        res["drift_meV_per_molecule_per_ns"] = dg.drift(conserved, dt_fs, m)
        half = len(conserved) // 2
        if half >= 3:  # the two halves' slopes: when they disagree by more than the slope, the drift is not resolved
            res["drift_halves_meV_per_molecule_per_ns"] = [dg.drift(conserved[:half], dt_fs, m), dg.drift(conserved[half:], dt_fs, m)]
    if not periodic:
        L = dg.angular_momentum(pos, arr["velocities"], masses)
        series["angular_momentum"] = L
        res["angular_momentum_change"] = float(np.linalg.norm(L[-1] - L[0]))
        norms = np.linalg.norm(L[[0, -1]], axis=1)
        # a direction exists only for a non-zero L: a molecule started without spin has none to keep
        res["angular_momentum_direction_change_deg"] = (
            float(np.degrees(np.arccos(np.clip(L[0] @ L[-1] / (norms[0] * norms[1]), -1, 1))))
            if norms.min() > 1e-12 * max(1.0, float(np.abs(L).max())) else None
        )
        if "forces" in arr:
            tq = dg.torque(pos, arr["forces"], masses)
            series["torque"] = tq
            res["torque_rms_eV"] = float(np.sqrt((tq**2).sum(-1).mean()))
    if molecules is not None:
        axes = dg.water_axes(pos, molecules, cell)
        fe = dg.orientation_free_energy(axes, temperature_K, bins=min(20, max(4, axes.size // 3 // 50)))
        series["orientation"] = fe
        res["orientation_F_cos_range_kT"] = float(np.nanmax(fe["F_cos"][np.isfinite(fe["F_cos"])]) - np.nanmin(fe["F_cos"][np.isfinite(fe["F_cos"])]))
        res["orientation_F_cos_noise_kT"] = float(np.median(fe["F_cos_err"]))
        noise = dg.orientation_block_noise(axes, temperature_K, bins=len(fe["F_cos"]))
        if np.isfinite(noise):
            res["orientation_F_cos_block_noise_kT"] = noise
        if periodic:
            r, g = dg.radial_distribution(pos, cell, molecules[:, 0])
            series["g_OO"] = (r, g)
            res["g_OO_first_peak"] = {"r": float(r[np.argmax(g)]), "g": float(g.max())}
            lags = dt_fs * np.arange(max_lag + 1)
            series["C1"] = (lags, dg.orientation_correlation(axes, max_lag, l=1))
            series["C2"] = (lags, dg.orientation_correlation(axes, max_lag, l=2))
            msd = dg.mean_square_displacement(pos, max_lag, molecules[:, 0])
            series["msd_O"] = (lags, msd)
            res["D_O_A2_per_ps"] = dg.diffusion_coefficient(msd, dt_fs)
            series["dipole_acf"] = (lags, dg.dipole_autocorrelation(dg.water_dipoles(pos, molecules, cell), max_lag))
    res["series"] = series
    if out is not None:
        out = Path(out)
        try:
            out.mkdir(parents=True, exist_ok=True)
            (out / "trajectory.json").write_text(json.dumps(_jsonable(res), indent=1) + "\n")
            plot_analysis(res, out / "trajectory.png")
        except OSError as exc:  # a folder in the way, a full disk, no permission: one line, not a traceback
            raise SymbreakError(f"cannot write {getattr(exc, 'filename', None) or out} ({exc.strerror or exc})") from None
    return res


def _jsonable(x: Any) -> Any:
    if isinstance(x, dict):
        return {k: _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        return _jsonable(x.tolist())
    if isinstance(x, (float, np.floating)):
        return float(x) if np.isfinite(x) else None
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, np.bool_):
        return bool(x)
    return x


def plot_analysis(res: dict[str, Any], path: str | Path) -> None:
    """One figure with a panel per diagnostic that the trajectory has."""
    from .._lazy import load

    matplotlib = load("matplotlib")  # missing: one error naming the 'ml' extra

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    s = res["series"]
    t = s["time_fs"] / 1e3
    panels = []
    if "conserved" in s:
        panels.append(("conserved quantity", lambda ax: (ax.plot(t, 1e3 * (s["conserved"] - s["conserved"][0])), ax.set_xlabel("t / ps"), ax.set_ylabel("ΔE / meV"))))
    if "energy_spectrum" in s:
        f, p = s["energy_spectrum"]
        panels.append(("energy power spectrum", lambda ax: (ax.semilogy(f[1:], p[1:]), ax.set_xlabel("ν / THz"))))
    def components(ax, values, symbol: str, unit: str) -> None:
        for k, axis in enumerate("xyz"):  # one line per Cartesian component, each named
            ax.plot(t, values[:, k], label=f"{symbol}$_{axis}$")
        ax.set_xlabel("t / ps")
        ax.set_ylabel(f"{symbol} / {unit}")
        ax.legend(fontsize=7, loc="best")

    if "angular_momentum" in s:
        panels.append(("angular momentum about the centre of mass", lambda ax: components(ax, s["angular_momentum"], "L", "amu Å² fs⁻¹")))
    if "torque" in s:
        panels.append(("total torque of the forces", lambda ax: components(ax, 1e3 * s["torque"], "τ", "meV")))
    if "orientation" in s:
        o = s["orientation"]
        panels.append(("orientational free energy", lambda ax: (ax.errorbar(o["cos_centres"], o["F_cos"], o["F_cos_err"], fmt="o-", ms=3), ax.set_xlabel("cos θ"), ax.set_ylabel("F / kT"))))
    for key, label, ylab in (("g_OO", "g_OO(r)", "g"), ("C1", "C₁(t), C₂(t)", "C"), ("msd_O", "MSD of O", "Å²"), ("dipole_acf", "dipole autocorrelation", "")):
        if key in s:
            x, y = s[key]

            def draw(ax, x=x, y=y, key=key, ylab=ylab):
                ax.plot(x if key == "g_OO" else x / 1e3, y)
                if key == "C1":
                    ax.plot(s["C2"][0] / 1e3, s["C2"][1])
                ax.set_xlabel("r / Å" if key == "g_OO" else "t / ps")
                ax.set_ylabel(ylab)

            panels.append((label, draw))
    cols = min(3, len(panels)) or 1
    rows = -(-len(panels) // cols) or 1
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.2 * rows), squeeze=False)
    for ax, (title, draw) in zip(axes.ravel(), panels):
        draw(ax)
        ax.set_title(title, fontsize=10)
    for ax in axes.ravel()[len(panels):]:
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
