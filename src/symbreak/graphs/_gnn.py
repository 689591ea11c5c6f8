r"""A small permutation-equivariant message-passing network on coloured graphs, and the node inputs
that break its symmetry: none, noise injection, SymPE, a fixed canonical labelling.

:math:`h_i \leftarrow h_i + \phi\big(h_i, \sum_{j \sim i} W_{c_{ij}} h_j\big)`, one weight matrix per
edge colour, sum aggregation (as expressive as 1-WL): automorphic nodes get equal features, so
without a breaker the network cannot tell them apart (the graph version of Curie's principle).

Node inputs of dimension d (:class:`NodeBreaker`):

* ``none``: a learned constant — the equivariant baseline;
* ``noise``: i.i.d. N(0, 1) per node and call (a fixed seeded draw in evaluation) — noise injection;
* ``sympe``: a learned table P (n_max, d) read at each node's label under a labelling drawn
  uniformly from the inversion kernel (:func:`sample_graph_kernel`): Lawrence et al.'s SymPE;
* ``canonical``: the same table at the fixed canonical labelling: deterministic canonicalization,
  which breaks symmetry by an arbitrary but consistent choice.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from ._canonical import ColoredGraph, graph_kernel

__all__ = ["GraphBatch", "collate_graphs", "NodeBreaker", "GraphNet", "BREAKERS"]

BREAKERS = ("none", "noise", "sympe", "canonical")


class GraphBatch:
    """Disjoint union of graphs as tensors: ``edge_index`` (2, 2E) both directions, ``edge_color``
    (2E,), ``edge_value`` (2E,) a float per edge (a coupling), ``node_color`` (N,), ``batch`` (N,),
    ``graphs`` the :class:`ColoredGraph` list, ``ptr`` (B + 1,) node offsets."""

    def __init__(self, graphs: Sequence[ColoredGraph], edge_values: Sequence[Sequence[float]] | None = None) -> None:
        self.graphs = list(graphs)
        sizes = [g.n for g in self.graphs]
        self.ptr = torch.tensor(np.concatenate([[0], np.cumsum(sizes)]), dtype=torch.long)
        src, dst, col, val = [], [], [], []
        for k, g in enumerate(self.graphs):
            e = np.array(g.edges, dtype=np.int64).reshape(-1, 2) + int(self.ptr[k])
            c = np.array(g.edge_colors, dtype=np.int64)
            v = np.ones(len(e)) if edge_values is None else np.asarray(edge_values[k], dtype=float)
            src += [e[:, 0], e[:, 1]]
            dst += [e[:, 1], e[:, 0]]
            col += [c, c]
            val += [v, v]
        self.edge_index = torch.tensor(np.stack([np.concatenate(src), np.concatenate(dst)]), dtype=torch.long)
        self.edge_color = torch.tensor(np.concatenate(col), dtype=torch.long)
        self.edge_value = torch.tensor(np.concatenate(val), dtype=torch.get_default_dtype())
        self.node_color = torch.tensor(np.concatenate([g.colors for g in self.graphs]), dtype=torch.long)
        self.batch = torch.repeat_interleave(torch.arange(len(sizes)), torch.tensor(sizes))

    @property
    def num_nodes(self) -> int:
        return int(self.ptr[-1])

    def to(self, device: torch.device | str) -> "GraphBatch":
        """The batch with its tensors on ``device`` (the graphs and offsets stay on the CPU: they index NumPy kernels)."""
        for key in ("edge_index", "edge_color", "edge_value", "node_color", "batch"):
            setattr(self, key, getattr(self, key).to(device))
        return self


def collate_graphs(graphs: Sequence[ColoredGraph], edge_values: Sequence[Sequence[float]] | None = None) -> GraphBatch:
    """A :class:`GraphBatch` of ``graphs`` (with a float per edge, in each graph's edge order, if given)."""
    return GraphBatch(graphs, edge_values)


class NodeBreaker(nn.Module):
    """The node inputs (N, dim) of a batch for one of :data:`BREAKERS` (see the module docstring).

    max_nodes: the largest graph (the table's rows); seed: of every draw.
    """

    def __init__(self, kind: str, dim: int, *, max_nodes: int = 64, seed: int = 0) -> None:
        super().__init__()
        if kind not in BREAKERS:
            raise ValueError(f"unknown breaker {kind!r}; choose from {', '.join(BREAKERS)}")
        self.kind, self.dim, self.seed = kind, int(dim), int(seed)
        init = torch.Generator().manual_seed(self.seed)
        self.table = nn.Parameter(torch.randn(max_nodes if kind in ("sympe", "canonical") else 1, dim, generator=init))
        self._rng = np.random.default_rng(self.seed)
        self._torch = torch.Generator().manual_seed(self.seed + 1)

    def labels(self, batch: GraphBatch, draw: int | None = None) -> torch.Tensor:
        """(N,) each node's label: a fresh uniform kernel draw (``sympe`` with ``draw`` None), or the fixed draw
        number ``draw``, or the canonical labelling (``canonical``)."""
        out = []
        for g in batch.graphs:
            kernel = graph_kernel(g)
            if len(kernel) and g.n > len(self.table):
                raise ValueError(f"a graph of {g.n} nodes is larger than the breaker's table ({len(self.table)})")
            if self.kind == "canonical":
                pick = 0
            elif draw is not None:  # a fixed, seeded draw: the same element on every call with this draw
                pick = int(np.random.default_rng([self.seed, draw]).integers(len(kernel)))
            else:
                pick = int(self._rng.integers(len(kernel)))
            out.append(torch.as_tensor(kernel[pick]))
        return torch.cat(out).to(self.table.device)

    def forward(self, batch: GraphBatch, *, draw: int | None = None) -> torch.Tensor:
        n = batch.num_nodes
        if self.kind == "none":
            return self.table.expand(n, -1)
        if self.kind == "noise":
            gen = self._torch if self.training and draw is None else torch.Generator().manual_seed(self.seed + 2 + (draw or 0))
            return torch.randn(n, self.dim, generator=gen).to(self.table)  # drawn on the CPU (seeded), moved to the table's device
        if self.kind == "sympe" and not self.training and draw is None:
            draw = 0  # evaluation: one fixed draw
        return self.table[self.labels(batch, draw)]


class GraphNet(nn.Module):
    """Message passing on a :class:`GraphBatch` (see the module docstring): node features (N, hidden).

    in_dim: the breaker's dimension; colors: how many node and edge colours there can be.
    """

    def __init__(self, in_dim: int, hidden: int = 64, layers: int = 4, *, node_colors: int = 4, edge_colors: int = 4) -> None:
        super().__init__()
        self.embed_in = nn.Linear(in_dim, hidden)
        self.node_color = nn.Embedding(node_colors, hidden)
        self.edge_weight = nn.ModuleList(nn.Embedding(edge_colors, hidden * hidden) for _ in range(layers))
        self.edge_scale = nn.ModuleList(nn.Linear(1, hidden) for _ in range(layers))
        self.update = nn.ModuleList(nn.Sequential(nn.Linear(2 * hidden, hidden), nn.SiLU(), nn.Linear(hidden, hidden)) for _ in range(layers))
        self.hidden = hidden
        for emb in self.edge_weight:
            nn.init.normal_(emb.weight, std=1.0 / hidden)

    def forward(self, x: torch.Tensor, batch: GraphBatch) -> torch.Tensor:
        h = self.embed_in(x) + self.node_color(batch.node_color)
        src, dst = batch.edge_index
        for weight, scale, update in zip(self.edge_weight, self.edge_scale, self.update):
            w = weight(batch.edge_color).view(-1, self.hidden, self.hidden)
            msg = torch.einsum("eij,ej->ei", w, h[src]) * scale(batch.edge_value[:, None].to(h.dtype))
            agg = torch.zeros_like(h).index_add_(0, dst, msg)
            h = h + update(torch.cat([h, agg], dim=-1))
        return h
