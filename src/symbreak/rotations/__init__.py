"""Rotations: Haar-random elements of SO(3)/O(3), quadrature grids, acting on typed data."""

from ._act import act, act_batch
from ._grid import grid, grid_degree, grid_size, smallest_grid
from ._random import random_rotations
from ._rep import Rep

__all__ = ["Rep", "random_rotations", "grid", "grid_degree", "grid_size", "smallest_grid", "act", "act_batch"]
