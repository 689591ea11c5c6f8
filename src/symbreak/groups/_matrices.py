"""Small helpers on 3×3 orthogonal matrices: elementary operations, closure, element types."""

from __future__ import annotations

import math

import numpy as np

__all__ = [
    "cross",
    "rot_z",
    "rotation_about",
    "closure",
    "element_types",
    "rotation_axes",
    "SIGMA_H",
    "SIGMA_V",
    "C2X",
    "C2Z",
    "C3_111",
    "SWAP_XY",
    "INVERSION",
]

SIGMA_H = np.diag([1.0, 1.0, -1.0])  # mirror through the xy plane
SIGMA_V = np.diag([1.0, -1.0, 1.0])  # mirror through the xz plane
C2X = np.diag([1.0, -1.0, -1.0])
C2Z = np.diag([-1.0, -1.0, 1.0])
C3_111 = np.array([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])  # x→y→z→x
SWAP_XY = np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])  # mirror x = y
INVERSION = -np.eye(3)


def cross(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Cross product over the last axis; np.cross costs more than the arithmetic on tiny arrays."""
    return np.stack(
        [
            a[..., 1] * b[..., 2] - a[..., 2] * b[..., 1],
            a[..., 2] * b[..., 0] - a[..., 0] * b[..., 2],
            a[..., 0] * b[..., 1] - a[..., 1] * b[..., 0],
        ],
        axis=-1,
    )


def rot_z(angle: float) -> np.ndarray:
    """Active rotation by ``angle`` (radians) about +z: (3, 3)."""
    c, s = math.cos(angle), math.sin(angle)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def rotation_about(axis: np.ndarray, angle: float) -> np.ndarray:
    """Active rotation by ``angle`` about the unit vector ``axis`` (Rodrigues): (3, 3)."""
    u = np.asarray(axis, dtype=float)
    u = u / np.linalg.norm(u)
    k = np.array([[0.0, -u[2], u[1]], [u[2], 0.0, -u[0]], [-u[1], u[0], 0.0]])
    return np.eye(3) + math.sin(angle) * k + (1.0 - math.cos(angle)) * (k @ k)


def _key(m: np.ndarray) -> bytes:
    # Rounding to 1e-6 merges products that differ only by floating-point error.
    return np.round(m * 1e6).astype(np.int64).tobytes()


def closure(generators: list[np.ndarray], *, max_order: int = 100_000) -> np.ndarray:
    """All products of ``generators``: the finite group they generate, as (k, 3, 3).

    Entries are cleaned so that values within 1e-12 of 0, ±1/2 or ±1 are exact.
    """
    elements = [np.eye(3)]
    seen = {_key(elements[0])}
    frontier = [np.eye(3)]
    gens = [np.asarray(g, dtype=float) for g in generators]
    while frontier:
        new = []
        for a in frontier:
            for g in gens:
                p = g @ a
                k = _key(p)
                if k not in seen:
                    seen.add(k)
                    elements.append(p)
                    new.append(p)
                    if len(elements) > max_order:
                        raise ValueError("generators do not generate a finite group")
        frontier = new
    out = np.stack(elements)
    for v in (0.0, 0.5, -0.5, 1.0, -1.0):
        out[np.abs(out - v) < 1e-12] = v
    return out


def element_types(ops: np.ndarray, *, atol: float = 0.3, max_order: int | None = None) -> np.ndarray:
    """Conjugacy-type of each orthogonal matrix: rows ``(det, m, j)`` as ints, (k, 3).

    ``P = det(R) R`` is a proper rotation by angle θ ∈ [0, π] of order ``m``, θ = 2πj/m. The
    matrices are elements of a group of order ``max_order`` (default ``k``, all of them), and P
    lies in a rotation group of the same order (G itself, or H ∪ −(G∖H)), so m divides it: the
    angles θ/2π a group can hold lie on the grid j/order. ``m`` is the smallest divisor whose
    fraction j/m is the grid point nearest θ/2π. The grid spacing 2π/order, not a fixed tolerance,
    separates neighbouring orders, so axes of order 30 or 60 are told apart from 29 or 59 (a test of
    powers ‖P^m − I‖ < atol confuses them once 2√2 sin(π/m) < atol). ``m = 0`` marks a matrix whose
    angle is farther than ``atol``/2 rad, or than half the grid spacing, from every grid point.
    """
    ops = np.asarray(ops, dtype=float)
    k = ops.shape[0]
    det = np.where(np.linalg.det(ops) < 0, -1, 1)
    tr = np.trace(ops, axis1=1, axis2=2) * det
    theta = np.arccos(np.clip((tr - 1.0) / 2.0, -1.0, 1.0))
    group_order = max(k, max_order or 0, 1)
    # nearest point of the grid step/order; in lowest terms it is j/m, m = order / gcd(step, order)
    steps = np.rint(theta * group_order / (2 * np.pi)).astype(np.int64)
    off = np.abs(theta - 2 * np.pi * steps / group_order)
    order = group_order // np.gcd(steps, group_order)
    j = steps * order // group_order
    order[off > min(atol / 2.0, np.pi / group_order)] = 0
    return np.stack([det, order, j], axis=1).astype(np.int64)


def rotation_axes(ops: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Axis of each proper part ``det(R) R``, oriented so the rotation about it is by θ ∈ (0, π].

    Returns axes (k, 3), zero for ±identity, and flags (k,) that are True where the axis has no
    preferred sign (half-turns, mirrors, ±identity).
    """
    det = np.where(np.linalg.det(ops) < 0, -1.0, 1.0)
    p = ops * det[:, None, None]
    cos = (np.trace(p, axis1=1, axis2=2) - 1.0) / 2.0
    w = np.stack([p[:, 2, 1] - p[:, 1, 2], p[:, 0, 2] - p[:, 2, 0], p[:, 1, 0] - p[:, 0, 1]], axis=1)
    nw = np.sqrt((w * w).sum(1))
    sym = (p + p.transpose(0, 2, 1)) / 2.0 - cos[:, None, None] * np.eye(3)
    cols = np.sqrt((sym * sym).sum(1))
    best = sym[np.arange(len(ops)), :, np.argmax(cols, axis=1)]
    u_sym = best / np.maximum(np.sqrt((best * best).sum(1)), 1e-300)[:, None]
    u_sym *= np.where((u_sym * w).sum(1) < 0, -1.0, 1.0)[:, None] * (nw > 1e-3)[:, None] + (nw <= 1e-3)[:, None]
    use_w = (cos > -0.95) & (nw > 1e-6)
    axes = np.where(use_w[:, None], w / np.maximum(nw, 1e-300)[:, None], u_sym)
    axes[cos > 1.0 - 1e-6] = 0.0
    ambiguous = (~use_w) & ((cos < -1.0 + 1e-6) | (nw <= 1e-3))
    return axes, ambiguous | (cos > 1.0 - 1e-6)
