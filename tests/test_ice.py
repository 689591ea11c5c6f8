"""symbreak.md ice test: proton-disordered ice Ih cells (GenIce2) and raw against averaged calculators."""

from __future__ import annotations

import json
import random
import sys
from typing import ClassVar

import numpy as np
import pytest
from ase import Atoms
from ase.calculators.calculator import Calculator, all_changes
from ase.calculators.lj import LennardJones
from ase.geometry import find_mic, get_distances

from symbreak._errors import SymbreakError
from symbreak.md import SymmetrizedCalculator, ice_cells, ice_test

U = np.array([0.3, -0.5, 0.8]) / np.linalg.norm([0.3, -0.5, 0.8])
EPS, K, R0 = 0.05, 2.0, 1.0  # eV/Å², eV/Å², Å


@pytest.fixture(scope="module")
def cells():
    pytest.importorskip("genice2", reason="GenIce2 (the md extra) builds the ice cells")
    return ice_cells(3, reps=(1, 1, 1), seed=0)


def _bonds(atoms):
    """O–H bond vectors d = x_H − x_O (minimum image), (2m, 3), and the O and H index of each; atoms are O, H, H per molecule."""
    o = np.repeat(np.arange(0, len(atoms), 3), 2)
    h = np.stack([o[::2] + 1, o[::2] + 2], 1).ravel()
    d, _ = find_mic(atoms.positions[h] - atoms.positions[o], atoms.cell, atoms.pbc)
    return d, o, h


def anisotropy(atoms):
    r"""The non-invariant part of :class:`OrientedBonds`, raw minus averaged: :math:`\epsilon\sum(\mathbf u\cdot\mathbf d)^2 - |\mathbf d|^2/3`."""
    d, _, _ = _bonds(atoms)
    return EPS * ((d @ U) ** 2 - (d * d).sum(1) / 3).sum()


class OrientedBonds(Calculator):
    r"""Water with a known orientation dependence: Lennard-Jones (invariant) plus, per O–H bond d,
    :math:`k(|\mathbf d| - r_0)^2 + \epsilon(\mathbf u\cdot\mathbf d)^2`.

    ``invariant=True`` replaces :math:`(\mathbf u\cdot\mathbf d)^2` by its O(3) average
    :math:`|\mathbf d|^2/3`: the exact rotational average of the raw calculator, which the 2i grid
    (exact to l = 2) also gives.
    """

    implemented_properties: ClassVar[list[str]] = ["energy", "forces"]

    def __init__(self, invariant: bool = False, **kw):
        super().__init__(**kw)
        self.invariant = invariant
        self.lj = LennardJones(sigma=1.0, epsilon=0.05, rc=4.0)

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        a = self.atoms.copy()
        a.calc = self.lj
        e, f = a.get_potential_energy(), a.get_forces()
        d, o, h = _bonds(self.atoms)
        r = np.linalg.norm(d, axis=1)
        if self.invariant:
            e_dir, g_dir = EPS * (r * r) / 3, 2 * EPS / 3 * d
        else:
            e_dir, g_dir = EPS * (d @ U) ** 2, 2 * EPS * (d @ U)[:, None] * U
        e += (K * (r - R0) ** 2 + e_dir).sum()
        g = (2 * K * (r - R0) / r)[:, None] * d + g_dir  # dE/dd
        np.add.at(f, h, -g)
        np.add.at(f, o, g)
        self.results = {"energy": float(e), "free_energy": float(e), "forces": f}


def test_ice_rules(cells):
    for atoms in cells:
        assert atoms.get_chemical_formula() == "H32O16" and atoms.pbc.all()
        oxygen, hydrogen = atoms.numbers == 8, atoms.numbers == 1
        _, d_oh = get_distances(atoms.positions[oxygen], atoms.positions[hydrogen], atoms.cell, atoms.pbc)
        assert ((d_oh < 1.2).sum(1) == 2).all(), "every O has two covalent H"
        assert ((d_oh < 1.2).sum(0) == 1).all(), "every H belongs to one O"
        # Bernal–Fowler: every O–O hydrogen bond (4 per O) carries exactly one H, so each O also accepts two
        assert ((d_oh > 1.2) & (d_oh < 2.2)).sum(1).tolist() == [2] * 16
        _, d_oo = get_distances(atoms.positions[oxygen], cell=atoms.cell, pbc=atoms.pbc)
        assert ((d_oo > 0) & (d_oo < 3.0)).sum(1).tolist() == [4] * 16
        assert np.allclose(atoms.positions[oxygen], cells[0].positions[oxygen])  # one oxygen lattice
        # depolarized: 32 random O–H vectors would sum to about 3 Å
        assert np.linalg.norm(_bonds(atoms)[0].sum(0)) < 0.2


