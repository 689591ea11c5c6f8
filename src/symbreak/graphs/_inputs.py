r"""Graph networks behind the model registry, and the node inputs that break their symmetry.

A graph network is built from a spec string like any model (:func:`symbreak.models.build_model`,
parsed by :class:`~symbreak.models.ModelSpec`): ``"graphnet"``, ``"graphnet+sympe"``,
``"graphnet+canon[dim=8, max_nodes=20]"``. Its base model and inputs live in the registry's
``"graph"`` domain (:data:`~symbreak.models._registry.DOMAINS`): a point-cloud input or variant on
a graph network (``"graphnet+sbs"``, ``"graphnet+noise"``), or a graph input on a point-cloud
model, is refused with a one-line :class:`~symbreak.SymbreakError`.

The group is :math:`S_n` acting on the nodes (a point cloud's is O(3) acting on positions). Each
input has the name of the point-cloud input that means the same thing:

=============== ============================================== =============================================
spec            on a graph (node inputs, :math:`S_n`)           on a point cloud (:mod:`symbreak.models`)
=============== ============================================== =============================================
``graphnet``    a learned constant node vector (the same at     the model alone: no breaking, the
                every node): no breaking, exactly equivariant   equivariant baseline
``+randvec``    a random vector per node, i.i.d.               a Haar-random unit vector per structure
                :math:`\mathcal N(0, I_d)`
``+sympe``      a learned table :math:`P` (max_nodes, d) read   :math:`\tilde g^{-1} v`, :math:`\tilde g`
                at each node's label under a labelling drawn    uniform in the inversion kernel
                uniformly from the inversion kernel
``+canon``      the same table at the canonical labelling       :math:`F v` in the canonical frame
                (the kernel's first element, every time)        (the kernel's first element, every time)
=============== ============================================== =============================================

``randvec`` on both: a random input drawn from a law the group leaves invariant (Haar on
:math:`S^2` for O(3); i.i.d. per node for :math:`S_n`), appended to the model's input channels,
fresh on every training call and one fixed seeded draw in evaluation
(:class:`~symbreak.models._inputs.RandomDraws`, :func:`~symbreak.models._inputs.set_eval_draw`:
validation and test get different draws); each draw breaks the symmetry, the law keeps it
(equivariance in distribution). It is per node here because :math:`S_n` acts on nodes: one vector
per graph would be invariant and break nothing. It is *not* the point clouds' ``+noise``, which
perturbs an input the model already reads (the positions); this module's old ``"noise"`` breaker
was ``randvec`` in that sense.

The old breaker names (``NodeBreaker(kind)``, the tasks' rows) map as :data:`LEGACY_NAMES`:
``none`` → ``graphnet``, ``noise`` → ``graphnet+randvec``, ``canonical`` → ``graphnet+canon``,
``sympe`` → ``graphnet+sympe``. The seeds of every draw are those the old breakers used (the
recorded results of ``ising`` and ``graph-autoencoding`` are reproduced): training draws of
``randvec`` from a generator seeded ``seed + 1``, evaluation draw d seeded ``seed + 2 + d``;
``sympe`` picks with NumPy, ``default_rng(seed)`` in training and ``default_rng([seed, d])`` for
evaluation draw d; tables initialised from ``seed``.

>>> import networkx as nx
>>> from symbreak.graphs import ColoredGraph, collate_graphs
>>> from symbreak.models import build_model
>>> cycle = ColoredGraph.make(6, list(nx.cycle_graph(6).edges()))
>>> model = build_model("graphnet+canon", hidden=8, layers=2, max_nodes=6).eval()
>>> model(collate_graphs([cycle])).shape
torch.Size([6, 8])
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from .._errors import SymbreakError
from ..models._choice import FixedChoice
from ..models._inputs import RandomDraws
from ..models._registry import register_input, register_model
from ._canonical import graph_kernel
from ._gnn import LEGACY_NAMES, GraphBatch, GraphNet

__all__ = ["GraphModel", "RandomNodeFeatures", "GraphSymPE", "CanonicalLabels", "LEGACY_NAMES"]



class _Constant(nn.Module):
    """The bare model's node input: one learned vector (1, dim), the same at every node."""

    def __init__(self, dim: int, seed: int) -> None:
        super().__init__()
        self.value = nn.Parameter(torch.randn(1, dim, generator=torch.Generator().manual_seed(int(seed))))

    def forward(self, batch: GraphBatch) -> dict[str, torch.Tensor]:
        return {"x": self.value.expand(batch.num_nodes, -1)}


