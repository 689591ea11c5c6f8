r"""EGNN (Satorras et al., 2021): E(n)-equivariant message passing on coordinates."""

from __future__ import annotations

import torch
from torch import nn

from ._base import AtomFeatures, VectorModel, scatter_sum, vector_edge_invariants
from ._inputs import Inputs
from .._errors import SymbreakError
from ..nn._basis import BesselRBF, mlp
from ._graph import structure_edges
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
    and translation-invariant. Vector inputs ``data.vectors`` enter every edge message through
    their projections on the edge (:func:`vector_edge_invariants`). A batch with ``data.cell`` is
    periodic: an edge to a neighbour's image uses that image's position (the lattice stays fixed).

    rbf: 0 (the paper's) gives φ_e the squared distance itself; N > 0 gives it N radial
    Bessel functions of the distance at ``cutoff`` instead (an ablation: SANN's encoding of a
    distance, on EGNN). moves: ``"every"`` (the paper's: every layer moves the atoms, and the output
    sums the steps), ``"last"`` (an ablation: the atoms stay put until the last layer, whose one
    step is the output) or ``"head"`` (an ablation: the atoms never move; the output is
    :math:`\frac{1}{|N(i)|}\sum_j (x_i - x_j)\, w(h_i, h_j, \|x_i - x_j\|)` with w an MLP on the
    final features, started small: SANN's ``readout='egnn-local'`` on EGNN's features), w with
    ``readout_depth`` linear maps (EGNN's own step φ_x∘φ_e has 4); ``"head-squared"`` gives w the
    squared distance instead, as φ_e reads it.
    """

    periodic = True

    def __init__(
        self, *, hidden: int = 64, layers: int = 4, cutoff: float = 5.0, max_z: int = 100, in_features: int = 0, in_vectors: int = 0, rbf: int = 0, moves: str = "every", readout_depth: int = 2,
    ) -> None:  # fmt: skip
        super().__init__()
        if moves not in ("every", "last", "head", "head-squared"):
            raise SymbreakError(f"EGNN: moves must be 'every', 'last', 'head' or 'head-squared', got {moves!r}")
        if readout_depth != 2 and not moves.startswith("head"):  # an option that would change the key and not the model
            raise SymbreakError("EGNN: readout_depth applies to its readout head (moves='head' or 'head-squared')")
        self.moves = moves
        if isinstance(rbf, bool) or not isinstance(rbf, int) or rbf < 0:
            raise SymbreakError(f"EGNN: rbf must be a whole number ≥ 0 (0: the squared distance itself), got {rbf!r}")
        self.hidden, self.cutoff = hidden, cutoff
        self.init_inputs(hidden, max_z, in_features, in_vectors)
        self.rbf = BesselRBF(rbf, cutoff) if rbf else None
        edge = rbf or 1
        self.phi_e = nn.ModuleList(nn.Sequential(mlp([2 * hidden + edge + 2 * in_vectors, hidden, hidden]), nn.SiLU()) for _ in range(layers))
        self.phi_h = nn.ModuleList(mlp([2 * hidden, hidden, hidden]) for _ in range(layers))
        self.phi_x = nn.ModuleList(mlp([hidden, hidden, 1]) for _ in range(layers))
        for phi in self.phi_x:  # small coordinate steps at start, as in the authors' code
            nn.init.xavier_uniform_(phi[-1].weight, gain=0.001)
        if moves.startswith("head"):  # built after the rest, so the other weights start as the paper's EGNN's do
            self.head = mlp([2 * hidden + 1, *[hidden] * (readout_depth - 1), 1])
            nn.init.xavier_uniform_(self.head[-1].weight, gain=0.001)

    def features(self, inputs: Inputs) -> AtomFeatures:
        z, pos = inputs.z, inputs.pos
        edge, shift = structure_edges(pos, inputs.batch, self.cutoff, inputs.data)
        sender, receiver = edge
        count = torch.bincount(receiver, minlength=len(z)).clamp_min(1).to(pos.dtype)[:, None]
        h, x = self.embed(inputs), pos
        for phi_e, phi_h, phi_x in zip(self.phi_e, self.phi_h, self.phi_x):
            rel = x[receiver] - x[sender] - shift
            d2 = (rel * rel).sum(-1, keepdim=True)
            parts = [h[receiver], h[sender], d2 if self.rbf is None else self.rbf(d2.clamp_min(0).sqrt().squeeze(-1))]
            if inputs.vectors is not None:  # on the moved positions: invariant as long as x is equivariant
                unit = rel / (rel * rel).sum(-1, keepdim=True).clamp_min(1e-12).sqrt()
                parts.append(vector_edge_invariants(inputs.vectors, -unit, edge))
            m = phi_e(torch.cat(parts, dim=-1))
            if self.moves == "every" or (self.moves == "last" and phi_x is self.phi_x[-1]):
                x = x + scatter_sum(rel * phi_x(m), receiver, len(z)) / count
            h = h + phi_h(torch.cat([h, scatter_sum(m, receiver, len(z))], dim=-1))
        if self.moves.startswith("head"):
            rel = x[receiver] - x[sender] - shift
            d = (rel * rel).sum(-1, keepdim=True) if self.moves == "head-squared" else rel.norm(dim=-1, keepdim=True)
            w = self.head(torch.cat([h[receiver], h[sender], d], dim=-1))
            x = x + scatter_sum(rel * w, receiver, len(z)) / count
        return AtomFeatures(h, positions=x)

    def vector_head(self, feats: AtomFeatures, inputs: Inputs) -> torch.Tensor:
        return feats.positions - inputs.pos
