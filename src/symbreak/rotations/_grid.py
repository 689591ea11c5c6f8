r"""Quadrature grids over SO(3) and O(3): Euler-angle products and Lebedev products.

Two families, both exact for every Wigner-D matrix :math:`D^l` up to a stated degree, so that
averaging a model over the grid is exact for any orientation dependence that stops there:

- **Euler** ``"N"`` (Langer, Pozdnyakov & Ceriotti 2024; Khalid et al. 2016): ZYZ angles with
  Gauss–Legendre :math:`\cos\beta`; exact to degree 2N − 2 with N (2N − 1)² rotations.
- **Lebedev** ``"lebedevD"`` (as metatomic's ``SymmetrizedCalculator`` and i-PI's ``FFRotations``
  build them): a Lebedev–Laikov rule of degree D on S² for the direction of the rotated z axis, times
  D + 1 equispaced turns about it; exact to degree D.

A trailing ``i`` (``"3i"``, ``"lebedev7i"``) appends the improper copies −R with the same weights
(halved): the grid over O(3), which also averages every odd-parity irrep to zero.

Sizes against the degree they integrate (from :func:`grid_size` and :func:`grid_degree`; the
improper grids are twice as large):

====== ============ ======= ================ ======= =================
degree Euler spec   size    Lebedev spec     size    smallest_grid
====== ============ ======= ================ ======= =================
0      ``1``        1                                ``1``
2      ``2``        18                               ``2``
3      ``3``        75      ``lebedev3``     24      ``lebedev3``
4      ``3``        75      ``lebedev5``     84      ``3``
5      ``4``        196     ``lebedev5``     84      ``lebedev5``
6      ``4``        196     ``lebedev7``     208     ``4``
7      ``5``        405     ``lebedev7``     208     ``lebedev7``
8      ``5``        405     ``lebedev9``     380     ``lebedev9``
9      ``6``        726     ``lebedev9``     380     ``lebedev9``
10     ``6``        726     ``lebedev11``    600     ``lebedev11``
12     ``7``        1,183   ``lebedev13``    1,036   ``lebedev13``
14     ``8``        1,800   ``lebedev15``    1,376   ``lebedev15``
16     ``9``        2,601   ``lebedev17``    1,980   ``lebedev17``
====== ============ ======= ================ ======= =================

The Lebedev rules of degree 3 to 11 are built here from their closed-form orbits (octahedron
vertices, cube vertices, edge midpoints, and the orbits (0, p, q) and (a, a, b) with
:math:`p^2 = (3 - \sqrt 3)/6` and :math:`a = 1/\sqrt{11}`), with exact rational weights; degrees 13
to 131 come from :func:`scipy.integrate.lebedev_rule` (SciPy ≥ 1.15). The rules of degree 13, 25
and 27 have a few negative weights; the others are positive.
"""

from __future__ import annotations

import functools
import re

import numpy as np

from .._errors import SymbreakError

__all__ = ["grid", "grid_degree", "grid_size", "smallest_grid", "LEBEDEV_DEGREES", "MAX_GRID_SIZE"]

MAX_GRID_SIZE = 250_000
"""Most rotations :func:`grid` builds (``"40"``: 249,640, exact to degree 78); ``"99"`` would be
3.8 million rotations, 350 MB before a model sees one."""

LEBEDEV_DEGREES = (3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31, 35, 41, 47, 53, 59, 65, 71, 77, 83, 89, 95, 101, 107, 113, 119, 125, 131)
"""The degrees of the Lebedev–Laikov rules on S² (those of :func:`scipy.integrate.lebedev_rule`)."""

#: points of each Lebedev–Laikov rule, by degree (the table of :func:`scipy.integrate.lebedev_rule`)
_LEBEDEV_POINTS = dict(zip(LEBEDEV_DEGREES, (6, 14, 26, 38, 50, 74, 86, 110, 146, 170, 194, 230, 266, 302, 350, 434, 590, 770, 974, 1202,
                                             1454, 1730, 2030, 2354, 2702, 3074, 3470, 3890, 4334, 4802, 5294, 5810)))  # fmt: skip

