r"""Canonical labelling of small graphs and the inversion kernel of S_n, by individualization–refinement.

A graph on n nodes (node colours, coloured undirected edges) is relabelled by a permutation σ
(node i gets label σ(i)). A *canonical labelling* c(G) is a relabelling whose result is the same
for every isomorphic copy; the labellings that reach it form the coset :math:`K(G) = \tau\,\mathrm{Aut}(G)`,
the inversion kernel SymPE samples from (Lawrence et al., ICLR 2025). Here the whole coset is
found at once: colour refinement (1-WL with edge colours) gives an isomorphism-invariant ordered
partition; every non-singleton cell is split by individualising each of its nodes in turn; each
leaf (a discrete partition) is a labelling, and the labellings whose relabelled graph is
lexicographically smallest are exactly the coset (the tree is searched without pruning, so it is
complete: meant for the small, highly symmetric graphs of the benchmarks, up to a few dozen nodes).

Why not networkx or pynauty: networkx has automorphisms (VF2) but no canonical labelling; pynauty
needs a compiled nauty, and it returns the automorphism group's generators, not the coset, which we
would then have to enumerate anyway. The search here returns the coset directly, exactly uniform
sampling is then indexing, and it is checked against networkx's VF2 automorphism counts.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Sequence

import numpy as np

__all__ = ["ColoredGraph", "graph_kernel", "canonical_form", "automorphisms", "sample_graph_kernel"]


@dataclasses.dataclass(frozen=True)
class ColoredGraph:
    """An undirected graph: ``n`` nodes, node ``colors`` (n,) ints, ``edges`` (E, 2) and their ``edge_colors`` (E,)."""

    n: int
    edges: tuple[tuple[int, int], ...]
    colors: tuple[int, ...] = ()
    edge_colors: tuple[int, ...] = ()

    @classmethod
    def make(cls, n: int, edges: Sequence[Sequence[int]], colors: Sequence[int] | None = None, edge_colors: Sequence[int] | None = None) -> "ColoredGraph":
        """Checked construction: nodes 0..n-1, no self-loops or repeated edges, one colour per node and edge."""
        pairs = [tuple(sorted((int(a), int(b)))) for a, b in edges]
        if any(a == b or a < 0 or b >= n for a, b in pairs):
            raise ValueError(f"edges must join two different nodes among 0..{n - 1}")
        if len(set(pairs)) != len(pairs):
            raise ValueError("an edge is listed twice")
        colors = [0] * n if colors is None else [int(c) for c in colors]
        edge_colors = [1] * len(pairs) if edge_colors is None else [int(c) for c in edge_colors]
        if len(colors) != n or len(edge_colors) != len(pairs):
            raise ValueError(f"give one colour per node ({n}) and per edge ({len(pairs)})")
        ordered = sorted(zip(pairs, edge_colors))  # equal graphs compare equal, whatever the order of the edge list
        return cls(n, tuple(p for p, _ in ordered), tuple(colors), tuple(c for _, c in ordered))

    @functools.cached_property
    def matrix(self) -> np.ndarray:
        """(n, n) edge colours, 0 where there is no edge."""
        m = np.zeros((self.n, self.n), dtype=np.int64)
        for (a, b), c in zip(self.edges, self.edge_colors or [1] * len(self.edges)):
            m[a, b] = m[b, a] = c
        return m

    def relabel(self, sigma: np.ndarray) -> "ColoredGraph":
        """The graph with node i renamed σ(i)."""
        sigma = np.asarray(sigma)
        colors = np.empty(self.n, dtype=np.int64)
        colors[sigma] = self.colors or [0] * self.n
        return ColoredGraph.make(self.n, [(sigma[a], sigma[b]) for a, b in self.edges], colors.tolist(), list(self.edge_colors or [1] * len(self.edges)))


def _refine(m: np.ndarray, cells: np.ndarray) -> np.ndarray:
    """Colour refinement to the coarsest equitable partition; cell ids renumbered by an
    isomorphism-invariant order (old cell, then the sorted multiset of (neighbour cell, edge colour))."""
    while True:
        sig = [(int(cells[i]), tuple(sorted((int(cells[j]), int(m[i, j])) for j in np.flatnonzero(m[i])))) for i in range(len(cells))]
        order = {s: k for k, s in enumerate(sorted(set(sig)))}
        new = np.array([order[s] for s in sig])
        if len(order) == len(set(cells.tolist())):
            return new
        cells = new


def _leaves(m: np.ndarray, cells: np.ndarray) -> list[np.ndarray]:
    cells = _refine(m, cells)
    counts = np.bincount(cells)
    if counts.max() == 1:
        return [cells]
    target = int(np.flatnonzero(counts > 1)[0])  # the first non-singleton cell, in the invariant order
    out = []
    for v in np.flatnonzero(cells == target):
        split = cells * 2  # room for a new cell just before the target
        split[v] = 2 * target - 1
        out += _leaves(m, split)
    return out


@functools.lru_cache(maxsize=256)
def _kernel(graph: ColoredGraph) -> tuple[np.ndarray, bytes]:
    m = graph.matrix
    start = np.array(graph.colors or [0] * graph.n)
    best: bytes | None = None
    found: dict[bytes, np.ndarray] = {}
    for leaf in _leaves(m, np.unique(start, return_inverse=True)[1]):
        sigma = np.argsort(np.argsort(leaf))  # node i → its rank among the leaf's singleton cells
        inv = np.argsort(sigma)
        cert = np.concatenate([start[inv], m[np.ix_(inv, inv)][np.triu_indices(graph.n, 1)]]).astype(np.int64).tobytes()
        if best is None or cert < best:
            best, found = cert, {}
        if cert == best:
            found[sigma.astype(np.int64).tobytes()] = sigma
    kernel = np.array(sorted(found.values(), key=lambda s: s.tolist()))
    return kernel, best


def graph_kernel(graph: ColoredGraph) -> np.ndarray:
    """The inversion kernel: every σ, shape ``(|Aut(G)|, n)``, with ``graph.relabel(σ) == canonical_form(graph)``."""
    return _kernel(graph)[0].copy()


def canonical_form(graph: ColoredGraph) -> ColoredGraph:
    """The canonical relabelling: the same graph for every isomorphic copy."""
    return graph.relabel(_kernel(graph)[0][0])


def automorphisms(graph: ColoredGraph) -> np.ndarray:
    """Aut(G) as permutations, shape ``(|Aut|, n)``: every a with ``graph.relabel(a)`` equal to the graph."""
    kernel = _kernel(graph)[0]
    return np.argsort(kernel[0])[kernel]


def sample_graph_kernel(graph: ColoredGraph, size: int = 1, *, seed: int | np.random.Generator | None = 0) -> np.ndarray:
    """``size`` labellings drawn uniformly from :func:`graph_kernel`: (size, n). Seeded."""
    if size < 1:
        raise ValueError(f"size must be ≥ 1, got {size}")
    kernel = _kernel(graph)[0]
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    return kernel[rng.integers(len(kernel), size=size)]
