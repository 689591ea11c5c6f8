import csv
from pathlib import Path

import numpy as np
import pytest
from ase import Atoms
from ase.collections import g2
from conftest import all_group_names
from hypothesis import given, settings
from hypothesis import strategies as st

import symbreak
from symbreak import PointGroup, StructureError, SymbreakError, ToleranceError, detect_symmetry
from symbreak.testing import assert_same_point_set, random_symmetric_structure, random_transform

GROUPS = all_group_names(12)
EXAMPLES = Path(__file__).parent.parent / "examples"


def check_operations(sym, pos, atol):
    """Every operation maps the structure onto itself with the stated permutation."""
    x = pos - sym.center
    ops, perms = sym.operations, sym.permutations
    np.testing.assert_allclose(ops @ ops.transpose(0, 2, 1), np.broadcast_to(np.eye(3), ops.shape), atol=1e-12)
    images = np.einsum("kij,nj->kni", ops, x)
    assert np.abs(images - x[perms]).max() < atol
    assert (np.sort(perms, axis=1) == np.arange(len(pos))).all()
    assert (sym.numbers[perms] == sym.numbers[None, :]).all()
    finite = sym.group if sym.group.is_finite else PointGroup(sym.point_group.replace("*", str(sym.group.axial_order)))
    if sym.point_group != "Kh":
        assert PointGroup.from_operations(ops, atol=1e-8) == finite


def orbit_sets(sym, relabel=None):
    orbits = sym.orbits if relabel is None else [relabel[o] for o in sym.orbits]
    return sorted(tuple(sorted(o.tolist())) for o in orbits)


@pytest.mark.parametrize("name", GROUPS)
@settings(max_examples=3)
@given(seed=st.integers(0, 2**31 - 1))
def test_every_family_rotated_reflected_translated_permuted(name, seed):
    pos, z = random_symmetric_structure(name, seed=seed)
    ref = detect_symmetry(pos, z, tol=0.02)
    assert ref.point_group == PointGroup(name).name
    new, z2, r, t, perm = random_transform(pos, z, seed=seed + 1)
    sym = detect_symmetry(new, z2, tol=0.02)
    assert sym.point_group == ref.point_group
    assert sym.order == PointGroup(name).order
    check_operations(sym, new, atol=1e-8)
    # orbits are the same atoms: new atom j is old atom perm[j]
    assert orbit_sets(sym, relabel=perm) == orbit_sets(ref)
    assert len(sym.asymmetric_unit) == len(sym.orbits)
    # canonical form: identical typed point set, whatever the transform
    assert_same_point_set(sym.canonical_positions, z2, ref.canonical_positions, z, atol=1e-6)
    np.testing.assert_allclose(sym.canonical_positions, (new - sym.center) @ sym.frame, atol=1e-12)
    np.testing.assert_allclose(sym.frame.T @ sym.frame, np.eye(3), atol=1e-12)


def is_clearly_symmetric(name, seed):
    """The random structure has no accidental near-symmetry: tolerances 0.02 and 0.15 Å agree.

    (E.g. some C9v structures lie within 0.09 Å of C18v: the right answer then depends on tol.)
    """
    pos, z = random_symmetric_structure(name, seed=seed)
    return detect_symmetry(pos, z, tol=0.02).point_group == detect_symmetry(pos, z, tol=0.15).point_group


@pytest.mark.parametrize("name", GROUPS)
def test_noise_001_angstrom_keeps_the_group(name):
    """Gaussian noise of 0.01 Å per coordinate: the default tolerance gives the clean answer."""
    seeds = (s for s in range(100) if is_clearly_symmetric(name, s))
    for seed in (next(seeds), next(seeds)):
        pos, z = random_symmetric_structure(name, seed=seed)
        clean = detect_symmetry(pos, z).point_group
        new, z2, *_ = random_transform(pos, z, seed=seed + 50, noise=0.01)
        sym = detect_symmetry(new, z2)
        assert sym.point_group == clean
        assert sym.max_residual < 0.1
        # the symmetrized structure is exactly symmetric and closer to the truth than the input
        sym2 = detect_symmetry(sym.symmetrized_positions, z2, tol=1e-6)
        assert sym2.point_group == clean
        if sym.order > 1:  # averaging over more than the identity removes part of the noise
            exact = random_transform(pos, z, seed=seed + 50)[0]
            assert np.abs(sym.symmetrized_positions - exact).mean() < np.abs(new - exact).mean()


