"""Subgroups, conjugacy classes, normalizers and complements of point groups, against brute force."""

from __future__ import annotations

import itertools
from collections import Counter

import numpy as np
import pytest

from symbreak.groups import PointGroup
from symbreak.groups._subgroups import are_conjugate_in, complements, conjugacy_classes, normalizer_in, subgroups


def brute_force_subgroups(g: PointGroup) -> set[frozenset[int]]:
    """Every subset containing the identity and closed under products (fine for |G| ≤ 12)."""
    table = g.cayley_table
    e = int(np.argmin(np.linalg.norm(g.operations - np.eye(3), axis=(1, 2))))
    others = [i for i in range(len(table)) if i != e]
    out = set()
    for r in range(len(others) + 1):
        for combo in itertools.combinations(others, r):
            s = {e, *combo}
            if all(table[a, b] in s for a in s for b in s):
                out.add(frozenset(s))
    return out


@pytest.mark.parametrize("name", ["C2v", "D3", "C4h", "D2h", "C6", "S4", "D3d", "T"])
def test_subgroups_match_brute_force(name):
    g = PointGroup(name)
    assert {frozenset(s.indices) for s in subgroups(g)} == brute_force_subgroups(g)


@pytest.mark.parametrize(
    "name, count, classes",
    [("C2v", 5, 4), ("D4", 10, 5), ("D2h", 16, 8), ("T", 10, 4), ("Td", 30, 5), ("O", 30, 5), ("Oh", 98, 10), ("I", 59, 5)],
)
def test_known_numbers_of_subgroups_and_classes(name, count, classes):
    # S4 (O, Td) has 30 subgroups, S4 × C2 (Oh) 98, A5 (I) 59, A4 (T) 10; classes: S4 5, A5 5, Oh 10
    assert len(subgroups(name)) == count and len(conjugacy_classes(name)) == classes


def test_every_subgroup_is_a_named_point_group_with_its_elements():
    for s in subgroups("D4h"):
        q = s.orientation
        std = q @ s.group.operations @ q.T
        d = np.linalg.norm(std[:, None] - s.operations[None], axis=(2, 3))
        assert d.min(axis=1).max() < 1e-9 and s.group.order == s.order
    # C2v: C2(z) with the σv pair or the σd pair (2), and each of the 4 in-plane C2 with σh and the vertical mirror through it (4)
    assert Counter(s.name for s in subgroups("D4h"))["C2v"] == 6


def test_normalizers_against_brute_force_and_the_papers_fact():
    g = PointGroup("Oh")
    ops = g.operations
    for s in subgroups(g)[::7]:
        h = s.operations
        brute = tuple(
            i for i, x in enumerate(ops)
            if np.linalg.norm((x @ h @ x.T)[:, None] - h[None], axis=(2, 3)).min(axis=1).max() < 1e-9
        )  # fmt: skip
        assert normalizer_in(g, s.indices) == brute
    # the normalizer of D3 in SO(3) is D6 (12 rotations): Xie & Smidt's triangular prism
    d3 = next(s for s in subgroups("D3h") if s.name == "D3")
    n = d3.normalizer_o3()
    proper = n[np.linalg.det(n) > 0]
    assert len(proper) == 12 and PointGroup.from_operations(proper).name == "D6"
    # and it normalizes: every element maps D3 onto itself
    h = d3.operations
    assert all(np.linalg.norm((x @ h @ x.T)[:, None] - h[None], axis=(2, 3)).min(axis=1).max() < 1e-9 for x in n)
    assert next(s for s in subgroups("C4v") if s.name == "C4").normalizer_o3() is None  # cyclic: infinite


def test_conjugacy_and_complements():
    subs = subgroups("C3v")
    mirrors = [s for s in subs if s.name == "Cs"]
    assert len(mirrors) == 3 and all(are_conjugate_in(mirrors[0], m) for m in mirrors)
    c3 = next(s for s in subs if s.name == "C3")
    assert {c.name for c in complements("C3v", c3)} == {"Cs"} and len(complements("C3v", c3)) == 3
    d2h = PointGroup("D2h")
    c2z = [s for s in subgroups(d2h) if s.name == "C2"]
    assert not are_conjugate_in(c2z[0], c2z[1])  # D2h is abelian: its three C2 are not conjugate
