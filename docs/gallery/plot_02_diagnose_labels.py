"""
Which symmetries do my labels break?
====================================

An exactly equivariant model maps a structure of point group G to an output that keeps all of G
(the Curie principle). Before choosing a model, ask of every labelled structure: does the label keep
G, or only a subgroup? :func:`symbreak.detect.diagnose` answers it for a whole data set of ASE
``Atoms``: it detects G, moves the labels by every g ∈ G, :math:`(g\\cdot y)_{\\pi_g(i)} = \\rho(R_g)\\,y_i`,
and reports how much each g changes them (:math:`b_g = \\max_i \\|(g\\cdot y)_i - y_i\\|`) and the
subgroup they keep. (The command line does the same: ``symbreak diagnose data.extxyz --labels dipoles``.)
"""

import matplotlib.pyplot as plt
import numpy as np
from ase.build import molecule

import symbreak
from symbreak.detect import diagnose, diagnose_labels
from symbreak.tasks import load_dipoles

# %%
# A small data set with labels made in code
# -----------------------------------------
# Per-atom labels live in ``atoms.arrays[name]`` ((n, 3) for vectors), per-structure labels in
# ``atoms.info[name]``; results a calculator stored (forces, energies, charges) are read too.
# Each structure below gets a vector per atom under the key ``"target"``:

rng = np.random.default_rng(0)


def labelled(name: str, vectors: np.ndarray, note: str):
    atoms = molecule(name)
    atoms.arrays["target"] = np.asarray(vectors, dtype=float)
    atoms.info["name"] = f"{name}: {note}"
    return atoms


water = molecule("H2O")  # O at the origin, the H atoms in the yz plane
o, h1, h2 = water.positions
sym_stretch = np.array([[0, 0, -0.1], *(0.1 * (h - o) / np.linalg.norm(h - o) for h in (h1, h2))])
asym_stretch = np.array([[0, 0.1, 0], 0.1 * (h1 - o) / np.linalg.norm(h1 - o), -0.1 * (h2 - o) / np.linalg.norm(h2 - o)])
nh3 = molecule("NH3")
one_h = np.zeros((4, 3))
one_h[1] = nh3.positions[1] - nh3.positions[0]  # only the first H moves, along its bond
benzene = molecule("C6H6")
frames = [
    labelled("H2O", sym_stretch, "symmetric stretch"),
    labelled("H2O", asym_stretch, "asymmetric stretch"),
    labelled("NH3", one_h, "one N-H bond stretched"),
    labelled("C6H6", 0.1 * benzene.positions, "breathing"),
    labelled("CH4", rng.normal(scale=0.1, size=(5, 3)), "random vectors"),
    labelled("CO2", np.tile([0.0, 0.0, 0.1], (3, 1)), "all atoms along the axis"),
]
diagnosis = diagnose(frames, "target")  # rep: "1o" for 3 numbers per atom; tol: 0.1 Å
print(diagnosis.report())

# %%
# Each structure's record: its group, how much each operation changes the labels (``breaks``,
# in label units, one per operation of ``Symmetry.operations``), the kept subgroup and the case.

for s in diagnosis.structures:
    print(f"{s.name:38s} {s.point_group:4s} → keeps {s.kept:4s}  {s.case:6s} largest b_g {s.max_break:.3f}")

# %%
# The asymmetric stretch of water keeps the molecular plane (its mirror moves each label onto
# itself) and breaks the C2 axis and the perpendicular mirror, which swap the two H atoms and
# flip their vectors. That is the label of an ideal output of point group Cs: a symmetric model
# could only predict its average over C2v, which is zero here.



def name_of(r: np.ndarray) -> str:
    """E, C2 about an axis, or σ with its plane's normal (enough for water's C2v)."""
    if np.allclose(r, np.eye(3)):
        return "E"
    w, v = np.linalg.eigh((r + r.T) / 2)
    if np.linalg.det(r) > 0:
        return f"C2 about {np.round(v[:, np.argmax(w)], 2) + 0.0}"
    return f"σ ⊥ {np.round(v[:, np.argmin(w)], 2) + 0.0}"


