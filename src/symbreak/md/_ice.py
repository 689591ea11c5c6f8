r"""Proton disorder in hexagonal ice: raw model against its rotational average (Langer, Pozdnyakov & Ceriotti).

The paper's last test (Langer, Pozdnyakov & Ceriotti 2024, "As a final test..."): nine
proton-disordered ice Ih cells, raw PET against its 2i rotational average. Forces on the initial
structures (about 1 eV/Å) differ by less than 1 meV/Å; the proton orderings differ in energy by
about 0.3 meV/molecule and the raw model's relative energies are off by about 0.02 meV/molecule;
geometries relaxed with either model are about 0.001 Å/atom apart (:data:`PAPER_ICE`).

- :func:`ice_cells`: proton-disordered ice Ih cells from GenIce2 (the ``md`` extra): one oxygen
  lattice, different hydrogen orderings that obey the ice rules, deterministic in ``seed``;
- :func:`ice_test`: the comparison for any two ASE calculators, initial structures and, optionally,
  relaxed ones.
"""

from __future__ import annotations

import contextlib
import logging
import random
import time
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from .._errors import SymbreakError

__all__ = ["ICE_LATTICE", "ICE_WATER", "MAX_SEED_TRIES", "PAPER_ICE", "ice_cells", "ice_test"]

logger = logging.getLogger(__name__)

#: the paper's numbers as it words them (Langer, Pozdnyakov & Ceriotti 2024, the ice Ih paragraph)
PAPER_ICE = {
    "cells": 9,
    "force_scale_meV_A": 1000.0,  # "of the order of 1 eV/Å"
    "force_diff_max_meV_A": 1.0,  # "differ by less than 1 meV/Å"
    "spread_meV_per_molecule": 0.3,  # the proton orderings' energies differ by this much (its Ref. 39)
    "relative_error_meV_per_molecule": 0.02,  # raw relative energies against the 2i average's
    "rmsd_A_per_atom": 0.001,  # relaxed with raw against relaxed with 2i
}

#: GenIce2's lattice plugin: ice Ih in an orthorhombic cell of 16 molecules, 7.82 × 7.35 × 9.04 Å
#: at 0.92 g/cm³ (GenIce's axes: the hexagonal c axis along y)
ICE_LATTICE = "1h"
#: GenIce2's molecule plugin: TIP3P geometry (O–H 0.9572 Å, H–O–H 104.52°) with the oxygen on the lattice site
ICE_WATER = "physical_water"
#: draws of GenIce per requested cell before giving up on finding that many distinct orderings
MAX_SEED_TRIES = 20

_NM = 10.0  # GenIce works in nm


@contextlib.contextmanager
def _seeded(seed: int) -> Iterator[None]:
    """Seed the global ``numpy.random`` (GenIce and genice-core draw from it, as its own CLI's
    ``--seed`` does) and ``random``, and give the caller its states back afterwards."""
    np_state, py_state = np.random.get_state(), random.getstate()
    # genice-core warns through logging about its own deprecated parameter names, which GenIce2 passes
    compat = logging.getLogger("genice_core.compat")
    level = compat.level
    compat.setLevel(logging.ERROR)
    np.random.seed(seed)
    random.seed(seed)
    try:
        yield
    finally:
        np.random.set_state(np_state)
        random.setstate(py_state)
        compat.setLevel(level)


def _genice(reps: tuple[int, int, int], seed: int) -> tuple[np.ndarray, np.ndarray, frozenset]:
    """One GenIce2 draw: positions (m, 3, 3) in Å (O, H, H per molecule), cell (3, 3) in Å (rows
    the lattice vectors) and the hydrogen-bond digraph's edges (donor, acceptor) as its fingerprint."""
    from genice2.genice import GenIce
    from genice2.plugin import Format, Lattice, Molecule

    with _seeded(seed):
        ice = GenIce(Lattice(ICE_LATTICE), reshape=np.diag(reps))
        # the "raw" format hands back GenIce's internal data: stage 1 the cell, 4 the digraph, 6 the atoms
        out = ice.generate_ice(Format("raw", stage=(1, 4, 6)), water=Molecule(ICE_WATER))
    mols = out["mols"][0]
    if list(mols.atomnames[:3]) != ["O", "H", "H"]:
        raise SymbreakError(f"GenIce2's {ICE_WATER!r} gave atoms {mols.atomnames[:3]}, expected O, H, H")
    edges = frozenset((int(i), int(j)) for i, j in out["digraph"].edges())
    return _NM * np.asarray(mols.positions, dtype=float), _NM * np.asarray(out["repcell"], dtype=float), edges