_EULER = re.compile(r"^\s*(\d+)(i?)\s*$")
_LEBEDEV = re.compile(r"^\s*lebedev(\d+)(i?)\s*$", re.IGNORECASE)


def _parse(spec: str | int) -> tuple[str, int, bool]:
    """``("euler", N, improper)`` or ``("lebedev", D, improper)``."""
    text = str(spec)
    m = _EULER.match(text)
    if m is not None and int(m.group(1)) >= 1:
        return "euler", int(m.group(1)), bool(m.group(2))
    m = _LEBEDEV.match(text)
    if m is not None:
        degree = int(m.group(1))
        if degree not in _LEBEDEV_POINTS:
            raise SymbreakError(f"no Lebedev rule of degree {degree} in {spec!r}; the degrees are {', '.join(map(str, LEBEDEV_DEGREES))}")
        return "lebedev", degree, bool(m.group(2))
    raise SymbreakError(f"grid spec must be 'N' or 'Ni' with N >= 1 (e.g. '2', '3i'), or 'lebedevD' / 'lebedevDi' (e.g. 'lebedev5'), got {spec!r}")


def grid_degree(spec: str | int) -> int:
    """Largest l for which the grid ``spec`` averages every Wigner-D matrix :math:`D^l` (l ≥ 1) to
    zero: 2N − 2 for the Euler grid ``"N"``, D for ``"lebedevD"``.

    >>> grid_degree("3"), grid_degree("lebedev7i")
    (4, 7)
    """
    family, n, _ = _parse(spec)
    return 2 * n - 2 if family == "euler" else n


def grid_size(spec: str | int) -> int:
    """Number of rotations of the grid ``spec``, without building it: N (2N − 1)² (Euler) or
    (Lebedev points) × (D + 1), doubled with ``i``.

    >>> grid_size("3i"), grid_size("lebedev5")
    (150, 84)
    """
    family, n, improper = _parse(spec)
    size = n * (2 * n - 1) ** 2 if family == "euler" else _LEBEDEV_POINTS[n] * (n + 1)
    return size * (2 if improper else 1)


def smallest_grid(degree: int, *, improper: bool = False) -> str:
    """The spec of the smallest grid (Euler or Lebedev; the Euler one where the sizes tie) that is
    exact to ``degree``: averaging over it removes every orientation dependence of degree ≤ ``degree``.
    Lebedev rules above degree 11 are considered only where SciPy builds them (SciPy ≥ 1.15).

    ``improper``: a grid over O(3) (spec ending in ``i``), which also removes all odd-parity content.
    Raises :class:`SymbreakError` when every such grid is larger than :data:`MAX_GRID_SIZE`.

    >>> smallest_grid(4), smallest_grid(7, improper=True), smallest_grid(0)
    ('3', 'lebedev7i', '1')
    """
    if not isinstance(degree, (int, np.integer)) or degree < 0:
        raise SymbreakError(f"degree must be a whole number >= 0, got {degree!r}")
    suffix = "i" if improper else ""
    candidates = [f"{max(1, (int(degree) + 3) // 2)}{suffix}"]  # Euler N with 2N - 2 >= degree
    lebedev = [d for d in LEBEDEV_DEGREES if d >= degree and (d in _CLOSED_FORM or _scipy_has_lebedev())]
    if lebedev and degree > 0:
        candidates.append(f"lebedev{lebedev[0]}{suffix}")
    best = min(candidates, key=grid_size)  # min keeps the first (Euler) on a tie
    if grid_size(best) > MAX_GRID_SIZE:
        raise SymbreakError(f"every grid exact to degree {degree} has more than {MAX_GRID_SIZE:,} rotations (MAX_GRID_SIZE); "
                            f"the smallest, {best!r}, has {grid_size(best):,}")  # fmt: skip
    return best


