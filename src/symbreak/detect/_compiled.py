"""The compiled detection core (``_ccore.c``), loaded with ctypes; None where it was not built.

``pip install`` compiles it with the system's C compiler. Without one the build is skipped and
detection runs its NumPy path: same operations, same answers, about ten times slower on molecules.
``SYMBREAK_NO_CCORE=1`` forces the NumPy path (the tests compare the two).
"""

from __future__ import annotations

import ctypes
import importlib.machinery
import os
from pathlib import Path

import numpy as np

__all__ = ["CORE", "LINEAR", "OVERFLOW", "detect_core", "distances", "compiled"]

LINEAR, OVERFLOW, NOMEM, OPEN_BASE = -1, -2, -3, -10
MAX_ATOMS = 2000
"""Largest structure the core searches (it reads the (n, n) distance matrix, built up to this
size); above it the NumPy path's k-d trees keep memory O(n). Measured against the NumPy path: 30×
faster on a random 300-atom cluster, 3.5× on a 960-atom Ih cluster."""


def _load() -> ctypes.CDLL | None:
    if os.environ.get("SYMBREAK_NO_CCORE"):
        return None
    here = Path(__file__).resolve().parent
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        path = here / f"_ccore{suffix}"
        if path.is_file():
            try:
                lib = ctypes.CDLL(str(path))
            except OSError:
                return None
            p, i64, f64 = ctypes.c_void_p, ctypes.c_int64, ctypes.c_double
            lib.sb_detect.argtypes = [i64, p, p, f64, f64, p, i64, i64, p, p]
            lib.sb_detect.restype = i64
            lib.sb_distances.argtypes = [i64, p, p, p]
            lib.sb_distances.restype = f64
            return lib
    return None


CORE = _load()


def compiled() -> bool:
    """Whether the compiled core is in use."""
    return CORE is not None


def _ptr(a: np.ndarray) -> int:
    return a.__array_interface__["data"][0]


def distances(pos: np.ndarray) -> tuple[float, int, int, np.ndarray]:
    """(smallest distance, i, j, distance matrix (n, n)) of C-contiguous float64 positions (n, 3)."""
    n = len(pos)
    dist = np.empty((n, n))
    pair = np.empty(2, dtype=np.int64)
    dmin = CORE.sb_distances(n, _ptr(pos), _ptr(dist), _ptr(pair))
    return float(dmin), int(pair[0]), int(pair[1]), dist


def detect_core(x: np.ndarray, types: np.ndarray, tol: float, dmin: float, dist: np.ndarray, shortcut: bool):
    """Run the core on centred positions ``x`` (n, 3) and int64 ``types`` (n,).

    Returns ``(status, axis, rotations, permutations, dets, residuals, element_types, summary)``:
    status :data:`LINEAR` (``axis`` is the line), 0 (the identity alone), k > 0 (k operations,
    closed), ``OPEN_BASE - k`` (k operations that do not close) or :data:`OVERFLOW`; ``summary``
    is (proper count, largest proper order, largest order of det(R)·R, inversion, an element of
    no finite order).
    """
    n = len(x)
    cap = 4 * n + 240  # a non-linear structure's group: at most 120 elements, or 4n for a ring
    fout = np.empty(3 + 10 * cap)
    iout = np.empty(8 + cap * (n + 4), dtype=np.int64)
    status = CORE.sb_detect(n, _ptr(x), _ptr(types), tol, dmin, _ptr(dist), int(shortcut), cap, _ptr(fout), _ptr(iout))
    if status == NOMEM:
        raise MemoryError("symbreak's detection core could not allocate its buffers")
    k = status if status > 0 else (OPEN_BASE - status if status <= OPEN_BASE else 0)
    rots = fout[3 : 3 + 9 * k].reshape(k, 3, 3)
    perms = iout[8 : 8 + k * n].reshape(k, n)
    dets = iout[8 + cap * n : 8 + cap * n + k]
    etypes = iout[8 + cap * n + cap : 8 + cap * n + cap + 3 * k].reshape(k, 3)
    disp = fout[3 + 9 * cap : 3 + 9 * cap + k]
    return status, fout[:3], rots, perms, dets, disp, etypes, iout[:5]
