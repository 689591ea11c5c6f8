import math

import numpy as np
import pytest
from conftest import all_group_names

from symbreak import GroupError, PointGroup
from symbreak.groups import identify, parse_name
from symbreak.rotations import random_rotations

EXPECTED_ORDER = {"T": 12, "Td": 24, "Th": 24, "O": 24, "Oh": 48, "I": 60, "Ih": 120, "C1": 1, "Cs": 2, "Ci": 2}


def expected_order(name: str) -> int:
    if name in EXPECTED_ORDER:
        return EXPECTED_ORDER[name]
    fam, n = parse_name(name)
    return {"C": n, "Cv": 2 * n, "Ch": 2 * n, "S": n, "D": 2 * n, "Dh": 4 * n, "Dd": 4 * n}[fam]


@pytest.mark.parametrize("name", all_group_names())
def test_group_structure(name):
    g = PointGroup(name)
    ops = g.operations
    assert g.order == expected_order(name) == len(ops)
    np.testing.assert_allclose(ops[0], np.eye(3))
    np.testing.assert_allclose(ops @ ops.transpose(0, 2, 1), np.broadcast_to(np.eye(3), ops.shape), atol=1e-12)
    table = g.cayley_table
    # a group's multiplication table is a Latin square, and it matches the matrices
    for row in table:
        assert sorted(row) == list(range(len(ops)))
    i, j = len(ops) // 2, len(ops) - 1
    np.testing.assert_allclose(ops[i] @ ops[j], ops[g.multiply(i, j)], atol=1e-12)
    np.testing.assert_allclose(ops[i] @ ops[g.inverse(i)], np.eye(3), atol=1e-12)


@pytest.mark.parametrize("name", all_group_names())
def test_from_operations_in_any_orientation(name):
    g = PointGroup(name)
    for q in random_rotations(2, improper=True, seed=7):
        conj = q @ g.operations @ q.T
        found, orient, idx = identify(conj)
        assert found.name == g.name
        np.testing.assert_allclose(orient @ g.operations @ orient.T, conj[idx], atol=1e-9)
        assert np.linalg.det(orient) > 0
        assert PointGroup.from_operations(conj[::-1]) == g


@pytest.mark.parametrize("name", [n for n in all_group_names(8) if PointGroup(n).normalizer() is not None])
def test_normalizer_contains_and_normalizes(name):
    g, norm = PointGroup(name), PointGroup(name).normalizer()
    ops = g.operations
    for m in norm.operations:
        conj = m @ ops @ m.T
        d = np.linalg.norm(conj[:, None] - ops[None], axis=(2, 3)).min(axis=1)
        assert d.max() < 1e-9
    for o in ops:
        norm.index(o)


@pytest.mark.parametrize(
    "alias,name", [("C1h", "Cs"), ("C1v", "Cs"), ("S2", "Ci"), ("S3", "C3h"), ("D1", "C2"), ("D1h", "C2v"), ("D1d", "C2h"), ("Cinfv", "C*v"), ("D∞h", "D*h")]
)
def test_aliases(alias, name):
    assert PointGroup(alias).name == name


@pytest.mark.parametrize("bad", ["X3", "C0", "Cd", "S4v", "", "D*v", 5])
def test_unknown_names(bad):
    with pytest.raises(GroupError):
        PointGroup(bad)


def test_properties():
    assert PointGroup("O").is_proper and not PointGroup("Oh").is_proper
    assert PointGroup("S6").has_inversion and not PointGroup("S4").has_inversion
    assert PointGroup("C3h") == "S3" and PointGroup("D3h") != PointGroup("D3d")
    inf = PointGroup("D*h", axial_order=8)
    assert not inf.is_finite and inf.order == math.inf and len(inf.operations) == 32


def test_from_operations_rejects_non_groups():
    ops = PointGroup("C4").operations
    with pytest.raises(GroupError, match="closed"):
        PointGroup.from_operations(ops[:3])
    with pytest.raises(GroupError, match="orthogonal"):
        PointGroup.from_operations(ops * 1.1)
    with pytest.raises(GroupError, match="shape"):
        PointGroup.from_operations(np.eye(3))


