"""
What is the symmetry of my molecule or crystal, and how sure is it?
===================================================================

:func:`symbreak.detect_symmetry` answers "which point group, which operations, which atoms are
equivalent" for a molecule, and :func:`symbreak.detect.detect_crystal` answers it for a crystal
(through spglib). This page reads every part of the answer, then asks how sure it is: what the
tolerance ``tol`` (in Å) means, what ``tol="auto"`` chooses, and what its ``margin`` says.
"""

# sphinx_gallery_thumbnail_number = 1
import matplotlib.pyplot as plt
import numpy as np
from ase.build import bulk, molecule
from ase.spacegroup import crystal

import symbreak
from symbreak.detect import detect_crystal
from symbreak.groups import character_table
from symbreak.testing import assert_same_point_set, random_transform

# %%
# A molecule: its point group and operations
# ------------------------------------------
# Ammonia from ASE's built-in molecules. ``detect_symmetry`` takes an ASE ``Atoms`` (or
# ``positions, numbers``) and returns an immutable :class:`~symbreak.Symmetry`.

ammonia = molecule("NH3")
sym = symbreak.detect_symmetry(ammonia)  # tol=0.1 Å by default
print(sym)
print("point group:", sym.point_group, " order:", sym.order, " σ (rotational symmetry number):", sym.rotational_symmetry_number)

# %%
# ``operations`` is (k, 3, 3): each matrix R acts on positions about ``center``,
# ``R @ (x_i - center) ≈ x_j - center`` with ``j = permutations[g, i]``: atom ``i`` is carried
# onto atom ``permutations[g, i]``. ``residuals`` is the largest displacement (Å) of an atom under
# each operation. A small helper names each matrix by its kind, angle and axis.


def describe(r: np.ndarray) -> str:
    """'E', 'C3 about (0, 0, 1)', 'σ ⊥ (1, 0, 0)', 'i' or 'S6 about ...' for an orthogonal matrix."""
    det = np.linalg.det(r)
    proper = r if det > 0 else -r  # an improper R is −(a rotation): σ = −C2, i = −E, S_n = −C_{n/2}'s kin
    angle = np.degrees(np.arccos(np.clip((np.trace(proper) - 1) / 2, -1, 1)))
    w, v = np.linalg.eig(proper)
    axis = np.real(v[:, np.argmin(abs(w - 1))])
    axis = np.round(axis * np.sign(axis[np.argmax(abs(axis))]), 2) + 0.0  # + 0.0: no "-0.00"
    ax = "(" + ", ".join(f"{a:+.2f}" for a in axis) + ")"
    if det > 0:
        return "E" if angle < 1e-6 else f"C{round(360 / angle)} about {ax}"
    if angle < 1e-6:
        return "i"
    if abs(angle - 180) < 1e-6:
        return f"σ ⊥ {ax}"
    return f"S{round(360 / (180 - angle))} about {ax}"


print(f"{'g':>2}  {'operation':<34} {'permutation':<14} residual (Å)")
for g, (r, perm, res) in enumerate(zip(sym.operations, sym.permutations, sym.residuals)):
    print(f"{g:>2}  {describe(r):<34} {str(perm.tolist()):<14} {res:.1e}")

# %%
# The character table of the group (Cotton's conventions), for naming what transforms how:

print(character_table(sym.point_group))

# %%
# Equivalent atoms: orbits and the asymmetric unit
# ------------------------------------------------
# ``orbits`` are the symmetry-equivalence classes of atoms; ``asymmetric_unit`` holds one
# representative per orbit. Benzene has two orbits (six C, six H); methanol's Cs keeps every atom
# but two hydrogens on its own. ``canonical_positions`` is the structure in its canonical frame:
# the same numbers for every rotated, reflected, translated or permuted copy.

for name in ("C6H6", "CH3OH", "CH4", "C2H6"):
    s = symbreak.detect_symmetry(molecule(name))
    symbols = molecule(name).get_chemical_symbols()
    orbits = ["".join(symbols[o[0]]) + str(o.tolist()) for o in s.orbits]
    print(f"{name:6s} {s.point_group:4s} orbits: {'  '.join(orbits)}   asymmetric unit: {s.asymmetric_unit.tolist()}")

moved, numbers, rotation, shift, perm = random_transform(ammonia.positions, ammonia.numbers, seed=1)  # an O(3) element, a shift, a relabelling
again = symbreak.detect_symmetry(moved, numbers)
assert_same_point_set(again.canonical_positions, numbers, sym.canonical_positions, ammonia.numbers, atol=1e-6)
print(f"det R = {np.linalg.det(rotation):+.0f}, shift {np.round(shift, 2)}, relabelling {perm.tolist()}: same canonical positions")
print(np.round(again.canonical_positions, 4) + 0.0)

# %%
# How sure is it? The tolerance
# -----------------------------
# ``tol`` (Å) is the largest displacement of any atom that an accepted operation may cause.
# A structure within ``tol`` of a higher symmetry *gets* that higher symmetry. ASE's CH3O radical is
# Jahn–Teller distorted 0.069 Å away from C3v: it reads C3v at the default 0.1 Å and Cs at 0.03 Å.

ch3o = molecule("CH3O")
for tol in (0.1, 0.03):
    s = symbreak.detect_symmetry(ch3o, tol=tol)
    print(f"CH3O at tol {tol:>4} Å: {s.point_group:4s} (largest residual {s.max_residual:.3f} Å)")

