"""Input checks at the public boundary: every problem becomes a clear ``SymbreakError``."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .._errors import StructureError, ToleranceError

__all__ = ["as_structure", "check_distinct", "check_tolerance", "min_distance"]


def _is_atoms(obj: Any) -> bool:
    return hasattr(obj, "get_positions") and hasattr(obj, "numbers")


def _as_numbers(numbers: Any, n: int) -> np.ndarray:
    arr = np.asarray(numbers)
    if arr.ndim != 1:
        raise StructureError(f"numbers must be a 1-D sequence, got shape {arr.shape}")
    if arr.shape[0] != n:
        raise StructureError(f"positions has {n} atoms but numbers has {arr.shape[0]}")
    if arr.dtype.kind in "US":
        from ase.data import atomic_numbers

        out = np.empty(n, dtype=np.int64)
        for i, s in enumerate(arr.tolist()):
            z = atomic_numbers.get(str(s).strip().capitalize())
            if z is None:
                raise StructureError(f"unknown element {s!r} at index {i}")
            out[i] = z
        return out
    if arr.dtype.kind == "b" or arr.dtype.kind not in "iuf":
        raise StructureError(f"numbers must be integers or element symbols, got dtype {arr.dtype}")
    if arr.dtype.kind == "f":
        if not np.all(np.isfinite(arr)) or np.any(arr != np.round(arr)):
            raise StructureError("numbers must be whole numbers (atom types); got non-integral values")
    return arr.astype(np.int64)


def as_structure(positions: Any, numbers: Any = None) -> tuple[np.ndarray, np.ndarray]:
    """Coerce ``(positions, numbers)`` or an ASE ``Atoms`` into float64 (n, 3) and int64 (n,).

    ``numbers`` may be atomic numbers, any integer type labels, or element symbols; None means one
    type for all points (a plain point cloud).
    """
    if _is_atoms(positions):
        if numbers is not None:
            raise StructureError("pass either an ASE Atoms object or (positions, numbers), not both")
        from ._crystal import is_periodic

        if is_periodic(positions):  # a crystal has a space group; as a finite cluster NaCl would read C∞v
            raise StructureError(
                "this Atoms is periodic (a cell and pbc): its symmetry is a space group, see symbreak.detect.detect_crystal; "
                "to treat the atoms as a finite molecule, pass atoms.positions and atoms.numbers"
            )
        numbers = np.asarray(positions.numbers)
        positions = positions.get_positions()
    try:
        pos = np.array(positions, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise StructureError(f"positions must be an (n, 3) array of numbers: {exc}") from None
    if pos.ndim != 2 or pos.shape[1] != 3:
        raise StructureError(f"positions must have shape (n, 3), got {pos.shape}")
    n = pos.shape[0]
    if n == 0:
        raise StructureError("positions is empty: a structure needs at least one atom")
    if not np.all(np.isfinite(pos)):
        bad = int(np.flatnonzero(~np.isfinite(pos).all(axis=1))[0])
        raise StructureError(f"positions contain NaN or inf (first at atom {bad})")
    nums = np.zeros(n, dtype=np.int64) if numbers is None else _as_numbers(numbers, n)
    return pos, nums


def min_distance(pos: np.ndarray) -> tuple[float, int, int, np.ndarray | None]:
    """Smallest distance between two atoms, their indices, and the distance matrix if computed.

    One atom gives ``(inf, -1, -1, None)``. Up to 2000 atoms the full (n, n) matrix is built (and
    returned for reuse); beyond that a k-d tree finds the nearest pair.
    """
    n = len(pos)
    if n < 2:
        return math.inf, -1, -1, None
    if n <= 2000:
        from ._compiled import CORE, distances

        if CORE is not None:
            return distances(np.ascontiguousarray(pos, dtype=np.float64))
        d = np.sqrt(((pos[:, None, :] - pos[None, :, :]) ** 2).sum(-1))
        masked = d + np.diag(np.full(n, np.inf))
        i, j = divmod(int(np.argmin(masked)), n)
        return float(d[i, j]), i, j, d
    from scipy.spatial import cKDTree

    dist, idx = cKDTree(pos).query(pos, k=2)
    i = int(np.argmin(dist[:, 1]))
    return float(dist[i, 1]), i, int(idx[i, 1]), None


def check_distinct(pos: np.ndarray, dmin: float, i: int, j: int) -> None:
    """Raise :class:`StructureError` when atoms ``i`` and ``j``, ``dmin`` Å apart, coincide: closer
    than 1e-8 Å, or than what the coordinates' float precision resolves at their magnitude."""
    resolution = max(1e-8, 1e3 * np.finfo(np.float64).eps * float(np.abs(pos).max()))
    if dmin <= resolution:
        raise StructureError(
            f"atoms {i} and {j} coincide (distance {dmin:.3g} Å, below the {resolution:.2g} Å that coordinates of this size resolve)"
        )


def check_tolerance(tol: Any, pos: np.ndarray) -> tuple[float, float, np.ndarray | None]:
    """Validate ``tol`` (Å) against the structure: returns ``(tol, smallest distance, distances)``.

    Matching an atom's image to a partner within ``tol`` is only unambiguous when every two atoms
    are more than ``2 tol`` apart, so a larger tolerance is rejected rather than silently misused.
    """
    try:
        t = float(tol)
    except (TypeError, ValueError):
        raise ToleranceError(f"tol must be a number (Å) or 'auto', got {tol!r}") from None
    if not math.isfinite(t) or t <= 0:
        raise ToleranceError(f"tol must be a positive finite distance in Å, got {tol!r}")
    dmin, i, j, dist = min_distance(pos)
    check_distinct(pos, dmin, i, j)
    if 2 * t >= dmin:
        raise ToleranceError(
            f"tol = {t:g} Å is too large for this structure: atoms {i} and {j} are only {dmin:.4g} Å "
            f"apart, and tol must be below half of that ({dmin / 2:.4g} Å) for atoms to be matched "
            "unambiguously"
        )
    return t, dmin, dist
