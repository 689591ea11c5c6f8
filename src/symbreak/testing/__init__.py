"""Shipped helpers for testing symmetry code: random symmetric structures and transforms."""

from ._equivariance import assert_breaks_symmetry, assert_equivariant, assert_relaxed_equivariant
from ._structures import assert_same_point_set, random_symmetric_structure, random_transform

__all__ = [
    "random_symmetric_structure",
    "random_transform",
    "assert_same_point_set",
    "assert_equivariant",
    "assert_breaks_symmetry",
    "assert_relaxed_equivariant",
]
