"""Rotations: Haar-random elements of SO(3) and O(3)."""

from ._random import random_rotations

__all__ = ["random_rotations"]
