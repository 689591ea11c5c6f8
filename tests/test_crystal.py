"""Crystals: space groups, crystal classes and site symmetries through spglib."""

import numpy as np
import pytest

spglib = pytest.importorskip("spglib", reason="crystals need spglib: pip install -e '.[crystal]'")

from ase.build import bulk  # noqa: E402
from ase.spacegroup import crystal  # noqa: E402

from symbreak import StructureError, detect_symmetry  # noqa: E402
from symbreak.cli import main  # noqa: E402
from symbreak.detect import detect_crystal  # noqa: E402
from symbreak.rotations import random_rotations  # noqa: E402

CASES = [
    ("NaCl", lambda: bulk("NaCl", "rocksalt", a=5.64), "Fm-3m", 225, "Oh"),
    ("diamond", lambda: bulk("C", "diamond", a=3.57), "Fd-3m", 227, "Oh"),
    ("rutile", lambda: crystal(["Ti", "O"], basis=[(0, 0, 0), (0.3, 0.3, 0)], spacegroup=136, cellpar=[4.6, 4.6, 2.95, 90, 90, 90]), "P4_2/mnm", 136, "D4h"),
    ("wurtzite", lambda: bulk("ZnO", "wurtzite", a=3.25, c=5.2), "P6_3mc", 186, "C6v"),
    ("quartz", lambda: crystal(["Si", "O"], basis=[(0.4697, 0, 0), (0.4135, 0.2669, 0.1191)], spacegroup=152, cellpar=[4.916, 4.916, 5.405, 90, 90, 120]), "P3_121", 152, "D3"),
]


@pytest.mark.parametrize(("name", "make", "space_group", "number", "point_group"), CASES, ids=[c[0] for c in CASES])
def test_space_group_and_crystal_class(name, make, space_group, number, point_group):
    atoms = make()
    sym = detect_crystal(atoms)
    assert (sym.space_group, sym.number, sym.point_group) == (space_group, number, point_group)
    # the crystal class acts on Cartesian vectors: orthogonal matrices forming a group of that order
    ops = sym.operations
    assert np.allclose(np.einsum("kji,kjl->kil", ops, ops), np.eye(3), atol=1e-8)
    products = np.round(np.einsum("aij,bjk->abik", ops, ops).reshape(-1, 9), 6)
    assert {tuple(p) for p in products} <= {tuple(o) for o in np.round(ops.reshape(-1, 9), 6)}
    # a rotated crystal (cell and atoms together) has the same space group and class
    r = random_rotations(1, seed=3)[0]
    turned = atoms.copy()
    turned.set_cell(atoms.cell[:] @ r.T, scale_atoms=True)
    assert (detect_crystal(turned).space_group, detect_crystal(turned).point_group) == (space_group, point_group)


def test_site_symmetries_orbits_and_tolerance():
    nacl = bulk("NaCl", "rocksalt", a=5.64, cubic=True)  # 8 atoms: two orbits of 4
    sym = detect_crystal(nacl)
    assert sorted(len(o) for o in sym.orbits) == [4, 4] and set(sym.site_symmetries) == {"m-3m"}
    rattled = nacl.copy()
    rattled.rattle(0.005, seed=1)
    assert detect_crystal(rattled).number < 225  # 0.005 Å noise breaks it at spglib's default 1e-3 Å
    assert detect_crystal(rattled, symprec=0.05).number == 225


def test_periodic_input_is_not_silently_a_molecule(tmp_path, capsys):
    nacl = bulk("NaCl", "rocksalt", a=5.64)
    with pytest.raises(StructureError, match="periodic.*detect_crystal"):
        detect_symmetry(nacl)
    with pytest.raises(StructureError, match="needs a periodic structure"):
        detect_crystal(bulk("NaCl", "rocksalt", a=5.64).copy().__class__(numbers=[11], positions=[[0, 0, 0]]))
    assert detect_symmetry(nacl.positions, nacl.numbers).point_group == "C*v"  # as a two-atom molecule, on request
    path = tmp_path / "nacl.cif"
    nacl.write(path)
    assert main(["analyze", str(path)]) == 0
    out = capsys.readouterr().out
    assert "Fm-3m (No. 225)" in out and "crystal class Oh" in out and "m-3m" in out


def test_repr_is_one_line():
    sym = detect_crystal(bulk("NaCl", "rocksalt", a=5.64).repeat(2))
    text = repr(sym)
    assert "\n" not in text and len(text) < 200
    assert text.startswith("CrystalSymmetry(space_group='Fm-3m' (225), point_group='Oh', order=48, n_atoms=16,")
    assert "n_operations=384" in text and "symprec=0.001" in text


def test_a_loose_symprec_gives_the_idealised_class_with_orthogonal_operations():
    """Tetragonal BaTiO3 read at symprec 0.3 Å is cubic: its class is named Oh (Schoenflies, not
    spglib's m-3m), and its operations are rotations, not cubic ones skewed through the tetragonal cell."""
    from ase import Atoms

    atoms = Atoms("BaTiO3", scaled_positions=[[0, 0, 0], [0.5, 0.5, 0.52], [0.5, 0.5, 0.02], [0.5, 0, 0.5], [0, 0.5, 0.5]], cell=[4.0, 4.0, 4.2], pbc=True)
    tight, loose = detect_crystal(atoms, symprec=0.01), detect_crystal(atoms, symprec=0.3)
    assert (tight.point_group, tight.space_group) == ("C4v", "P4mm")
    assert (loose.point_group, loose.point_group_hm, len(loose.operations)) == ("Oh", "m-3m", 48)
    for sym in (tight, loose):
        np.testing.assert_allclose(np.einsum("kji,kjl->kil", sym.operations, sym.operations), np.broadcast_to(np.eye(3), sym.operations.shape), atol=1e-12)
