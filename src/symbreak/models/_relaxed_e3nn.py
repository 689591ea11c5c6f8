r"""``relaxed-e3nn``: per-atom vectors from relaxed E(3) convolutions; ``e3nn``: the same with θ frozen."""

from __future__ import annotations

import torch

from .._errors import SymbreakError
from ._base import AtomFeatures, VectorModel
from ._graph import radius_edges
from ._inputs import Inputs
from ._registry import register_model

__all__ = ["RelaxedE3NN", "E3NN"]


@register_model("relaxed-e3nn")
class RelaxedE3NN(VectorModel):
    r"""Element embedding (``hidden`` × 0e, plus any vector inputs as ``in_vectors`` × 1o and axial
    ones as ``in_pseudovectors`` × 1e) →
    :class:`~symbreak.nn.RelaxedNetwork` → one 1o vector per atom.

    Equivariant at initialisation; symmetry breaking is learned in θ (penalise it with
    :func:`symbreak.nn.relaxation_penalty`), so its ``symmetry`` is "approximate". Self-loops are
    included, so θ also acts on an atom's own features.
    """

    symmetry = "approximate"
    vector_channels = 1  # its 1o output is also its one vector feature, for heads (+mlp) that read them

    def __init__(
        self, *, hidden: int = 16, layers: int = 2, lmax: int = 2, l_relaxed: int = 2, cutoff: float = 5.0, relaxed: bool = True, max_z: int = 100,
        in_features: int = 0, in_vectors: int = 0, in_pseudovectors: int = 0,
    ) -> None:  # fmt: skip
        from ..nn import RelaxedNetwork

        super().__init__()
        self.symmetry = "approximate" if relaxed else "exact"
        self.hidden, self.cutoff = hidden, cutoff
        self.init_inputs(hidden, max_z, in_features, in_vectors)
        if in_pseudovectors < 0:
            raise SymbreakError(f"in_pseudovectors counts channels: need ≥ 0, got {in_pseudovectors}")
        self.in_pseudovectors = in_pseudovectors
        irreps_in = f"{hidden}x0e" + (f"+{in_vectors}x1o" if in_vectors else "") + (f"+{in_pseudovectors}x1e" if in_pseudovectors else "")
        irreps_hidden = f"{hidden}x0e+{hidden // 2}x1o+{hidden // 2}x1e+{hidden // 4}x2e+{hidden // 4}x2o"
        self.net = RelaxedNetwork(
            irreps_in, irreps_hidden, "1x1o", layers=layers, relaxed=relaxed, lmax=lmax, l_relaxed=l_relaxed, cutoff=cutoff, num_neighbors=4.0
        )  # fmt: skip

    def features(self, inputs: Inputs) -> AtomFeatures:
        edge = radius_edges(inputs.pos, inputs.batch, self.cutoff, self_loops=True)
        h = self.embed(inputs)
        parts = [h] + [v.flatten(1).to(h.dtype) for v in (inputs.vectors, inputs.pseudovectors) if v is not None]
        node = torch.cat(parts, dim=-1)  # 0e, then 1o, then 1e: the order of irreps_in
        out = self.net(node, inputs.pos, edge)
        return AtomFeatures(h, vectors=out[:, :, None], output=out)

    def vector_head(self, feats: AtomFeatures, inputs: Inputs) -> torch.Tensor:
        return feats.output


@register_model("e3nn")
class E3NN(RelaxedE3NN):
    """:class:`RelaxedE3NN` with every θ frozen at the scalar: an exactly equivariant e3nn convolution network."""

    symmetry = "exact"

    def __init__(
        self, *, hidden: int = 16, layers: int = 2, lmax: int = 2, cutoff: float = 5.0, max_z: int = 100, in_features: int = 0, in_vectors: int = 0,
        in_pseudovectors: int = 0,
    ) -> None:  # fmt: skip
        super().__init__(
            hidden=hidden, layers=layers, lmax=lmax, l_relaxed=0, cutoff=cutoff, relaxed=False, max_z=max_z, in_features=in_features,
            in_vectors=in_vectors, in_pseudovectors=in_pseudovectors,
        )  # fmt: skip
