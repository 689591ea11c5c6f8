r"""Orientational free energy of a molecule, measured with honest error bars and predicted from the model.

A rotationally invariant potential gives an isotropic distribution of a free molecule's axis
:math:`\mathbf u`. A potential with a non-invariant part :math:`\Delta V(R)` gives

.. math:: F(\mathbf u) = -k_BT \ln \frac{p(\mathbf u)}{p_\text{iso}},\qquad
          \frac{p(\mathbf u)}{p_\text{iso}} = \frac{\langle e^{-\Delta V(R_{\mathbf u,\psi}\,x)/k_BT}\rangle_{x,\psi}}
                                                 {\langle e^{-\Delta V/k_BT}\rangle_{x,R}},

with :math:`R_{\mathbf u,\psi}` the rotations that point the axis along :math:`\mathbf u` (any
spin :math:`\psi` about it) and :math:`x` the molecule's internal configurations. Two ways in:

* **measured** (:func:`orientation_anisotropy`): the axis along a thermostatted trajectory,
  projected on the real spherical harmonics :math:`Y_k` of degrees :math:`1 \le l \le L`:
  :math:`c_k = \langle Y_k(\mathbf u)\rangle` (zero when isotropic) and, to first order in
  :math:`F/k_BT`, :math:`F(\mathbf u)/k_BT \approx -4\pi\sum_k c_k Y_k(\mathbf u)`, whose RMS over the
  sphere is :math:`\sqrt{4\pi\sum_k c_k^2}`. Frames of a trajectory are correlated: the error of
  each :math:`c_k` comes from batch means over blocks of several integrated autocorrelation times
  (:func:`integrated_autocorrelation_time`), not from the frame count. The binned
  :math:`F(\cos\theta)` gets per-bin errors the same way.
* **predicted** (:func:`predicted_orientation_free_energy`): the formula above evaluated with the
  model on a grid of orientations of sampled internal configurations: no sampling noise in the
  orientation, so it says how large an anisotropy a run has to resolve, and
  :func:`frames_needed` how long that run must be.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .._errors import SymbreakError

__all__ = [
    "integrated_autocorrelation_time", "real_spherical_harmonics", "orientation_anisotropy",
    "predicted_orientation_free_energy", "frames_needed",
]  # fmt: skip


def integrated_autocorrelation_time(x: np.ndarray, c: float = 5.0) -> float:
    r"""Integrated autocorrelation time of a series, in frames (1 for independent frames).

    :math:`\tau = 1 + 2\sum_{t=1}^{W}\rho(t)` with Sokal's window: the smallest :math:`W \ge c\,\tau(W)`.
    x: (T,) or (T, K) (the largest τ over the K columns). A constant series has τ = 1.
    """
    x = np.asarray(x, dtype=float)
    x = x.reshape(len(x), -1)
    if len(x) < 4:
        raise SymbreakError(f"an autocorrelation time needs at least 4 frames, got {len(x)}")
    taus = []
    for col in x.T:
        d = col - col.mean()
        var = float(d @ d)
        if var <= 1e-300 * len(d):
            taus.append(1.0)
            continue
        n = len(d)
        f = np.fft.rfft(d, 2 * n)
        rho = np.fft.irfft(f * np.conj(f))[:n] / var
        tau = 1.0
        for w in range(1, n):
            tau += 2.0 * rho[w]
            if w >= c * tau:
                break
        taus.append(max(tau, 1.0))
    return float(max(taus))


def real_spherical_harmonics(u: np.ndarray, lmax: int) -> np.ndarray:
    r"""Real spherical harmonics of degrees 1..lmax, orthonormal on the sphere (:math:`\int Y_k Y_{k'}\,d\Omega = \delta_{kk'}`).

    u: (..., 3) unit vectors. Returns (..., lmax² + 2·lmax): for each l the 2l+1 functions m = -l..l.
    """
    from scipy import special

    u = np.asarray(u, dtype=float)
    polar = np.arccos(np.clip(u[..., 2], -1.0, 1.0))
    azimuth = np.arctan2(u[..., 1], u[..., 0])
    out = []
    for l in range(1, lmax + 1):  # noqa: E741
        for m in range(-l, l + 1):
            y = special.sph_harm_y(l, abs(m), polar, azimuth)
            if m > 0:
                out.append(np.sqrt(2.0) * (-1) ** m * y.real)
            elif m < 0:
                out.append(np.sqrt(2.0) * (-1) ** m * y.imag)
            else:
                out.append(y.real)
    return np.stack(out, axis=-1)


#: block length in autocorrelation times: blocks of 2τ are still correlated enough to make the test of
#: isotropy reject isotropic AR(1) runs at p < 0.05 in 11.5 % of trials (16 % without the Student-t
#: scaling); 5τ gives 6-8 %, still a little above the nominal 5 % (tests/test_orientation.py)
BLOCK_TAUS = 5.0
#: the largest harmonic degree and number of bins the measures take (the cost grows as lmax²)
MAX_LMAX, MAX_BINS = 12, 1000


def _check_int(name: str, value: object, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not lo <= value <= hi:
        raise SymbreakError(f"{name} must be an integer from {lo} to {hi}, got {value!r}")
    return int(value)


def _block_means(values: np.ndarray, tau: float, min_blocks: int = 8) -> tuple[np.ndarray, int]:
    """Means of consecutive blocks of ≥ BLOCK_TAUS·τ frames (fewer frames per block if that leaves < min_blocks blocks)."""
    n = len(values)
    size = max(1, int(np.ceil(BLOCK_TAUS * tau)))
    if n // size < min_blocks:
        size = max(1, n // min_blocks)
    blocks = n // size
    return values[: blocks * size].reshape(blocks, size, *values.shape[1:]).mean(1), size


def orientation_anisotropy(axes: np.ndarray, *, lmax: int = 4, bins: int = 10) -> dict:
    r"""The orientational free energy measured along a trajectory, with errors from decorrelated blocks.

    axes: (T, 3) unit vectors in time order (one molecule; for several, call per molecule).
    Returns JSON-able values (free energies in units of :math:`k_BT`):

    * ``tau_frames``: integrated autocorrelation time of the harmonics (frames), ``effective_frames`` = T/τ;
    * ``coefficients``, ``coefficient_errors``: :math:`c_k` and their standard errors (batch means);
    * ``rms_kT``: the RMS of :math:`F(\mathbf u)` over the sphere from the harmonics, its noise
      floor ``noise_rms_kT`` (the RMS an isotropic run of this length shows) and ``rms_unbiased_kT``
      (:math:`\sqrt{\max(0, 4\pi\sum(c_k^2-\sigma_k^2))}`);
    * ``chi2``, ``dof``, ``p_isotropic``: the test of :math:`c = 0` with the blocks' variances
      (diagonal; each term scaled by :math:`(B-3)/(B-1)` for B blocks, the mean of a squared
      Student t); None, and ``valid`` false, when the run is too short for 8 blocks of ≥ 5τ (the
      errors are then underestimated, and the noise floor is a lower bound);
    * ``cos_centres``, ``F_cos``, ``F_cos_err``: binned :math:`F(\cos\theta)`, per-bin errors from
      each bin indicator's own autocorrelation time.
    """
    from scipy import stats

    lmax, bins = _check_int("lmax", lmax, 1, MAX_LMAX), _check_int("bins", bins, 2, MAX_BINS)
    try:
        u = np.asarray(axes, dtype=float)
    except (TypeError, ValueError):
        raise SymbreakError("axes must be a (T, 3) array of numbers") from None
    if u.ndim != 2 or u.shape[1] != 3 or not np.isfinite(u).all():
        raise SymbreakError(f"axes must be finite (T, 3) unit vectors, got shape {u.shape}")
    if len(u) < 16 * bins:
        raise SymbreakError(f"{len(u)} frames are too few for an orientational free energy over {bins} bins (need ≥ {16 * bins})")
    norm = np.linalg.norm(u, axis=1, keepdims=True)
    if not (np.isfinite(norm).all() and (norm > 1e-12).all()):
        raise SymbreakError("axes must be non-zero vectors: a zero axis has no direction")
    u = u / norm
    y = real_spherical_harmonics(u, lmax)
    tau = integrated_autocorrelation_time(y)
    means, size = _block_means(y, tau)
    # blocks shorter than BLOCK_TAUS·τ are correlated: their spread underestimates the error, and the test is not valid
    valid = size >= BLOCK_TAUS * tau
    c = y.mean(0)
    err = means.std(0, ddof=1) / np.sqrt(len(means))
    # each c_k/σ_k is Student-t with B - 1 degrees of freedom (σ_k from B blocks), whose square has mean
    # (B - 1)/(B - 3): scaling by its inverse makes the sum a χ² of the right mean for few blocks too
    b = len(means)
    chi2 = float(np.sum((c / np.maximum(err, 1e-300)) ** 2)) * ((b - 3) / (b - 1) if b > 3 else 0.0)
    dof = len(c)
    four_pi = 4.0 * np.pi
    cos = u[:, 2]
    edges = np.linspace(-1.0, 1.0, bins + 1)
    which = np.clip(np.digitize(cos, edges) - 1, 0, bins - 1)
    f_cos, f_err = [], []
    for b in range(bins):
        ind = (which == b).astype(float)
        p = ind.mean()
        if p == 0.0:
            f_cos.append(float("inf"))
            f_err.append(float("nan"))
            continue
        t = integrated_autocorrelation_time(ind)
        f_cos.append(float(-np.log(p * bins)))
        f_err.append(float(np.sqrt(p * (1 - p) * t / len(ind)) / p))
    return {
        "frames": len(u), "tau_frames": tau, "effective_frames": len(u) / tau, "block_frames": size, "blocks": len(means), "lmax": lmax,
        "coefficients": c.tolist(), "coefficient_errors": err.tolist(),
        "rms_kT": float(np.sqrt(four_pi * np.sum(c**2))), "noise_rms_kT": float(np.sqrt(four_pi * np.sum(err**2))),
        "rms_unbiased_kT": float(np.sqrt(max(0.0, four_pi * np.sum(c**2 - err**2)))),
        "valid": bool(valid), "chi2": chi2 if valid else None, "dof": dof, "p_isotropic": float(stats.chi2.sf(chi2, dof)) if valid else None,
        "cos_centres": (0.5 * (edges[1:] + edges[:-1])).tolist(), "F_cos": f_cos, "F_cos_err": f_err,
    }  # fmt: skip


def _frame_to_z(axis: np.ndarray) -> np.ndarray:
    """A rotation taking unit vector ``axis`` to +z (any one: the spin about z is averaged over)."""
    z = np.array([0.0, 0.0, 1.0])
    v = np.cross(axis, z)
    s, c = np.linalg.norm(v), float(axis @ z)
    if s < 1e-12:
        return np.eye(3) if c > 0 else np.diag([1.0, -1.0, -1.0])
    k = v / s
    kx = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    return np.eye(3) + s * kx + (1 - c) * kx @ kx


def _rz(a: float) -> np.ndarray:
    return np.array([[np.cos(a), -np.sin(a), 0.0], [np.sin(a), np.cos(a), 0.0], [0.0, 0.0, 1.0]])


def _ry(a: float) -> np.ndarray:
    return np.array([[np.cos(a), 0.0, np.sin(a)], [0.0, 1.0, 0.0], [-np.sin(a), 0.0, np.cos(a)]])


def predicted_orientation_free_energy(
    energy: Callable[[np.ndarray], np.ndarray], configurations: np.ndarray, axes: np.ndarray, temperature_K: float,
    *, bins: int = 10, n_phi: int = 12, n_psi: int = 6, lmax: int = 4,
) -> dict:  # fmt: skip
    r"""The orientational free energy a potential implies, evaluated on a grid of orientations.

    energy: maps positions (B, n, 3) in Å to energies (B,) in eV (the model as it is, not averaged:
    its invariant part cancels in the ratio); configurations: (K, n, 3) sampled internal
    configurations (frames of a run); axes: (K, 3) each configuration's molecular axis. Each
    configuration is turned so its axis points along :math:`\mathbf u` at ``bins`` values of
    :math:`\cos\theta` (bin centres) × ``n_phi`` azimuths, with ``n_psi`` spins about the axis, and
    :math:`F(\mathbf u)/k_BT = -\ln(w(\mathbf u)/\bar w)`, :math:`w = \langle e^{-(E-\bar E)/k_BT}\rangle_{x,\psi}`.
    Returns ``cos_centres``, ``F_cos`` (the map's azimuthal marginal), ``rms_kT`` (RMS of
    :math:`F(\mathbf u)` over the sphere), ``range_cos_kT``, ``coefficients`` (the harmonic
    coefficients :math:`c_k=\langle Y_k\rangle` a perfect run would measure, for
    :func:`orientation_anisotropy`) and ``rms_harmonics_kT`` (the RMS those carry up to ``lmax``).
    """
    from scipy.special import logsumexp

    from ..md._diagnostics import KB_EV

    lmax, bins = _check_int("lmax", lmax, 1, MAX_LMAX), _check_int("bins", bins, 2, MAX_BINS)
    n_phi, n_psi = _check_int("n_phi", n_phi, 1, 360), _check_int("n_psi", n_psi, 1, 360)
    try:
        x = np.asarray(configurations, dtype=float)
        a = np.asarray(axes, dtype=float)
    except (TypeError, ValueError):
        raise SymbreakError("configurations and axes must be arrays of numbers") from None
    if x.ndim != 3 or x.shape[2] != 3 or a.shape != (len(x), 3) or len(x) == 0 or not (np.isfinite(x).all() and np.isfinite(a).all()):
        raise SymbreakError(f"configurations (K, n, 3) and axes (K, 3) must be finite, non-empty and agree, got {x.shape} and {a.shape}")
    if (np.linalg.norm(a, axis=1) < 1e-12).any():
        raise SymbreakError("axes must be non-zero vectors: a zero axis has no direction")
    if isinstance(temperature_K, bool) or not isinstance(temperature_K, (int, float, np.integer, np.floating)) or not np.isfinite(temperature_K) or not temperature_K > 0:
        raise SymbreakError(f"temperature must be a positive number of K, got {temperature_K!r}")
    kt = KB_EV * temperature_K
    cos = -1.0 + (np.arange(bins) + 0.5) * 2.0 / bins
    phi = 2 * np.pi * np.arange(n_phi) / n_phi
    psi = 2 * np.pi * np.arange(n_psi) / n_psi
    # one rotation per (cos θ, φ, ψ): u = Rz(φ) Ry(θ) ẑ, spun by ψ about ẑ before the tilt
    rots = np.array([[[_rz(p) @ _ry(np.arccos(c)) @ _rz(s) for s in psi] for p in phi] for c in cos])  # (bins, n_phi, n_psi, 3, 3)
    flat = rots.reshape(-1, 3, 3)
    energies = []
    for xi, ai in zip(x, a):
        centred = (xi - xi.mean(0)) @ _frame_to_z(ai / np.linalg.norm(ai)).T  # axis along +z
        turned = np.einsum("rij,nj->rni", flat, centred)
        try:
            values = np.asarray(energy(turned), dtype=float)
        except (TypeError, ValueError):
            raise SymbreakError("energy must return one number per structure") from None
        if values.shape != (len(flat),) or not np.isfinite(values).all():
            raise SymbreakError(f"energy must return {len(flat)} finite energies (one per turned structure), got shape {values.shape}"
                                + ("" if values.shape != (len(flat),) else " with non-finite values"))  # fmt: skip
        energies.append(values)
    e = np.asarray(energies).reshape(len(x), bins, n_phi, n_psi)
    e = e - e.mean(axis=(1, 2, 3), keepdims=True)  # each configuration's own invariant energy drops out
    # log-sum-exp: an anisotropy of hundreds of kT must not overflow exp
    log_w = logsumexp(-e / kt, axis=(0, 3)) - np.log(e.shape[0] * e.shape[3])  # (bins, n_phi): over configurations and spins
    f = -(log_w - logsumexp(log_w) + np.log(log_w.size))  # uniform in cos θ and φ is uniform on the sphere
    f_cos_log = logsumexp(log_w, axis=1) - np.log(n_phi)
    f_cos = -(f_cos_log - logsumexp(f_cos_log) + np.log(bins))
    w = np.exp(-f)  # p(u)/p_iso on the grid, mean 1
    u = np.stack([np.sqrt(1 - cos[:, None] ** 2) * np.cos(phi), np.sqrt(1 - cos[:, None] ** 2) * np.sin(phi), np.repeat(cos[:, None], n_phi, 1)], -1)
    p = w
    # c_k = ∫ p Y_k dΩ = the grid mean of (p/p_iso − 1)·Y_k: the − 1 (exact, since ∫ Y_k = 0) keeps the
    # midpoint rule from aliasing the constant into the higher degrees
    coeff = ((p - 1.0)[..., None] * real_spherical_harmonics(u, lmax)).mean((0, 1))
    return {
        "cos_centres": cos.tolist(), "F_cos": f_cos.tolist(), "range_cos_kT": float(np.ptp(f_cos)),
        "rms_kT": float(f.std()), "coefficients": coeff.tolist(),
        "rms_harmonics_kT": float(np.sqrt(4 * np.pi * np.sum(coeff**2))), "configurations": len(x), "orientations": int(flat.shape[0]),
        "noninvariant_rms_meV": float(1e3 * e.std()),
    }  # fmt: skip


def frames_needed(signal_kT: float, noise_kT: float, frames: int, sigmas: float = 3.0) -> float:
    r"""Frames a run needs for an anisotropy of RMS ``signal_kT`` to stand ``sigmas`` noise floors
    above zero, from a run of ``frames`` frames whose noise floor (RMS of an isotropic run) is
    ``noise_kT``: the floor falls as :math:`1/\sqrt{T}`, so :math:`T' = T\,(\sigma\,\text{noise}/\text{signal})^2`."""
    for name, value in (("noise_kT", noise_kT), ("frames", frames), ("sigmas", sigmas), ("signal_kT", signal_kT)):
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) or not np.isfinite(value) or value < 0:
            raise SymbreakError(f"{name} must be a finite number >= 0, got {value!r}")
    if not signal_kT > 0:
        return float("inf")
    with np.errstate(over="ignore"):
        need = frames * (sigmas * noise_kT / signal_kT) ** 2 if signal_kT > 1e-150 else float("inf")
    return float(need)
