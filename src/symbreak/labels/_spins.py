r"""Classical dipolar spin clusters whose ground states break the Hamiltonian's symmetry.

Unit dipoles :math:`\boldsymbol\mu_i` sit on the sites :math:`\mathbf r_i` of a small symmetric
cluster and interact through the dipole–dipole energy, plus an optional nearest-neighbour exchange J:

.. math::

    E(\boldsymbol\mu) = \sum_{i<j} \frac{\boldsymbol\mu_i\cdot\boldsymbol\mu_j
        - 3(\boldsymbol\mu_i\cdot\hat{\mathbf r}_{ij})(\boldsymbol\mu_j\cdot\hat{\mathbf r}_{ij})}{r_{ij}^3}
        + J \sum_{\langle ij\rangle} \boldsymbol\mu_i\cdot\boldsymbol\mu_j
        = \tfrac12\,\boldsymbol\mu^\top A\,\boldsymbol\mu,
    \qquad A_{ij} = \frac{I - 3\hat{\mathbf r}_{ij}\hat{\mathbf r}_{ij}^\top}{r_{ij}^3} + J\,[ij\ \text{nearest}]\,I,

with :math:`\hat{\mathbf r}_{ij} = (\mathbf r_j - \mathbf r_i)/r_{ij}`, energies in units of
:math:`\mu^2/\text{Å}^3` (Gaussian units, :math:`\mu = 1`). E is invariant under any
:math:`R \in O(3)` acting on positions and moments together (:math:`\mathbf r \to R\mathbf r`,
:math:`\boldsymbol\mu \to R\boldsymbol\mu`), under relabelling the sites, and under the global flip
:math:`\boldsymbol\mu \to -\boldsymbol\mu` (E is even in μ). So the cluster's point group G, acting
by :math:`(g\cdot\boldsymbol\mu)_{\pi_g(i)} = R_g\boldsymbol\mu_i`, maps ground states to ground
states; a ground state y with stabilizer :math:`K = \mathrm{Stab}_G(y) < G` comes with its whole
orbit :math:`G\cdot y` of :math:`|G|/|K|` degenerate ground states. That set is the right answer of
an equivariant model fed the cluster (Xie & Smidt, "equivariant symmetry-breaking sets", TMLR 2024).

The moments are read as *polar* vectors (classical electric dipoles). Magnetic moments are axial
(:math:`\boldsymbol\mu \to \det(R)\,R\boldsymbol\mu`), but the axial action of g is ± its polar
action and E is even in μ, so the *set* of ground states is the same set; only how G permutes it
differs (:func:`ground_states` records whether it is one orbit under the axial action too).

:func:`ground_states` finds the ground states by seeded multi-start L-BFGS on the product of
spheres and *verifies* the set: every minimum it finds within ``energy_tol`` of the lowest lies in
the G-orbit of one of them, and the Riemannian Hessian there is positive definite (an isolated
minimum, not a continuous degenerate family: the cube of 8 dipoles has one, Schönke & Fonseca,
Phys. Rev. E 2015, and is refused).
"""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np

from .._errors import StructureError, SymbreakError

__all__ = ["dipolar_coupling", "spin_energy", "ground_states", "spin_cluster", "GroundStates", "SPIN_CLUSTERS"]

#: two sites closer than this (Å) are one site: refused
MIN_SITE_DISTANCE = 1e-6
#: two configurations whose moments differ by less than this (largest component) are the same state
STATE_TOL = 1e-4
#: the smallest Riemannian-Hessian eigenvalue (μ²/Å³) an isolated minimum must have: below it the
#: minimum is (numerically) part of a continuous degenerate family. For nearest sites :data:`SPIN_BOND`
#: apart; otherwise scaled as the dipolar energy, 1/r³ (:func:`ground_states`)
HESSIAN_TOL = 1e-6
#: the default ``energy_tol`` of :func:`ground_states` (μ²/Å³), scaled the same way
ENERGY_TOL = 1e-7
#: the largest coordinate (Å) accepted: far beyond any cluster, and short of where 1/r³ and tolerances in Å underflow
MAX_EXTENT = 1e6
#: pairs within this relative distance of the shortest are the exchange term's nearest neighbours
NEIGHBOUR_RTOL = 1e-6


