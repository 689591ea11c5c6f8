r"""DimeNet++ (Gasteiger et al., 2020): directional message passing over edge triplets; invariant.

Differences from the reference implementation, kept for a pure-torch, no-SymPy build: the
spherical basis is the radial Bessel basis of :math:`d_{kj}` times Legendre polynomials
:math:`P_l(\cos\alpha_{kji})` (the m = 0 spherical harmonics), not spherical Bessel functions at
their roots; the cutoff envelope is the cosine one. Triplets come from
:func:`symbreak.models.triplets` in plain torch.
"""

from __future__ import annotations

import torch
from torch import nn

from ._base import AtomFeatures, VectorModel, scatter_sum, vector_edge_invariants
from ._inputs import Inputs
from ..nn._basis import BesselRBF, cosine_cutoff, legendre, mlp
from ._graph import edge_vectors, radius_edges, triplets
from ._registry import register_model

__all__ = ["DimeNetPlusPlus"]


class _Interaction(nn.Module):
    """DimeNet++ interaction block: down-projected triplet messages, then residual updates."""

    def __init__(self, hidden: int, int_emb: int, basis_emb: int, num_radial: int, num_sbf: int) -> None:
        super().__init__()
        self.rbf = nn.Sequential(nn.Linear(num_radial, basis_emb, bias=False), nn.Linear(basis_emb, hidden, bias=False))
        self.sbf = nn.Sequential(nn.Linear(num_sbf, basis_emb, bias=False), nn.Linear(basis_emb, int_emb, bias=False))
        self.lin_ji = nn.Sequential(nn.Linear(hidden, hidden), nn.SiLU())
        self.lin_kj = nn.Sequential(nn.Linear(hidden, hidden), nn.SiLU())
        self.down = nn.Sequential(nn.Linear(hidden, int_emb, bias=False), nn.SiLU())
        self.up = nn.Sequential(nn.Linear(int_emb, hidden, bias=False), nn.SiLU())
        self.before = nn.Sequential(mlp([hidden, hidden, hidden]), nn.SiLU())
        self.after = nn.ModuleList(nn.Sequential(mlp([hidden, hidden, hidden]), nn.SiLU()) for _ in range(2))
        self.skip = nn.Sequential(nn.Linear(hidden, hidden), nn.SiLU())

    def forward(self, m: torch.Tensor, rbf: torch.Tensor, sbf: torch.Tensor, idx_kj: torch.Tensor, idx_ji: torch.Tensor) -> torch.Tensor:
        x_ji = self.lin_ji(m)
        x_kj = self.down(self.lin_kj(m) * self.rbf(rbf))
        x_kj = scatter_sum(x_kj[idx_kj] * self.sbf(sbf), idx_ji, len(m))
        h = x_ji + self.up(x_kj)
        h = h + self.before(h)
        h = self.skip(h) + m
        for layer in self.after:
            h = h + layer(h)
        return h


class _Output(nn.Module):
    """DimeNet++ output block: radial-weighted edge messages summed onto the receiving atom."""

    def __init__(self, hidden: int, out_emb: int, num_radial: int) -> None:
        super().__init__()
        self.rbf = nn.Linear(num_radial, hidden, bias=False)
        self.up = nn.Linear(hidden, out_emb, bias=False)
        self.mlp = nn.Sequential(mlp([out_emb, out_emb, out_emb]), nn.SiLU())

    def forward(self, m: torch.Tensor, rbf: torch.Tensor, receiver: torch.Tensor, n: int) -> torch.Tensor:
        return self.mlp(self.up(scatter_sum(self.rbf(rbf) * m, receiver, n)))


@register_model("dimenet++")
class DimeNetPlusPlus(VectorModel):
    r"""DimeNet++: messages :math:`m_{ji}` updated from all :math:`m_{kj}` through the angle
    :math:`\alpha_{kji}`; atomic outputs summed over output blocks; vectors are forces of the energy.
    Vector inputs ``data.vectors`` enter the edge embedding through their projections on the edge.
    """

    gradient_output = True

    def __init__(
        self,
        *,
        hidden: int = 64,
        layers: int = 3,
        int_emb: int = 32,
        basis_emb: int = 8,
        out_emb: int = 64,
        num_radial: int = 6,
        num_spherical: int = 7,
        cutoff: float = 5.0,
        max_z: int = 100,
        in_features: int = 0,
        in_vectors: int = 0,
    ) -> None:
        super().__init__()
        self.hidden, self.cutoff, self.lmax = out_emb, cutoff, num_spherical - 1
        num_sbf = num_radial * num_spherical
        self.rbf = BesselRBF(num_radial, cutoff)
        self.init_inputs(hidden, max_z, in_features, in_vectors)
        self.emb_rbf = nn.Sequential(nn.Linear(num_radial, hidden), nn.SiLU())
        self.emb_edge = nn.Sequential(nn.Linear(3 * hidden + 2 * in_vectors, hidden), nn.SiLU())
        self.interactions = nn.ModuleList(_Interaction(hidden, int_emb, basis_emb, num_radial, num_sbf) for _ in range(layers))
        self.outputs = nn.ModuleList(_Output(hidden, out_emb, num_radial) for _ in range(layers + 1))
        self.energy_mlp = mlp([out_emb, out_emb // 2, 1])

    def features(self, inputs: Inputs) -> AtomFeatures:
        z, pos = inputs.z, inputs.pos
        edge = radius_edges(pos, inputs.batch, self.cutoff)
        sender, receiver = edge
        vec, d = edge_vectors(pos, edge)
        idx_kj, idx_ji, _ = triplets(edge, len(z))
        rbf = self.rbf(d) * cosine_cutoff(d, self.cutoff)[:, None]
        # angle at j between j→i and j→k; only its cosine enters the Legendre basis
        a, b = -vec[idx_ji], vec[idx_kj]
        cos = (a * b).sum(-1) / torch.sqrt(((a * a).sum(-1) * (b * b).sum(-1)).clamp_min(1e-12))
        sbf = (rbf[idx_kj][:, :, None] * legendre(cos.clamp(-1.0, 1.0), self.lmax)[:, None, :]).flatten(1)
        h = self.embed(inputs)
        parts = [h[sender], h[receiver], self.emb_rbf(rbf)]
        if inputs.vectors is not None:
            parts.append(vector_edge_invariants(inputs.vectors, vec / d[:, None], edge))
        m = self.emb_edge(torch.cat(parts, dim=-1))
        out = self.outputs[0](m, rbf, receiver, len(z))
        for interaction, output in zip(self.interactions, self.outputs[1:]):
            m = interaction(m, rbf, sbf, idx_kj, idx_ji)
            out = out + output(m, rbf, receiver, len(z))
        return AtomFeatures(out)
