"""
Symmetry-breaking sets: read the table, choose the subgroup, use a set of objects
=================================================================================

Xie & Smidt's way past the Curie principle *without* giving up equivariance: give the network,
besides its symmetric input of point group G, one element b of a set B of objects that is closed
under the normalizer N of G (so the set turns with the structure), where each element breaks G down
to the output symmetry K. This page reads symbreak's table of such sets, picks the right one when
a group has several subgroups of the same type (which mirror?), and uses a set of general objects
where vectors cannot reach the target. Everything here is group theory in
:mod:`symbreak.groups`; ``symbreak sbs G K`` prints the same on the command line.
"""

import matplotlib.pyplot as plt
import numpy as np
import torch

import symbreak
from symbreak import PointGroup
from symbreak.detect import diagnose_labels
from symbreak.groups import are_conjugate_in, minimal_sbs, sbs_table, subgroups, symmetry_breaking_set
from symbreak.models import build_model
from symbreak.tasks import sbs_example

torch.set_num_threads(1)

# %%
# Read the table
# --------------
# For an input group G, one row per type of subgroup K: the size of the smallest set of unit vectors
# closed under N whose every element keeps K (``ideal``), else the largest subgroup of K a vector can
# keep (``stabilizer``); whether the set is equivariant (N finite); the size when only rotations
# matter (``size_proper``); and the smallest ideal set of *any* objects (``any_size``), which reaches
# the bound :math:`|G|/|K|` when it is a complement. ``symbreak sbs --table DIR`` writes it for every point
# group (docs/sbs/sbs_table.md); here the triangular prism's D3h.

rows = sbs_table(["D3h"])
print(f"{'G':4s} {'K':4s} {'vectors':>7s} {'each keeps':>10s} {'ideal':>5s} {'N':>4s} {'proper':>6s} {'objects':>7s} {'|G|/|K|':>7s}")
for r in rows:
    print(f"{r['group']:4s} {r['target']:4s} {r['size']:7d} {r['stabilizer']:>10s} {str(r['ideal']):>5s} {r['normalizer']:>4s} "
          f"{r['size_proper']:6d} {r['any_size']:7d} {r['any_bound']:7d}")

# %%
# Breaking the prism to Cs takes 6 vectors; to C3h (keeping σh and the 3-fold axis) no vector is ideal,
# the closest break further to Cs, while 2 objects do it. One set in full, in G's standard
# orientation (the main axis along z):

cs = symmetry_breaking_set("D3h", "Cs")
print(cs.size, "vectors, each keeping", cs.stabilizer, "| closed under", cs.normalizer, "| equivariant:", cs.equivariant)
print(np.round(cs.vectors, 3) + 0.0)

# %%
# Choose the subgroup: which mirror?
# ----------------------------------
# "Cs" names a *type*: D3h holds four mirror subgroups in two classes, the horizontal mirror σh and
# the three vertical mirrors σv (conjugate to each other). By name, the smallest set is returned,
# whichever class it keeps. To say which, pass a :class:`~symbreak.groups.Subgroup` of the group
# (from :func:`~symbreak.groups.subgroups`): the set then keeps that subgroup, up to conjugacy.

d3h = PointGroup("D3h")
mirrors = [s for s in subgroups(d3h) if s.name == "Cs"]
classes: list[list] = []
for s in mirrors:
    for c in classes:
        if are_conjugate_in(s, c[0]):
            c.append(s)
            break
    else:
        classes.append([s])


def mirror_normal(subgroup) -> np.ndarray:
    """The normal of the mirror plane of a Cs subgroup (the −1 eigenvector of its reflection)."""
    reflection = next(op for op in subgroup.operations if not np.allclose(op, np.eye(3)))
    w, v = np.linalg.eigh(reflection)
    return np.round(v[:, np.argmin(w)], 3) + 0.0


chosen = {}
for c in classes:
    b = symmetry_breaking_set(d3h, c[0])
    chosen[tuple(mirror_normal(c[0]))] = b
    print(f"class of {len(c)} mirror(s), e.g. normal {mirror_normal(c[0])}: {b.size} vectors, ideal {b.ideal}, "
          f"z-components {np.unique(np.round(np.abs(b.vectors[:, 2]), 3)).tolist()}")

# %%
# The σh class takes the 6 in-plane vectors (a vector in the plane of σh is kept by σh alone); a
# vertical mirror takes 12 vectors tilted out of the plane (inside one σv plane, off the axes).
# Which one a target needs is read from the target itself: the prism's shear keeps the operation
# whose break is 0 besides the identity; its plane's normal is the prism's axis, so σh, the set the
# name "Cs" returned.

prism = sbs_example("prism")
sym = prism["symmetry"]
d = diagnose_labels(prism["positions"], prism["z"], prism["displacement"])
kept_op = next(op for op, b in zip(sym.operations, d.breaks) if b < 1e-9 and not np.allclose(op, np.eye(3)))
w, v = np.linalg.eigh(kept_op)
print("the prism's target keeps the mirror with normal", np.round(v[:, np.argmin(w)], 3) + 0.0, "(the prism's axis is z)")

# %%
# A caveat the group theory imposes: in water's C2v the two mirrors are different classes of G, but
# the normalizer of C2v (D4h) holds a 90° turn about the axis that swaps them. A set closed under N
# therefore holds vectors of both kinds, whichever mirror you pass: no *equivariant* set keeps "the
# molecular plane" rather than the other (the structure alone cannot tell a set which mirror is
# which). Per element, the kept mirror's normal:

