"""Shipped helpers for testing symmetry code: random symmetric structures and transforms."""

from ._structures import random_symmetric_structure, random_transform

__all__ = ["random_symmetric_structure", "random_transform"]