def test_cells_differ_and_depend_only_on_seed(cells):
    hydrogen = cells[0].numbers == 1
    for i in range(len(cells)):
        for j in range(i):
            assert np.abs(cells[i].positions[hydrogen] - cells[j].positions[hydrogen]).max() > 0.5
    np.random.seed(3)
    random.seed(3)
    before = (np.random.random(), random.random())
    np.random.seed(3)
    random.seed(3)
    again = ice_cells(3, reps=(1, 1, 1), seed=0)
    assert (np.random.random(), random.random()) == before, "the caller's random states are given back"
    assert all(np.array_equal(a.positions, b.positions) and np.array_equal(a.cell, b.cell) for a, b in zip(cells, again))
    other = ice_cells(3, reps=(1, 1, 1), seed=1)
    assert all(np.abs(a.positions - b.positions).max() > 0.5 for a, b in zip(cells, other))
    assert [a.info["genice_seed"] for a in cells] != [a.info["genice_seed"] for a in other]


def test_ice_cells_errors(monkeypatch):
    with pytest.raises(SymbreakError, match="n must be"):
        ice_cells(1)
    for reps in ((1, 1), (1, 0, 1), (1.5, 1, 1), "111"):
        with pytest.raises(SymbreakError, match="reps must be"):
            ice_cells(2, reps=reps)
    monkeypatch.setitem(sys.modules, "genice2", None)  # import genice2 then raises ImportError
    with pytest.raises(SymbreakError, match=r"pip install 'symbreak\[md\]'"):
        ice_cells(2)


def test_ice_test_against_known_anisotropy(cells):
    res = ice_test(OrientedBonds(), OrientedBonds(invariant=True), cells)
    json.dumps(res)
    m = 16
    assert res["cells"] == 3 and res["molecules"] == m and res["relaxed"] is None
    ini = res["initial"]
    # the raw relative energies are off by exactly the relative non-invariant energy, per molecule
    delta = 1e3 * np.array([anisotropy(a) for a in cells]) / m
    expected = delta - delta.mean()
    assert np.abs(expected).max() > 1e-3  # the orderings really do differ in it
    np.testing.assert_allclose(ini["relative_error_meV_per_molecule"], expected, rtol=0, atol=1e-9)
    assert ini["relative_error_mae_meV_per_molecule"] == pytest.approx(np.abs(expected).mean(), abs=1e-9)
    assert ini["relative_error_max_meV_per_molecule"] == pytest.approx(np.abs(expected).max(), abs=1e-9)
    assert ini["energy_offset_meV_per_molecule"] == pytest.approx(delta.mean(), abs=1e-9)
    rel_avg = np.array(ini["relative_avg_meV_per_molecule"])
    assert ini["spread_avg_range_meV_per_molecule"] == pytest.approx(np.ptp(rel_avg)) and np.ptp(rel_avg) > 0
    assert ini["spread_avg_std_meV_per_molecule"] == pytest.approx(rel_avg.std())
    # forces: raw − averaged on each H is −2ε((u·d)u − d/3), on each O minus the sum over its two H
    for k, atoms in enumerate(cells):
        d, o, h = _bonds(atoms)
        g = -2 * EPS * ((d @ U)[:, None] * U - d / 3)
        diff = np.zeros((len(atoms), 3))
        np.add.at(diff, h, g)
        np.add.at(diff, o, -g)
        assert ini["force_diff_max_meV_A"][k] == pytest.approx(1e3 * np.abs(diff).max(), abs=1e-9)
        assert ini["force_diff_mae_meV_A"][k] == pytest.approx(1e3 * np.abs(diff).mean(), abs=1e-9)
    assert ini["force_diff_max_all_meV_A"] == pytest.approx(max(ini["force_diff_max_meV_A"]))


