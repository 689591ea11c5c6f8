r"""Variants of any registered model: +Noise (approximate equivariance) and +MLP (symmetry breaking).

As in the SANN paper (section 6): ``+noise`` adds Gaussian noise to the input positions, so an
equivariant model sees a slightly less symmetric input than the true one; ``+mlp`` replaces the
equivariant readout by a two-layer MLP on non-invariant inputs (the model's per-atom features
together with the raw Cartesian coordinates and vector features), which breaks O(3) equivariance
but keeps permutation equivariance.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from .._errors import SymbreakError
from ._base import VectorModel
from ._inputs import RandomDraws, inherit_capabilities, with_positions
from ..nn._basis import mlp
from ._registry import register_variant

__all__ = ["NoisyInput", "MLPHead", "set_noise_draw"]


class NoisyInput(RandomDraws, nn.Module):
    r"""Evaluate ``model`` at :math:`\mathbf x + \boldsymbol\epsilon`, :math:`\epsilon \sim \mathcal N(0, \sigma^2)` per coordinate.

    In training, fresh noise on every call (from a generator seeded with ``seed``); in evaluation,
    one fixed draw per input size (seeded by ``seed`` and ``draw``), so predictions are
    deterministic and the same input gets the same answer. Set ``draw`` (or call
    :func:`set_noise_draw`) to evaluate with another fixed draw: validation and test use different
    draws, so σ chosen on validation is not chosen on the test set even when they hold the same
    structures.

    sigma: standard deviation in Å (the paper sweeps 0.001–0.1 and reports the best).
    """

    equivariant = False
    symmetry = "approximate"
    # a fixed draw is tied to atom indices: permuting the atoms permutes the molecule, not its noise
    permutation_equivariant = False

    def __init__(self, model: nn.Module, *, sigma: float = 0.01, seed: int = 0) -> None:
        super().__init__()
        if not sigma >= 0.0:
            raise ValueError(f"sigma must be a non-negative length in Å, got {sigma}")
        self.model, self.sigma, self.seed = model, float(sigma), int(seed)
        self.draw = 0
        inherit_capabilities(self, model)
        self._generator = torch.Generator().manual_seed(self.seed)

    def _noise(self, pos: torch.Tensor) -> torch.Tensor:
        gen = self._generator if self.training else self.eval_generator()
        # drawn on the CPU in float32 whatever the positions' dtype: the same numbers on every device and
        # in every precision (torch.randn of >= 16 numbers differs between float32 and float64)
        noise = torch.randn(pos.shape, generator=gen, dtype=torch.float32, device="cpu")
        return self.sigma * noise.to(device=pos.device, dtype=pos.dtype)

    def prepare_data(self, data: Any) -> Any:
        """Nothing: what the inner model would precompute from the positions is stale once noise moves them."""
        return data

    def forward(self, data: Any) -> torch.Tensor:
        return self.model(with_positions(data, data.pos + self._noise(data.pos)))


def set_noise_draw(model: nn.Module, draw: int) -> None:
    """Make every :class:`NoisyInput` inside ``model`` evaluate with fixed noise draw ``draw`` (0: the default).
    :func:`symbreak.models._inputs.set_eval_draw` sets the draw of every random input, noise included."""
    for module in model.modules():
        if isinstance(module, NoisyInput):
            module.draw = int(draw)


class MLPHead(nn.Module):
    r"""Replace the readout of a :class:`VectorModel` by :math:`\mathrm{MLP}_2([\mathbf h_i, \mathbf V_i, \mathbf x_i])`.

    The input concatenates the invariant features :math:`\mathbf h_i`, the flattened vector
    features (PaiNN) and the raw Cartesian position (EGNN: its updated position): the head sees
    orientation, so the output is not equivariant. hidden: width of the MLP's hidden layer.
    """

    equivariant = False
    symmetry = "approximate"

    def __init__(self, model: VectorModel, *, head_hidden: int = 64) -> None:
        super().__init__()
        if not isinstance(model, VectorModel):
            raise TypeError(f"+mlp needs a VectorModel body, got {type(model).__name__}")
        if not model.lab_frame_features:
            raise SymbreakError(
                f"+mlp cannot wrap {type(model).__name__}: its features live in each molecule's canonical frame, so an MLP "
                "head on them gives a rotation-invariant output, not a symmetry-breaking one; use the model alone"
            )
        self.model = model
        inherit_capabilities(self, model)
        size = model.hidden + 3 + 3 * model.vector_channels
        self.head = mlp([size, head_hidden, 3])

    def prepare_data(self, data: Any) -> Any:
        return self.model.prepare_data(data)

    def forward(self, data: Any) -> torch.Tensor:
        inputs = self.model.read(data)
        feats = self.model.features(inputs)
        parts = [feats.scalars, feats.positions if feats.positions is not None else inputs.pos]
        if feats.vectors is not None:
            parts.append(feats.vectors.flatten(1))
        return self.head(torch.cat(parts, dim=-1))


@register_variant("noise")
def _noise(model: nn.Module, *, sigma: float = 0.01, seed: int = 0) -> nn.Module:
    return NoisyInput(model, sigma=sigma, seed=seed)


@register_variant("mlp")
def _mlp(model: nn.Module, *, head_hidden: int = 64) -> nn.Module:
    return MLPHead(model, head_hidden=head_hidden)
