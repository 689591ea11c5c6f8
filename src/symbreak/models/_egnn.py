r"""EGNN (Satorras et al., 2021): E(n)-equivariant message passing on coordinates."""

from __future__ import annotations

import torch
from torch import nn

from ._base import AtomFeatures, VectorModel, scatter_sum
from ..nn._basis import mlp
from ._graph import radius_edges
from ._registry import register_model

__all__ = ["EGNN"]


@register_model("egnn")
class EGNN(VectorModel):
    r"""EGNN layers (Satorras et al., eqs. 3–6):

    .. math::
        m_{ij} = \phi_e(h_i, h_j, \|x_i - x_j\|^2), \quad
        x_i \leftarrow x_i + \tfrac{1}{|N(i)|}\textstyle\sum_j (x_i - x_j)\,\phi_x(m_{ij}), \quad
        h_i \leftarrow h_i + \phi_h(h_i, \textstyle\sum_j m_{ij}).

    The vector output is the total displacement :math:`x_i^{(L)} - x_i^{(0)}`: E(3)-equivariant
    and translation-invariant.
    """

    def __init__(self, *, hidden: int = 64, layers: int = 4, cutoff: float = 5.0, max_z: int = 100) -> None:
        super().__init__()
        self.hidden, self.cutoff = hidden, cutoff
        self.embedding = nn.Embedding(max_z, hidden)
        self.phi_e = nn.ModuleList(nn.Sequential(mlp([2 * hidden + 1, hidden, hidden]), nn.SiLU()) for _ in range(layers))
        self.phi_h = nn.ModuleList(mlp([2 * hidden, hidden, hidden]) for _ in range(layers))
        self.phi_x = nn.ModuleList(mlp([hidden, hidden, 1]) for _ in range(layers))
        for phi in self.phi_x:  # small coordinate steps at start, as in the authors' code
            nn.init.xavier_uniform_(phi[-1].weight, gain=0.001)

    def features(self, z: torch.Tensor, pos: torch.Tensor, batch: torch.Tensor) -> AtomFeatures:
        edge = radius_edges(pos, batch, self.cutoff)
        sender, receiver = edge
        count = torch.bincount(receiver, minlength=len(z)).clamp_min(1).to(pos.dtype)[:, None]
        h, x = self.embedding(z), pos
        for phi_e, phi_h, phi_x in zip(self.phi_e, self.phi_h, self.phi_x):
            rel = x[receiver] - x[sender]
            m = phi_e(torch.cat([h[receiver], h[sender], (rel * rel).sum(-1, keepdim=True)], dim=-1))
            x = x + scatter_sum(rel * phi_x(m), receiver, len(z)) / count
            h = h + phi_h(torch.cat([h, scatter_sum(m, receiver, len(z))], dim=-1))
        return AtomFeatures(h, positions=x)

    def vector_head(self, feats: AtomFeatures, pos: torch.Tensor, batch: torch.Tensor) -> torch.Tensor:
        return feats.positions - pos
