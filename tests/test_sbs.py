"""Equivariant symmetry-breaking sets of vectors (Xie & Smidt), checked by brute force."""

from __future__ import annotations

import numpy as np
import pytest

from symbreak._errors import GroupError
from symbreak.groups import PointGroup
from symbreak.groups._sbs import symmetry_breaking_set, table_groups
from symbreak.groups._subgroups import subgroups


def same_set(a, b):
    d = np.linalg.norm(a[:, None] - b[None], axis=-1)
    return len(a) == len(b) and d.min(axis=1).max() < 1e-8


def check(g, b, proper=False):
    """The definitions: closed under N (equivariant), and every element's stabilizer in G is as stated."""
    n = g.normalizer()
    ops = n.operations if (b.equivariant and n is not None) else g.operations
    if proper:
        ops = ops[np.linalg.det(ops) > 0]
    for x in ops:
        assert same_set(b.vectors @ x.T, b.vectors)
    for v in b.vectors:
        stab = g.operations[np.linalg.norm(g.operations @ v - v, axis=1) < 1e-8]
        assert (PointGroup.from_operations(stab).name if len(stab) > 1 else "C1") == b.stabilizer


@pytest.mark.parametrize("name", ["C2v", "D3", "D3h", "D4h", "D6d", "Td", "Oh", "Ih"])
def test_every_target_of_a_group_by_brute_force(name):
    g = PointGroup(name)
    for k in sorted({s.name for s in subgroups(g)}):
        b = symmetry_breaking_set(g, k)
        if b.size:
            check(g, b)
            if b.ideal and k != g.name:
                assert b.stabilizer == k


def test_the_papers_cases():
    # triangular prism (D3, rotations): 6 in-plane vectors at (2i+1)π/6 from the C2 axes; N in SO(3) = D6
    b = symmetry_breaking_set("D3", "C1", proper=True)
    assert (b.size, b.normalizer, b.ideal) == (6, "D6", True)
    c2 = PointGroup("D3").operations
    axes = [np.linalg.eigh(0.5 * (r + r.T))[1][:, -1] for r in c2 if np.isclose(np.trace(r), -1)]
    angles = sorted(np.degrees(np.arccos(min(1.0, max(abs(v @ a) for a in axes)))) for v in b.vectors)
    np.testing.assert_allclose(angles, 30.0, atol=1e-6)  # each vector halfway between two C2 axes
    assert np.abs(b.vectors[:, 2]).max() < 1e-12
    # cubic → tetragonal (BaTiO3, P4mm): the 6 vectors ±x, ±y, ±z, each keeping C4v
    b = symmetry_breaking_set("Oh", "C4v")
    assert (b.size, b.stabilizer, b.ideal) == (6, "C4v", True)
    assert same_set(b.vectors, np.concatenate([np.eye(3), -np.eye(3)]))


def test_full_breaking_needs_at_least_the_group_order():
    # G acts freely on a fully breaking set, so it has at least |G| elements; a complement of G in N gives exactly |G|
    for name in ["C3v", "D2h", "D4h", "Oh"]:
        b = symmetry_breaking_set(name, "C1")
        assert b.size >= PointGroup(name).order and b.stabilizer == "C1"


def test_targets_vectors_cannot_reach_and_bad_targets():
    b = symmetry_breaking_set("D6h", "D2h")  # centrosymmetric: no vector keeps the inversion
    assert not b.ideal and b.stabilizer == "C2v" and "further" in b.note
    b = symmetry_breaking_set("C4h", "C1")
    assert not b.equivariant and "infinite" in b.note
    assert symmetry_breaking_set("C2v", "C2v").size == 0
    with pytest.raises(GroupError, match="not a subgroup"):
        symmetry_breaking_set("D3h", "C4v")


def test_table_covers_every_family():
    names = table_groups(12)
    assert {"C12h", "D12d", "S12", "Ih", "Oh", "Th"} <= set(names) and len(names) == len(set(names))


def test_sbs_command(capsys):
    from symbreak.cli import main

    assert main(["sbs", "Oh", "C4v"]) == 0
    out = capsys.readouterr().out
    assert "6 unit vectors, each keeping C4v of Oh (ideal)" in out and "normalizer of Oh in O(3): Oh" in out
    assert main(["sbs", "D3h", "C4v"]) == 2
    assert "not a subgroup" in capsys.readouterr().err