#: bounds on the cells built at once: GenIce takes about 12 ms per 16-molecule cell, so larger requests are mistakes
MAX_CELLS, MAX_REPS = 1000, 64


def ice_cells(n: int = 9, *, reps: tuple[int, int, int] = (2, 2, 1), seed: int = 0) -> list[Any]:
    r"""``n`` proton-disordered ice Ih cells: one oxygen lattice, ``n`` distinct hydrogen orderings.

    Each cell is GenIce2's ice Ih (:data:`ICE_LATTICE`, 16 molecules in a 7.82 × 7.35 × 9.04 Å
    orthorhombic cell at 0.92 g/cm³) repeated ``reps`` times, with rigid TIP3P-geometry molecules
    (:data:`ICE_WATER`) oriented along a random hydrogen-bond network that obeys the ice rules
    (every oxygen donates two and accepts two hydrogen bonds, one hydrogen per bond) with zero net
    polarization (GenIce's default ``depol="strict"``: the donor→acceptor O–O vectors sum to zero;
    the O–H vectors, bent 2.5° off the O–O lines, to about 0.1 Å). Orderings are told apart by
    their directed hydrogen-bond graph; two orderings related by a symmetry of the lattice count as
    distinct.

    The default ``reps=(2, 2, 1)`` gives 64 molecules (192 atoms) in a 15.6 × 14.7 × 9.04 Å cell;
    ``(1, 1, 1)`` gives 16. The symbreak models find every periodic image within their cutoff
    (:func:`symbreak.models._graph.periodic_radius_edges`), so a cell narrower than twice the
    cutoff is still described correctly; 32–100 molecules keep the orderings' energies
    close to those of the bulk, as the paper's cells.

    Parameters
    ----------
    n
        Number of cells, at least 2 (relative energies need two).
    reps
        Repetitions (3 positive integers) of the 16-molecule cell along its three axes.
    seed
        Cell k is GenIce's draw under ``numpy.random.seed(s_k)``, with the ``s_k`` drawn from
        ``numpy.random.default_rng(seed)``; a draw whose ordering repeats an earlier one is skipped.
        The caller's global random states are restored.

    Returns
    -------
    list of ase.Atoms
        Periodic, atoms ordered O, H, H per molecule (the same oxygen positions in every cell),
        positions (3m, 3) and cell (3, 3) in Å; ``info`` holds ``"genice_seed"``, ``"lattice"``, ``"reps"``.

    Raises
    ------
    SymbreakError
        Without GenIce2 (``pip install 'symbreak[md]'``); for n < 2 or bad ``reps``; when
        ``MAX_SEED_TRIES * n`` draws do not give n distinct orderings (a cell too small to have them).

    Examples
    --------
    >>> cells = ice_cells(2, reps=(1, 1, 1))
    >>> len(cells), len(cells[0]), cells[0].get_chemical_formula()
    (2, 48, 'H32O16')
    >>> bool(np.allclose(cells[0].positions[::3], cells[1].positions[::3]))  # one oxygen lattice
    True
    """
    from ase import Atoms

    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 2:
        raise SymbreakError(f"n must be an integer >= 2 (relative energies need two cells), got {n!r}")
    if (
        not isinstance(reps, (tuple, list)) or len(reps) != 3
        or not all(isinstance(r, (int, np.integer)) and not isinstance(r, bool) and r >= 1 for r in reps)
    ):  # fmt: skip
        raise SymbreakError(f"reps must be three positive integers, got {reps!r}")
    if int(n) > MAX_CELLS or int(np.prod([int(r) for r in reps])) > MAX_REPS:
        raise SymbreakError(f"at most {MAX_CELLS} cells of at most {MAX_REPS} unit cells each ({16 * MAX_REPS} molecules), got n={n} and reps={tuple(reps)}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise SymbreakError(f"seed must be an integer >= 0, got {seed!r}")
    try:
        import genice2  # noqa: F401
    except ImportError:
        raise SymbreakError("ice_cells needs GenIce2: pip install 'symbreak[md]'") from None
    reps = tuple(int(r) for r in reps)
    seeds = iter(np.random.default_rng(seed).integers(0, 2**31 - 1, size=MAX_SEED_TRIES * int(n)))
    cells, seen = [], set()
    for s in seeds:
        positions, cell, edges = _genice(reps, int(s))
        if edges in seen:
            continue
        seen.add(edges)
        atoms = Atoms("OH2" * len(positions), positions=positions.reshape(-1, 3), cell=cell, pbc=True)
        atoms.info.update(genice_seed=int(s), lattice=f"ice Ih (GenIce2 {ICE_LATTICE!r})", reps=list(reps))
        cells.append(atoms)
        if len(cells) == n:
            return cells
    tries = MAX_SEED_TRIES * int(n)
    raise SymbreakError(f"{tries} GenIce2 draws gave {len(cells)} distinct orderings, not {n}: use larger reps than {reps}")


def _check_cells(cells: Sequence[Any]) -> int:
    """Validate the cells and return the number of molecules (oxygens) in each."""
    from ase import Atoms

    if not isinstance(cells, Sequence) or isinstance(cells, Atoms) or len(cells) < 2:
        got = f"{len(cells)} cells" if isinstance(cells, Sequence) and not isinstance(cells, Atoms) else type(cells).__name__
        raise SymbreakError(f"cells must be a list of at least 2 ase.Atoms (relative energies need two), got {got}")
    for k, a in enumerate(cells):
        if not isinstance(a, Atoms):
            raise SymbreakError(f"cells[{k}] must be ase.Atoms, got {type(a).__name__}")
    formula = cells[0].get_chemical_formula()
    for k, a in enumerate(cells):
        if a.get_chemical_formula() != formula:
            raise SymbreakError(f"cells must share one composition: cells[0] is {formula}, cells[{k}] is {a.get_chemical_formula()}")
    molecules = int((cells[0].numbers == 8).sum())
    if molecules == 0:
        raise SymbreakError(f"cells must be water (energies are per molecule, one per oxygen), got {formula}")
    return molecules


def _check_calculator(calc: Any, name: str) -> None:
    if not (hasattr(calc, "get_potential_energy") or hasattr(calc, "calculate")):
        raise SymbreakError(f"{name} must be an ASE calculator, got {type(calc).__name__}")


def _evaluate(calc: Any, atoms: Any) -> tuple[float, np.ndarray]:
    """Energy (eV) and forces (n, 3) in eV/Å of a copy of ``atoms`` under ``calc``."""
    a = atoms.copy()
    a.calc = calc
    return float(a.get_potential_energy()), np.array(a.get_forces())


def _energies(e_raw: np.ndarray, e_avg: np.ndarray, molecules: int) -> dict[str, Any]:
    """Energies per molecule, relative energies and their error (meV/molecule); e_raw, e_avg: (N,) in eV."""
    raw, avg = 1e3 * e_raw / molecules, 1e3 * e_avg / molecules
    rel_raw, rel_avg = raw - raw.mean(), avg - avg.mean()
    err = rel_raw - rel_avg
    return {
        "energy_raw_meV_per_molecule": raw.tolist(), "energy_avg_meV_per_molecule": avg.tolist(),
        "relative_raw_meV_per_molecule": rel_raw.tolist(), "relative_avg_meV_per_molecule": rel_avg.tolist(),
        "spread_raw_std_meV_per_molecule": float(rel_raw.std()), "spread_raw_range_meV_per_molecule": float(np.ptp(rel_raw)),
        "spread_avg_std_meV_per_molecule": float(rel_avg.std()), "spread_avg_range_meV_per_molecule": float(np.ptp(rel_avg)),
        "relative_error_meV_per_molecule": err.tolist(),
        "relative_error_mae_meV_per_molecule": float(np.abs(err).mean()),
        "relative_error_max_meV_per_molecule": float(np.abs(err).max()),
        "energy_offset_meV_per_molecule": float((raw - avg).mean()),
    }  # fmt: skip


def _relax(calc: Any, atoms: Any, steps: int, fmax: float) -> tuple[Any, int, float]:
    """BFGS on positions (cell fixed) for at most ``steps`` steps: the relaxed copy, steps taken,
    largest atomic force norm at the end (eV/Å)."""
    from ase.optimize import BFGS

    a = atoms.copy()
    a.calc = calc
    opt = BFGS(a, logfile=None)
    opt.run(fmax=fmax, steps=steps)
    return a, int(opt.nsteps), float(np.linalg.norm(a.get_forces(), axis=1).max())


def _rmsd(a: Any, b: Any) -> float:
    """RMS over atoms of the minimum-image displacement between two geometries of one cell (Å),
    after removing its mean: a uniform translation is no structural difference in a periodic cell."""
    from ase.geometry import find_mic

    d, _ = find_mic(b.get_positions() - a.get_positions(), a.cell, a.pbc)
    d = d - d.mean(0)
    return float(np.sqrt((d * d).sum(1).mean()))


def ice_test(calc_raw: Any, calc_avg: Any, cells: Sequence[Any], *, relax_steps: int = 0, fmax: float = 0.05) -> dict[str, Any]:
    r"""The paper's ice test: a raw model against its rotational average on proton-disordered cells.

    For cells :math:`i = 1..N` of :math:`m` molecules (one per oxygen) and energies
    :math:`E_i` (raw) and :math:`\bar E_i` (averaged), in meV/molecule:

    .. math::
        \epsilon_i = E_i / m, \quad \delta_i = \epsilon_i - \tfrac1N \textstyle\sum_j \epsilon_j
        \quad(\text{likewise } \bar\epsilon_i, \bar\delta_i), \qquad e_i = \delta_i - \bar\delta_i,

    the spread of the orderings' relative energies (standard deviation and max − min of
    :math:`\delta` and of :math:`\bar\delta`; the paper's 0.3 meV/molecule) and the error of the raw
    relative energies, mean and max of :math:`|e_i|` (the paper's 0.02 meV/molecule). Forces, per
    cell, in meV/Å: the mean and max over components of :math:`|F - \bar F|` (the paper: < 1) and
    the scale, the mean of :math:`|\bar F|` over components (the paper: about 1000).

    With ``relax_steps > 0`` each cell is relaxed twice with ASE's BFGS (positions only, the cell
    fixed, until every atomic force is below ``fmax`` eV/Å or after ``relax_steps`` steps), once
    under each calculator, and the same energies are reported at the two minima, each under its
    own calculator, with the RMS distance between the two relaxed geometries (Å per atom,
    minimum image, uniform translation removed; the paper: about 0.001 Å).

    Parameters
    ----------
    calc_raw, calc_avg
        ASE calculators: the model, and its rotational average
        (``SymmetrizedCalculator(model, mode="raw")`` and ``SymmetrizedCalculator(model, grid="2i")``).
    cells
        At least 2 ``ase.Atoms`` of one composition, e.g. :func:`ice_cells`; not modified.
    relax_steps
        Most BFGS steps per relaxation; 0 (the default) skips relaxing.
    fmax
        Convergence threshold of the relaxations, eV/Å.

    Returns
    -------
    dict
        ``cells``, ``molecules``; ``initial``: per-cell lists ``energy_raw_meV_per_molecule``,
        ``energy_avg_meV_per_molecule``, ``relative_raw_meV_per_molecule``,
        ``relative_avg_meV_per_molecule``, ``relative_error_meV_per_molecule`` (:math:`e_i`),
        ``force_diff_mae_meV_A``, ``force_diff_max_meV_A``, ``force_scale_meV_A``; the numbers
        ``spread_{raw,avg}_{std,range}_meV_per_molecule``, ``relative_error_{mae,max}_meV_per_molecule``,
        ``energy_offset_meV_per_molecule`` (mean of :math:`\epsilon_i - \bar\epsilon_i`, which
        relative energies cancel), ``force_diff_mae_all_meV_A``, ``force_diff_max_all_meV_A``,
        ``force_scale_all_meV_A`` (over all cells); ``relaxed`` (None without relaxing): the same
        energy entries at the minima, ``rmsd_A`` (N,), ``rmsd_mean_A``, ``steps_raw``, ``steps_avg``,
        ``fmax_raw_eV_A``, ``fmax_avg_eV_A`` (the largest force left), ``converged`` (both below
        ``fmax``); ``seconds``: wall time of the two parts. Plain floats and lists (JSON).

    Raises
    ------
    SymbreakError
        Fewer than 2 cells, cells of different composition or without oxygen, calculators that
        are not ASE calculators, negative ``relax_steps`` or ``fmax`` not positive.
    """
    molecules = _check_cells(cells)
    _check_calculator(calc_raw, "calc_raw")
    _check_calculator(calc_avg, "calc_avg")
    if isinstance(relax_steps, bool) or not isinstance(relax_steps, (int, np.integer)) or relax_steps < 0:
        raise SymbreakError(f"relax_steps must be an integer >= 0, got {relax_steps!r}")
    if isinstance(fmax, bool) or not isinstance(fmax, (int, float, np.integer, np.floating)) or not np.isfinite(fmax) or fmax <= 0:
        raise SymbreakError(f"fmax must be a positive force in eV/Å, got {fmax!r}")

    t0 = time.perf_counter()
    e_raw, e_avg, f_mae, f_max, f_scale, diffs, avgs = [], [], [], [], [], [], []
    for k, atoms in enumerate(cells):
        er, fr = _evaluate(calc_raw, atoms)
        ea, fa = _evaluate(calc_avg, atoms)
        diff = 1e3 * np.abs(fr - fa)
        e_raw.append(er)
        e_avg.append(ea)
        f_mae.append(float(diff.mean()))
        f_max.append(float(diff.max()))
        f_scale.append(float(1e3 * np.abs(fa).mean()))
        diffs.append(diff)
        avgs.append(1e3 * np.abs(fa))
        logger.info("ice cell %d/%d: force difference max %.3g meV/Å", k + 1, len(cells), f_max[-1])
    initial = _energies(np.asarray(e_raw), np.asarray(e_avg), molecules)
    initial.update(
        force_diff_mae_meV_A=f_mae, force_diff_max_meV_A=f_max, force_scale_meV_A=f_scale,
        force_diff_mae_all_meV_A=float(np.mean(diffs)), force_diff_max_all_meV_A=float(np.max(diffs)),
        force_scale_all_meV_A=float(np.mean(avgs)),
    )  # fmt: skip
    out: dict[str, Any] = {"cells": len(cells), "molecules": molecules, "initial": initial, "relaxed": None}
    seconds = {"initial": time.perf_counter() - t0}

    if relax_steps > 0:
        t0 = time.perf_counter()
        rows: dict[str, list] = {key: [] for key in ("e_raw", "e_avg", "rmsd", "steps_raw", "steps_avg", "fmax_raw", "fmax_avg")}
        for k, atoms in enumerate(cells):
            a_raw, n_raw, left_raw = _relax(calc_raw, atoms, int(relax_steps), float(fmax))
            a_avg, n_avg, left_avg = _relax(calc_avg, atoms, int(relax_steps), float(fmax))
            for key, value in zip(rows, (a_raw.get_potential_energy(), a_avg.get_potential_energy(), _rmsd(a_raw, a_avg),
                                         n_raw, n_avg, left_raw, left_avg)):  # fmt: skip
                rows[key].append(value)
            logger.info("ice cell %d/%d relaxed: %d and %d steps, RMSD %.3g Å", k + 1, len(cells), n_raw, n_avg, rows["rmsd"][-1])
        relaxed = _energies(np.asarray(rows["e_raw"], dtype=float), np.asarray(rows["e_avg"], dtype=float), molecules)
        relaxed.update(
            rmsd_A=[float(r) for r in rows["rmsd"]], rmsd_mean_A=float(np.mean(rows["rmsd"])),
            steps_raw=rows["steps_raw"], steps_avg=rows["steps_avg"], fmax_raw_eV_A=rows["fmax_raw"], fmax_avg_eV_A=rows["fmax_avg"],
            converged=bool(max(rows["fmax_raw"] + rows["fmax_avg"]) < fmax),
        )  # fmt: skip
        out["relaxed"] = relaxed
        seconds["relax"] = time.perf_counter() - t0
    out["seconds"] = seconds
    return out
