r"""PaiNN (Schütt et al., 2021): equivariant message passing with scalar and vector features.

Two outputs, as in the SANN paper's Table 7: ``painn`` reads vectors out through gated
equivariant blocks (the "tensor-valued" model); ``painn-vector`` predicts an invariant energy and
differentiates it with respect to the positions (the "vector-valued" model).
"""

from __future__ import annotations

import torch
from torch import nn

from ._base import AtomFeatures, VectorModel, scatter_sum
from ._inputs import Inputs
from ..nn._basis import BesselRBF, cosine_cutoff, mlp
from ._graph import structure_edges
from ._registry import register_model

__all__ = ["PaiNN", "PaiNNVector", "GatedEquivariantBlock"]


def _norm(v: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """Norm over the spatial axis of (N, 3, F), smooth at zero (the gradient of |v| is not)."""
    return torch.sqrt((v * v).sum(dim=1) + eps)


class GatedEquivariantBlock(nn.Module):
    r"""Gated equivariant block (PaiNN, Fig. 3): scalars gate linear maps of the vectors.

    (s (N, F_in), v (N, 3, F_in)) → (s (N, F_out), v (N, 3, F_out)).
    """

    def __init__(self, f_in: int, f_out: int, hidden: int, *, scalar_act: bool) -> None:
        super().__init__()
        self.lin_v = nn.Linear(f_in, hidden, bias=False)
        self.lin_w = nn.Linear(f_in, f_out, bias=False)
        self.ctx = mlp([f_in + hidden, hidden, 2 * f_out])
        self.act = nn.SiLU() if scalar_act else nn.Identity()
        self.f_out = f_out

    def forward(self, s: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        gate_in = torch.cat([s, _norm(self.lin_v(v))], dim=-1)
        s_out, gate = self.ctx(gate_in).split(self.f_out, dim=-1)
        return self.act(s_out), gate[:, None, :] * self.lin_w(v)


@register_model("painn")
class PaiNN(VectorModel):
    r"""PaiNN message and update blocks (Schütt et al., eqs. 7–12), gated-equivariant vector output.

    hidden: F; layers: message+update pairs; num_rbf: Bessel functions; cutoff in Å.
    in_features: invariant inputs ``data.x``; in_vectors: vector inputs ``data.vectors``, mapped
    linearly (no bias: equivariant) onto the initial vector features, which are zero without them.
    A batch with ``data.cell`` is periodic: edges reach the images of neighbours within the cutoff.
    """

    periodic = True

    def __init__(self, *, hidden: int = 64, layers: int = 3, num_rbf: int = 20, cutoff: float = 5.0, max_z: int = 100, in_features: int = 0, in_vectors: int = 0) -> None:
        super().__init__()
        self.hidden, self.cutoff, self.vector_channels = hidden, cutoff, hidden
        f = hidden
        self.init_inputs(f, max_z, in_features, in_vectors)
        self.rbf = BesselRBF(num_rbf, cutoff)
        self.phi = nn.ModuleList(mlp([f, f, 3 * f]) for _ in range(layers))
        self.filters = nn.ModuleList(nn.Linear(num_rbf, 3 * f) for _ in range(layers))
        self.lin_u = nn.ModuleList(nn.Linear(f, f, bias=False) for _ in range(layers))
        self.lin_v = nn.ModuleList(nn.Linear(f, f, bias=False) for _ in range(layers))
        self.update = nn.ModuleList(mlp([2 * f, f, 3 * f]) for _ in range(layers))
        self.vector_in = nn.Linear(in_vectors, f, bias=False) if in_vectors else None
        self.readout = nn.ModuleList([GatedEquivariantBlock(f, f // 2, f // 2, scalar_act=True), GatedEquivariantBlock(f // 2, 1, f // 2, scalar_act=False)])

    def features(self, inputs: Inputs) -> AtomFeatures:
        z, pos = inputs.z, inputs.pos
        edge, shift = structure_edges(pos, inputs.batch, self.cutoff, inputs.data)
        vec = pos[edge[0]] + shift - pos[edge[1]]
        d = vec.norm(dim=-1)
        unit = vec / d[:, None]
        w_all = self.rbf(d) * cosine_cutoff(d, self.cutoff)[:, None]
        n, f = len(z), self.hidden
        s = self.embed(inputs)
        v = s.new_zeros((n, 3, f)) if self.vector_in is None else self.vector_in(inputs.vectors.transpose(1, 2).to(s.dtype))
        sender, receiver = edge
        for phi, filt, lin_u, lin_v, update in zip(self.phi, self.filters, self.lin_u, self.lin_v, self.update):
            ds, dvv, dvs = (phi(s)[sender] * filt(w_all)).split(f, dim=-1)
            dv = v[sender] * dvv[:, None, :] + dvs[:, None, :] * unit[:, :, None]
            s = s + scatter_sum(ds, receiver, n)
            v = v + scatter_sum(dv, receiver, n)
            uv, vv = lin_u(v), lin_v(v)
            a_vv, a_sv, a_ss = update(torch.cat([s, _norm(vv)], dim=-1)).split(f, dim=-1)
            v = v + a_vv[:, None, :] * uv
            s = s + a_sv * (uv * vv).sum(dim=1) + a_ss
        return AtomFeatures(s, vectors=v)

    def vector_head(self, feats: AtomFeatures, inputs: Inputs) -> torch.Tensor:
        s, v = feats.scalars, feats.vectors
        for block in self.readout:
            s, v = block(s, v)
        return v[:, :, 0]


@register_model("painn-vector")
class PaiNNVector(PaiNN):
    """PaiNN whose vectors are forces of an invariant energy (the SANN paper's "vector-valued" PaiNN)."""

    gradient_output = True

    def __init__(self, *, hidden: int = 64, layers: int = 3, num_rbf: int = 20, cutoff: float = 5.0, max_z: int = 100, in_features: int = 0, in_vectors: int = 0) -> None:
        super().__init__(hidden=hidden, layers=layers, num_rbf=num_rbf, cutoff=cutoff, max_z=max_z, in_features=in_features, in_vectors=in_vectors)
        del self.readout
        self.energy_mlp = mlp([self.hidden, self.hidden // 2, 1])

    vector_head = VectorModel.vector_head