def test_2i_grid_recovers_the_exact_average(cells):
    exact = ice_test(OrientedBonds(), OrientedBonds(invariant=True), cells[:2])["initial"]
    grid = ice_test(OrientedBonds(), SymmetrizedCalculator(OrientedBonds(), mode="grid", grid="2i"), cells[:2])["initial"]
    for key in ("energy_avg_meV_per_molecule", "relative_error_meV_per_molecule", "force_diff_max_meV_A", "force_scale_meV_A"):
        np.testing.assert_allclose(grid[key], exact[key], rtol=0, atol=1e-8)


def test_same_calculator_gives_zero(cells):
    calc = OrientedBonds()
    res = ice_test(calc, calc, cells[:2], relax_steps=3)
    for part in (res["initial"], res["relaxed"]):
        assert part["relative_error_mae_meV_per_molecule"] == 0.0 and part["relative_error_max_meV_per_molecule"] == 0.0
        assert part["energy_offset_meV_per_molecule"] == 0.0
    assert res["initial"]["force_diff_max_all_meV_A"] == 0.0 and res["initial"]["force_scale_all_meV_A"] > 100
    assert res["relaxed"]["rmsd_A"] == [0.0, 0.0] and res["relaxed"]["steps_raw"] == [3, 3]


def test_relaxation_under_raw_and_average(cells):
    res = ice_test(OrientedBonds(), OrientedBonds(invariant=True), cells[:2], relax_steps=4, fmax=1e-4)
    json.dumps(res)
    rel = res["relaxed"]
    assert rel["steps_raw"] == [4, 4] and rel["steps_avg"] == [4, 4] and rel["converged"] is False
    assert all(0 < r < 0.1 for r in rel["rmsd_A"]) and rel["rmsd_mean_A"] == pytest.approx(np.mean(rel["rmsd_A"]))
    # relaxing lowers each model's energy below its own initial one
    assert all(np.array(rel["energy_raw_meV_per_molecule"]) < np.array(res["initial"]["energy_raw_meV_per_molecule"]))
    assert all(np.array(rel["energy_avg_meV_per_molecule"]) < np.array(res["initial"]["energy_avg_meV_per_molecule"]))
    assert set(res["seconds"]) == {"initial", "relax"}


def test_ice_test_validates():
    water = Atoms("OH2", positions=[[0, 0, 0], [0.96, 0, 0], [-0.24, 0.93, 0]], cell=[5, 5, 5], pbc=True)
    calc = OrientedBonds()
    with pytest.raises(SymbreakError, match="at least 2"):
        ice_test(calc, calc, [])
    with pytest.raises(SymbreakError, match="at least 2"):
        ice_test(calc, calc, [water])
    with pytest.raises(SymbreakError, match="at least 2"):
        ice_test(calc, calc, water)
    with pytest.raises(SymbreakError, match="one composition"):
        ice_test(calc, calc, [water, Atoms("OH", positions=[[0, 0, 0], [1, 0, 0]], cell=[5, 5, 5], pbc=True)])
    with pytest.raises(SymbreakError, match="cells\\[1\\] must be ase.Atoms"):
        ice_test(calc, calc, [water, "water"])
    with pytest.raises(SymbreakError, match="must be water"):
        ice_test(calc, calc, [Atoms("H2", positions=[[0, 0, 0], [0.7, 0, 0]])] * 2)
    with pytest.raises(SymbreakError, match="calc_avg must be an ASE calculator"):
        ice_test(calc, "2i", [water, water])
    with pytest.raises(SymbreakError, match="relax_steps"):
        ice_test(calc, calc, [water, water], relax_steps=-1)
    with pytest.raises(SymbreakError, match="fmax"):
        ice_test(calc, calc, [water, water], fmax=0.0)


@pytest.mark.parametrize("kw", [{"n": 10**6}, {"n": 2, "reps": (50, 50, 50)}, {"n": 2, "seed": -1}, {"n": 2, "seed": "a"}])
def test_requests_too_large_or_bad_seeds_are_refused_at_once(kw):
    from symbreak._errors import SymbreakError
    from symbreak.md import ice_cells

    with pytest.raises(SymbreakError, match="at most|seed"):
        ice_cells(**kw)