def _scipy_has_lebedev() -> bool:
    """Whether SciPy builds the Lebedev rules above degree 11 (``scipy.integrate.lebedev_rule``, SciPy >= 1.15)."""
    import scipy.integrate

    return hasattr(scipy.integrate, "lebedev_rule")


def _rz(a: np.ndarray) -> np.ndarray:
    c, s, o, i = np.cos(a), np.sin(a), np.zeros_like(a), np.ones_like(a)
    return np.stack([np.stack([c, -s, o], -1), np.stack([s, c, o], -1), np.stack([o, o, i], -1)], -2)


def _ry(b: np.ndarray) -> np.ndarray:
    c, s, o, i = np.cos(b), np.sin(b), np.zeros_like(b), np.ones_like(b)
    return np.stack([np.stack([c, o, s], -1), np.stack([o, i, o], -1), np.stack([-s, o, c], -1)], -2)


def _signed_permutations(point: tuple[float, float, float]) -> np.ndarray:
    """The orbit of ``point`` under the octahedral group Oh: every permutation and sign change, once."""
    from itertools import permutations, product

    pts = {tuple(s * c for s, c in zip(signs, perm)) for perm in permutations(point) for signs in product((1.0, -1.0), repeat=3)}
    return np.array(sorted(pts))


_V, _E, _C = (0.0, 0.0, 1.0), (0.0, np.sqrt(0.5), np.sqrt(0.5)), (np.sqrt(1 / 3),) * 3  # octahedron vertex, edge midpoint, cube vertex
_P2 = (3 - np.sqrt(3)) / 6
_A = 1 / np.sqrt(11)
#: the Lebedev rules of degree 3 to 11: (orbit representative, weight of each point of its Oh orbit)
_CLOSED_FORM = {
    3: [(_V, 1 / 6)],
    5: [(_V, 1 / 15), (_C, 3 / 40)],
    7: [(_V, 1 / 21), (_E, 4 / 105), (_C, 9 / 280)],
    9: [(_V, 1 / 105), (_C, 9 / 280), ((0.0, np.sqrt(_P2), np.sqrt(1 - _P2)), 1 / 35)],
    11: [(_V, 4 / 315), (_E, 64 / 2835), (_C, 27 / 1280), ((_A, _A, 3 * _A), 14641 / 725760)],
}


@functools.lru_cache(maxsize=None)
def _lebedev_rule(degree: int) -> tuple[np.ndarray, np.ndarray]:
    """Points (m, 3) on the unit sphere and weights (m,) summing to 1 of the Lebedev–Laikov rule
    of ``degree``: exact for every polynomial of that degree on S²."""
    if degree in _CLOSED_FORM:
        orbits = [(_signed_permutations(rep), w) for rep, w in _CLOSED_FORM[degree]]
        points = np.concatenate([pts for pts, _ in orbits])
        weights = np.concatenate([np.full(len(pts), w) for pts, w in orbits])
    else:
        try:
            from scipy.integrate import lebedev_rule as scipy_rule
        except ImportError:  # SciPy < 1.15
            raise SymbreakError(f"the Lebedev rule of degree {degree} needs SciPy >= 1.15 (scipy.integrate.lebedev_rule); "
                                f"degrees 3 to 11 need nothing") from None  # fmt: skip
        x, w = scipy_rule(degree)
        points, weights = np.ascontiguousarray(x.T), w / w.sum()
    points.flags.writeable = weights.flags.writeable = False  # cached: shared by every caller
    return points, weights


def _lebedev_grid(degree: int) -> tuple[np.ndarray, np.ndarray]:
    points, weights = _lebedev_rule(degree)
    alpha = np.arctan2(points[:, 1], points[:, 0])
    beta = np.arccos(np.clip(points[:, 2], -1.0, 1.0))
    k = degree + 1
    gamma = 2 * np.pi * np.arange(k) / k
    rot = (_rz(alpha) @ _ry(beta))[:, None] @ _rz(gamma)[None]  # (m, k, 3, 3): the z axis sent to each point, turned about it
    return rot.reshape(-1, 3, 3), np.repeat(weights, k) / k


