"""Canonical labelling and the inversion kernel of S_n, against networkx's VF2 automorphisms."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
from networkx.algorithms.isomorphism import GraphMatcher, categorical_edge_match
from scipy import stats

from symbreak.graphs import ColoredGraph, automorphisms, canonical_form, graph_kernel, sample_graph_kernel

GRAPHS = {
    "cycle-9": nx.cycle_graph(9), "petersen": nx.petersen_graph(), "grid-3x4": nx.grid_2d_graph(3, 4),
    "torus-4x4": nx.grid_2d_graph(4, 4, periodic=True), "paley-13": nx.paley_graph(13).to_undirected(),
    "random": nx.gnm_random_graph(11, 18, seed=4), "K3,3": nx.complete_bipartite_graph(3, 3),
}  # fmt: skip


def colored(g, edge_color=None):
    g = nx.convert_node_labels_to_integers(g)
    edges = list(g.edges())
    return ColoredGraph.make(g.number_of_nodes(), edges, edge_colors=None if edge_color is None else [edge_color(a, b) for a, b in edges]), g


@pytest.mark.parametrize("name", sorted(GRAPHS))
def test_kernel_is_a_coset_of_the_automorphism_group(name):
    graph, g = colored(GRAPHS[name])
    kernel = graph_kernel(graph)
    assert len(kernel) == sum(1 for _ in GraphMatcher(g, g).isomorphisms_iter())  # |Aut(G)| by VF2
    assert len({k.tobytes() for k in kernel}) == len(kernel)
    canon = canonical_form(graph)
    assert all(graph.relabel(k) == canon for k in kernel)  # every element reaches the canonical form
    for a in automorphisms(graph):
        assert graph.relabel(a) == graph


@pytest.mark.parametrize("name", ["petersen", "torus-4x4", "random"])
def test_canonical_form_is_invariant_and_the_kernel_equivariant(name):
    graph, _ = colored(GRAPHS[name])
    base = graph_kernel(graph)
    rng = np.random.default_rng(0)
    for _ in range(3):
        pi = rng.permutation(graph.n)
        moved = graph.relabel(pi)
        assert canonical_form(moved) == canonical_form(graph)
        # K(πG) = K(G) ∘ π⁻¹: node π(i) of the moved graph gets the label node i got
        expected = base[:, np.argsort(pi)]
        assert {k.tobytes() for k in graph_kernel(moved)} == {k.tobytes() for k in expected}


def test_edge_colours_count():
    # a 4x4 torus whose horizontal bonds differ from its vertical ones has 4·4·4 = 64 automorphisms, not 384
    g = nx.convert_node_labels_to_integers(nx.grid_2d_graph(4, 4, periodic=True), label_attribute="rc")
    rc = nx.get_node_attributes(g, "rc")
    kind = lambda a, b: 1 if rc[a][0] == rc[b][0] else 2  # noqa: E731
    graph = ColoredGraph.make(16, list(g.edges()), edge_colors=[kind(a, b) for a, b in g.edges()])
    nx.set_edge_attributes(g, {(a, b): kind(a, b) for a, b in g.edges()}, "c")
    vf2 = sum(1 for _ in GraphMatcher(g, g, edge_match=categorical_edge_match("c", 0)).isomorphisms_iter())
    assert len(graph_kernel(graph)) == vf2 == 64


def test_draws_are_uniform_and_seeded():
    graph, _ = colored(nx.cycle_graph(6))
    kernel = graph_kernel(graph)
    draws = sample_graph_kernel(graph, 2400, seed=2)
    index = {k.tobytes(): i for i, k in enumerate(kernel)}
    counts = np.bincount([index[d.tobytes()] for d in draws], minlength=len(kernel))
    assert len(kernel) == 12 and stats.chisquare(counts).pvalue > 1e-3
    assert stats.chisquare(np.bincount([index[d.tobytes()] % 3 for d in draws], minlength=12)).pvalue < 1e-6
    np.testing.assert_array_equal(draws, sample_graph_kernel(graph, 2400, seed=2))


def test_bad_graphs_are_refused():
    with pytest.raises(ValueError, match="different nodes"):
        ColoredGraph.make(3, [(0, 0)])
    with pytest.raises(ValueError, match="twice"):
        ColoredGraph.make(3, [(0, 1), (1, 0)])
    with pytest.raises(ValueError, match="one colour"):
        ColoredGraph.make(3, [(0, 1)], colors=[0, 1])


def _torch():
    return pytest.importorskip("torch")


def test_graph_tasks_smoke_and_curie(tmp_path):
    _torch()
    from symbreak.bench import run_benchmark

    ae = run_benchmark("graph-autoencoding", models=["graphnet", "graphnet+sympe"], folds=1, epochs=60, out=tmp_path / "ae", progress=False)
    err = {r["model"]: r["test"]["pair_error"] for r in ae.records}
    assert err["graphnet+sympe"] < 0.5 * err["graphnet"]
    ising = run_benchmark("ising", models=["graphnet", "graphnet+sympe"], subtasks=["antiferro"], folds=1, epochs=60, out=tmp_path / "is", progress=False)
    gap = {r["model"]: r["test"]["gap"] for r in ising.records}
    assert gap["graphnet"] == pytest.approx(4.0)  # a uniform prediction on a vertex-transitive lattice: every bond frustrated
    assert gap["graphnet+sympe"] < 4.0
