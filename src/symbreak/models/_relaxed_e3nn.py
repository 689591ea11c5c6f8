r"""``relaxed-e3nn``: per-atom vectors from relaxed E(3) convolutions; ``e3nn``: the same with θ frozen."""

from __future__ import annotations

import torch
from torch import nn

from ..nn import RelaxedNetwork
from ._base import AtomFeatures, VectorModel
from ._graph import radius_edges
from ._registry import register_model

__all__ = ["RelaxedE3NN"]


@register_model("relaxed-e3nn")
class RelaxedE3NN(VectorModel):
    r"""Element embedding (0e) → :class:`~symbreak.nn.RelaxedNetwork` → one 1o vector per atom.

    Equivariant at initialisation; symmetry breaking is learned in θ (penalise it with
    :func:`symbreak.nn.relaxation_penalty`). Self-loops are included, so θ also acts on an
    atom's own features.
    """

    def __init__(
        self, *, hidden: int = 16, layers: int = 2, lmax: int = 2, l_relaxed: int = 2, cutoff: float = 5.0, relaxed: bool = True, max_z: int = 100
    ) -> None:
        super().__init__()
        self.equivariant = not relaxed
        self.hidden, self.cutoff = hidden, cutoff
        self.embedding = nn.Embedding(max_z, hidden)
        irreps_hidden = f"{hidden}x0e+{hidden // 2}x1o+{hidden // 2}x1e+{hidden // 4}x2e+{hidden // 4}x2o"
        self.net = RelaxedNetwork(
            f"{hidden}x0e", irreps_hidden, "1x1o", layers=layers, relaxed=relaxed, lmax=lmax, l_relaxed=l_relaxed, cutoff=cutoff, num_neighbors=4.0
        )  # fmt: skip

    def features(self, z: torch.Tensor, pos: torch.Tensor, batch: torch.Tensor) -> AtomFeatures:
        edge = radius_edges(pos, batch, self.cutoff, self_loops=True)
        out = self.net(self.embedding(z), pos, edge)
        return AtomFeatures(self.embedding(z), positions=out)

    def vector_head(self, feats: AtomFeatures, pos: torch.Tensor, batch: torch.Tensor) -> torch.Tensor:
        return feats.positions


@register_model("e3nn")
class E3NN(RelaxedE3NN):
    """:class:`RelaxedE3NN` with every θ frozen at the scalar: an exactly equivariant e3nn convolution network."""

    def __init__(self, *, hidden: int = 16, layers: int = 2, lmax: int = 2, cutoff: float = 5.0, max_z: int = 100) -> None:
        super().__init__(hidden=hidden, layers=layers, lmax=lmax, l_relaxed=0, cutoff=cutoff, relaxed=False, max_z=max_z)
