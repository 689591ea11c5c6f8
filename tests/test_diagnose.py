"""symbreak diagnose: which operations a data set's labels break, the subgroup they keep, the census."""

import json

import numpy as np
import pytest
from ase import Atoms

from symbreak import SymbreakError
from symbreak.cli import main
from symbreak.detect import diagnose, diagnose_labels
from symbreak.rotations import random_rotations

WATER = np.array([[0.0, 0.0, 0.12], [0.76, 0.0, -0.47], [-0.76, 0.0, -0.47]])  # C2v: axis z, planes xz and yz
Z = np.array([8, 1, 1])


def test_symmetric_labels_keep_the_group_and_asymmetric_ones_name_what_they_keep():
    along_bonds = WATER - WATER.mean(0)  # dipoles along the atoms' positions: as symmetric as water
    assert diagnose_labels(WATER, Z, along_bonds).case == "keeps"
    in_plane = along_bonds + np.array([[0, 0, 0.2], [0.1, 0, 0], [-0.1, 0, 0]])  # mirror images: still C2v
    assert diagnose_labels(WATER, Z, in_plane).case == "keeps"
    # one hydrogen's dipole tilted out of the plane by 0.3: only the identity survives; the
    # operations that swap the hydrogens and flip y move it by 0.3 − (−0.3)
    tilted = along_bonds.copy()
    tilted[1] += [0.0, 0.3, 0.0]
    d = diagnose_labels(WATER, Z, tilted)
    assert d.case == "breaks" and d.point_group == "C2v" and d.kept == "C1" and d.kept_order == 1
    assert sorted(d.breaks) == pytest.approx([0.0, 0.3, 0.3, 0.6])
    # one hydrogen's dipole longer: broken by the operations that swap the hydrogens; the molecular
    # plane, which maps each atom onto itself, is kept
    longer = along_bonds.copy()
    longer[1] *= 1.5
    d = diagnose_labels(WATER, Z, longer)
    assert d.kept == "Cs" and d.kept_order == 2


def test_diagnosis_does_not_depend_on_orientation_or_atom_order():
    labels = WATER - WATER.mean(0)
    labels[1] *= 1.5
    ref = diagnose_labels(WATER, Z, labels)
    for r in random_rotations(4, improper=True, seed=1):
        perm = np.array([2, 0, 1])
        d = diagnose_labels((WATER @ r.T)[perm], Z[perm], (labels @ r.T)[perm])
        assert (d.point_group, d.kept, d.case) == (ref.point_group, ref.kept, ref.case)
        assert d.max_break == pytest.approx(ref.max_break, rel=1e-6)


def test_per_structure_labels_and_scalars():
    along_axis = np.array([0.0, 0.0, 1.0])  # a molecular dipole along the C2 axis keeps C2v
    assert diagnose_labels(WATER, Z, along_axis).case == "keeps"
    d = diagnose_labels(WATER, Z, np.array([1.0, 0.0, 0.0]))  # across the axis, in the plane: keeps the xz mirror
    assert d.case == "breaks" and d.kept == "Cs"
    charges = np.array([-0.8, 0.4, 0.4])
    assert diagnose_labels(WATER, Z, charges[:, None], rep="0e").case == "keeps"
    assert diagnose_labels(WATER, Z, np.array([-0.8, 0.5, 0.3])[:, None], rep="0e").kept == "Cs"
    assert diagnose_labels(np.random.default_rng(0).normal(size=(4, 3)), np.array([6, 7, 8, 1]), np.ones((4, 3))).case == "no symmetry"


def test_data_sets_census_errors_and_cli(tmp_path, capsys):
    frames = []
    for k in range(3):
        a = Atoms(numbers=Z, positions=WATER)
        dip = WATER - WATER.mean(0)
        if k:
            dip[1] *= 1.0 + 0.5 * k
        a.arrays["dipoles"] = dip
        a.info["name"] = f"w{k}"
        frames.append(a)
    result = diagnose(frames, "dipoles")
    census = result.census()
    assert census["structures"] == 3 and census["curie"] == 2 and census["kept_subgroups"] == {"C2v → Cs": 2}
    assert "2 of 3 targets are less symmetric" in result.report()
    with pytest.raises(SymbreakError, match="has no labels 'forces'; it has dipoles"):
        diagnose(frames, "forces")
    frames[0].arrays["wide"] = np.zeros((3, 5))
    with pytest.raises(SymbreakError, match="5 components: say how they transform"):
        diagnose(frames[:1], "wide")
    with pytest.raises(SymbreakError, match="label_tol must be > 0"):
        diagnose(frames, "dipoles", label_tol=0)
    path = tmp_path / "w.extxyz"
    from ase.io import write

    write(path, [f for f in frames], format="extxyz")
    (tmp_path / "w.xyz").write_bytes(path.read_bytes())
    assert main(["diagnose", str(tmp_path / "w.xyz"), "--labels", "dipoles", "--out", str(tmp_path / "out"), "--no-progress"]) == 0
    assert "C2v → Cs" in capsys.readouterr().out
    saved = json.loads((tmp_path / "out" / "diagnosis.json").read_text())
    assert saved["census"]["curie"] == 2 and (tmp_path / "out" / "diagnosis.png").stat().st_size > 1000


def test_the_shipped_dipole_set_breaks_what_it_was_made_to_break(capsys):
    """Every structure was kept because its GFN2 dipoles break its symmetry (at tol 0.2 Å, > 1e-3 e·bohr)."""
    from symbreak.tasks import load_dipoles

    result = diagnose(load_dipoles("gfn2"), "dipoles", tol=0.2)
    census = result.census()
    assert census["structures"] == 440 and census["curie"] == 440


def test_linear_molecules_report_their_infinite_kept_groups():
    co2 = np.array([[0.0, 0, -1.16], [0, 0, 0], [0, 0, 1.16]])
    z = np.array([8, 6, 8])
    symmetric = diagnose_labels(co2, z, np.array([[0, 0, -0.3], [0, 0, 0], [0, 0, 0.3]]))
    assert symmetric.point_group == "D*h" and symmetric.case == "keeps" and symmetric.kept == "D*h"
    lopsided = diagnose_labels(co2, z, np.array([[0, 0, -0.3], [0, 0, 0], [0, 0, 0.5]]))  # axial, unequal: loses the centre
    assert lopsided.case == "breaks" and lopsided.kept == "C*v"
