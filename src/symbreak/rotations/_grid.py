r"""Euler-angle product quadrature over SO(3) and O(3)."""

from __future__ import annotations

import re

import numpy as np

from .._errors import SymbreakError

__all__ = ["grid", "grid_degree", "MAX_GRID_SIZE"]

MAX_GRID_SIZE = 250_000
"""Most rotations :func:`grid` builds (``"40"``: 249,640, exact to degree 78); ``"99"`` would be
3.8 million rotations, 350 MB before a model sees one."""

_SPEC = re.compile(r"^\s*(\d+)(i?)\s*$")


def _parse(spec: str | int) -> tuple[int, bool]:
    m = _SPEC.match(str(spec))
    if m is None or int(m.group(1)) < 1:
        raise SymbreakError(f"grid spec must be 'N' or 'Ni' with N >= 1 (e.g. '2', '3i'), got {spec!r}")
    return int(m.group(1)), bool(m.group(2))


def grid_degree(spec: str | int) -> int:
    """Largest l for which the grid ``spec`` averages every Wigner-D matrix :math:`D^l` to zero: 2N − 2."""
    n, _ = _parse(spec)
    return 2 * n - 2


def _rz(a: np.ndarray) -> np.ndarray:
    c, s, o, i = np.cos(a), np.sin(a), np.zeros_like(a), np.ones_like(a)
    return np.stack([np.stack([c, -s, o], -1), np.stack([s, c, o], -1), np.stack([o, o, i], -1)], -2)


def _ry(b: np.ndarray) -> np.ndarray:
    c, s, o, i = np.cos(b), np.sin(b), np.zeros_like(b), np.ones_like(b)
    return np.stack([np.stack([c, o, s], -1), np.stack([o, i, o], -1), np.stack([-s, o, c], -1)], -2)


def grid(spec: str | int) -> tuple[np.ndarray, np.ndarray]:
    r"""Quadrature grid over SO(3) (spec ``"N"``) or O(3) (spec ``"Ni"``).

    Rotations :math:`R = R_z(\alpha) R_y(\beta) R_z(\gamma)` (ZYZ Euler angles, active) with
    :math:`\cos\beta` at the N Gauss–Legendre nodes and α, γ at the 2N − 1 angles
    :math:`2\pi k / (2N - 1)`; a point's weight is its Legendre weight, normalised so the weights sum
    to 1. ``"Ni"`` appends the improper copies −R with the same weights (halved).

    The weighted mean of every Wigner-D matrix :math:`D^l` over the grid vanishes exactly for
    :math:`1 \le l \le 2N - 2` (α and γ sums kill every :math:`|m| \le 2N - 2`; Gauss–Legendre with N
    nodes integrates the remaining :math:`d^l_{00} = P_l(\cos\beta)`) and fails at l = 2N − 1:
    averaging over the grid is exact for any function whose spherical-harmonic content stops at
    l = 2N − 2. With ``i``, odd-parity irreps (such as 0o, a pseudoscalar) also average to zero.

    Returns
    -------
    rotations: (M, 3, 3) with M = N (2N − 1)² (doubled with ``i``): 18, 36, 75, 150 for "2", "2i", "3", "3i"
    weights: (M,), summing to 1

    >>> r, w = grid("3i")
    >>> r.shape, round(float(w.sum()), 12)
    ((150, 3, 3), 1.0)
    """
    n, improper = _parse(spec)
    size = n * (2 * n - 1) ** 2 * (2 if improper else 1)
    if size > MAX_GRID_SIZE:
        raise SymbreakError(
            f"grid {spec!r} has {size:,} rotations, above the limit of {MAX_GRID_SIZE:,} (MAX_GRID_SIZE); it is exact to "
            f"degree {2 * n - 2}: a model whose symmetry error stops at degree l needs N = l/2 + 1"
        )
    nodes, lw = np.polynomial.legendre.leggauss(n)
    k = 2 * n - 1
    angles = 2 * np.pi * np.arange(k) / k
    a, b, g = np.meshgrid(angles, np.arccos(nodes), angles, indexing="ij")
    wb = np.broadcast_to(lw[None, :, None], a.shape)
    rot = _rz(a.ravel()) @ _ry(b.ravel()) @ _rz(g.ravel())
    w = wb.ravel() / wb.sum()
    if improper:
        rot = np.concatenate([rot, -rot])
        w = np.concatenate([w, w]) / 2.0
    return rot, w