def _real_array(name: str, value: object) -> np.ndarray:
    """value as a float array, or :class:`~symbreak.StructureError` naming ``name`` (strings, ragged lists, complex numbers)."""
    try:
        a = np.asarray(value)
        if a.dtype.kind not in "biuf":  # strings, objects, complex: refused, never cast (complex would lose its imaginary part)
            raise TypeError
        return a.astype(float)
    except (TypeError, ValueError):
        raise StructureError(f"{name} must be an array of real numbers, got {type(value).__name__} {str(value)[:60]!r}") from None


def _real_number(name: str, value: object) -> float:
    """value as a finite float, or :class:`~symbreak.SymbreakError` naming ``name``."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)) or not np.isfinite(value):
        raise SymbreakError(f"{name} must be a finite real number, got {value!r}")
    return float(value)


def _check_positions(positions: np.ndarray) -> np.ndarray:
    x = _real_array("positions", positions)
    if x.ndim != 2 or x.shape[1] != 3 or len(x) < 2:
        raise StructureError(f"positions must be (n, 3) with n ≥ 2 sites, got shape {x.shape}")
    if not np.isfinite(x).all():
        raise StructureError("positions contain NaN or infinity")
    d = np.linalg.norm(x[:, None] - x[None], axis=-1)
    np.fill_diagonal(d, np.inf)
    if d.min() < MIN_SITE_DISTANCE:
        i, j = np.unravel_index(np.argmin(d), d.shape)
        raise StructureError(f"sites {i} and {j} coincide (distance {d.min():.3g} Å): a dipole cannot interact with itself")
    if np.abs(x).max() > MAX_EXTENT:
        raise StructureError(f"positions reach {np.abs(x).max():.3g} Å: beyond {MAX_EXTENT:g} Å the couplings 1/r³ and the symmetry tolerance lose all precision")
    return x


def dipolar_coupling(positions: np.ndarray, *, exchange: float = 0.0) -> np.ndarray:
    r"""The coupling matrix A (3n, 3n) of :math:`E = \tfrac12\boldsymbol\mu^\top A\boldsymbol\mu` (module docstring).

    positions: (n, 3) Å; exchange: J (μ²/Å³) on the nearest-neighbour pairs (those within
    :data:`NEIGHBOUR_RTOL` of the shortest distance). Row block i, column block j is the (3, 3)
    coupling of site i to site j; the diagonal blocks are zero.
    """
    x = _check_positions(positions)
    exchange = _real_number("exchange", exchange)
    n = len(x)
    d = x[None] - x[:, None]  # d[i, j] = r_j - r_i
    r = np.linalg.norm(d, axis=-1) + np.eye(n)  # the diagonal is masked below
    u = d / r[..., None]
    block = (np.eye(3) - 3.0 * u[..., :, None] * u[..., None, :]) / r[..., None, None] ** 3
    if exchange:
        off = r.copy()
        np.fill_diagonal(off, np.inf)
        near = np.abs(off - off.min()) <= NEIGHBOUR_RTOL * off.min()
        block = block + exchange * near[..., None, None] * np.eye(3)
    block[np.arange(n), np.arange(n)] = 0.0
    return block.transpose(0, 2, 1, 3).reshape(3 * n, 3 * n)


def spin_energy(positions: np.ndarray, moments: np.ndarray, *, exchange: float = 0.0) -> float:
    r"""E (μ²/Å³) of moments (n, 3) on sites (n, 3) Å: the dipole–dipole sum plus J on nearest neighbours.

    >>> import numpy as np
    >>> round(spin_energy(np.array([[0.0, 0, 0], [1, 0, 0]]), np.array([[1.0, 0, 0], [1, 0, 0]])), 12)  # head to tail: 1 - 3
    -2.0
    """
    x = _check_positions(positions)
    m = _real_array("moments", moments)
    if m.shape != x.shape:
        raise StructureError(f"moments must be (n, 3) for the {len(x)} sites, got shape {m.shape}")
    if not np.isfinite(m).all():
        raise StructureError("moments contain NaN or infinity")
    flat = m.ravel()
    return float(0.5 * flat @ dipolar_coupling(x, exchange=exchange) @ flat)


def _minimize(a: np.ndarray, n: int, v0: np.ndarray) -> tuple[float, np.ndarray]:
    """One local minimum of ½ μᵀAμ on the product of unit spheres, from v0 (3n,): μ_i = v_i/‖v_i‖,
    so L-BFGS works unconstrained (the map is smooth away from v_i = 0, where no start lies)."""
    from scipy.optimize import minimize

    def energy(v: np.ndarray) -> tuple[float, np.ndarray]:
        v = v.reshape(n, 3)
        norm = np.linalg.norm(v, axis=1, keepdims=True)
        m = v / norm
        g = (a @ m.ravel()).reshape(n, 3)
        # the chain rule through the normalisation: the tangent part of ∂E/∂μ_i, over |v_i|
        return float(0.5 * m.ravel() @ g.ravel()), ((g - (g * m).sum(1, keepdims=True) * m) / norm).ravel()

    res = minimize(energy, v0, jac=True, method="L-BFGS-B", options={"gtol": 1e-12, "ftol": 1e-16, "maxiter": 10000})
    m = res.x.reshape(n, 3)
    m = m / np.linalg.norm(m, axis=1, keepdims=True)
    return float(0.5 * m.ravel() @ a @ m.ravel()), m


def _tangent_hessian(a: np.ndarray, m: np.ndarray) -> np.ndarray:
    r"""Eigenvalues (2n,) of the Riemannian Hessian of ½ μᵀAμ on the spheres at a critical point m (n, 3):
    :math:`P(A - \Lambda)P` with :math:`\Lambda = \mathrm{diag}(\lambda_i I)`, :math:`\lambda_i = \boldsymbol\mu_i\cdot(A\boldsymbol\mu)_i`."""
    n = len(m)
    lam = ((a @ m.ravel()).reshape(n, 3) * m).sum(1)
    h = a - np.kron(np.diag(lam), np.eye(3))
    basis = np.zeros((3 * n, 2 * n))
    for i, mu in enumerate(m):
        helper = np.array([1.0, 0, 0]) if abs(mu[0]) < 0.9 else np.array([0, 1.0, 0])
        e1 = np.cross(mu, helper)
        e1 /= np.linalg.norm(e1)
        basis[3 * i : 3 * i + 3, 2 * i], basis[3 * i : 3 * i + 3, 2 * i + 1] = e1, np.cross(mu, e1)
    return np.linalg.eigvalsh(basis.T @ h @ basis)


def _images(y: np.ndarray, operations: np.ndarray, permutations: np.ndarray, axial: bool = False) -> np.ndarray:
    """(k, n, 3): :math:`(g\\cdot y)_{\\pi_g(i)} = s_g R_g y_i` for every g (s_g = det R_g for axial moments, else 1)."""
    out = np.empty((len(operations), *y.shape))
    for k, (rot, perm) in enumerate(zip(operations, permutations)):
        out[k, perm] = y @ rot.T * (np.linalg.det(rot) if axial else 1.0)
    return out


def _distinct(states: np.ndarray) -> np.ndarray:
    kept: list[np.ndarray] = []
    for s in states:
        if not any(np.abs(s - t).max() < STATE_TOL for t in kept):
            kept.append(s)
    return np.array(kept)


@dataclasses.dataclass(frozen=True)
class GroundStates:
    """The verified ground-state set of a spin cluster (see :func:`ground_states`).

    energy: E₀ (μ²/Å³). state: (n, 3) one ground state, the orbit's first element in a fixed
    (lexicographic) order, so it does not depend on which start found it. orbit: (k, n, 3) its
    distinct images under G. found: (f, n, 3) the distinct minima at E₀ the search found.
    point_group: G's name; stabilizer: :math:`\\mathrm{Stab}_G(y)`'s name. hits: how many starts
    ended at E₀, of ``starts``. levels: the lowest distinct minimum energies found (up to 4).
    flip_in_orbit: whether −y is some g·y. axial_orbit_size: the orbit's size under the axial action.
    hessian_min: the smallest Riemannian-Hessian eigenvalue at y (μ²/Å³; > 0: an isolated minimum).
    """

    energy: float
    state: np.ndarray
    orbit: np.ndarray
    found: np.ndarray
    point_group: str
    stabilizer: str
    hits: int
    starts: int
    levels: tuple[float, ...]
    flip_in_orbit: bool
    axial_orbit_size: int
    hessian_min: float

    def as_dict(self) -> dict:
        """The scalar diagnostics, JSON-ready."""
        return {"energy": self.energy, "orbit_size": len(self.orbit), "found": len(self.found), "point_group": self.point_group,
                "stabilizer": self.stabilizer, "hits": self.hits, "starts": self.starts, "levels": list(self.levels),
                "flip_in_orbit": self.flip_in_orbit, "axial_orbit_size": self.axial_orbit_size, "hessian_min": self.hessian_min}  # fmt: skip


def ground_states(
    positions: np.ndarray, *, starts: int = 64, seed: int = 0, exchange: float = 0.0, energy_tol: float | None = None, symmetry_tol: float = 0.01
) -> GroundStates:
    r"""The ground states of the dipolar cluster on ``positions`` (n, 3) Å, found and verified.

    ``starts`` seeded random starts (Gaussian v, μ = v/‖v‖) each run L-BFGS to a local minimum;
    the lowest energy E₀ and every minimum within ``energy_tol`` (μ²/Å³) of it are kept (default:
    :data:`ENERGY_TOL` times the coupling scale s below). The
    cluster's point group G is detected at ``symmetry_tol`` (Å), with all sites of one type.
    Verified, else :class:`~symbreak.SymbreakError`: every kept minimum is in the G-orbit of the
    first (to :data:`STATE_TOL`), and the Riemannian Hessian there has no eigenvalue below
    :data:`HESSIAN_TOL` (a flat direction means a continuous family of ground states, which no
    finite orbit describes). Deterministic for a given seed.

    The search and the Hessian test run on the couplings divided by their scale
    :math:`s = (b/r_{\min})^3` (b = :data:`SPIN_BOND`, :math:`r_{\min}` the shortest distance; s = 1
    for the registered clusters), so a cluster drawn 100 times larger — the same ground
    states, energies 10⁶ times smaller — is neither refused as "flat" nor searched less precisely.

    >>> gs = ground_states(spin_cluster("square"), starts=16)
    >>> gs.point_group, gs.stabilizer, len(gs.orbit), gs.flip_in_orbit
    ('D4h', 'C4h', 2, True)
    """
    from ..detect import detect_symmetry
    from ..groups import identify

    x = _check_positions(positions)
    for name, value, low in (("starts", starts, 1), ("seed", seed, 0)):
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < low:
            raise SymbreakError(f"{name} must be an integer ≥ {low}, got {value!r}")
    exchange = _real_number("exchange", exchange)
    n = len(x)
    a = dipolar_coupling(x, exchange=exchange)
    d = np.linalg.norm(x[:, None] - x[None], axis=-1)
    r_min = d[~np.eye(n, dtype=bool)].min()
    scale = (SPIN_BOND / r_min) ** 3  # the dipolar energy scale; J sets none of the gaps between dipolar arrangements
    scale = 1.0 if abs(scale - 1.0) < 1e-9 else scale  # the registered clusters: exactly the unscaled search
    if energy_tol is None:
        energy_tol = ENERGY_TOL * scale
    elif _real_number("energy_tol", energy_tol) <= 0:
        raise SymbreakError(f"energy_tol must be a positive finite energy (μ²/Å³), got {energy_tol!r}")
    a_unit = a / scale  # the same minima; energies and Hessians of order one
    rng = np.random.default_rng(seed)
    minima = [(e * scale, m) for e, m in (_minimize(a_unit, n, rng.normal(size=3 * n)) for _ in range(int(starts)))]
    energies = np.array([e for e, _ in minima])
    e0 = float(energies.min())
    at_e0 = np.array([m for e, m in minima if e <= e0 + energy_tol])
    found = _distinct(at_e0)

    sym = detect_symmetry(x, np.ones(n, dtype=int), tol=symmetry_tol)
    ops, perms = np.asarray(sym.operations), np.asarray(sym.permutations)
    orbit = _distinct(_images(found[0], ops, perms))
    missing = [i for i, m in enumerate(found) if min(np.abs(m - o).max() for o in orbit) >= STATE_TOL]
    if missing:
        raise SymbreakError(f"the {len(found)} lowest minima (E₀ = {e0:.8g}) are not one {sym.point_group} orbit: {len(missing)} lie outside "
                            f"the orbit of the first ({len(orbit)} states); the ground-state set is not a single orbit")  # fmt: skip
    # a fixed representative: the orbit's first element in lexicographic order of its rounded moments
    order = sorted(range(len(orbit)), key=lambda k: tuple(np.round(orbit[k].ravel(), 6)))
    orbit = orbit[order]
    y = orbit[0]
    hess = float(_tangent_hessian(a, y).min())
    if hess < HESSIAN_TOL * scale:
        raise SymbreakError(f"the ground state (E₀ = {e0:.8g}) has a flat direction (smallest Hessian eigenvalue {hess:.3g}): "
                            "a continuous family of ground states, not a finite orbit")  # fmt: skip
    kept = [k for k, im in enumerate(_images(y, ops, perms)) if np.abs(im - y).max() < STATE_TOL]
    stabilizer = identify(ops[kept])[0].name
    levels = tuple(float(e) for e in _distinct_levels(energies, energy_tol)[:4])
    return GroundStates(
        energy=e0, state=y, orbit=orbit, found=found, point_group=sym.point_group, stabilizer=stabilizer, hits=len(at_e0), starts=int(starts),
        levels=levels, flip_in_orbit=bool(min(np.abs(-y - o).max() for o in orbit) < STATE_TOL),
        axial_orbit_size=len(_distinct(_images(y, ops, perms, axial=True))), hessian_min=hess,
    )  # fmt: skip


def _distinct_levels(energies: np.ndarray, tol: float) -> list[float]:
    levels: list[float] = []
    for e in np.sort(energies):
        if not levels or e > levels[-1] + tol:
            levels.append(float(e))
    return levels


def _ring(k: int, radius: float) -> np.ndarray:
    t = 2 * np.pi * np.arange(k) / k
    return np.stack([radius * np.cos(t), radius * np.sin(t), np.zeros(k)], axis=1)


#: nearest-neighbour distance (Å) of every cluster: inside the registered models' 5 Å cutoff, every pair connected
SPIN_BOND = 2.0
#: the clusters, every edge :data:`SPIN_BOND` long: a square ring (D4h), a regular trigonal
#: bipyramid (D3h, 5 sites), a regular octahedron (Oh, 6 sites), a cube (Oh, 8 sites: a
#: continuously degenerate ground state, refused by :func:`ground_states`)
SPIN_CLUSTERS = ("square", "bipyramid", "octahedron", "cube")


def spin_cluster(name: str, *, bond: float = SPIN_BOND) -> np.ndarray:
    """Sites (n, 3) Å of a named cluster of :data:`SPIN_CLUSTERS`, centred at the origin, edges ``bond`` Å."""
    if isinstance(bond, (bool, np.bool_)) or not isinstance(bond, (int, float, np.integer, np.floating)) or not 0 < bond < np.inf:
        raise SymbreakError(f"bond must be a positive finite length in Å, got {bond!r}")
    if name == "square":
        return _ring(4, bond / np.sqrt(2))
    if name == "bipyramid":  # equilateral triangle of side b, apices at b·sqrt(2/3) above and below: all 9 edges b
        return np.concatenate([_ring(3, bond / np.sqrt(3)), [[0.0, 0.0, bond * np.sqrt(2 / 3)], [0.0, 0.0, -bond * np.sqrt(2 / 3)]]])
    if name == "octahedron":
        return np.concatenate([np.eye(3), -np.eye(3)]) * bond / np.sqrt(2)
    if name == "cube":
        return np.array(list(itertools.product((-0.5, 0.5), repeat=3))) * bond
    raise SymbreakError(f"unknown spin cluster {name!r}; choose from {', '.join(SPIN_CLUSTERS)}")