def test_committed_table_is_what_the_code_makes():
    import json
    from pathlib import Path

    from symbreak.groups import sbs_table

    rows = json.loads((Path(__file__).resolve().parent.parent / "docs" / "sbs" / "sbs_table.json").read_text())
    fresh = sbs_table(["D3h", "Oh"])
    committed = [r for r in rows if r["group"] in ("D3h", "Oh")]
    keys = ("group", "target", "size", "ideal", "any_size", "complement")
    assert [tuple(r[k] for k in keys) for r in committed] == [tuple(r[k] for k in keys) for r in fresh]


def _point_set_stabilizer(ops, points):
    keep = [x for x in ops if np.linalg.norm((points @ x.T)[:, None] - points[None], axis=-1).min(axis=1).max() < 1e-8]
    return np.array(keep)


def _group_name(ops):
    return PointGroup.from_operations(ops).name if len(ops) > 1 else "C1"


@pytest.mark.parametrize("name", ["C2v", "D3h", "D4h", "D6h", "Td", "Oh"])
def test_smallest_set_of_any_objects_by_brute_force(name):
    """Every returned set is closed under N, each element keeps exactly K of G (as a point set it has
    that stabilizer), it is never smaller than |G|/|K|, never larger than an ideal equivariant vector
    set, and the complement flag says whether it reaches the bound."""
    from symbreak.groups import minimal_sbs

    g = PointGroup(name)
    n = g.normalizer()
    for k in sorted({s.name for s in subgroups(g)}):
        best = minimal_sbs(g, k)
        assert best.size == len(best.objects) and best.size >= best.bound == g.order // PointGroup(k).order
        assert best.complement == (best.size == best.bound)
        flat = best.objects.reshape(-1, 3)
        for x in n.operations:  # closed under N: each object goes to an object of the set
            for obj in best.objects:
                moved = obj @ x.T
                assert any(np.linalg.norm(moved[:, None] - o[None], axis=-1).min(axis=1).max() < 1e-8 for o in best.objects)
        for obj in best.objects:
            assert _group_name(_point_set_stabilizer(g.operations, obj)) == k
            assert _group_name(_point_set_stabilizer(n.operations, obj)) == best.stabilizer
        vectors = symmetry_breaking_set(g, k)
        if vectors.ideal and vectors.size:
            assert best.size <= vectors.size
        assert len(flat) == best.size * PointGroup(best.stabilizer).order


def test_smallest_sets_where_vectors_fall_short():
    from symbreak.groups import minimal_sbs

    # the chiral octagon: D8h → C8h takes two objects (an axial vector ±z has symmetry C16h in D16h); vectors need 16 and break more
    best = minimal_sbs("D8h", "C8h")
    assert (best.size, best.stabilizer, best.complement) == (2, "C16h", True)
    assert symmetry_breaking_set("D8h", "C8h").size == 16
    # hexagonal → orthorhombic: 3 objects (one per in-plane axis pair), complement; vectors cannot keep the inversion
    assert (minimal_sbs("D6h", "D2h").size, minimal_sbs("D6h", "D2h").complement) == (3, True)
    # square → rectangle: D8h mixes D4h's two classes of D2h, so 4 objects, not |G|/|K| = 2: no complement
    best = minimal_sbs("D4h", "D2h")
    assert (best.size, best.bound, best.complement, best.generalized_normalizer) == (4, 2, False, "D4h")
    # a body diagonal of a tetrahedron is a director, not an arrow: 4 objects, where vectors need 8
    assert (minimal_sbs("Td", "C3v").size, symmetry_breaking_set("Td", "C3v").size) == (4, 8)
    assert minimal_sbs("D3", "C1", proper=True).size == 6
    assert minimal_sbs("C4", "C1").size is None  # infinite normalizer
    with pytest.raises(GroupError, match="rotation subgroup"):
        minimal_sbs("D8h", "C8h", proper=True)
    with pytest.raises(GroupError, match="not a subgroup"):
        minimal_sbs("D3h", "C4v")


