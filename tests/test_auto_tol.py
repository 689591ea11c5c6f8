"""tol="auto": the structure chooses its tolerance (symbreak.detect._auto)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from ase.collections import g2

from symbreak import PointGroup, detect_symmetry
from ase.build import molecule

from symbreak._errors import StructureError, ToleranceError
from symbreak.detect._auto import FLOOR, Plateau, choose_plateau, constraints
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
    p = lambda name, order, r, nu=5: Plateau(name, order, r, None, nu)  # noqa: E731
    # noise: subgroups enter just below the true group, whose ratio is the clear one
    k, tol, margin = choose_plateau([p("C1", 1, 0.0, 0), p("C2", 2, 0.04), p("C2v", 4, 0.05), p("junk", 8, 0.4)], 0.5)
    assert (k, round(margin, 6)) == (2, 8.0) and 0.05 < tol < 0.4
    # a larger clear group that the noise justifies (residual within NOISE_RATIO) wins
    k, _, margin = choose_plateau([p("C1", 1, 0.0, 0), p("Cs", 2, 0.01), p("C3v", 6, 0.022)], 0.5)
    assert (k, round(margin, 6)) == (2, round(0.5 / 0.022, 6))
    # one it does not justify (a distortion 20 times the noise, far above a file's rounding) does not
    k, _, _ = choose_plateau([p("C1", 1, 0.0, 0), p("Cs", 2, 0.003), p("C3v", 6, 0.06)], 0.5, min_distance=1.1)
    assert k == 1
    # ... unless it is below SCALE_FRACTION of the smallest distance (C60 as ASE writes it)
    k, _, _ = choose_plateau([p("C1", 1, 0.0, 0), p("Ci", 2, 2.7e-4), p("C2h", 4, 2.9e-3), p("Ih", 120, 8.5e-3)], 0.68, min_distance=1.38)
    assert k == 3
    # an exact group that constrains nothing (three atoms always share a plane) is the floor, not the answer
    k, _, _ = choose_plateau([p("Cs", 2, 1e-16, 0), p("C2v", 4, 0.02)], 0.47)
    assert k == 1
    # an exact group that does constrain the coordinates says they are clean: a larger group is a distortion
    k, _, margin = choose_plateau([p("C1", 1, 0.0, 0), p("D2h", 8, 1e-15), p("D4h", 16, 0.03)], 0.73)
    assert k == 1 and margin > 1e6
    # nothing clear: the best ratio if it reaches MIN_MARGIN (structures of WEAK_ATOMS or more), else the floor
    k, _, margin = choose_plateau([p("C1", 1, 0.0, 0), p("C2", 2, 0.1), p("C2v", 4, 0.18)], 0.3, atoms=40)
    assert k == 1 and margin == pytest.approx(1.8)
    k, _, margin = choose_plateau([p("C1", 1, 0.0, 0), p("C2", 2, 0.1), p("C2v", 4, 0.18)], 0.3, atoms=8)
    assert k == 0 and margin == pytest.approx(1.5 / 1.8)  # a small structure: no weak readings
    k, _, margin = choose_plateau([p("C1", 1, 0.0, 0), p("C2", 2, 0.2), p("C2v", 4, 0.25)], 0.3, atoms=40)
    assert k == 0 and margin == pytest.approx(1.5 / 1.25)  # the best ratio fell short of MIN_MARGIN by this factor


def test_a_clear_line_wins_over_the_planes_through_it():
    p = lambda name, order, r, nu: Plateau(name, order, r, None, nu)  # noqa: E731
    # acetylene with 0.001 Å of noise: four atoms near a line lie in a plane to 1e-6 Å
    k, _, _ = choose_plateau([p("C1", 1, 0.0, 0), p("Cs", 2, 3e-6, 1), p("C*v", 24, 0.0015, 4), p("D*h", 48, 0.0015, 5)], 0.52)
    assert k == 3


def test_a_rung_where_detection_fails_does_not_end_the_ladder():
    rng = np.random.default_rng(1)
    c2h2 = molecule("C2H2")
    for _ in range(10):
        sym = detect_symmetry(c2h2.positions + rng.normal(scale=0.001, size=(4, 3)), c2h2.numbers, tol="auto")
        assert sym.point_group == "D*h"


@pytest.mark.parametrize(("name", "group"), [("H2O", "C2v"), ("CO2", "D*h"), ("HCN", "C*v"), ("SO2", "C2v"), ("O3", "C2v"), ("NH3", "C3v")])
@pytest.mark.parametrize("noise", [0.001, 0.01])
def test_small_molecules_under_noise_keep_their_group(name, group, noise):
    # three atoms always share an exact plane: that plane must not win over the molecule's group
    rng = np.random.default_rng(0)
    mol = molecule(name)
    got = [detect_symmetry(mol.positions + rng.normal(scale=noise, size=mol.positions.shape), mol.numbers, tol="auto") for _ in range(20)]
    assert [s.point_group for s in got] == [group] * 20
    assert min(s.margin for s in got) > 2.5


def test_c60_reads_ih_clean_and_noisy():
    c60 = molecule("C60")
    clean = detect_symmetry(c60.positions, c60.numbers, tol="auto")
    assert clean.point_group == "Ih" and clean.margin > 10  # Ci holds to 3e-4 Å, Ih to 8e-3 Å: the file's rounding
    noisy = detect_symmetry(c60.positions + np.random.default_rng(1).normal(scale=0.01, size=(60, 3)), c60.numbers, tol="auto")
    assert noisy.point_group == "Ih"


def test_constraints_count_the_conditions_a_group_imposes():
    water = molecule("H2O")
    assert constraints(detect_symmetry(water.positions, water.numbers)) == 1  # the two O-H bonds are equal
    bent = water.positions + [[0, 0, 0], [0, 0.05, 0], [0, 0, 0]]
    cs = detect_symmetry(bent, water.numbers, tol=0.01)
    assert cs.point_group == "Cs" and constraints(cs) == 0  # three atoms always lie in a plane
    assert constraints(detect_symmetry(np.array([[0, 0, 0], [0, 0, 1.1]]), [6, 8])) == 0  # two atoms: always on a line
    assert constraints(detect_symmetry(molecule("CO2").positions, molecule("CO2").numbers)) == 3  # on a line (2), equal bonds (1)
    assert constraints(detect_symmetry(molecule("CH4").positions, molecule("CH4").numbers)) == 15 - 1 - 3 - 3 + 0
    asym = np.random.default_rng(0).normal(size=(6, 3)) * 2
    assert constraints(detect_symmetry(asym, tol=0.01)) == 0  # C1 asks nothing


def test_large_noisy_clusters_reach_past_half_the_smallest_distance():
    # 0.05 Å per coordinate moves the worst atom of a 240-atom cluster by about 0.3 Å: past half the
    # smallest distance (0.35 Å here), where no fixed tolerance can be used
    pos, z = random_symmetric_structure("Oh", seed=3, n_seeds=5, min_distance=0.7)
    x, z2, *_ = random_transform(pos, z, seed=4, noise=0.05)
    sym = detect_symmetry(x, z2, tol="auto")
    assert sym.point_group == "Oh"
    dmin = np.min(np.linalg.norm(x[:, None] - x[None], axis=-1) + 1e9 * np.eye(len(x)))
    assert sym.max_residual > 0.5 * dmin


def test_auto_names_coincident_atoms():
    with pytest.raises(StructureError, match="atoms 0 and 1 coincide"):
        detect_symmetry(np.array([[0.0, 0, 0], [0, 0, 0], [1, 0, 0]]), tol="auto")
