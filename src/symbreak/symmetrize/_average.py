r"""Making any model (more) equivariant at inference: grid averaging and random rotations.

For a model f and an output type acting as :math:`\rho(g)`, the averaged model is

.. math:: \bar f(x) = \sum_m w_m\, \rho(R_m)^{-1} f(R_m x),

exactly invariant/equivariant for every output whose dependence on orientation has no
spherical-harmonic content above the grid's degree (Langer, Pozdnyakov & Ceriotti, 2024).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from ..rotations import act_batch, random_rotations
from ..rotations import grid as make_grid

__all__ = ["RotationalAverage", "RandomRotation", "rotate_inputs"]


def rotate_inputs(rotations: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
    """Rotated copies of ``positions`` (..., n, 3) about their centroids: (M, ..., n, 3)."""
    c = positions.mean(dim=-2, keepdim=True)
    return torch.einsum("mij,...nj->m...ni", rotations, positions - c) + c


class RotationalAverage(nn.Module):
    r"""Average a model over a quadrature grid of rotations, in one batched forward pass.

    Parameters
    ----------
    model:
        Callable ``model(positions (M, n, 3), *features (M, ...)) -> (M, ...)``: it must accept a
        leading batch dimension of rotated copies. Per-atom features are repeated, unchanged, for
        every copy (they must be invariant: types, charges).
    grid:
        A spec for :func:`symbreak.rotations.grid` (``"2"``, ``"2i"``, ``"3i"``...).
    output:
        How the output transforms: ``"0e"``, ``"0o"``, ``"1o"``, ``"1e"``, ``"tensors"`` or an e3nn
        Irreps string, on the last dimension (per-atom outputs have shape (..., n, d)).

    Rotations act about the centroid of the positions. Gradients flow: forces from an averaged
    energy equal the averaged, back-rotated forces.
    """

    def __init__(self, model: Any, grid: str = "2i", output: str = "0e"):
        super().__init__()
        self.model = model
        self.output = output
        self.grid_spec = grid
        rots, weights = make_grid(grid)
        self.register_buffer("rotations", torch.as_tensor(rots, dtype=torch.float64))
        self.register_buffer("weights", torch.as_tensor(weights, dtype=torch.float64))

    def forward(self, positions: torch.Tensor, *features: torch.Tensor) -> torch.Tensor:
        """positions: (n, 3), or (B, n, 3) for a batch (features then carry the same leading B)."""
        r = self.rotations.to(positions.dtype)
        w = self.weights.to(positions.dtype)
        m, lead = len(r), positions.shape[:-2]
        x = rotate_inputs(r, positions).reshape((-1,) + tuple(positions.shape[-2:]))
        feats = [f.expand((m,) + tuple(f.shape)).reshape((-1,) + tuple(f.shape[len(lead):])) for f in features]
        out = self.model(x, *feats)
        out = out.reshape((m,) + tuple(lead) + tuple(out.shape[1:]))
        back = act_batch(r.transpose(-1, -2), out, self.output)  # ρ(R)⁻¹ = ρ(Rᵀ)
        return torch.einsum("m,m...->...", w, back)



class RandomRotation(nn.Module):
    r"""Evaluate a model in one fresh Haar-random orientation per call: :math:`\rho(g)^{-1} f(g x)`.

    The stochastic alternative to :class:`RotationalAverage` used in molecular dynamics: equivariant
    in distribution, at the cost of one evaluation. ``improper=True`` samples O(3); ``seed`` makes the
    sequence of rotations reproducible.
    """

    def __init__(self, model: Any, output: str = "0e", *, improper: bool = False, seed: int | None = None):
        super().__init__()
        self.model = model
        self.output = output
        self.improper = improper
        self._rng = np.random.default_rng(seed)

    def forward(self, positions: torch.Tensor, *features: torch.Tensor) -> torch.Tensor:
        r = torch.as_tensor(random_rotations(1, improper=self.improper, seed=self._rng), dtype=positions.dtype)
        out = self.model(rotate_inputs(r, positions), *[f[None] for f in features])
        return act_batch(r.transpose(-1, -2), out, self.output)[0]