def test_large_orders_are_fast_and_right():
    """Orders that once took minutes or tens of GiB (D30h → C1 17 s; C60v → C1 and D100h → D50h
    minutes and 7 and 4 GiB; C1000 → C1 a 67 GiB Cayley table): now well under a second each."""
    from symbreak.groups import minimal_sbs

    g = PointGroup("D30h")
    b, best = symmetry_breaking_set(g, "C1"), minimal_sbs(g, "C1")
    check(g, b)
    assert (b.size, b.ideal, b.normalizer, best.size, best.complement, best.stabilizer) == (120, True, "D60h", 120, True, "Cs")
    b, best = symmetry_breaking_set("C60v", "C1"), minimal_sbs("C60v", "C1")
    assert (b.size, b.ideal, b.normalizer, best.size, best.stabilizer) == (120, True, "D120h", 120, "C2v")
    b, best = symmetry_breaking_set("D100h", "D50h"), minimal_sbs("D100h", "D50h")
    assert (b.size, b.stabilizer, b.ideal) == (200, "C2v", False)  # no vector keeps D50h: it breaks further
    assert (best.size, best.bound, best.complement, best.stabilizer, best.generalized_normalizer) == (4, 2, False, "D50h", "D100h")
    b = symmetry_breaking_set("C1000", "C1")
    assert (b.size, b.equivariant) == (1000, False) and minimal_sbs("C1000", "C1").size is None


def test_orders_above_the_limits_are_refused_by_name(monkeypatch):
    from symbreak.groups import _subgroups, minimal_sbs, sbs_table

    with pytest.raises(GroupError, match=r"symmetry_breaking_set: \|N\| = 4000 \(D1000h, the normalizer of C500v in O\(3\)\) exceeds the limit of 2000 elements \(MAX_TABLE_ORDER\)"):
        symmetry_breaking_set("C500v", "C1")
    with pytest.raises(GroupError, match=r"minimal_sbs: \|G\| = 4000 \(D1000h\) exceeds the limit of 2000"):
        minimal_sbs("D1000h", "C1")
    with pytest.raises(GroupError, match=r"normalizer of C1000v in O\(3\) is D2000h.*MAX_AXIAL_ORDER"):
        symmetry_breaking_set("C1000v", "C1")
    with pytest.raises(GroupError, match=r"subgroups: \|G\| = 1200 \(D300h\) exceeds the limit of 1000 elements \(MAX_SUBGROUP_ORDER\)"):
        sbs_table(["D300h"])
    monkeypatch.setattr(_subgroups, "MAX_TABLE_ORDER", 200)  # the limits are read when used
    with pytest.raises(GroupError, match=r"\|N\| = 240 \(D60h, the normalizer of D30h in O\(3\)\) exceeds the limit of 200"):
        symmetry_breaking_set("D30h", "C2")
    monkeypatch.setattr(_subgroups, "MAX_TABLE_ORDER", 100)
    with pytest.raises(GroupError, match=r"subgroups_of_type: \|G\| = 120"):
        _subgroups.subgroups_of_type(PointGroup("C60v"), "C2")
    assert symmetry_breaking_set("D4h", "C2v").size == 8  # small groups are untouched


# --- one class of K (keep=): C2v → Cs and the generalized normalizer N(G, K) = G·N_N(K) ---


def _stabilizer_ops(g, v):
    return g.operations[np.linalg.norm(g.operations @ v - v, axis=1) < 1e-8]


def _same_ops(a, b):
    return len(a) == len(b) and all(np.abs(b - x).max(axis=(1, 2)).min() < 1e-8 for x in a)


def _class_normalizer(g, k_ops):
    """Brute force, on matrices: {n ∈ N : n K n⁻¹ = g K g⁻¹ for some g ∈ G}."""
    conjugates = [np.einsum("ij,kjl,ml->kim", x, k_ops, x) for x in g.operations]
    return np.array([n for n in g.normalizer().operations if any(_same_ops(np.einsum("ij,kjl,ml->kim", n, k_ops, n), c) for c in conjugates)])