@pytest.mark.parametrize(
    "name, axial_order, match",
    [
        ("C1000000", 12, r"main axis order 1000000 exceeds the limit of 1000 \(MAX_AXIAL_ORDER\)"),
        ("D1001h", 12, "exceeds the limit of 1000"),
        ("D0", 12, "at least 1"),
        ("garbage", 12, "unknown point group 'garbage'"),
        ("D*h", 10**6, r"axial_order = 1000000 exceeds the limit of 1000 \(MAX_AXIAL_ORDER\)"),
        ("C*v", -3, "axial_order must be an integer >= 2, got -3"),
        ("C*v", 2.5, "got 2.5"),
        ("C*v", True, "got True"),
        ("C*v", "12", "got '12'"),
    ],
)
def test_bad_names_and_axial_orders_are_symbreak_errors(name, axial_order, match):
    from symbreak import SymbreakError

    with pytest.raises(GroupError, match=match) as info:
        PointGroup(name, axial_order=axial_order)
    assert isinstance(info.value, SymbreakError) and isinstance(info.value, ValueError)


def test_axial_order_reaching_point_groups_from_detection_is_checked():
    from symbreak import SymbreakError, detect_symmetry

    co2 = np.array([[0.0, 0.0, -1.16], [0.0, 0.0, 0.0], [0.0, 0.0, 1.16]])
    water = np.array([[0.0, 0.0, 0.0], [0.76, 0.59, 0.0], [-0.76, 0.59, 0.0]])
    for positions, numbers in [(co2, [8, 6, 8]), (water, [8, 1, 1])]:
        for bad in (10**6, 1001, -1, 0, 2.5):
            with pytest.raises(SymbreakError, match="axial_order"):
                detect_symmetry(positions, numbers, axial_order=bad)
    assert len(detect_symmetry(co2, [8, 6, 8], axial_order=1000).operations) == 4000  # the limit itself is accepted
    for bad in (10**6, -1):
        with pytest.raises(GroupError, match="axial_order"):
            identify(PointGroup("D6h").operations, axial_order=bad)


def test_large_groups_multiply_without_cubic_memory():
    # the Cayley table of C1000 once compared every product with every element: 67 GiB
    g = PointGroup("C1000")
    table, ops = g.cayley_table, g.operations
    i, j = np.random.default_rng(0).integers(0, 1000, (2, 500))
    np.testing.assert_allclose(ops[i] @ ops[j], ops[table[i, j]], atol=1e-12)
    assert (np.sort(table, axis=1) == np.arange(1000)).all()  # a Latin square
    assert PointGroup.from_operations(PointGroup("D60h").operations).name == "D60h"


@pytest.mark.parametrize("n", [12, 30, 60, 100])
def test_number_of_subgroups_of_large_axial_groups(n):
    """Cn has τ(n) subgroups and Dn has τ(n) + σ(n) (divisor count and sum)."""
    from symbreak.groups import subgroups

    divisors = [d for d in range(1, n + 1) if n % d == 0]
    assert len(subgroups(f"C{n}")) == len(divisors)
    assert len(subgroups(f"D{n}")) == len(divisors) + sum(divisors)
    assert len(subgroups(f"C{n}v")) == len(divisors) + sum(divisors)  # C_nv ≅ D_n


@pytest.mark.parametrize("name", ["D6h", "Oh", "D4d", "C12v", "Th", "S8", "D3h"])
def test_prime_index_search_finds_what_joining_finds(name):
    """Subgroups of solvable groups are reached by normal extensions of prime index; joining one
    element at a time (the search non-solvable I and Ih use) finds the same ones."""
    from symbreak.groups._subgroups import _search, _table_of

    t = _table_of(PointGroup(name))
    start = [np.array([t.identity])]
    fast = {k for k in _search(t, start, lambda k: True, prime=True)}
    assert fast == {k for k in _search(t, start, lambda k: True)}
