"""The orientational free energy of a molecule: measured with errors from decorrelated blocks, and implied by a potential."""

import numpy as np
import pytest

from symbreak._errors import SymbreakError
from symbreak.md import (
    frames_needed,
    integrated_autocorrelation_time,
    orientation_anisotropy,
    predicted_orientation_free_energy,
    random_force_drift,
    real_spherical_harmonics,
)

KT = 8.617333262e-5 * 300.0  # eV


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def _tilted(a: float, n: int, seed: int) -> np.ndarray:
    """Axes drawn from p(u) ∝ exp(-a cos θ): F/kT = a cos θ + const."""
    rng = np.random.default_rng(seed)
    c = np.log(np.exp(a) - rng.uniform(0, 1, n) * (np.exp(a) - np.exp(-a))) / a  # inverse CDF of exp(-a c) on [-1, 1]
    c = -c
    phi = rng.uniform(0, 2 * np.pi, n)
    s = np.sqrt(1 - c**2)
    return np.stack([s * np.cos(phi), s * np.sin(phi), c], 1)


def _slow_isotropic(n: int, step: float, seed: int) -> np.ndarray:
    """An isotropic but strongly correlated trajectory: a unit vector diffusing on the sphere."""
    rng = np.random.default_rng(seed)
    u = np.empty((n, 3))
    u[0] = _unit(rng.normal(size=3))
    for t in range(1, n):
        u[t] = _unit(u[t - 1] + step * rng.normal(size=3))
    return u


def test_autocorrelation_time_of_independent_and_ar1_series():
    rng = np.random.default_rng(0)
    assert integrated_autocorrelation_time(rng.normal(size=20000)) == pytest.approx(1.0, abs=0.15)
    from scipy.signal import lfilter

    phi = 0.9
    x = lfilter([1.0], [1.0, -phi], rng.normal(size=200000))  # AR(1): τ = (1 + φ)/(1 − φ) = 19
    assert integrated_autocorrelation_time(x) == pytest.approx((1 + phi) / (1 - phi), rel=0.15)
    assert integrated_autocorrelation_time(np.ones(100)) == 1.0


def test_harmonics_are_orthonormal_on_the_sphere():
    u = _unit(np.random.default_rng(1).normal(size=(200000, 3)))
    y = real_spherical_harmonics(u, 3)
    assert y.shape == (200000, 15)
    gram = 4 * np.pi * (y[:, :, None] * y[:, None, :]).mean(0)
    np.testing.assert_allclose(gram, np.eye(15), atol=0.03)


def test_isotropic_run_reads_isotropic_and_a_tilt_reads_its_size():
    iso = orientation_anisotropy(_unit(np.random.default_rng(2).normal(size=(20000, 3))))
    assert iso["tau_frames"] == pytest.approx(1.0, abs=0.3)
    assert iso["p_isotropic"] > 1e-3 and iso["rms_unbiased_kT"] < 2 * iso["noise_rms_kT"]
    a = 0.15
    tilt = orientation_anisotropy(_tilted(a, 40000, 3))
    assert tilt["p_isotropic"] < 1e-6
    # F/kT = a cos θ: RMS over the sphere a/√3, all of it in l = 1
    assert abs(tilt["rms_unbiased_kT"] - a / np.sqrt(3)) < 3 * tilt["noise_rms_kT"]
    f = np.asarray(tilt["F_cos"])
    slope = np.polyfit(tilt["cos_centres"], f, 1, w=1 / np.asarray(tilt["F_cos_err"]))[0]
    assert slope == pytest.approx(a, abs=0.05)


def test_correlated_frames_widen_the_errors_and_are_not_read_as_anisotropy():
    u = _slow_isotropic(20000, 0.05, 4)
    r = orientation_anisotropy(u)
    assert r["tau_frames"] > 50
    naive = np.sqrt(4 * np.pi * r["dof"] / (4 * np.pi * len(u)))  # the floor of independent frames: σ_k² = 1/(4π T)
    assert r["noise_rms_kT"] > 5 * naive
    # per-bin errors too: far above counting noise
    counts = np.histogram(u[:, 2], bins=10, range=(-1, 1))[0]
    assert np.all(np.asarray(r["F_cos_err"]) > 3 / np.sqrt(counts))


def test_predicted_free_energy_of_a_known_orientational_potential():
    a = 0.2

    def energy(pos: np.ndarray) -> np.ndarray:
        axis = _unit(pos[:, 1] - pos[:, 0])
        return a * KT * axis[:, 2] + 1.0  # an invariant offset drops out

    x = np.array([[[0.0, 0.0, 0.0], [0.3, 0.4, 1.0]], [[1.0, 1.0, 1.0], [1.0, 2.0, 1.0]]])
    axes = x[:, 1] - x[:, 0]
    p = predicted_orientation_free_energy(energy, x, axes, 300.0, bins=10)
    f = np.asarray(p["F_cos"])
    np.testing.assert_allclose(f - f.mean(), a * (np.asarray(p["cos_centres"]) - np.mean(p["cos_centres"])), atol=1e-9)
    assert p["rms_kT"] == pytest.approx(a * np.sqrt(np.mean(np.asarray(p["cos_centres"]) ** 2)), rel=1e-6)
    # the harmonics a perfect run would measure: those of exp(-a cos θ), sampled
    measured = orientation_anisotropy(_tilted(a, 60000, 5))
    err = np.asarray(measured["coefficient_errors"])
    assert np.all(np.abs(np.asarray(p["coefficients"]) - measured["coefficients"]) < 4 * err + 1e-3)


