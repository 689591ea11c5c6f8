r"""Canonicalization methods behind one registry: a structure in a frame that every copy shares.

A canonicalizer maps ``(positions (n, 3), numbers (n,))`` to canonical positions (n, 3): ideally
the same point set for every rotation, reflection, translation and permutation of the input. The
``canonicalization`` benchmark (SANN Table 4) compares every registered one; add yours with
:func:`register_canonicalizer`.

- ``symbreak``: :attr:`symbreak.Symmetry.canonical_positions`, a frame built from the structure's
  symmetry elements, well defined at degenerate inertia and sign ties;
- ``pca``: principal axes (descending variance), each sign set by the atom farthest along it;
- ``pca-raw``: principal axes with whatever signs the eigensolver returns (the naive frame).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .._errors import SymbreakError
from ._detect import DEFAULT_TOL, detect_symmetry

__all__ = ["CANONICALIZERS", "register_canonicalizer", "canonicalize", "pca_canonical", "pca_raw_canonical"]

#: name → canonicalizer(positions (n, 3), numbers (n,)) → (n, 3)
CANONICALIZERS: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {}


def register_canonicalizer(name: str) -> Callable:
    """Decorator: make ``fn(positions, numbers) -> canonical positions`` available as ``canonicalize(..., method=name)``."""

    def deco(fn: Callable) -> Callable:
        if name in CANONICALIZERS:
            raise ValueError(f"canonicalizer {name!r} is already registered")
        CANONICALIZERS[name] = fn
        return fn

    return deco


def canonicalize(positions: np.ndarray, numbers: np.ndarray, *, method: str = "symbreak") -> np.ndarray:
    """Canonical positions (n, 3) of a structure by the registered ``method``."""
    if method not in CANONICALIZERS:
        raise SymbreakError(f"unknown canonicalizer {method!r}; registered: {', '.join(sorted(CANONICALIZERS))}")
    return CANONICALIZERS[method](np.asarray(positions, dtype=float), np.asarray(numbers))


@register_canonicalizer("pca-raw")
def pca_raw_canonical(positions: np.ndarray, numbers: np.ndarray) -> np.ndarray:
    """Principal axes with the signs LAPACK happens to return: the naive inertia frame."""
    x = positions - positions.mean(axis=0)
    return x @ np.linalg.eigh(x.T @ x)[1][:, ::-1]


@register_canonicalizer("pca")
def pca_canonical(positions: np.ndarray, numbers: np.ndarray) -> np.ndarray:
    """Positions in the principal-axes frame (descending variance; sign: the farthest atom along each axis is positive)."""
    x = positions - positions.mean(axis=0)
    _, vecs = np.linalg.eigh(x.T @ x)
    frame = vecs[:, ::-1].copy()
    proj = x @ frame
    for k in range(3):
        if proj[np.argmax(np.abs(proj[:, k])), k] < 0:
            frame[:, k] *= -1.0
    return x @ frame


@register_canonicalizer("symbreak")
def _symbreak_canonical(positions: np.ndarray, numbers: np.ndarray) -> np.ndarray:
    return detect_symmetry(positions, numbers, tol=DEFAULT_TOL).canonical_positions