c2v = PointGroup("C2v")
first = next(s for s in subgroups(c2v) if s.name == "Cs")
b = symmetry_breaking_set(c2v, first)
print(f"asked for the mirror with normal {mirror_normal(first)}:")
for vec in b.vectors:
    keeps = [op for op in c2v.operations if np.allclose(op @ vec, vec) and not np.allclose(op, np.eye(3))]
    print(f"  vector {np.round(vec, 3) + 0.0} keeps the mirror with normal {np.round(np.linalg.eigh(keeps[0])[1][:, 0], 3) + 0.0}")

# %%
# Use a set of objects
# --------------------
# A vector's stabilizer is axial (a subgroup of C∞v), so some targets are out of vectors' reach. The
# chiral octagon, D8h with its edge atoms all sliding the same way round (a pinwheel, C8h), is one:
# polar vectors break it further, to Cs, and 16 of them are needed.

octagon = sbs_example("octagon")
osym = octagon["symmetry"]
print("input", osym.point_group, "→ target keeps", diagnose_labels(octagon["positions"], octagon["z"], octagon["displacement"]).kept)
vec = symmetry_breaking_set("D8h", "C8h")
axial = symmetry_breaking_set("D8h", "C8h", axial=True)
print(f"polar vectors: {vec.size}, each keeping {vec.stabilizer} (ideal {vec.ideal}): {vec.note}")
print(f"pseudovectors: {axial.size}, each keeping {axial.stabilizer} (ideal {axial.ideal}): ±z, as the e3nn models' '+sbs-axial' reads them")

# %%
# :func:`~symbreak.groups.minimal_sbs` finds the smallest ideal equivariant set over *all* objects and
# returns each element as a concrete object with exactly the right symmetry: a point set M·p, with M
# the element's stabilizer in N (here C16h, the pinwheel of 32 points), in G's standard orientation.

best = minimal_sbs("D8h", "C8h")
print(best.to_dict())
print("objects:", best.objects.shape, "(elements, points per element, xyz)")

# %%
# Any model can read such an object as extra "ghost" atoms of their own type (here type 0), placed
# with the structure's frame (``Symmetry.orientation`` maps G's standard orientation onto the
# structure). The structure plus one object keeps exactly C8h, and so does the output of an exactly
# equivariant model on it (PaiNN, untrained, float64): the Curie principle, now on the pair. The two
# objects are mirror images; the two outputs are too. (The twist of the objects is small, so the
# symmetry of the pair is read at 1e-3 Å.)

torch.manual_seed(0)
model = build_model("painn", hidden=16).double().eval()
n = len(octagon["z"])
outputs = []
for k, obj in enumerate(best.objects):
    ghosts = osym.center + obj @ osym.orientation.T
    pos = np.concatenate([octagon["positions"], ghosts])
    z = np.concatenate([octagon["z"], np.zeros(len(ghosts), dtype=int)])
    pair = symbreak.detect_symmetry(pos, z, tol=1e-3)
    batch = type("Batch", (), {"z": torch.tensor(z), "pos": torch.tensor(pos)})()
    with torch.no_grad():
        out = model(batch).numpy()[:n]  # the real atoms' outputs
    outputs.append((ghosts, out))
    kept = diagnose_labels(octagon["positions"], octagon["z"], out, label_tol=1e-6 * np.abs(out).max()).kept
    print(f"object {k}: structure + object is {pair.point_group}; PaiNN's output on the atoms keeps {kept}")

# %%
# The sets of this page, seen from above: the prism's two choices of mirror (the vectors of each set,
# projected on the plane of the triangle; red: pointing up, blue: down, black: in the plane), and the octagon with each of its two objects and PaiNN's
# outputs on its atoms: mirror images of each other.

fig, axes = plt.subplots(1, 4, figsize=(14, 4.2))
for ax, (normal, b), title in zip(axes[:2], chosen.items(), ("σv", "σh")):
    t = np.radians([90.0, 210.0, 330.0])
    ax.scatter(1.2 * np.cos(t), 1.2 * np.sin(t), s=120, c="#c8d3e0", edgecolors="k")
    for vec in b.vectors:
        color = "k" if abs(vec[2]) < 1e-6 else ("#c0504d" if vec[2] > 0 else "#1f5fa8")
        ax.arrow(0, 0, vec[0], vec[1], width=0.02, color=color, alpha=0.7, length_includes_head=True)
    ax.set_xlim(-1.5, 1.5)
    ax.set_ylim(-1.5, 1.5)
    kind = "σh" if abs(normal[2]) > 0.5 else "σv"
    ax.set_title(f"D3h → Cs ({kind}): {b.size} vectors", fontsize=9)
for ax, (ghosts, out), k in zip(axes[2:], outputs, range(2)):
    p = octagon["positions"]
    ax.scatter(p[:, 0], p[:, 1], s=50, c=["#c8d3e0"] * 8 + ["#f2c14e"] * 8, edgecolors="k", zorder=2)
    ax.scatter(ghosts[:, 0], ghosts[:, 1], s=8, c="#c0504d", zorder=3)
    scale = 0.5 / np.abs(out).max()
    for x, o in zip(p, out):
        ax.arrow(x[0], x[1], scale * o[0], scale * o[1], width=0.015, color="#1f5fa8", length_includes_head=True, zorder=4)
    ax.set_title(f"octagon + object {k} (red): PaiNN's output", fontsize=9)
for ax in axes:
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
fig.tight_layout()
plt.show()