def test_an_invariant_potential_implies_no_anisotropy():
    def energy(pos: np.ndarray) -> np.ndarray:
        return np.linalg.norm(pos[:, 1] - pos[:, 0], axis=1) ** 2

    x = np.random.default_rng(6).normal(size=(3, 3, 3))
    p = predicted_orientation_free_energy(energy, x, x[:, 1] - x[:, 0], 300.0)
    assert p["rms_kT"] < 1e-9 and p["range_cos_kT"] < 1e-9


def test_frames_needed_scales_as_the_inverse_square_of_the_signal():
    assert frames_needed(0.1, 0.1, 1000) == pytest.approx(9000)
    assert frames_needed(0.2, 0.1, 1000) == pytest.approx(2250)
    assert frames_needed(0.0, 0.1, 1000) == float("inf")


def test_random_force_drift_matches_a_random_walk_of_momenta():
    from ase import units

    rng = np.random.default_rng(7)
    masses = np.array([16.0, 1.008, 1.008])
    sigma, dt_fs, steps, walkers = 0.01, 0.5, 200, 4000
    dt = dt_fs * units.fs
    p = np.zeros((walkers, 3, 3))
    for _ in range(steps):
        p += sigma * dt * rng.normal(size=p.shape)  # a fresh force error each step: an impulse δF·Δt
    gained = (p**2 / (2 * masses[None, :, None])).sum((1, 2)).mean()  # eV per walker (one molecule)
    per_ns = gained / steps * (1e6 / dt_fs) * 1e3  # meV per molecule per ns
    assert random_force_drift(sigma, masses, dt_fs, 1) == pytest.approx(per_ns, rel=0.05)


@pytest.mark.parametrize("axes", [np.zeros((0, 3)), np.ones((200, 2)), np.full((200, 3), np.nan)])
def test_bad_axes_are_refused(axes):
    with pytest.raises(SymbreakError):
        orientation_anisotropy(axes)


def test_too_few_frames_and_bad_temperature_are_refused():
    with pytest.raises(SymbreakError, match="too few"):
        orientation_anisotropy(_unit(np.ones((20, 3))))
    with pytest.raises(SymbreakError, match="temperature"):
        predicted_orientation_free_energy(lambda p: np.zeros(len(p)), np.ones((1, 2, 3)), np.ones((1, 3)), 0.0)


def test_a_run_too_short_for_decorrelated_blocks_gives_no_verdict():
    r = orientation_anisotropy(_slow_isotropic(400, 0.05, 8))
    assert not r["valid"] and r["p_isotropic"] is None and r["chi2"] is None
    assert orientation_anisotropy(_unit(np.random.default_rng(9).normal(size=(2000, 3))))["valid"]


def test_the_isotropy_test_keeps_its_level_on_correlated_isotropic_runs():
    """AR(1) orientations (isotropic, τ ≈ 19 frames): without the Student-t scaling and with blocks of
    2τ, 16 % of these runs were rejected at p < 0.05; with the scaling and 2τ, 11.5 %; as shipped (5τ), 7.5 %."""
    from scipy.signal import lfilter

    rng = np.random.default_rng(10)
    ps = []
    for _ in range(200):
        u = _unit(lfilter([1.0], [1.0, -0.9], rng.normal(size=(4000, 3)), axis=0))
        r = orientation_anisotropy(u)
        assert r["valid"]
        ps.append(r["p_isotropic"])
    assert np.mean(np.asarray(ps) < 0.05) <= 0.09


@pytest.mark.parametrize("kw", [{"lmax": 0}, {"lmax": 10**6}, {"bins": 0}, {"bins": 2.5}])
def test_bad_orders_and_bins_are_refused(kw):
    with pytest.raises(SymbreakError, match="lmax|bins"):
        orientation_anisotropy(_unit(np.random.default_rng(0).normal(size=(400, 3))), **kw)


def test_zero_axes_bad_energies_and_bad_numbers_are_refused():
    u = _unit(np.random.default_rng(0).normal(size=(400, 3)))
    u[5] = 0.0
    with pytest.raises(SymbreakError, match="non-zero"):
        orientation_anisotropy(u)
    x = np.ones((1, 2, 3))
    for bad in (lambda p: 1.0, lambda p: np.full(len(p), np.nan), lambda p: np.zeros((len(p), 2))):
        with pytest.raises(SymbreakError, match="energy must return"):
            predicted_orientation_free_energy(bad, x + [[0, 0, 0], [0, 0, 1]], np.array([[0.0, 0.0, 1.0]]), 300.0)
    with pytest.raises(SymbreakError):
        frames_needed(0.1, -1.0, 100)
    with pytest.raises(SymbreakError):
        random_force_drift(0.01, np.array([16.0, 1.0, 1.0]), 0.0, 1)
    with pytest.raises(SymbreakError):
        random_force_drift(0.01, np.array([16.0, 0.0, 1.0]), 0.5, 1)


def test_a_huge_anisotropy_does_not_overflow():
    def energy(pos):
        return 100.0 * _unit(pos[:, 1] - pos[:, 0])[:, 2]  # 100 eV: thousands of kT

    p = predicted_orientation_free_energy(energy, np.array([[[0.0, 0, 0], [0, 0, 1]]]), np.array([[0.0, 0, 1]]), 300.0)
    assert np.isfinite(p["F_cos"]).all() and p["range_cos_kT"] > 1000