@pytest.mark.parametrize("name", ["C1", "C3", "D3", "T", "O", "I", "C2", "D6"])
def test_proper_frame_keeps_enantiomers_apart(name):
    pos, z = random_symmetric_structure(name, seed=3)
    sym = detect_symmetry(pos, z, proper=True)
    assert np.linalg.det(sym.frame) > 0
    rot, z2, r, *_ = random_transform(pos, z, seed=4, improper=False)
    assert_same_point_set(detect_symmetry(rot, z2, proper=True).canonical_positions, z2, sym.canonical_positions, z)
    mirror = pos * np.array([1.0, 1.0, -1.0])
    other = detect_symmetry(mirror, z, proper=True).canonical_positions
    with pytest.raises(AssertionError):
        assert_same_point_set(other, z, sym.canonical_positions, z)
    # without proper=True the mirror image has the same canonical form
    assert_same_point_set(detect_symmetry(mirror, z).canonical_positions, z, detect_symmetry(pos, z).canonical_positions, z)


def load_g2_truth():
    with open(Path(__file__).parent / "data" / "g2_point_groups.csv") as f:
        return list(csv.DictReader(f))


def test_g2_collection_matches_chemistry():
    """All 162 molecules of ASE's G2 set against chemically assigned point groups."""
    wrong_tight, wrong_default = [], []
    for row in load_g2_truth():
        atoms = g2[row["name"]]
        tight = detect_symmetry(atoms, tol=0.01)
        if tight.point_group != row["point_group"]:
            wrong_tight.append((row["name"], row["point_group"], tight.point_group))
        check_operations(tight, atoms.positions, atol=0.01)
        default = detect_symmetry(atoms).point_group
        if default != row["point_group_at_0.1"]:
            wrong_default.append((row["name"], row["point_group_at_0.1"], default))
    assert wrong_tight == [] and wrong_default == []


@pytest.mark.parametrize(
    "name,expected,order",
    [("COF2", "C2v", 4), ("C4H4NH", "C2v", 4), ("C3H4_D2d", "D2d", 8), ("C6H6", "D6h", 24), ("C2H6", "D3d", 12)],
)
def test_cases_other_tools_get_wrong(name, expected, order):
    sym = detect_symmetry(g2[name])
    assert (sym.point_group, sym.order) == (expected, order)


def test_s4_and_s6_have_all_operations():
    for name, order in (("S4", 4), ("S6", 6)):
        pos, z = random_symmetric_structure(name, seed=1)
        sym = detect_symmetry(*random_transform(pos, z, seed=2)[:2])
        assert (sym.point_group, sym.order) == (name, order)


@pytest.mark.parametrize(
    "file,group,orbit_sizes",
    [
        ("water", "C2v", [1, 2]),
        ("ammonia", "C3v", [1, 3]),
        ("methane", "Td", [1, 4]),
        ("benzene", "D6h", [6, 6]),
        ("carbon_dioxide", "D*h", [1, 2]),
        ("sulfur_hexafluoride", "Oh", [1, 6]),
        ("buckminsterfullerene", "Ih", [60]),
        ("bromochlorofluoromethane", "C1", [1, 1, 1, 1, 1]),
        ("ferrocene", "D5d", [1, 10, 10]),
        ("allene", "D2d", [1, 2, 4]),
        ("ethane", "D3d", [2, 6]),
    ],
)
def test_examples(file, group, orbit_sizes):
    (atoms,) = symbreak.read(EXAMPLES / f"{file}.xyz")
    sym = detect_symmetry(atoms)
    assert sym.point_group == group
    assert sorted(len(o) for o in sym.orbits) == sorted(orbit_sizes)
    # spherical tops, symmetric tops, planar and linear: the canonical form is still exact
    for seed in range(3):
        new, z2, *_ = random_transform(atoms.positions, atoms.numbers, seed=seed)
        assert_same_point_set(detect_symmetry(new, z2).canonical_positions, z2, sym.canonical_positions, atoms.numbers)


