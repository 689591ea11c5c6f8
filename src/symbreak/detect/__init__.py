"""Symmetry of a structure: operations, orbits, asymmetric unit, canonical frame."""

from ._detect import DEFAULT_TOL, Symmetry, detect_symmetry

__all__ = ["detect_symmetry", "Symmetry", "DEFAULT_TOL"]