# %%
# ``tol="auto"`` lets the structure choose: detection runs on a ladder of tolerances, and a group
# wins when its residuals stand clearly apart from those of the next larger group. ``Symmetry.tol``
# is then a tolerance inside the chosen plateau and ``Symmetry.margin`` says how clearly the answer
# stood out (the residual of the nearest rejected larger group over the largest accepted residual):
# distrust a margin below 2.

s = symbreak.detect_symmetry(ch3o, tol="auto")
print(f"CH3O with tol='auto': {s.point_group}, tol {s.tol:.3g} Å, margin {s.margin:.3g}")

# %%
# Now noise. Benzene with Gaussian noise σ on every coordinate (seeded): three fixed tolerances
# against ``auto``. A fixed tolerance right for one noise level is wrong for another (0.01 Å loses
# the symmetry at the smallest noise, 0.3 Å would merge a real 0.1 Å distortion). ``auto`` follows
# the noise and keeps D6h up to σ = 0.03 Å; beyond that it reads D2h, and its margin, near 2 and
# then below, says the answer is no longer clear.

benzene = molecule("C6H6")
sigmas = [0.0, 0.002, 0.005, 0.01, 0.02, 0.03, 0.05, 0.07, 0.1]
fixed = (0.01, 0.1, 0.3)
rows = []
print(f"{'σ (Å)':>6}  " + "  ".join(f"tol {t:<4}" for t in fixed) + "   auto   tol chosen  margin")
for sigma in sigmas:
    noisy = benzene.positions + np.random.default_rng(1).normal(scale=sigma, size=benzene.positions.shape)
    reads = [symbreak.detect_symmetry(noisy, benzene.numbers, tol=t) for t in fixed]
    auto = symbreak.detect_symmetry(noisy, benzene.numbers, tol="auto")
    rows.append((sigma, [r.order for r in reads], auto.order, auto.margin))
    print(f"{sigma:6.3f}  " + "  ".join(f"{r.point_group:8s}" for r in reads) + f"   {auto.point_group:5s}  {auto.tol:8.3f}   {auto.margin:.3g}")

# %%
# The same readings as a figure: the order of the group found (D6h has 24 elements), and the margin
# of ``auto`` (the dashed line is the "distrust below 2" rule).

fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.6))
x = np.array([s for s, *_ in rows])
for k, t in enumerate(fixed):
    ax1.plot(x, [r[1][k] for r in rows], "o-", label=f"tol {t} Å", alpha=0.8)
ax1.plot(x, [r[2] for r in rows], "k*--", ms=10, label="tol='auto'")
ax1.set_xlabel("noise σ per coordinate (Å)")
ax1.set_ylabel("order of the group found")
ax1.set_yscale("log", base=2)
ax1.set_title("benzene (D6h, order 24) under noise")
ax1.legend(fontsize=8)
ax2.semilogy(x, [r[3] for r in rows], "k*-", ms=10)
ax2.axhline(2, ls="--", color="gray")
ax2.set_xlabel("noise σ per coordinate (Å)")
ax2.set_ylabel("margin of tol='auto'")
ax2.set_title("how clearly the answer stood out")
fig.tight_layout()

# %%
# Crystals: space group, crystal class, site symmetries
# -----------------------------------------------------
# A periodic structure has a space group, not a point group. ``detect_symmetry`` refuses a periodic
# ``Atoms`` (so a unit cell is never read as a molecule); ``detect_crystal`` asks spglib (the
# ``crystal`` extra). Rutile, built here from its space group and Wyckoff positions:

rutile = crystal(["Ti", "O"], basis=[(0, 0, 0), (0.3053, 0.3053, 0)], spacegroup=136, cellpar=[4.594, 4.594, 2.959, 90, 90, 90])
try:
    symbreak.detect_symmetry(rutile)
except symbreak.StructureError as exc:
    print("detect_symmetry:", exc)
cs = detect_crystal(rutile)
print(cs)
print("crystal class:", cs.point_group, f"({cs.point_group_hm})", " Cartesian operations:", cs.operations.shape)
for orbit in cs.orbits:
    print(f"  orbit {rutile.get_chemical_symbols()[orbit[0]]:2s} atoms {orbit.tolist()}  site symmetry {cs.site_symmetries[orbit[0]]}")
print("rock salt:", detect_crystal(bulk("NaCl", "rocksalt", a=5.64)))

# %%
# ``symprec`` (Å) plays the role of ``tol`` for crystals. Tetragonal BaTiO3 (P4mm; Ti and O moved
# by 0.07 Å along c, a = 3.990 Å, c = 4.103 Å) reads as the cubic perovskite once ``symprec``
# exceeds its distortion.

a, c = 3.990, 4.103
batio3 = crystal(["Ba", "Ti", "O", "O"], basis=[(0, 0, 0), (0.5, 0.5, 0.482), (0.5, 0.5, 0.016), (0.5, 0, 0.515)],
                 spacegroup=99, cellpar=[a, a, c, 90, 90, 90])
for symprec in (1e-3, 0.1, 0.2):
    cs = detect_crystal(batio3, symprec=symprec)
    print(f"BaTiO3 at symprec {symprec:<5} Å: {cs.space_group:7s} (No. {cs.number}), crystal class {cs.point_group_hm}, order {cs.order}")

plt.show()