def _euler_grid(n: int) -> tuple[np.ndarray, np.ndarray]:
    nodes, lw = np.polynomial.legendre.leggauss(n)
    k = 2 * n - 1
    angles = 2 * np.pi * np.arange(k) / k
    a, b, g = np.meshgrid(angles, np.arccos(nodes), angles, indexing="ij")
    wb = np.broadcast_to(lw[None, :, None], a.shape)
    return _rz(a.ravel()) @ _ry(b.ravel()) @ _rz(g.ravel()), wb.ravel() / wb.sum()


def grid(spec: str | int) -> tuple[np.ndarray, np.ndarray]:
    r"""Quadrature grid over SO(3) (spec ``"N"`` or ``"lebedevD"``) or O(3) (``"Ni"``, ``"lebedevDi"``).

    **Euler** ``"N"``: rotations :math:`R = R_z(\alpha) R_y(\beta) R_z(\gamma)` (ZYZ Euler angles,
    active) with :math:`\cos\beta` at the N Gauss–Legendre nodes and α, γ at the 2N − 1 angles
    :math:`2\pi k / (2N - 1)`; a point's weight is its Legendre weight, normalised so the weights sum
    to 1. The weighted mean of every Wigner-D matrix :math:`D^l` vanishes exactly for
    :math:`1 \le l \le 2N - 2` (α and γ sums kill every :math:`|m| \le 2N - 2`; Gauss–Legendre with N
    nodes integrates the remaining :math:`d^l_{00} = P_l(\cos\beta)`) and fails at l = 2N − 1.

    **Lebedev** ``"lebedevD"``: :math:`R = R_z(\alpha_j) R_y(\beta_j) R_z(\gamma_k)` where
    :math:`(\alpha_j, \beta_j)` are the polar angles of the points :math:`\hat n_j` of the
    Lebedev–Laikov rule of degree D (so :math:`R\hat z = \hat n_j`) and :math:`\gamma_k = 2\pi k/(D+1)`,
    k = 0..D; weight :math:`w_j / (D + 1)`. The γ sum projects :math:`D^l(R)` onto its column
    :math:`m' = 0` for every :math:`|m'| \le D`, which is a spherical harmonic :math:`Y_l(\hat n_j)`
    up to a factor; the Lebedev rule integrates those exactly for l ≤ D. So the mean of :math:`D^l`
    vanishes for :math:`1 \le l \le D` and fails at l = D + 1.

    Averaging over the grid is therefore exact for any function whose Wigner-D content stops at the
    grid's degree (:func:`grid_degree`). With ``i``, the improper copies −R are appended with the same
    weights (halved), and odd-parity irreps (such as 0o, a pseudoscalar) also average to zero.

    Returns
    -------
    rotations : (M, 3, 3) ndarray
        M = :func:`grid_size`: 18, 36, 75, 150 for "2", "2i", "3", "3i"; 24, 84, 208 for
        "lebedev3", "lebedev5", "lebedev7".
    weights : (M,) ndarray
        Summing to 1.

    Examples
    --------
    >>> r, w = grid("3i")
    >>> r.shape, round(float(w.sum()), 12)
    ((150, 3, 3), 1.0)
    >>> grid("lebedev5i")[0].shape
    (168, 3, 3)
    """
    family, n, improper = _parse(spec)
    size = grid_size(spec)
    if size > MAX_GRID_SIZE:
        degree = grid_degree(spec)
        raise SymbreakError(
            f"grid {spec!r} has {size:,} rotations, above the limit of {MAX_GRID_SIZE:,} (MAX_GRID_SIZE); it is exact to "
            f"degree {degree}: a model whose symmetry error stops at degree l needs N = l/2 + 1 (smallest_grid(l) names the smallest grid)"
        )
    rot, w = _euler_grid(n) if family == "euler" else _lebedev_grid(n)
    if improper:
        rot = np.concatenate([rot, -rot])
        w = np.concatenate([w, w]) / 2.0
    return rot, w