water_sym = symbreak.detect_symmetry(water)  # the same detection diagnose ran (tol 0.1 Å)
for r, b in zip(water_sym.operations, diagnosis.structures[1].breaks):
    print(f"{name_of(r):24s} b_g = {b:.3f}")

# %%
# ``rep`` says how the labels transform: ``"1o"`` vectors (dipoles, forces, displacements),
# ``"1e"`` pseudovectors (a magnetic moment: a mirror flips it the other way), ``"0e"`` scalars,
# ``"tensors"`` (3 × 3), or any e3nn irreps string. The same numbers read as pseudovectors keep
# another subgroup; one structure at a time, :func:`~symbreak.detect.diagnose_labels` does the work:

for rep in ("1o", "1e"):
    d = diagnose_labels(water.positions, water.numbers, sym_stretch, rep=rep)
    print(f"water's symmetric stretch read as {rep}: keeps {d.kept} of {d.point_group}")

# %%
# ``label_tol`` is the largest change (label units) that still counts as kept, the labels' own
# tolerance beside the structures' ``tol`` in Å: a label that breaks the symmetry by less than it
# is read as symmetric.

tiny = sym_stretch + np.array([[0, 0.002, 0], [0, 0, 0], [0, 0, 0]])  # O's vector tilted by 0.002
for label_tol in (1e-3, 1e-2):
    d = diagnose_labels(water.positions, water.numbers, tiny, label_tol=label_tol)
    print(f"label_tol {label_tol:g}: keeps {d.kept} (largest b_g {d.max_break:.3g})")

# %%
# A real data set: the shipped atomic dipoles
# -------------------------------------------
# symbreak ships 440 structures of 93 small molecules with GFN2-xTB atomic dipoles (e·bohr) in
# ``atoms.arrays["dipoles"]`` (:func:`symbreak.tasks.load_dipoles`; the structures are distorted
# conformers, so most have little symmetry). Their symmetries are read at 0.2 Å, the tolerance the
# set was curated at.

dipoles = load_dipoles("gfn2")
census = diagnose(dipoles, "dipoles", tol=0.2).census()
print(f"{census['structures']} structures; cases: {census['cases']}")
print(f"{census['curie']} targets are less symmetric than their input (no exactly equivariant model can fit them)")
print("most frequent input → kept:", dict(list(census["kept_subgroups"].items())[:6]))

# %%
# The census as a figure: how many structures of each point group, and how many of them carry
# labels that break it (all of them, here: the data set was made to), and the most frequent
# transitions G → kept subgroup.

groups = list(census["by_point_group"])
total = [sum(census["by_point_group"][g].values()) for g in groups]
broken = [census["by_point_group"][g].get("breaks", 0) for g in groups]
transitions = list(census["kept_subgroups"].items())[:10]
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 3.8))
xs = np.arange(len(groups))
ax1.bar(xs, total, color="#c8d3e0", label="structures")
ax1.bar(xs, broken, width=0.5, color="#c0504d", label="labels break the group")
ax1.set_xticks(xs, groups, rotation=45)
ax1.set_ylabel("structures")
ax1.legend()
ax1.set_title("GFN2-xTB atomic dipoles: input point groups")
ax2.barh([t for t, _ in transitions][::-1], [n for _, n in transitions][::-1], color="#c0504d")
ax2.set_xlabel("structures")
ax2.set_title("input group → subgroup the labels keep")
fig.tight_layout()

# %%
# What fits each case, as the report says it: labels that keep their structure's group can be
# fitted by any exactly equivariant model; labels that break it need a symmetry-breaking loss with
# a relaxed model, or a symmetry-breaking input (the next examples).

for case, text in census["mechanisms"].items():
    print(f"{case}: {text}")

plt.show()
