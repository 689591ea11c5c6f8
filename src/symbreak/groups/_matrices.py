"""Small helpers on 3×3 orthogonal matrices: elementary operations, closure, element types."""

from __future__ import annotations

import math

import numpy as np

__all__ = [
    "rot_z",
    "rotation_about",
    "closure",
    "element_types",
    "rotation_axis",
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


def element_types(ops: np.ndarray, *, atol: float = 0.3) -> np.ndarray:
    """Conjugacy-type of each orthogonal matrix: rows ``(det, m, j)`` as ints, (k, 3).

    ``P = det(R) R`` is a proper rotation by angle θ ∈ [0, π]; ``m`` is its order (smallest power
    with ``P^m ≈ I`` within ``atol`` in the Frobenius norm) and ``j = round(θ m / 2π)``, so θ = 2πj/m.
    Orders are found by repeated batched multiplication, which is robust to noisy matrices where
    a rational approximation of θ is not.
    """
    ops = np.asarray(ops, dtype=float)
    k = ops.shape[0]
    det = np.sign(np.linalg.det(ops))
    p = ops * det[:, None, None]
    order = np.zeros(k, dtype=np.int64)
    power = p.copy()
    eye = np.eye(3)
    for m in range(1, max(k, 1) + 1):
        close = (order == 0) & (np.linalg.norm(power - eye, axis=(1, 2)) < atol)
        order[close] = m
        if (order > 0).all():
            break
        power = power @ p
    order[order == 0] = 0  # not of finite order ≤ k: left as 0, the caller rejects it
    cos = np.clip((np.trace(p, axis1=1, axis2=2) - 1.0) / 2.0, -1.0, 1.0)
    theta = np.arccos(cos)
    j = np.rint(theta * order / (2 * np.pi)).astype(np.int64)
    return np.stack([det.astype(np.int64), order, j], axis=1)


def rotation_axis(op: np.ndarray) -> tuple[np.ndarray | None, bool]:
    """Axis of the proper part ``det(R) R``, oriented so the rotation about it is by θ ∈ (0, π].

    Returns ``(axis, ambiguous)``: ``axis`` is None for ±identity; ``ambiguous`` is True for
    half-turns (and mirrors), whose axis has no preferred sign.
    """
    p = op * np.sign(np.linalg.det(op))
    cos = (np.trace(p) - 1.0) / 2.0
    if cos > 1.0 - 1e-6:
        return None, True
    w = np.array([p[2, 1] - p[1, 2], p[0, 2] - p[2, 0], p[1, 0] - p[0, 1]])
    nw = np.linalg.norm(w)
    if cos > -0.95 and nw > 1e-6:
        return w / nw, False
    # Near a half-turn the antisymmetric part vanishes; the symmetric part is (1 − cos θ) u uᵀ + cos θ I.
    s = (p + p.T) / 2.0 - cos * np.eye(3)
    col = s[:, np.argmax(np.linalg.norm(s, axis=0))]
    u = col / np.linalg.norm(col)
    if nw > 1e-3 and np.dot(u, w) < 0:
        u = -u
    return u, cos < -1.0 + 1e-6 or nw <= 1e-3
