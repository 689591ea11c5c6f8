"""Graphs: canonical labelling, automorphisms and the inversion kernel of S_n (SymPE on graphs), and a small message-passing network."""

from ._canonical import ColoredGraph, automorphisms, canonical_form, graph_kernel, sample_graph_kernel
from ._gnn import BREAKERS, GraphBatch, GraphNet, NodeBreaker, collate_graphs

__all__ = ["ColoredGraph", "graph_kernel", "canonical_form", "automorphisms", "sample_graph_kernel", "GraphNet", "NodeBreaker", "GraphBatch", "collate_graphs", "BREAKERS"]
