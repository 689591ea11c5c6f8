r"""SchNet (Schütt et al., 2018): continuous-filter convolutions; an invariant model.

Vector outputs are forces of its invariant energy, :math:`-\partial E / \partial \mathbf x_i`.
"""

from __future__ import annotations

import torch
from torch import nn

from ._base import AtomFeatures, VectorModel, scatter_sum, vector_edge_invariants
from ._inputs import Inputs
from ..nn._basis import GaussianRBF, ShiftedSoftplus, cosine_cutoff, mlp
from ._graph import edge_vectors, radius_edges
from ._registry import register_model

__all__ = ["SchNet"]


@register_model("schnet")
class SchNet(VectorModel):
    r"""SchNet: :math:`\mathbf h_i \leftarrow \mathbf h_i + \mathrm{MLP}\big(\sum_j W(\|\mathbf r_{ij}\|) \odot \mathbf{W}\mathbf h_j\big)`.

    hidden: feature size; layers: interaction blocks; num_rbf: Gaussians on [0, cutoff];
    cutoff: Å (graphs are radius graphs; every pair of a small molecule lies inside the default).
    in_features: invariant inputs ``data.x`` per atom; in_vectors: vector inputs ``data.vectors``,
    read through their projections on each edge (:func:`vector_edge_invariants`) in the filters.
    """

    gradient_output = True

    def __init__(self, *, hidden: int = 64, layers: int = 3, num_rbf: int = 32, cutoff: float = 5.0, max_z: int = 100, in_features: int = 0, in_vectors: int = 0) -> None:
        super().__init__()
        self.hidden, self.cutoff = hidden, cutoff
        self.init_inputs(hidden, max_z, in_features, in_vectors)
        self.rbf = GaussianRBF(num_rbf, cutoff)
        self.filters = nn.ModuleList(mlp([num_rbf + 2 * in_vectors, hidden, hidden], ShiftedSoftplus) for _ in range(layers))
        self.lin_in = nn.ModuleList(nn.Linear(hidden, hidden, bias=False) for _ in range(layers))
        self.lin_out = nn.ModuleList(mlp([hidden, hidden, hidden], ShiftedSoftplus) for _ in range(layers))
        self.energy_mlp = mlp([hidden, hidden // 2, 1], ShiftedSoftplus)

    def features(self, inputs: Inputs) -> AtomFeatures:
        edge = radius_edges(inputs.pos, inputs.batch, self.cutoff)
        vec, d = edge_vectors(inputs.pos, edge)
        expanded = self.rbf(d)
        if inputs.vectors is not None:
            expanded = torch.cat([expanded, vector_edge_invariants(inputs.vectors, vec / d[:, None], edge)], dim=-1)
        envelope = cosine_cutoff(d, self.cutoff)[:, None]
        h = self.embed(inputs)
        z = inputs.z
        for filt, lin_in, lin_out in zip(self.filters, self.lin_in, self.lin_out):
            msg = lin_in(h)[edge[0]] * filt(expanded) * envelope
            h = h + lin_out(scatter_sum(msg, edge[1], len(z)))
        return AtomFeatures(h)