def test_linear_and_single_atom():
    co2 = detect_symmetry([[0, 0, -1.16], [0, 0, 0], [0, 0, 1.16]], [8, 6, 8], axial_order=6)
    assert co2.point_group == "D*h" and co2.order == 24 and not co2.group.is_finite
    check_operations(co2, np.array([[0, 0, -1.16], [0, 0, 0], [0, 0, 1.16]]), atol=1e-12)
    hcn = detect_symmetry([[0, 0, -1.06], [0, 0, 0], [0, 0, 1.15]], ["H", "C", "N"])
    assert hcn.point_group == "C*v" and hcn.order == 24
    atom = detect_symmetry([[1.0, 2.0, 3.0]], [26])
    assert atom.point_group == "Kh" and atom.order == 48
    np.testing.assert_allclose(atom.canonical_positions, 0.0)


def test_inputs_ase_symbols_point_cloud():
    water = g2["H2O"]
    a = detect_symmetry(water)
    b = detect_symmetry(water.positions, water.get_chemical_symbols())
    c = detect_symmetry(water.positions.tolist(), np.array([8, 1, 1], dtype=np.uint8))
    assert a.point_group == b.point_group == c.point_group == "C2v"
    cube = np.array([[i, j, k] for i in (-1, 1) for j in (-1, 1) for k in (-1, 1)], dtype=float)
    assert detect_symmetry(cube).point_group == "Oh"
    with pytest.raises(AttributeError):
        a.point_group = "C1"
    with pytest.raises(ValueError):
        a.operations[0, 0, 0] = 2.0


@pytest.mark.parametrize(
    "positions,numbers,kwargs,error,match",
    [
        (np.zeros((0, 3)), [], {}, StructureError, "empty"),
        ([[0, 0, np.nan], [1, 0, 0]], [1, 1], {}, StructureError, "NaN"),
        ([[0, 0, np.inf], [1, 0, 0]], [1, 1], {}, StructureError, "NaN or inf"),
        ([[0, 0], [1, 0]], [1, 1], {}, StructureError, "shape"),
        ([[0, 0, 0], [1, 0, 0]], [1, 1, 1], {}, StructureError, "2 atoms but numbers has 3"),
        ([[0, 0, 0], [1, 0, 0]], ["H", "Xx"], {}, StructureError, "unknown element 'Xx'"),
        ([[0, 0, 0], [1, 0, 0]], [1.5, 1], {}, StructureError, "whole numbers"),
        ([[0, 0, 0], [0, 0, 0]], [1, 1], {}, StructureError, "coincide"),
        ([[0, 0, 0], [1, 0, 0]], [1, 1], {"tol": -0.1}, ToleranceError, "positive"),
        ([[0, 0, 0], [1, 0, 0]], [1, 1], {"tol": float("nan")}, ToleranceError, "positive"),
        ([[0, 0, 0], [1, 0, 0]], [1, 1], {"tol": 0.6}, ToleranceError, "too large"),
        ([[0, 0, 0], [1, 0, 0]], [1, 1], {"tol": "abc"}, ToleranceError, "number"),
        ("not an array", None, {}, StructureError, "positions"),
    ],
)
def test_bad_input_gives_clear_errors(positions, numbers, kwargs, error, match):
    with pytest.raises(error, match=match):
        detect_symmetry(positions, numbers, **kwargs)
    assert issubclass(error, SymbreakError) and issubclass(error, ValueError)


def test_atoms_and_numbers_together_is_an_error():
    with pytest.raises(StructureError, match="either"):
        detect_symmetry(Atoms("H2", positions=[[0, 0, 0], [0, 0, 0.74]]), [1, 1])


def test_candidates_that_land_on_one_operation_count_once():
    # From the canonicalization benchmark: two candidate operations of this noisy C2v copy
    # converge to the same (permutation, det); counted twice, the group failed to be named.
    from ase.io import read

    atoms = read(Path(__file__).parent / "data" / "qm9_037005_noisy.xyz")
    sym = detect_symmetry(atoms)
    assert sym.point_group == "C2v" and sym.order == 4
    keys = {(tuple(p), round(float(np.linalg.det(r)))) for p, r in zip(sym.permutations.tolist(), sym.operations)}
    assert len(keys) == 4
    assert sym.max_residual < 0.1