@register_model("graphnet", domain="graph")
class GraphModel(nn.Module):
    r"""``"graphnet[+input...]"``: a :class:`~symbreak.graphs.GraphNet` reading node inputs; ``forward(batch)``
    gives node features (N, hidden) of a :class:`~symbreak.graphs.GraphBatch`.

    inputs: the node inputs (registered graph inputs, each ``forward(batch) -> {"x": (N, features)}``),
    concatenated in order; none: a learned constant of width ``dim`` (seeded ``seed``), so automorphic
    nodes get equal features (``symmetry = "exact"``: :math:`f(\pi G) = \pi f(G)`). hidden, layers,
    node_colors, edge_colors: the network's (:class:`~symbreak.graphs.GraphNet`).
    """

    domain = "graph"

    def __init__(
        self, inputs: Sequence[nn.Module] = (), /, *, dim: int = 16, hidden: int = 64, layers: int = 4, node_colors: int = 4, edge_colors: int = 4, seed: int = 0
    ) -> None:
        super().__init__()
        self.inputs = nn.ModuleList(inputs)
        self.constant = None if inputs else _Constant(dim, seed)
        width = sum(int(source.features) for source in inputs) if inputs else int(dim)
        self.net = GraphNet(width, hidden, layers, node_colors=node_colors, edge_colors=edge_colors)
        self.hidden = int(hidden)
        #: "exact": permutation-equivariant; "approximate": an input breaks the graph's symmetry
        self.symmetry = "approximate" if inputs else "exact"

    def node_inputs(self, batch: GraphBatch) -> torch.Tensor:
        """(N, width) what the network reads at each node: the inputs, concatenated, on the network's device and dtype."""
        weight = self.net.embed_in.weight
        parts = [source(batch)["x"] for source in (self.inputs if self.constant is None else [self.constant])]
        return torch.cat([p.to(device=weight.device, dtype=weight.dtype) for p in parts], dim=-1)

    def forward(self, batch: GraphBatch) -> torch.Tensor:
        return self.net(self.node_inputs(batch), batch)


@register_input("randvec", domain="graph")
class RandomNodeFeatures(RandomDraws, nn.Module):
    r"""``"graphnet+randvec"``: a random vector per node, i.i.d. :math:`\mathcal N(0, I_d)`: (N, dim).

    Fresh on every training call (a generator seeded ``seed + 1``); in evaluation one fixed draw,
    seeded ``seed + 2 + draw`` (:func:`~symbreak.models._inputs.set_eval_draw` sets ``draw``). Drawn
    on the CPU in the default dtype, the same numbers on every device.
    """

    def __init__(self, *, dim: int = 16, seed: int = 0) -> None:
        super().__init__()
        self.features, self.seed = int(dim), int(seed)
        self._generator = torch.Generator().manual_seed(self.seed + 1)

    def eval_generator(self) -> torch.Generator:
        """The generator of evaluation draw ``draw``: seeded ``seed + 2 + draw`` (the old ``"noise"`` breaker's seeds)."""
        return torch.Generator().manual_seed(self.seed + 2 + int(self.draw))

    def forward(self, batch: GraphBatch) -> dict[str, torch.Tensor]:
        gen = self._generator if self.training else self.eval_generator()
        return {"x": torch.randn(batch.num_nodes, self.features, generator=gen)}


@register_input("sympe", domain="graph")
class GraphSymPE(FixedChoice, RandomDraws, nn.Module):
    r"""``"graphnet+sympe"``: SymPE on graphs (Lawrence, Portilheiro, Zhang & Kaba, ICLR 2025).

    Each graph draws a labelling σ uniformly from its inversion kernel :math:`K(G) = \tau\,\mathrm{Aut}(G)`
    (:func:`~symbreak.graphs.graph_kernel`) and node i reads row σ(i) of a learned table P
    (max_nodes, dim). As :math:`K(\pi G) = K(G) \circ \pi^{-1}`, the inputs of a relabelled graph
    are distributed as the relabelled inputs (equivariance in distribution); each draw gives the
    nodes of a graph distinct rows. Training draws afresh per graph and call (NumPy, seeded
    ``seed``); evaluation uses fixed draw ``draw`` (seeded ``[seed, draw]``); :meth:`choosing`
    fixes the kernel element.
    """

    #: the inputs over all kernel elements are the input (a law), as the point clouds' ``+sympe``
    set_valued = True

    def __init__(self, *, dim: int = 16, max_nodes: int = 64, seed: int = 0) -> None:
        super().__init__()
        self.features, self.seed = int(dim), int(seed)
        self.table = nn.Parameter(torch.randn(int(max_nodes), self.features, generator=torch.Generator().manual_seed(self.seed)))
        self._rng = np.random.default_rng(self.seed)
        self._choice: int | None = None

    def pick(self, size: int) -> int:
        """The kernel element (an index < ``size``) of one graph: see the class docstring."""
        if self._choice is not None:
            return self._choice % size
        if self.training:
            return int(self._rng.integers(size))
        return int(np.random.default_rng([self.seed, int(self.draw)]).integers(size))

    def labels(self, batch: GraphBatch) -> torch.Tensor:
        """(N,) long: each node's label under its graph's chosen labelling."""
        out = []
        for g in batch.graphs:
            kernel = graph_kernel(g)
            if g.n > len(self.table):
                raise SymbreakError(f"a graph of {g.n} nodes is larger than the input's table (max_nodes={len(self.table)})")
            out.append(torch.as_tensor(kernel[self.pick(len(kernel))]))
        return torch.cat(out).to(self.table.device)

    def forward(self, batch: GraphBatch) -> dict[str, torch.Tensor]:
        return {"x": self.table[self.labels(batch)]}


@register_input("canon", domain="graph")
class CanonicalLabels(GraphSymPE):
    """``"graphnet+canon"``: the table read at the canonical labelling (the kernel's first element),
    every time, in training and evaluation: deterministic canonicalization, which breaks the
    symmetry by an arbitrary but fixed choice (its law is not equivariant, unlike SymPE's)."""

    set_valued = False

    def pick(self, size: int) -> int:
        return 0 if self._choice is None else self._choice % size
