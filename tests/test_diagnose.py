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


CO2 = np.array([[0.0, 0, -1.16], [0, 0, 0], [0, 0, 1.16]])  # D*h along z
Z_CO2 = np.array([8, 6, 8])


def _water_frames_on_a_calculator():
    """Two waters whose forces, energy and charges live where ASE's extxyz reader puts them: on a
    SinglePointCalculator, not in arrays or info. Frame 1's second hydrogen differs from the first."""
    from ase.calculators.singlepoint import SinglePointCalculator

    frames = []
    for k in range(2):
        a = Atoms(numbers=Z, positions=WATER)
        forces = WATER - WATER.mean(0)
        if k:
            forces[1] *= 1.5
        a.calc = SinglePointCalculator(a, forces=forces, energy=-1.0 - k, charges=np.array([-0.8, 0.4, 0.4 + 0.1 * k]))
        frames.append(a)
    return frames


def test_labels_kept_by_an_ase_calculator_are_read(tmp_path, capsys):
    from ase.io import write

    from symbreak.io import read

    path = tmp_path / "calc.extxyz"
    write(path, _water_frames_on_a_calculator(), format="extxyz")
    frames = read(path)
    assert "forces" not in frames[0].arrays and "energy" not in frames[0].info  # ASE moved them to atoms.calc
    forces = diagnose(frames, "forces")
    assert forces.rep == "1o" and [s.case for s in forces.structures] == ["keeps", "breaks"]
    assert forces.structures[1].kept == "Cs" and forces.structures[1].max_break == pytest.approx(0.5 * np.linalg.norm(WATER[1] - WATER.mean(0)), rel=1e-6)
    charges = diagnose(frames, "charges")  # per atom, (n,): scalars on the atoms, not one vector
    assert charges.rep == "0e" and [s.kept for s in charges.structures] == ["C2v", "Cs"]
    assert sorted(charges.structures[1].breaks) == pytest.approx([0.0, 0.0, 0.1, 0.1])
    energy = diagnose(frames, "energy")  # per structure
    assert energy.rep == "0e" and [s.case for s in energy.structures] == ["keeps", "keeps"]
    with pytest.raises(SymbreakError, match="has no labels 'dipoles'; it has charges, energy, forces"):
        diagnose(frames, "dipoles")
    assert main(["diagnose", str(path), "--labels", "forces", "--no-progress"]) == 0
    assert "C2v → Cs" in capsys.readouterr().out
    # a per-atom column of width one in arrays is one scalar per atom too, not a vector of n
    a = Atoms(numbers=Z, positions=WATER)
    a.arrays["q"] = np.array([-0.8, 0.5, 0.3])
    (d,) = diagnose([a], "q").structures
    assert d.kept == "Cs" and d.kept_order == 2


def test_irreps_strings_act_through_e3nn(tmp_path, capsys):
    pytest.importorskip("e3nn")
    labels = WATER - WATER.mean(0)
    labels[1] *= 1.5
    cartesian = diagnose_labels(WATER, Z, labels, rep="1o")
    irreps = diagnose_labels(WATER, Z, labels, rep="1x1o")
    assert (irreps.kept, irreps.kept_order) == (cartesian.kept, cartesian.kept_order) == ("Cs", 2)
    assert irreps.breaks == pytest.approx(cartesian.breaks, abs=1e-6)  # e3nn's Wigner-D: ~1e-7 in float64
    assert diagnose_labels(WATER, Z, np.array([[0.2], [0.3], [0.3]]), rep="0o").kept == "C2"  # pseudoscalars: the mirrors flip them
    a = Atoms(numbers=Z, positions=WATER)
    a.arrays["dipoles"] = labels
    from ase.io import write

    write(tmp_path / "w.extxyz", [a], format="extxyz")
    assert main(["diagnose", str(tmp_path / "w.extxyz"), "--labels", "dipoles", "--rep", "1x1o", "--no-progress"]) == 0
    assert "C2v → Cs" in capsys.readouterr().out


def test_a_representation_of_another_width_is_named(tmp_path, capsys):
    labels = WATER - WATER.mean(0)  # 3 per atom
    with pytest.raises(SymbreakError, match=r"representation '2e' has dimension 5 but the labels have 3 components per atom"):
        diagnose_labels(WATER, Z, labels, rep="2e")
    with pytest.raises(SymbreakError, match=r"representation 'tensors' has dimension 9 but the labels have 3 components per atom"):
        diagnose_labels(WATER, Z, labels, rep="tensors")
    with pytest.raises(SymbreakError, match=r"representation '1o' has dimension 3 but the labels have 1 component per structure"):
        diagnose_labels(WATER, Z, np.array([1.0]), rep="1o")
    a = Atoms(numbers=Z, positions=WATER)
    a.arrays["dipoles"] = labels
    from ase.io import write

    write(tmp_path / "w.extxyz", [a], format="extxyz")
    for rep in ("2e", "tensors"):
        assert main(["diagnose", str(tmp_path / "w.extxyz"), "--labels", "dipoles", "--rep", rep, "--no-progress"]) == 2
        err = capsys.readouterr().err
        assert err.startswith("symbreak: error: structure 0 (H2O): representation") and err.count("\n") == 1
    # nine per atom: 3×3 tensors R T Rᵀ, flattened row by row
    x = WATER - WATER.mean(0)
    tensors = np.einsum("ni,nj->nij", x, x).reshape(3, 9)
    assert diagnose_labels(WATER, Z, tensors, rep="tensors").case == "keeps"
    tensors[1, 1] += 0.2  # T_xy of one hydrogen: C2 and σ(yz) swap it to the other (0.2), σ(xz) flips it (0.4)
    d = diagnose_labels(WATER, Z, tensors, rep="tensors")
    assert d.kept == "C1" and sorted(d.breaks) == pytest.approx([0.0, 0.2, 0.2, 0.4])