@settings(max_examples=40, deadline=None)
@given(index=st.integers(0, 190), seed=st.integers(0, 2**31 - 1))
def test_noisy_qm9_copies_give_distinct_operations_that_form_the_named_group(index, seed):

    _, z, x = _qm9_subset()[index]
    new, z2, *_ = random_transform(x, z, seed=seed, noise=0.01)
    sym = detect_symmetry(new, z2)
    assert sym.order == len(sym.group.operations)
    assert sym.max_residual <= sym.tol
    if sym.group.is_finite:  # about a linear axis many rotations share one permutation
        keys = {(tuple(p), bool(np.linalg.det(r) > 0)) for p, r in zip(sym.permutations.tolist(), sym.operations)}
        assert len(keys) == sym.order


_SUBSET: list = []


def _qm9_subset() -> list:
    if not _SUBSET:
        from symbreak.tasks import load_qm9_subset

        _SUBSET.extend(load_qm9_subset())
    return _SUBSET


def test_canonicalizers_live_behind_one_registry():
    from symbreak.detect import CANONICALIZERS, canonicalize, register_canonicalizer
    from symbreak.testing import random_symmetric_structure, random_transform

    assert {"symbreak", "pca", "pca-raw"} <= set(CANONICALIZERS)
    pos, numbers = random_symmetric_structure("D3h", seed=1)
    moved, moved_numbers = random_transform(pos, numbers, seed=2)[:2]
    a, b = canonicalize(pos, numbers), canonicalize(moved, moved_numbers)
    # the same typed point set for a rotated, reflected, permuted copy
    for z in np.unique(numbers):
        pa, pb = a[numbers == z], b[moved_numbers == z]
        assert np.abs(np.linalg.norm(pa[:, None] - pb[None], axis=-1).min(axis=1)).max() < 1e-6
    with pytest.raises(SymbreakError, match="unknown canonicalizer"):
        canonicalize(pos, numbers, method="nope")
    with pytest.raises(ValueError, match="already registered"):
        register_canonicalizer("pca")(lambda p, n: p)


@pytest.mark.parametrize("name", ["C15", "C15v", "D15h", "D16d", "S32", "C30h", "D30", "S40", "C60"])
def test_high_order_main_axes_are_detected_and_named(name):
    """Orders up to 60: an element's order is read from the group's grid of angles 2πj/|G|, not
    from a fixed tolerance, which took a C30 rotation for order 29 (ring of 30: 'could not orient
    the operations as Ih')."""
    pos, numbers = random_symmetric_structure(name, seed=1)
    moved, moved_numbers = random_transform(pos, numbers, seed=2)[:2]
    sym = detect_symmetry(moved, moved_numbers)
    assert sym.point_group == PointGroup(name).name and sym.order == PointGroup(name).order


@pytest.mark.parametrize("n", [15, 30, 31, 40, 60])
def test_planar_rings_of_up_to_60_atoms(n):
    t = 2 * np.pi * np.arange(n) / n
    ring = np.stack([3 * np.cos(t), 3 * np.sin(t), np.zeros(n)], axis=1)
    sym = detect_symmetry(ring @ random_rotations_matrix(n).T, np.full(n, 6))
    assert sym.point_group == f"D{n}h" and sym.order == 4 * n


def random_rotations_matrix(seed):
    from symbreak.rotations import random_rotations

    return random_rotations(1, seed=seed)[0]


def test_every_g2_and_shipped_qm9_molecule_has_one_canonical_form():
    """Random O(3) + permutation + translation copies give the same canonical positions. Found
    wrong for trimethylamine (C3v to 1e-6 Å): circular comparisons of candidate frames took an
    arbitrary one, 1.5 Å apart between copies."""
    from scipy.optimize import linear_sum_assignment

    from symbreak.tasks import load_qm9_subset

    molecules = [(name, g2[name].numbers, g2[name].positions) for name in g2.names if len(g2[name]) > 1] + list(load_qm9_subset())
    wrong = []
    for name, numbers, positions in molecules:
        ref = detect_symmetry(positions, numbers).canonical_positions
        for seed in range(3):
            moved, moved_numbers = random_transform(positions, numbers, seed=seed)[:2]
            canon = detect_symmetry(moved, moved_numbers).canonical_positions
            for z in np.unique(numbers):
                cost = np.linalg.norm(ref[numbers == z][:, None] - canon[moved_numbers == z][None], axis=-1)
                rows, cols = linear_sum_assignment(cost)
                if cost[rows, cols].max() > 1e-5:
                    wrong.append(name)
    assert len(molecules) == 339 and not wrong, sorted(set(wrong))


