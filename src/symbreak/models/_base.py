r"""The common shape of symbreak's vector-output models."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from .._errors import StructureError

__all__ = ["AtomFeatures", "VectorModel", "scatter_sum", "check_batch"]


def check_batch(z: torch.Tensor, pos: torch.Tensor, batch: torch.Tensor) -> None:
    """Raise :class:`~symbreak.StructureError` on empty, non-finite or mismatched inputs."""
    if pos.ndim != 2 or pos.shape[-1] != 3 or len(pos) == 0:
        raise StructureError(f"positions must be (N, 3) with N ≥ 1, got {tuple(pos.shape)}")
    if len(z) != len(pos) or len(batch) != len(pos):
        raise StructureError(f"z ({len(z)}), pos ({len(pos)}) and batch ({len(batch)}) must have one entry per atom")
    if not bool(torch.isfinite(pos).all()):
        raise StructureError("positions contain NaN or infinity")


def scatter_sum(src: torch.Tensor, index: torch.Tensor, size: int) -> torch.Tensor:
    """Sum rows of ``src`` (E, ...) into ``size`` bins by ``index`` (E,)."""
    out = src.new_zeros((size,) + tuple(src.shape[1:]))
    return out.index_add_(0, index, src)


@dataclass
class AtomFeatures:
    """What a model's body computes per atom.

    scalars: (N, F) invariant features; vectors: (N, 3, F) equivariant (1o) features or None;
    positions: (N, 3) updated positions (EGNN) or None.
    """

    scalars: torch.Tensor
    vectors: torch.Tensor | None = None
    positions: torch.Tensor | None = None


class VectorModel(nn.Module):
    r"""Per-atom vector prediction :math:`f(z, x) \in \mathbb R^{N \times 3}` from a PyG-style batch.

    Subclasses implement :meth:`features` and either set ``gradient_output = True`` (an invariant
    energy :math:`E = \sum_i e(\mathbf h_i)` whose negative gradient :math:`-\partial E/\partial
    \mathbf x_i` is the output, the paper's recipe for invariant models) or override
    :meth:`vector_head`.

    Capability flags (used by the conformance tests): ``output_type`` ("1o"), ``equivariant``
    (E(3)-equivariant and permutation-equivariant output), ``lab_frame_features`` (the features'
    positions and vectors are in the lab frame, so ``+mlp`` can read them).
    """

    output_type: str = "1o"
    equivariant: bool = True
    gradient_output: bool = False
    vector_channels: int = 0  # F of AtomFeatures.vectors (N, 3, F), for heads that read them
    # False when features() works in a per-molecule frame (SANN's canonical frame): a head that
    # reads them as lab-frame quantities (+mlp) would be rotation-invariant, not symmetry-breaking
    lab_frame_features: bool = True
    hidden: int
    energy_mlp: nn.Module  # (N, hidden) -> (N, 1) atomic energies, for gradient_output models

    def features(self, z: torch.Tensor, pos: torch.Tensor, batch: torch.Tensor) -> AtomFeatures:  # pragma: no cover
        raise NotImplementedError

    def prepare(self, data: Any) -> None:
        """Read a batch's inputs beyond ``z``, ``pos``, ``batch`` (e.g. dataset features ``data.x``); the default reads none."""

    def vector_head(self, feats: AtomFeatures, pos: torch.Tensor, batch: torch.Tensor) -> torch.Tensor:
        """(N, 3) equivariant readout; the default differentiates the invariant energy."""
        energy = self.energy_mlp(feats.scalars).sum()
        (grad,) = torch.autograd.grad(energy, pos, create_graph=self.training)
        return -grad

    def forward(self, data: Any) -> torch.Tensor:
        """data: has ``z`` (N,) long, ``pos`` (N, 3), ``batch`` (N,) long (optional for one molecule). Returns (N, 3)."""
        z, pos = data.z, data.pos
        batch = getattr(data, "batch", None)
        if batch is None:
            batch = torch.zeros(len(z), dtype=torch.long, device=z.device)
        check_batch(z, pos, batch)
        self.prepare(data)
        with torch.set_grad_enabled(self.gradient_output or torch.is_grad_enabled()):
            if self.gradient_output and not pos.requires_grad:
                pos = pos.detach().requires_grad_(True)
            return self.vector_head(self.features(z, pos, batch), pos, batch)
