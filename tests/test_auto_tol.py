"""tol="auto": the structure chooses its tolerance (symbreak.detect._auto)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from ase.collections import g2

from symbreak import PointGroup, detect_symmetry
from symbreak._errors import ToleranceError
from symbreak.detect._auto import FLOOR, Plateau, choose_plateau
from symbreak.testing import random_symmetric_structure, random_transform

FAMILIES = ["Cs", "Ci", "C2", "C3v", "C4h", "D2", "D3h", "D4d", "S4", "S6", "D6h", "T", "Td", "Th", "O", "Oh"]


@pytest.mark.parametrize("name", FAMILIES)
def test_clean_structures_keep_their_exact_group(name):
    pos, z = random_symmetric_structure(name, seed=7, n_seeds=3, min_distance=1.0)
    x, z2, *_ = random_transform(pos, z, seed=3)
    sym = detect_symmetry(x, z2, tol="auto")
    assert sym.point_group == PointGroup(name).name
    assert sym.max_residual < 1e-6
    assert sym.margin > 1e3  # exact operations stand out by many orders of magnitude
    assert FLOOR <= sym.tol < 0.5 * np.min(np.linalg.norm(x[:, None] - x[None], axis=-1) + 1e9 * np.eye(len(x)))


@pytest.mark.parametrize("name", ["C2v", "D3h", "Td", "Oh", "C4h"])
@pytest.mark.parametrize("noise", [0.01, 0.02])
def test_noisy_structures_keep_their_group(name, noise):
    pos, z = random_symmetric_structure(name, seed=11, n_seeds=3, min_distance=1.0)
    x, z2, *_ = random_transform(pos, z, seed=5, noise=noise)
    sym = detect_symmetry(x, z2, tol="auto")
    assert sym.point_group == PointGroup(name).name
    assert 2.0 <= sym.margin < 1e3  # noise: a finite margin, but a clear one
    assert sym.max_residual <= sym.tol


def test_an_approximate_larger_symmetry_is_never_added_to_a_clean_structure():
    # a square-planar D4h cluster pulled into an exact D2h rectangle by 0.03 Å
    square = np.array([[1.5, 0, 0], [-1.5, 0, 0], [0, 1.5, 0], [0, -1.5, 0], [0, 0, 0]])
    rect = square * np.array([1.02, 1.0, 1.0])
    z = [1, 1, 1, 1, 6]
    assert detect_symmetry(rect, z).point_group == "D4h"  # the fixed default reads the near symmetry
    sym = detect_symmetry(rect, z, tol="auto")
    assert sym.point_group == "D2h" and sym.tol < 0.03 and sym.margin > 1e3


def test_jahn_teller_radical_reads_its_chemical_group():
    sym = detect_symmetry(g2["CH3O"], tol="auto")
    assert (detect_symmetry(g2["CH3O"]).point_group, sym.point_group) == ("C3v", "Cs")


def test_asymmetric_cluster_is_c1_and_says_how_clearly():
    rng = np.random.default_rng(0)
    pts = rng.uniform(-2, 2, size=(200, 3))
    keep = [p for k, p in enumerate(pts) if all(np.linalg.norm(p - q) > 1.0 for q in pts[:k])]
    sym = detect_symmetry(np.array(keep[:12]), tol="auto")
    assert sym.point_group == "C1" and sym.margin >= 1.0


def test_margin_is_in_the_summary_and_only_with_auto():
    water = np.array([[0.0, 0.0, 0.1173], [0.0, 0.7572, -0.4692], [0.0, -0.7572, -0.4692]])
    assert detect_symmetry(water, [8, 1, 1]).margin is None
    d = detect_symmetry(water, [8, 1, 1], tol="auto").to_dict()
    assert d["point_group"] == "C2v" and d["margin"] > 1e3
    json.dumps(d)
    assert detect_symmetry(np.zeros((1, 3)), [6], tol="auto").point_group == "Kh"


def test_choose_plateau_rules():
    p = lambda name, order, r: Plateau(name, order, r, None)  # noqa: E731
    # noise: subgroups enter just below the true group, whose ratio is the clear one
    k, tol, margin = choose_plateau([p("C1", 1, 0.0), p("C2", 2, 0.04), p("C2v", 4, 0.05), p("junk", 8, 0.4)], 0.5)
    assert (k, round(margin, 6)) == (2, 8.0) and 0.05 < tol < 0.4
    # the smallest clear group wins over a larger ratio further out (a real near-symmetry)
    k, _, margin = choose_plateau([p("C1", 1, 0.0), p("C4", 4, 0.01), p("C4v", 8, 0.05)], 0.9)
    assert (k, margin) == (1, 5.0)
    # a mirror subgroup under noise stands out a little (2.1); the whole group much more
    k, _, margin = choose_plateau([p("C1", 1, 0.0), p("Cs", 2, 0.0194), p("C4h", 8, 0.0412)], 0.48)
    assert k == 2 and margin == pytest.approx(0.48 / 0.0412)
    # no group stands out: C1, with how clearly the best one fell short
    k, _, margin = choose_plateau([p("C1", 1, 0.0), p("Cs", 2, 0.3)], 0.4)
    assert k == 0 and margin == pytest.approx(1.5 / (0.4 / 0.3))
    with pytest.raises(Exception, match="no tolerance"):
        choose_plateau([], 0.4)


def test_bad_tolerance_strings_are_refused():
    with pytest.raises(ToleranceError, match="'auto'"):
        detect_symmetry(np.eye(3), tol="automatic")