def test_the_no_symmetry_shortcut_gives_what_the_full_search_gives(monkeypatch):
    """Structures whose atoms no operation could exchange skip the search: same group, frame,
    orientation and canonical positions as the search, on G2 and the shipped QM9 molecules."""
    import symbreak.detect._detect as impl
    from symbreak.detect._validate import check_tolerance
    from symbreak.tasks import load_qm9_subset

    molecules = [(z, p) for _, z, p in load_qm9_subset()] + [(g2[n].numbers, g2[n].positions) for n in g2.names if len(g2[n]) > 2]
    shortcut = [impl._only_identity(p - p.mean(0), np.asarray(z), 0.1, check_tolerance(0.1, p)[2], np.linalg.svd(p - p.mean(0))[2][-1]) for z, p in molecules]
    assert sum(shortcut) > 100  # most QM9 molecules take it
    fast = [detect_symmetry(p, z) for z, p in molecules]
    monkeypatch.setattr(impl, "_only_identity", lambda *args: False)
    for (z, p), a in zip(molecules, fast):
        b = detect_symmetry(p, z)
        assert a.point_group == b.point_group
        np.testing.assert_allclose(a.canonical_positions, b.canonical_positions, atol=1e-12)
        np.testing.assert_allclose(a.orientation, b.orientation, atol=1e-12)


def test_detect_many_in_processes_matches_one_by_one():
    from symbreak.detect import detect_many
    from symbreak.tasks import load_qm9_subset

    molecules = [(p, z) for _, z, p in load_qm9_subset()[:40]]
    serial = [detect_symmetry(p, z).point_group for p, z in molecules]
    assert [s.point_group for s in detect_many(molecules, n_jobs=2, chunksize=8)] == serial
    assert [s.point_group for s in detect_many([g2["H2O"], g2["CH4"]])] == ["C2v", "Td"]
    bad = molecules[:3] + [(np.array([[0.0, 0, 0], [np.nan, 0, 0]]), np.array([1, 1]))]
    with pytest.raises(StructureError, match="structure 3: positions contain NaN"):
        detect_many(bad, n_jobs=2)
    with pytest.raises(SymbreakError, match="n_jobs must be"):
        detect_many(molecules, n_jobs=0)


def test_large_structures_take_the_linear_memory_path_with_the_same_answers(monkeypatch):
    """Above 2,000 atoms no (n, n) array is built; forced onto small structures of every family,
    clean and noisy, that path finds the same operations as the dense one."""
    import symbreak.detect._operations as ops

    for name in ["C2v", "D3h", "Td", "S4", "C4h", "Ih", "D6d", "Cs"]:
        for noise in (0.0, 0.01):
            pos, numbers = random_symmetric_structure(name, seed=3)
            pos, numbers = random_transform(pos, numbers, seed=4, noise=noise)[:2]
            dense = detect_symmetry(pos, numbers)
            monkeypatch.setattr(ops, "_SPARSE_ATOMS", 0)
            sparse = detect_symmetry(pos, numbers)
            monkeypatch.setattr(ops, "_SPARSE_ATOMS", 2000)
            assert sparse.point_group == dense.point_group == name
            assert {p.tobytes() for p in sparse.permutations} == {p.tobytes() for p in dense.permutations}
            np.testing.assert_allclose(sparse.canonical_positions, dense.canonical_positions, atol=1e-9)


