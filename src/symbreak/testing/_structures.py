"""Random structures with a prescribed point group, and random rigid transforms of them."""

from __future__ import annotations

import numpy as np

from ..groups import PointGroup
from ..groups._matrices import rotation_axes
from ..rotations import random_rotations

__all__ = ["random_symmetric_structure", "random_transform", "assert_same_point_set"]


def random_symmetric_structure(
    group: str | PointGroup,
    *,
    n_seeds: int = 4,
    types: tuple[int, ...] = (1, 6, 8),
    special: bool = True,
    min_distance: float = 0.5,
    seed: int | np.random.Generator | None = None,
    max_tries: int = 2000,
    scale: float | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """A random structure whose point group is exactly ``group``, in its standard orientation.

    Each of ``n_seeds`` generic random points (random type from ``types``) is replaced by its orbit
    under the group. With ``special=True`` one more seed is placed on the axis of a random symmetry
    element (an atom on a rotation axis or mirror normal), giving an orbit smaller than the group.
    Seeds are drawn again until all atoms are at least ``min_distance`` Å apart. Several generic
    orbits make accidental extra symmetry (within a tolerance of ~0.1 Å) vanishingly unlikely.

    ``scale`` (Å): the spread of the seeds (default max(2, √|G|/2)); many seeds need more room.

    Returns ``positions (n, 3)`` and ``numbers (n,)``.
    """
    g = group if isinstance(group, PointGroup) else PointGroup(group)
    ops = g.operations
    rng = np.random.default_rng(seed)
    axes, _ = rotation_axes(ops)
    axes = axes[np.linalg.norm(axes, axis=1) > 0.5]
    for _ in range(max_tries):
        # orbits of |G| points need a sphere large enough to keep them apart
        spread = max(2.0, 0.5 * np.sqrt(len(ops))) if scale is None else float(scale)
        # tiny groups need more atoms before accidental near-symmetry (e.g. coplanarity) is unlikely
        n_generic = n_seeds + (4 if len(ops) <= 2 else 0)
        seeds = rng.normal(size=(n_generic, 3)) * spread
        if special and len(axes):
            u = axes[rng.integers(len(axes))]
            seeds = np.vstack([seeds, u * rng.uniform(0.8, 2.5) * spread * rng.choice([-1.0, 1.0])])
        pts, nums = [], []
        for s in seeds:
            orbit = np.einsum("kij,j->ki", ops, s)
            # points on special positions repeat; keep one copy of each
            keep = np.ones(len(orbit), dtype=bool)
            for i in range(len(orbit)):
                if keep[i]:
                    dup = np.linalg.norm(orbit[i + 1 :] - orbit[i], axis=1) < 1e-6
                    keep[i + 1 :] &= ~dup
            pts.append(orbit[keep])
            nums.append(np.full(keep.sum(), rng.choice(types)))
        pos = np.concatenate(pts)
        d = np.linalg.norm(pos[:, None] - pos[None], axis=-1) + np.eye(len(pos)) * 1e9
        if d.min() >= min_distance:
            return pos, np.concatenate(nums).astype(np.int64)
    raise RuntimeError(f"could not place {n_seeds} seeds for {g.name} with min_distance {min_distance}")


def random_transform(
    positions: np.ndarray,
    numbers: np.ndarray,
    *,
    seed: int | np.random.Generator | None = None,
    improper: bool = True,
    noise: float = 0.0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Apply a random O(3) element, translation and atom permutation (and optional Gaussian noise).

    Returns ``(positions', numbers', R, t, perm)`` with ``positions'[j] = R @ positions[perm[j]] + t
    + noise`` and ``numbers' = numbers[perm]``.
    """
    rng = np.random.default_rng(seed)
    r = random_rotations(1, improper=improper, seed=rng)[0]
    t = rng.normal(size=3) * 3.0
    perm = rng.permutation(len(positions))
    new = positions[perm] @ r.T + t
    if noise:
        new = new + rng.normal(scale=noise, size=new.shape)
    return new, numbers[perm], r, t, perm


def assert_same_point_set(a: np.ndarray, types_a: np.ndarray, b: np.ndarray, types_b: np.ndarray, *, atol: float = 1e-6) -> None:
    """Assert that two typed point sets are equal up to a permutation: every point of ``a`` matches
    a distinct point of ``b`` of the same type within ``atol`` (optimal assignment per type)."""
    from scipy.optimize import linear_sum_assignment

    a, b = np.asarray(a, float), np.asarray(b, float)
    types_a, types_b = np.asarray(types_a), np.asarray(types_b)
    if a.shape != b.shape or sorted(types_a.tolist()) != sorted(types_b.tolist()):
        raise AssertionError(f"point sets differ in size or composition: {a.shape} vs {b.shape}")
    worst = 0.0
    for t in np.unique(types_a):
        pa, pb = a[types_a == t], b[types_b == t]
        cost = np.linalg.norm(pa[:, None] - pb[None], axis=-1)
        rows, cols = linear_sum_assignment(cost)
        worst = max(worst, float(cost[rows, cols].max()))
    if worst > atol:
        raise AssertionError(f"point sets differ: largest distance between matched points {worst:.3g} > {atol:g}")
