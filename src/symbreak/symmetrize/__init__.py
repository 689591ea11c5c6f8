"""Averaging over rotations and measuring equivariance error."""

from ._average import RandomRotation, RotationalAverage, rotate_inputs
from ._error import EquivarianceError, equivariance_error

__all__ = ["RotationalAverage", "RandomRotation", "equivariance_error", "EquivarianceError", "rotate_inputs"]