@pytest.mark.parametrize(("name", "sigma"), [("H2O", 2), ("NH3", 3), ("CH4", 12), ("C6H6", 12), ("C60", 60), ("CO2", 2), ("HCN", 1), ("CH3Cl", 3), ("SF6", 24), ("C2H6", 6)])
def test_rotational_symmetry_number(name, sigma):
    from ase.build import molecule

    m = molecule(name) if name != "SF6" else Atoms("SF6", positions=[[0, 0, 0], [1.56, 0, 0], [-1.56, 0, 0], [0, 1.56, 0], [0, -1.56, 0], [0, 0, 1.56], [0, 0, -1.56]])
    sym = detect_symmetry(m.positions, m.numbers)
    assert sym.rotational_symmetry_number == sigma
    assert sym.to_dict()["rotational_symmetry_number"] == sigma
    assert detect_symmetry(np.zeros((1, 3)), [18]).rotational_symmetry_number == 1


def test_symmetrize_to_a_subgroup_is_the_closest_symmetric_structure():
    from symbreak.detect import symmetrize

    pos, z = random_symmetric_structure("D3h", seed=4, n_seeds=3, min_distance=1.0)
    x, z2, *_ = random_transform(pos, z, seed=5, noise=0.01)
    full = symmetrize(x, z2)
    assert full.point_group == "D3h" and full.choices == 1
    assert detect_symmetry(full.positions, z2, tol=1e-8).point_group == "D3h"
    for name, count in [("C3v", 1), ("C2v", 3), ("Cs", 4), ("C3h", 1)]:
        s = symmetrize(x, z2, group=name)
        assert s.point_group == name and s.choices == count and len(s.operations) == PointGroup(name).order
        # exactly symmetric under the chosen elements, about the unchanged centre
        y = s.positions - s.positions.mean(0)
        np.testing.assert_allclose(np.einsum("kij,nj->kni", s.operations, y), y[s.permutations], atol=1e-10)
        np.testing.assert_allclose(s.positions.mean(0), x.mean(0), atol=1e-12)
        # a projection: it moves the atoms less than the full group does, and no more than noise
        assert s.rms_displacement <= full.rms_displacement + 1e-12 and s.rms_displacement < 0.03
        assert s.rms_displacement == pytest.approx(np.sqrt(((s.positions - x) ** 2).sum(1).mean()))
    with pytest.raises(symbreak.GroupError, match="not a subgroup of D3h"):
        symmetrize(x, z2, group="Td")


def test_symmetrize_linear_and_closest_choice():
    from symbreak.detect import symmetrize

    co2 = np.array([[0.0, 0, 0], [0, 0, 1.17], [0, 0.01, -1.19]])
    s = symmetrize(co2, [6, 8, 8], group="D*h")
    assert s.point_group.startswith("D") and abs(np.linalg.norm(s.positions[1] - s.positions[0]) - np.linalg.norm(s.positions[2] - s.positions[0])) < 1e-12
    # water bent out of C2v: of its two Cs mirrors, the molecular plane moves nothing
    water = np.array([[0.0, 0.0, 0.1173], [0.0, 0.7572, -0.4692], [0.0, -0.7472, -0.4692]])
    cs = symmetrize(water, [8, 1, 1], group="Cs")
    assert cs.choices == 2 and cs.rms_displacement < 1e-12


def test_far_from_the_origin_atoms_1_angstrom_apart_do_not_coincide():
    far = np.array([[1e9, 0, 0], [1e9, 0, 1.0], [1e9, 1.0, 0]])
    for tol in (0.1, "auto"):
        assert detect_symmetry(far, [1, 1, 1], tol=tol).point_group in ("C2v", "D3h")
    with pytest.raises(StructureError, match="atoms 0 and 1 coincide .* coordinates of this size resolve"):
        detect_symmetry(np.array([[1e15, 0, 0], [1e15, 0, 1.0], [1e15, 1.0, 0]]), [1, 1, 1])
    with pytest.raises(StructureError, match="atoms 0 and 1 coincide"):
        detect_symmetry(np.array([[0.0, 0, 0], [0, 0, 0], [1, 0, 0]]), tol="auto")


@pytest.mark.parametrize("order", [10**6, 1, 0, -3, 2.5, True, "12"])
def test_axial_order_out_of_range_is_a_symbreak_error(order):
    with pytest.raises(SymbreakError, match="axial_order"):
        detect_symmetry(np.array([[0.0, 0, 0], [0, 0, 1.1]]), [6, 8], axial_order=order)
