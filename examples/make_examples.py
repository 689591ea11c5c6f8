"""Regenerate the example molecules in this folder (run: python examples/make_examples.py).

Water, ammonia, methane, benzene, CO2, ethane and allene come from ASE's G2 collection; SF6, C60,
ferrocene and bromochlorofluoromethane are built from idealised geometries below.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
from ase import Atoms
from ase.collections import g2

HERE = Path(__file__).parent


def sf6() -> Atoms:
    d = 1.564  # S–F bond length, Å
    pos = [[0, 0, 0]] + [list(s * d * e) for e in np.eye(3) for s in (1, -1)]
    return Atoms("SF6", positions=pos)


def c60() -> Atoms:
    phi = (1 + 5**0.5) / 2
    base = [(0, 1, 3 * phi), (1, 2 + phi, 2 * phi), (phi, 2, 2 * phi + 1)]
    pts = set()
    for b in base:
        for signs in itertools.product((1, -1), repeat=3):
            v = tuple(s * c for s, c in zip(signs, b))
            for k in range(3):  # even (cyclic) permutations only
                pts.add(tuple(round(x, 10) for x in v[k:] + v[:k]))
    pos = np.array(sorted(pts)) * (1.42 / 2.0)  # edge length 2 in these units → 1.42 Å
    return Atoms("C60", positions=pos)


def ferrocene() -> Atoms:
    """Staggered ferrocene, D5d."""
    pos, sym = [[0.0, 0.0, 0.0]], ["Fe"]
    for z, offset in ((1.66, 0.0), (-1.66, np.pi / 5)):
        for k in range(5):
            a = 2 * np.pi * k / 5 + offset
            pos.append([1.22 * np.cos(a), 1.22 * np.sin(a), z])
            sym.append("C")
            pos.append([2.30 * np.cos(a), 2.30 * np.sin(a), z * 1.03])
            sym.append("H")
    return Atoms(sym, positions=pos)


def bromochlorofluoromethane() -> Atoms:
    """CHFClBr: a chiral molecule (C1), the (S) enantiomer."""
    t = np.array([[1, 1, 1], [1, -1, -1], [-1, 1, -1], [-1, -1, 1]]) / np.sqrt(3)
    bonds = {"H": 1.09, "F": 1.35, "Cl": 1.77, "Br": 1.94}
    pos = [[0, 0, 0]] + [list(t[i] * b) for i, b in enumerate(bonds.values())]
    return Atoms("C" + "".join(bonds), positions=pos)


def main() -> None:
    molecules = {
        "water": g2["H2O"],
        "ammonia": g2["NH3"],
        "methane": g2["CH4"],
        "benzene": g2["C6H6"],
        "carbon_dioxide": g2["CO2"],
        "ethane": g2["C2H6"],
        "allene": g2["C3H4_D2d"],
        "sulfur_hexafluoride": sf6(),
        "buckminsterfullerene": c60(),
        "ferrocene": ferrocene(),
        "bromochlorofluoromethane": bromochlorofluoromethane(),
    }
    for name, atoms in molecules.items():
        atoms.write(HERE / f"{name}.xyz", format="xyz", comment=name)
    rutile().write(HERE / "rutile.cif")


def rutile():
    """Rutile TiO2, a crystal: space group P4_2/mnm (136), crystal class D4h."""
    from ase.spacegroup import crystal

    return crystal(["Ti", "O"], basis=[(0, 0, 0), (0.3, 0.3, 0)], spacegroup=136, cellpar=[4.6, 4.6, 2.95, 90, 90, 90])


if __name__ == "__main__":
    main()
