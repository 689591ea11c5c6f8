"""How far from equivariant is a model: errors over sampled or grid rotations."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import torch

from ..rotations import grid, random_rotations
from ._average import RotationalAverage, _per_copy, atom_centres, is_batch, rotate_back, rotate_inputs, rotated_copies

__all__ = ["EquivarianceError", "equivariance_error", "as_rotations"]


def as_rotations(rotations: Any, *, seed: int | None = 0) -> np.ndarray:
    """Rotations from a grid spec (``"3i"``), a count of Haar-random O(3) elements, or an array (M, 3, 3)."""
    if isinstance(rotations, str):
        return grid(rotations)[0]
    if isinstance(rotations, (int, np.integer)):
        return random_rotations(int(rotations), improper=True, seed=seed)
    r = np.asarray(rotations, dtype=float)
    if r.ndim != 3 or r.shape[1:] != (3, 3):
        raise ValueError(f"rotations must be a grid spec, a count or an array (M, 3, 3), got shape {r.shape}")
    return r


@dataclasses.dataclass(frozen=True)
class EquivarianceError:
    r"""Equivariance diagnostics of a model on one input.

    ``mean``/``max``: RMS over output components of :math:`\rho(g)^{-1} f(g x) - f(x)`, averaged /
    maximised over the rotations; ``symmetry``: RMS of :math:`f(x) - \bar f(x)` against the average over
    a dense grid; ``scale``: RMS of :math:`f(x)`, and the ``relative_*`` values divided by it.
    """

    mean: float
    max: float
    symmetry: float
    scale: float

    @property
    def relative_mean(self) -> float:
        return self.mean / self.scale if self.scale else float("inf")

    @property
    def relative_max(self) -> float:
        return self.max / self.scale if self.scale else float("inf")

    @property
    def relative_symmetry(self) -> float:
        return self.symmetry / self.scale if self.scale else float("inf")


@torch.no_grad()
def equivariance_error(
    model: Any,
    positions: torch.Tensor,
    *features: torch.Tensor,
    output: Any = None,
    rotations: Any = 32,
    reference_grid: str = "4i",
    seed: int | None = 0,
) -> EquivarianceError:
    """Measure :math:`|f(g x) - g f(x)|` over ``rotations`` and :math:`|f - \\bar f|` against ``reference_grid``.

    ``model`` and ``positions`` as in :class:`RotationalAverage`: a function of batched tensors, or
    a model that takes a batch with a batch of structures (``output`` None: its ``output_type``).
    ``rotations`` is a grid spec, a number of random O(3) elements (seeded by ``seed``), or an
    array (M, 3, 3).
    """
    output = str(output if output is not None else getattr(model, "output_type", "0e"))
    ref = positions.pos if is_batch(positions) else positions
    r = torch.as_tensor(as_rotations(rotations, seed=seed), dtype=ref.dtype, device=ref.device)
    if is_batch(positions):
        f0 = model(positions)
        fr = _per_copy(model(rotated_copies(r, positions)), len(r))
    else:
        f0 = model(positions[None], *[f[None] for f in features])[0]
        fr = model(rotate_inputs(r, positions), *[f.expand((len(r),) + tuple(f.shape)) for f in features])
    centre = atom_centres(positions) if is_batch(positions) else positions.mean(dim=-2, keepdim=True)
    diff = rotate_back(r, fr, output, centre) - f0
    per_rot = diff.reshape(len(r), -1).pow(2).mean(dim=1).sqrt()
    avg = RotationalAverage(model, grid=reference_grid, output=output)(positions, *features)
    return EquivarianceError(
        mean=float(per_rot.mean()),
        max=float(per_rot.max()),
        symmetry=float((f0 - avg).pow(2).mean().sqrt()),
        scale=float(f0.pow(2).mean().sqrt()),
    )
