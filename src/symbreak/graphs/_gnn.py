r"""A small permutation-equivariant message-passing network on coloured graphs.

:math:`h_i \leftarrow h_i + \phi\big(h_i, \sum_{j \sim i} W_{c_{ij}} h_j\big)`, one weight matrix per
edge colour, sum aggregation (as expressive as 1-WL): automorphic nodes get equal features, so
without a breaker the network cannot tell them apart (the graph version of Curie's principle).

The network reads node inputs x (N, in_dim); the registered graph models feed it the inputs that
break its symmetry (``"graphnet"``, ``"graphnet+randvec"``, ``"graphnet+sympe"``, ``"graphnet+canon"``:
:mod:`symbreak.graphs._inputs`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from .._errors import SymbreakError
from ._canonical import ColoredGraph

__all__ = ["GraphBatch", "collate_graphs", "GraphNet"]


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


#: the old breaker names (``NodeBreaker(kind)``, the rows of the committed results of ``ising`` and ``graph-autoencoding``) → spec
LEGACY_NAMES = {"none": "graphnet", "noise": "graphnet+randvec", "canonical": "graphnet+canon", "sympe": "graphnet+sympe"}


def NodeBreaker(kind: str, dim: int = 16, **_: Any) -> None:  # noqa: N802 - the removed class's name, kept to say what replaced it
    """Removed: the node inputs are registered graph models (:mod:`symbreak.graphs._inputs`). Raises a
    :class:`~symbreak.SymbreakError` naming the spec that replaces ``kind`` (:data:`~symbreak.graphs.LEGACY_NAMES`)."""
    spec = LEGACY_NAMES.get(kind)
    instead = f"build_model({spec!r}, dim={dim})" if spec else "one of " + ", ".join(repr(s) for s in LEGACY_NAMES.values())
    raise SymbreakError(f"NodeBreaker({kind!r}) is removed: use the registered graph model {instead} (symbreak.models), which reads its own input: model(batch)")


class GraphNet(nn.Module):
    """Message passing on a :class:`GraphBatch` (see the module docstring): node features (N, hidden).

    in_dim: the width of the node inputs; colors: how many node and edge colours there can be.
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
