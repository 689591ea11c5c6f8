"""Graphs: canonical labelling, automorphisms and the inversion kernel of S_n (SymPE on graphs), a small
message-passing network, and its symmetry-breaking node inputs as registered models (``"graphnet+sympe"``)."""

from ._canonical import ColoredGraph, automorphisms, canonical_form, graph_kernel, sample_graph_kernel
from ._gnn import GraphBatch, GraphNet, NodeBreaker, collate_graphs
from ._inputs import LEGACY_NAMES, CanonicalLabels, GraphModel, GraphSymPE, RandomNodeFeatures

__all__ = [
    "ColoredGraph", "graph_kernel", "canonical_form", "automorphisms", "sample_graph_kernel", "GraphNet", "GraphBatch", "collate_graphs",
    "GraphModel", "RandomNodeFeatures", "GraphSymPE", "CanonicalLabels", "LEGACY_NAMES", "NodeBreaker",
]  # fmt: skip
