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
    assert [(r["group"], r["target"], r["size"], r["ideal"]) for r in committed] == [(r["group"], r["target"], r["size"], r["ideal"]) for r in fresh]