def test_linear_molecules_name_the_infinite_subgroup_they_keep(tmp_path, capsys):
    up_down = np.array([[0, 0, -0.3], [0, 0, 0], [0, 0, 0.3]])  # pseudovectors: a C2' maps one onto the other, σh does not
    d = diagnose_labels(CO2, Z_CO2, up_down, rep="1e")
    assert (d.point_group, d.kept, d.kept_order, d.case) == ("D*h", "D*", 24, "breaks")
    same = np.array([[0, 0, 0.3], [0, 0, 0], [0, 0, 0.3]])  # axial pseudovectors alike: σh and i keep them, mirrors σv do not
    assert diagnose_labels(CO2, Z_CO2, same, rep="1e").kept == "C*h"
    spin = np.array([[0, 0, 0.3], [0, 0, 0.1], [0, 0, -0.3]])  # ... and unlike: only the rotations about the axis
    assert diagnose_labels(CO2, Z_CO2, spin, rep="1e").kept == "C*"
    assert diagnose_labels(CO2, Z_CO2, np.array([0.0, 0.0, 0.4])).kept == "C*v"  # a molecular dipole along the axis
    assert diagnose_labels(CO2, Z_CO2, up_down, rep="1o").kept == "D*h"
    # labels across the axis break the rotations about it: finite names, and the mirror planes and
    # C2' axes they keep are found at whatever angle about the axis the labels point
    for angle in (0.0, 0.37, 1.1):
        p = np.array([np.cos(angle), np.sin(angle), 0.0])
        q = np.array([np.cos(angle + 1.0), np.sin(angle + 1.0), 0.0])
        for labels, kept in (
            (0.1 * np.array([p, -2 * p, p]), "C2v"),  # the bending mode: σ through p, σh, C2 along p
            (0.1 * np.array([p, 0 * p, -p]), "C2h"),  # σ through p, C2 across p, i
            (0.1 * np.array([p, 0 * p, q]), "C2"),  # one C2, halfway between p and q
        ):
            for r in random_rotations(2, improper=True, seed=3):
                d = diagnose_labels(CO2 @ r.T, Z_CO2, labels @ r.T)
                assert (d.kept, d.kept_order) == (kept, {"C2": 2}.get(kept, 4))
        tensors = np.tile((0.2 * np.outer(p, p) + 0.1 * np.eye(3)).reshape(9), (3, 1))  # stretched along p: p → ±p
        d = diagnose_labels(CO2, Z_CO2, tensors, rep="tensors")
        assert (d.kept, d.kept_order) == ("D2h", 8)
    # the CLI's census says the same
    a = Atoms(numbers=Z_CO2, positions=CO2)
    a.arrays["spins"] = up_down
    from ase.io import write

    write(tmp_path / "co2.extxyz", [a], format="extxyz")
    assert main(["diagnose", str(tmp_path / "co2.extxyz"), "--labels", "spins", "--rep", "1e", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "D*h → D*" in out and "D12" not in out


def test_limit_must_be_positive(tmp_path, capsys):
    a = Atoms(numbers=Z, positions=WATER)
    a.arrays["dipoles"] = WATER - WATER.mean(0)
    from ase.io import write

    write(tmp_path / "w.extxyz", [a], format="extxyz")
    for bad in ("-3", "0", "two"):
        with pytest.raises(SystemExit) as exc:
            main(["diagnose", str(tmp_path / "w.extxyz"), "--labels", "dipoles", "--limit", bad, "--no-progress"])
        assert exc.value.code == 2
        shown = repr(bad) if bad == "two" else bad
        assert f"argument --limit: expected a whole number >= 1, got {shown}" in capsys.readouterr().err
    with pytest.raises(SymbreakError, match="limit must be a whole number >= 0, got -1"):
        diagnose([a], "dipoles").report(limit=-1)


def test_an_unwritable_out_is_one_line_before_any_work(tmp_path, capsys):
    a = Atoms(numbers=Z, positions=WATER)
    a.arrays["dipoles"] = WATER - WATER.mean(0)
    from ase.io import write

    write(tmp_path / "w.extxyz", [a], format="extxyz")
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    for out, why in ((blocker / "sub", "cannot create the folder (Not a directory)"), (blocker, "is a file; give a folder")):
        assert main(["diagnose", str(tmp_path / "w.extxyz"), "--labels", "dipoles", "--out", str(out), "--no-progress"]) == 2
        printed, err = capsys.readouterr()
        assert printed == "" and err == f"symbreak: error: --out {out}{':' if 'cannot' in why else ''} {why}\n"