def test_the_default_set_mixes_both_mirror_classes_of_c2v():
    """C2v → Cs by name: closed under N = D4h, whose C4 swaps σ(xz) and σ(yz), so two vectors keep each mirror."""
    g = PointGroup("C2v")
    b = symmetry_breaking_set(g, "Cs")
    assert (b.size, b.normalizer, b.keep) == (4, "D4h", "")
    check(g, b)
    sigma_yz, sigma_xz = np.diag([-1.0, 1.0, 1.0]), np.diag([1.0, -1.0, 1.0])
    kept = [_stabilizer_ops(g, v)[1] for v in b.vectors]  # the non-identity element of each Cs
    assert sum(np.allclose(k, sigma_yz) for k in kept) == 2 and sum(np.allclose(k, sigma_xz) for k in kept) == 2


@pytest.mark.parametrize(
    "name, target, keep, size, closure",
    [("C2v", "Cs", "yz", 2, "D2h"), ("C2v", "Cs", "xz", 2, "D2h"), ("C4v", "Cs", "xz", 4, "D4h"), ("D4h", "C2v", "x", 4, "D4h"),
     ("D3h", "Cs", "xy", 6, "D6h"), ("D3h", "Cs", "xz", 12, "D6h"), ("Oh", "C4v", "z", 6, "Oh"), ("D2h", "C2v", "z", 2, "D4h")],
)  # fmt: skip
def test_a_kept_class_is_closed_under_its_generalized_normalizer_and_every_element_keeps_it(name, target, keep, size, closure):
    from symbreak.groups import kept_subgroup

    g = PointGroup(name)
    k = kept_subgroup(g, target, keep)
    b = symmetry_breaking_set(g, target, keep=keep)
    c = _class_normalizer(g, k.operations)
    assert (b.size, b.normalizer, b.ideal, b.equivariant) == (size, closure, True, True)
    assert PointGroup.from_operations(c).name == closure
    for x in np.concatenate([c, g.operations]):  # closed under N(G, K) = G·N_N(K), and so under G
        assert same_set(b.vectors @ x.T, b.vectors)
    conjugates = [np.einsum("ij,kjl,ml->kim", x, k.operations, x) for x in g.operations]
    for v in b.vectors:  # Stab_G(b) is exactly a G-conjugate of the named K
        assert any(_same_ops(_stabilizer_ops(g, v), kk) for kk in conjugates)
    if len(c) < len(g.normalizer().operations):  # N fuses classes: the whole of N moves the set
        assert not all(same_set(b.vectors @ x.T, b.vectors) for x in g.normalizer().operations)


def test_c2v_keeps_each_mirror_with_the_two_vectors_in_its_plane_normal_to_the_axis():
    b = symmetry_breaking_set("C2v", "Cs", keep="yz")
    assert same_set(b.vectors, np.array([[0.0, 1.0, 0.0], [0.0, -1.0, 0.0]])) and b.keep == "Cs {σ(yz)}"
    assert same_set(symmetry_breaking_set("C2v", "Cs", keep="σ(xz)").vectors, np.array([[1.0, 0.0, 0.0], [-1.0, 0.0, 0.0]]))
    # the same class given as operations or as a Subgroup
    from symbreak.groups import kept_subgroup

    k = kept_subgroup("C2v", "Cs", "yz")
    assert same_set(symmetry_breaking_set("C2v", "Cs", keep=k).vectors, b.vectors)
    assert same_set(symmetry_breaking_set("C2v", "Cs", keep=k.operations).vectors, b.vectors)


@pytest.mark.parametrize("name, target, keep", [("C2v", "Cs", "yz"), ("C4v", "Cs", "xz"), ("D4h", "C2v", "x"), ("D3h", "Cs", "xz")])
def test_a_kept_set_turns_with_the_normalizer(name, target, keep):
    """B(nKn⁻¹) = n·B(K) for every n in N: which valid frame a structure's detection picks does not matter."""
    from symbreak.groups import kept_subgroup

    g = PointGroup(name)
    k = kept_subgroup(g, target, keep).operations
    base = symmetry_breaking_set(g, target, keep=keep).vectors
    for n in g.normalizer().operations:
        moved = symmetry_breaking_set(g, target, keep=np.einsum("ij,kjl,ml->kim", n, k, n)).vectors
        assert same_set(moved, base @ n.T)


