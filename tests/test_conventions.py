"""docs/conventions.md, checked."""

import numpy as np
from ase.collections import g2

from symbreak import PointGroup, detect_symmetry
from symbreak.groups._matrices import rot_z


def test_active_rotation_about_z_turns_x_towards_y():
    np.testing.assert_allclose(rot_z(np.pi / 2) @ np.array([1.0, 0, 0]), [0, 1, 0], atol=1e-15)
    ops = PointGroup("C4").operations
    assert any(np.allclose(o, rot_z(np.pi / 2)) for o in ops)


def test_operations_and_permutations_about_the_centroid():
    atoms = g2["NH3"]
    sym = detect_symmetry(atoms)
    np.testing.assert_allclose(sym.center, atoms.positions.mean(axis=0))
    x = atoms.positions - sym.center
    for r, p in zip(sym.operations, sym.permutations):
        np.testing.assert_allclose(x @ r.T, x[p], atol=1e-5)  # atom i goes to atom p[i]


def test_composition_order():
    sym = detect_symmetry(g2["C6H6"])
    ops, perms = sym.operations, sym.permutations
    i, j = 3, 7
    prod = ops[i] @ ops[j]
    k = int(np.argmin(np.linalg.norm(ops - prod, axis=(1, 2))))
    assert (perms[k] == perms[i][perms[j]]).all()
    g = PointGroup("D6h")
    np.testing.assert_allclose(g.operations[i] @ g.operations[j], g.operations[g.cayley_table[i, j]], atol=1e-12)


def test_standard_orientations():
    def has(group, m):
        return any(np.allclose(o, m, atol=1e-12) for o in PointGroup(group).operations)

    assert has("D3", np.diag([1.0, -1, -1]))  # C2 along x
    assert has("C3v", np.diag([1.0, -1, 1]))  # mirror xz
    assert has("Cs", np.diag([1.0, 1, -1]))  # mirror xy
    assert has("Td", np.array([[0.0, 1, 0], [1, 0, 0], [0, 0, 1]]))  # mirror x = y
    assert has("I", np.array([[0.0, 0, 1], [1, 0, 0], [0, 1, 0]]))  # C3 along (1,1,1)
    assert has("Ih", np.diag([-1.0, -1, 1]))  # C2 along z
    ops = PointGroup("Oh").operations
    assert np.allclose(ops[0], np.eye(3)) and (np.diff(np.linalg.det(ops) < 0) >= 0).all()


def test_orientation_maps_standard_onto_structure():
    sym = detect_symmetry(g2["CH4"])
    q = sym.orientation
    np.testing.assert_allclose(q @ sym.group.operations @ q.T, sym.operations, atol=1e-12)
    assert np.linalg.det(q) > 0
