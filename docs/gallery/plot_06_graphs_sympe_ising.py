"""
Probabilistic symmetry breaking on graphs: the inversion kernel and the Ising model
===================================================================================

On a graph the group is :math:`S_n`, relabelling the nodes, and a message-passing network gives
automorphic nodes (nodes a symmetry of the graph exchanges) equal outputs: the graph version of the
Curie principle. SymPE (Lawrence et al., ICLR 2025) breaks it with a *random* input whose law is
equivariant: draw a labelling uniformly from the graph's **inversion kernel** (every relabelling
that brings the graph to its canonical form, a coset of its automorphism group) and give each node
a learned vector read at its label. One draw breaks all of the graph's symmetry; the draws together
keep it. :mod:`symbreak.graphs` computes the kernel exactly; the ``ising`` task trains the networks.
"""

import tempfile

import matplotlib.pyplot as plt
import numpy as np
import torch

from symbreak.bench import run_benchmark
from symbreak.graphs import ColoredGraph, automorphisms, canonical_form, graph_kernel, sample_graph_kernel
from symbreak.tasks import get_task, ground_states, ising_lattice

torch.set_num_threads(1)

# %%
# The inversion kernel of a hexagon
# ---------------------------------
# A :class:`~symbreak.graphs.ColoredGraph` has n nodes, node colours and coloured undirected edges.
# The 6-cycle's automorphisms are the 12 elements of D6 (6 turns, 6 reflections). ``automorphisms``
# gives them as permutations, ``canonical_form`` the graph relabelled canonically (the same graph for
# every isomorphic copy), and ``graph_kernel`` every labelling σ (node i gets label σ[i]) that reaches
# it: as many as there are automorphisms.

hexagon = ColoredGraph.make(6, [(i, (i + 1) % 6) for i in range(6)])
aut = automorphisms(hexagon)
kernel = graph_kernel(hexagon)
canon = canonical_form(hexagon)
print("automorphisms:", aut.shape, " kernel:", kernel.shape)
print("canonical form's edges:", canon.edges)
print("every kernel element relabels the hexagon onto its canonical form:", all(hexagon.relabel(s) == canon for s in kernel))

# %%
# Relabel the graph by a random π: its canonical form is the same, and its kernel is the old one
# composed with π⁻¹ (the kernel turns with the input, which is what makes the law of the draws
# equivariant). We check it as sets of labellings.

rng = np.random.default_rng(0)
pi = rng.permutation(6)
moved = hexagon.relabel(pi)
moved_kernel = graph_kernel(moved)
expected = {tuple(s[np.argsort(pi)]) for s in kernel}  # node pi[i] of the copy is node i of the original
print("same canonical form:", canonical_form(moved) == canon, "| K(πG) = K(G)∘π⁻¹:", {tuple(s) for s in moved_kernel} == expected)

# %%
# Sampling is uniform over the kernel (seeded). Each draw gives every node a distinct label, so a
# network reading "the learned vector at my label" can tell every node apart; over the draws no node
# is preferred: each gets each label equally often.

draws = sample_graph_kernel(hexagon, size=6000, seed=0)
counts = np.array([[np.sum(draws[:, node] == label) for label in range(6)] for node in range(6)])
print("draws (6000, 6); how often node i gets label j:\n", counts)

# %%
# The Ising model: ground states that break the lattice's symmetry
# ----------------------------------------------------------------
# A 4 × 4 periodic lattice with couplings J on its edges, energy :math:`E(s) = \sum_{(ij)} J_{ij} s_i s_j`.
# The antiferromagnet (J = +1 between nearest neighbours) has two ground states, the checkerboards.
# Every node of the torus is equivalent to every other, so an equivariant network predicts the same
# spin everywhere, and no checkerboard is within its reach.

lattice, couplings = ising_lattice("antiferro")
states, e0 = ground_states("antiferro")
print(f"{lattice.n} nodes, {len(lattice.edges)} edges, couplings {np.unique(couplings)}; automorphisms: {len(automorphisms(lattice))}")
print(f"{len(states)} ground states of energy {e0:g}:\n{states.reshape(-1, 4, 4).astype(int)}")

# %%
# The ``ising`` benchmark trains the same graph network with each way of breaking its symmetry (the
# task's own model list: the network alone, random node features, a fixed canonical labelling, and
# SymPE), with the squared error to the nearest ground state as loss, then tests it on the lattice
# with its nodes relabelled at random, over 20 draws of any random input. ``gap`` is the energy per
# spin of sign(m) above the ground state, ``found`` the share of draws that reach a ground state.
# One seed and 60 epochs here (``--quick``); the published run is ``symbreak bench ising``.

task = get_task("ising")
print("models:", task.models)
with tempfile.TemporaryDirectory() as out:
    result = run_benchmark("ising", subtasks=["antiferro"], folds=1, epochs=60, progress=False, out=out, device="cpu")
rows = {r["model"]: r["test"] for r in result.records}
print(f"{'model':20s} {'gap / spin':>10s} {'found':>6s} {'undecided':>9s}")
for model, t in rows.items():
    print(f"{model:20s} {t['gap']:10.3f} {t['found']:6.2f} {t['undecided']:9.2f}")

# %%
# The network alone predicts one spin everywhere and pays the full gap of 4 per spin (both bonds of
# every spin frustrated). Random node features break the symmetry in each draw, but only some draws
# lead to a ground state; canonical labels and SymPE find one in every draw. On these tests the two
# tie, as they must: the test lattice is a relabelling of the training one, so both see the same
# canonical form. What SymPE adds, a law of outputs that turns with the input, these scores do not
# reward.
#
# The figure: three SymPE draws of labels on the hexagon (each a different but equivalent way to
# tell the nodes apart), the two ground states the networks must choose between, and the scores.

fig, axes = plt.subplots(1, 6, figsize=(15, 2.9), gridspec_kw={"width_ratios": [1, 1, 1, 1, 1, 1.8]})
angles = np.pi / 2 - 2 * np.pi * np.arange(6) / 6
xy = np.stack([np.cos(angles), np.sin(angles)], axis=1)
for ax, draw in zip(axes[:3], draws[:3]):
    for a, b in hexagon.edges:
        ax.plot(*xy[[a, b]].T, "k-", lw=1)
    ax.scatter(*xy.T, s=380, c=draw, cmap="viridis", edgecolors="k", zorder=2)
    for (x, y), label in zip(xy, draw):
        ax.text(x, y, str(label), ha="center", va="center", color="w", fontsize=9, zorder=3)
    ax.set_title("a SymPE draw of labels", fontsize=9)
    ax.set_xlim(-1.35, 1.35)
    ax.set_ylim(-1.35, 1.35)
for ax, s in zip(axes[3:5], states):
    ax.imshow(s.reshape(4, 4), cmap="coolwarm", vmin=-1, vmax=1)
    ax.set_title("a ground state", fontsize=9)
for ax in axes[:5]:
    ax.set_aspect("equal")
    ax.axis("off")
names = list(rows)
axes[5].bar(range(len(names)), [rows[m]["found"] for m in names], color="#1f5fa8")
axes[5].set_xticks(range(len(names)), names, rotation=20, ha="right", fontsize=8)
axes[5].set_ylabel("share of draws that\nfind a ground state", fontsize=8)
axes[5].set_ylim(0, 1.05)
fig.tight_layout()
plt.show()