def test_classes_vectors_cannot_keep_and_bad_names_are_one_line_errors():
    # D4h → the C2v of C2(z) and σ(xz), σ(yz): a vector fixed by it lies on z, where C4v keeps it
    with pytest.raises(GroupError, match=r"no vector keeps exactly C2v \{C2\(z\), σ\(yz\), σ\(xz\)\} of D4h") as err:
        symmetry_breaking_set("D4h", "C2v", keep="z,xz")
    assert "\n" not in str(err.value) and "minimal_sbs" in str(err.value)
    with pytest.raises(GroupError, match=r"no vector keeps exactly D2h"):  # centrosymmetric: no vector keeps i
        symmetry_breaking_set("D4h", "D2h", keep="x")
    with pytest.raises(GroupError, match=r"no Cs subgroup of C2v contains σ\(xy\)"):
        symmetry_breaking_set("C2v", "Cs", keep="xy")
    with pytest.raises(GroupError, match="fits 2 classes of C2v in D4h"):
        symmetry_breaking_set("D4h", "C2v", keep="z")
    with pytest.raises(GroupError, match="cannot read 'q'"):
        symmetry_breaking_set("C2v", "Cs", keep="q")
    with pytest.raises(GroupError, match="not a Cs subgroup of C2v"):
        symmetry_breaking_set("C2v", "Cs", keep=PointGroup("C2v").operations[:2])  # E and C2: a C2
    with pytest.raises(GroupError, match="not a subgroup"):
        symmetry_breaking_set("C2v", "C3", keep="z")


def test_the_generalized_normalizer_of_a_class_by_brute_force():
    from symbreak.groups import generalized_normalizer, kept_subgroup

    for name, target, keep in [("C2v", "Cs", "yz"), ("D3h", "Cs", "xz"), ("D4h", "C2v", "x"), ("D6h", "C2v", "x")]:
        g = PointGroup(name)
        k = kept_subgroup(g, target, keep)
        assert _same_ops(generalized_normalizer(g, k, conjugates=True), _class_normalizer(g, k.operations))
        strict = generalized_normalizer(g, k)  # N_N(K): inside the class normalizer
        assert all(np.abs(_class_normalizer(g, k.operations) - x).max(axis=(1, 2)).min() < 1e-8 for x in strict)
    # D3h's σv: N_N(σv) = C2v × ... has 8 elements of D6h, G·N_N(σv) is all of D6h (the σv are conjugate in D3h)
    k = kept_subgroup("D3h", "Cs", "xz")
    assert (len(generalized_normalizer("D3h", k)), len(generalized_normalizer("D3h", k, conjugates=True))) == (8, 24)


def test_the_smallest_set_of_any_objects_for_one_class():
    from symbreak.groups import minimal_sbs

    best = minimal_sbs("C2v", "Cs", keep="yz")
    assert (best.size, best.bound, best.complement, best.normalizer) == (2, 2, True, "D2h")
    assert minimal_sbs("C2v", "Cs").size == 4  # closed under D4h: both mirrors
    assert (minimal_sbs("D4h", "D2h", keep="x").size, minimal_sbs("D4h", "D2h").size) == (2, 4)
    d4h = PointGroup("D4h")
    best = minimal_sbs(d4h, "C2v", keep="z,xz")  # what vectors cannot keep, 4 objects can
    assert (best.size, best.complement) == (4, True)
    for obj in best.objects:
        assert _group_name(_point_set_stabilizer(d4h.operations, obj)) == "C2v"


def test_sbs_command_keeps_one_class(capsys):
    from symbreak.cli import main

    assert main(["sbs", "C2v", "Cs", "--keep", "yz"]) == 0
    out = capsys.readouterr().out
    assert "keeping one class: Cs {σ(yz)}" in out and "closed under N(G, K) = D2h" in out
    assert "2 unit vectors, each keeping a conjugate of Cs {σ(yz)} (ideal)" in out
    rows = [line.split() for line in out.splitlines() if line.startswith("    ")]
    assert sorted(rows) == [["+0.000000", "+1.000000", "+0.000000"], ["+0.000000", "-1.000000", "+0.000000"]]  # ±y only
    assert main(["sbs", "C2v", "Cs", "--keep", "xy"]) == 2
    assert "no Cs subgroup of C2v contains σ(xy)" in capsys.readouterr().err
    assert main(["sbs", "D4h", "C2v", "--keep", "z,xz"]) == 2
    err = capsys.readouterr().err
    assert "no vector keeps exactly" in err and len(err.strip().splitlines()) == 1
