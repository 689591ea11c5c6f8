r"""Making the ``dipoles`` data set: molecules, conformers, selection and labels (SANN paper, §6.3).

The paper used Hirshfeld atomic dipoles from QM7-X, which cannot be downloaded here. This module
makes the same kind of data with real quantum chemistry, in code:

1. Molecules: closed-shell molecules with 1 to 5 heavy atoms (C, N, O, S, Cl) plus H from ASE's G2
   set and from the NCI SMILES sample shipped inside RDKit (embedded with ETKDG, then MMFF). Each
   is relaxed with GFN2-xTB (BFGS, fmax 0.01 eV/Å) and kept when the minimum has a non-trivial
   point group (tol 0.1 Å) and is not a duplicate of one already kept.
2. Conformers, like QM7-X's: the minimum, plus displacements with a largest atomic shift of at most
   ``amplitude`` Å, half along random directions and half along normal modes of the GFN2-xTB
   Hessian. The random numbers of a molecule are seeded by (seed, its name), so any molecule can
   be regenerated alone.
3. Selection, as in the paper: keep a structure when its geometry is symmetric within 0.2 Å (a
   non-trivial point group at tol 0.2) and its GFN2-xTB dipoles break that symmetry (some
   operation moves the dipole field by more than ``min_break`` e·bohr). Both label sources
   therefore label the same structures.
4. Labels: GFN2-xTB atomic dipoles (tblite, ~20 ms per structure, exactly equivariant) or
   Hirshfeld atomic dipoles of PBE0/def2-SVP densities (PySCF, 1–10 s per structure, equivariant
   to ~1e-4 because the integration grid is fixed in the laboratory frame).

DFT labels are appended to ``<out>.partial.jsonl`` as they are computed, so an interrupted run
resumes where it stopped; the file is removed when the data set is written.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
import zlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .._errors import SymbreakError
from ..detect import detect_symmetry

__all__ = ["generate_dipoles", "gfn2_atomic_dipoles", "dipole_molecules", "broken_by", "nci_smiles"]

_BOHR = 0.52917721092  # Å
_ELEMENTS = {"H", "C", "N", "O", "S", "Cl"}
SOURCES = {"gfn2": "GFN2-xTB (tblite)", "dft": "Hirshfeld, PBE0/def2-SVP (PySCF)"}


def gfn2_atomic_dipoles(numbers: np.ndarray, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """GFN2-xTB atomic dipoles (n, 3) in e·bohr and atomic charges (n,) in e, from tblite."""
    try:
        from tblite.interface import Calculator
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise SymbreakError("GFN2-xTB labels need tblite: pip install 'symbreak[chem]'") from exc
    calc = Calculator("GFN2-xTB", np.asarray(numbers), np.asarray(positions) / _BOHR)
    calc.set("verbosity", 0)
    calc.add("xtbml_xyz")
    res = calc.singlepoint().dict()
    pp = res["post-processing-dict"]
    return np.stack([pp["dipm_A_x"], pp["dipm_A_y"], pp["dipm_A_z"]], axis=-1), np.asarray(res["charges"])


def broken_by(positions: np.ndarray, numbers: np.ndarray, dipoles: np.ndarray, *, tol: float = 0.2) -> tuple[str, float]:
    """The geometry's point group at ``tol`` Å and the largest move of the dipole field under one of its operations (e·bohr)."""
    import torch

    from ..metrics import transform_labels

    sym = detect_symmetry(positions, numbers, tol=tol)
    target = torch.as_tensor(np.array(dipoles, dtype=float))
    images = transform_labels(target, sym.operations, sym.permutations, "vectors")  # every g·μ at once
    return sym.point_group, float((images - target).abs().max())


def _qualifies(symbols: Sequence[str], charge_sum: int) -> bool:
    heavy = sum(s != "H" for s in symbols)
    return 1 <= heavy <= 5 and len(symbols) >= 3 and set(symbols) <= _ELEMENTS and charge_sum % 2 == 0


def nci_smiles() -> list[str]:
    """SMILES of RDKit's bundled NCI sample that qualify: neutral, closed shell, one fragment, 1–5 heavy atoms of C/N/O/S/Cl."""
    try:
        from rdkit import Chem, RDConfig, RDLogger
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise SymbreakError("NCI molecules need RDKit: pip install 'symbreak[chem]'") from exc
    RDLogger.DisableLog("rdApp.*")  # the sample holds SMILES RDKit rejects; those are skipped, not errors
    out = []
    with open(os.path.join(RDConfig.RDDataDir, "NCI", "first_5K.smi")) as fh:
        for line in fh:
            mol = Chem.MolFromSmiles(line.split()[0]) if line.strip() else None
            if mol is None or len(Chem.GetMolFrags(mol)) != 1 or mol.GetNumHeavyAtoms() > 5:
                continue
            if any(a.GetFormalCharge() or a.GetNumRadicalElectrons() or a.GetSymbol() not in _ELEMENTS for a in mol.GetAtoms()):
                continue
            out.append(Chem.MolToSmiles(mol))
    return list(dict.fromkeys(out))


def _embed(smiles: str, seed: int) -> Any | None:
    """ETKDG embedding and MMFF relaxation of a SMILES as ASE ``Atoms`` (None when RDKit cannot embed it)."""
    from ase import Atoms
    from rdkit import Chem
    from rdkit.Chem import AllChem

    mol = Chem.AddHs(Chem.MolFromSmiles(smiles))
    params = AllChem.ETKDGv3()
    params.randomSeed = seed
    if AllChem.EmbedMolecule(mol, params) != 0:
        return None
    if AllChem.MMFFHasAllMoleculeParams(mol):
        AllChem.MMFFOptimizeMolecule(mol, maxIters=2000)
    return Atoms([a.GetSymbol() for a in mol.GetAtoms()], positions=mol.GetConformer().GetPositions())


def _candidates(seed: int, nci: bool) -> Iterator[tuple[str, Any]]:
    from ase.collections import g2

    for name in g2.names:
        atoms = g2[name]
        # radicals have odd electron counts; CH2_s3B1d is the triplet carbene
        if _qualifies(atoms.get_chemical_symbols(), int(atoms.numbers.sum())) and not name.startswith("CH2_s3"):
            yield name, atoms.copy()
    if nci:
        for smiles in nci_smiles():
            atoms = _embed(smiles, seed)
            if atoms is not None and _qualifies(atoms.get_chemical_symbols(), int(atoms.numbers.sum())):
                yield f"NCI:{smiles}", atoms


def _fingerprint(atoms: Any) -> tuple[str, np.ndarray]:
    dist = np.linalg.norm(atoms.positions[:, None] - atoms.positions[None], axis=-1)
    return atoms.get_chemical_formula(), np.sort(dist.ravel())


def dipole_molecules(*, seed: int = 0, nci: bool = True, names: Sequence[str] | None = None, progress: bool = False) -> list[tuple[str, Any]]:
    """The data set's molecules as (name, GFN2-xTB minimum as ASE ``Atoms``), in a fixed order.

    G2 names as in ASE; NCI molecules are named ``"NCI:<canonical SMILES>"``. A minimum counts when
    its point group at tol 0.1 Å is not C1 and its sorted interatomic distances differ from every
    kept molecule of the same formula by more than 0.05 Å. names: keep only these (for regenerating
    part of the data set).
    """
    from ase.optimize import BFGS
    from tblite.ase import TBLite
    from tqdm.auto import tqdm

    kept: list[tuple[str, Any]] = []
    seen: list[tuple[str, np.ndarray]] = []
    wanted = set(names) if names is not None else None
    for name, atoms in tqdm(list(_candidates(seed, nci and (wanted is None or any(n.startswith("NCI:") for n in wanted)))), disable=not progress, desc="molecules"):
        if wanted is not None and name not in wanted:
            continue
        atoms.calc = TBLite(method="GFN2-xTB", verbosity=0)
        BFGS(atoms, logfile=None).run(fmax=0.01, steps=300)
        if detect_symmetry(atoms.positions, atoms.numbers, tol=0.1).order == 1:
            continue
        formula, dist = _fingerprint(atoms)
        if any(f == formula and np.abs(d - dist).max() < 0.05 for f, d in seen):
            continue
        seen.append((formula, dist))
        kept.append((name, atoms))
    if wanted is not None and len(kept) != len(wanted):
        missing = sorted(wanted - {n for n, _ in kept})
        raise SymbreakError(f"not molecules of the data set: {', '.join(missing)}")
    return kept


def _normal_modes(atoms: Any) -> np.ndarray:
    """Cartesian normal-mode displacement patterns (k, n, 3) of the GFN2-xTB Hessian (central differences)."""
    n = len(atoms)
    hess = np.zeros((3 * n, 3 * n))
    base = atoms.positions.copy()
    for k in range(3 * n):
        grads = []
        for step in (0.005, -0.005):
            atoms.positions = base.copy()
            atoms.positions[k // 3, k % 3] += step
            grads.append(-atoms.get_forces().ravel())
        hess[k] = (grads[0] - grads[1]) / 0.01
    atoms.positions = base
    inv = np.repeat(atoms.get_masses(), 3) ** -0.5
    vals, vecs = np.linalg.eigh(0.5 * (hess + hess.T) * inv[:, None] * inv[None, :])
    modes = (vecs[:, 6:] * inv[:, None]).T.reshape(-1, n, 3)  # drop translations and rotations
    return modes[vals[6:] > 1e-3]


def _conformers(atoms: Any, count: int, amplitude: float, rng: np.random.Generator) -> Iterator[tuple[str, np.ndarray]]:
    yield "minimum", atoms.positions.copy()
    modes = _normal_modes(atoms)
    for k in range(count):
        if k % 2 == 0:
            shift, kind = rng.normal(size=atoms.positions.shape), "random"
        else:
            shift, kind = modes[rng.integers(len(modes))], "mode"
        shift *= rng.uniform(0.3, 1.0) * amplitude / np.linalg.norm(shift, axis=-1).max()
        yield kind, atoms.positions + shift


class _LabelCache:
    """DFT labels already computed, keyed by a hash of the structure; appended with fsync so a killed run loses at most one."""

    def __init__(self, path: Path):
        self.path = path
        self.known: dict[str, dict[str, Any]] = {}
        if path.is_file():
            for line in path.read_text().splitlines():
                try:
                    row = json.loads(line)
                except json.JSONDecodeError:  # a line cut short by the interruption
                    continue
                self.known[row["key"]] = row

    @staticmethod
    def key(numbers: np.ndarray, positions: np.ndarray) -> str:
        return hashlib.sha1(np.asarray(numbers, dtype=np.int64).tobytes() + np.round(positions, 8).tobytes()).hexdigest()

    def add(self, row: dict[str, Any]) -> None:
        self.known[row["key"]] = row
        with open(self.path, "a") as fh:
            fh.write(json.dumps(row) + "\n")
            fh.flush()
            os.fsync(fh.fileno())


def _dft_labels(numbers: np.ndarray, positions: np.ndarray, cache: _LabelCache) -> tuple[np.ndarray, np.ndarray, float]:
    from ._hirshfeld import hirshfeld_dft

    key = cache.key(numbers, positions)
    if key not in cache.known:
        start = time.perf_counter()
        charges, dipoles, energy = hirshfeld_dft(numbers, positions)
        cache.add({"key": key, "charges": charges.tolist(), "dipoles": dipoles.tolist(), "energy": energy, "seconds": time.perf_counter() - start})
    row = cache.known[key]
    return np.array(row["dipoles"]), np.array(row["charges"]), float(row["seconds"])


def generate_dipoles(
    path: str | Path,
    *,
    conformers: int = 6,
    amplitude: float = 0.1,
    min_break: float = 1e-3,
    seed: int = 0,
    source: str = "gfn2",
    nci: bool = True,
    names: Sequence[str] | None = None,
    progress: bool = False,
) -> dict[str, Any]:
    """Make the data set and write it as extended XYZ (arrays ``dipoles``, ``atomic_charges``); returns a summary.

    conformers: displaced structures per molecule (besides the minimum); amplitude: largest atomic
    shift, Å; min_break: e·bohr a symmetry operation must move the GFN2-xTB dipoles by for a
    structure to count as symmetry-breaking. source: ``"gfn2"`` or ``"dft"`` (see the module
    docstring). nci: include RDKit's NCI molecules besides G2. names: only these molecules.
    """
    if source not in SOURCES:
        raise SymbreakError(f"source must be one of {', '.join(SOURCES)}, got {source!r}")
    if conformers < 0 or not 0 < amplitude <= 0.5 or min_break <= 0:
        raise SymbreakError(f"need conformers >= 0, 0 < amplitude <= 0.5 Å and min_break > 0; got {conformers}, {amplitude}, {min_break}")
    import ase.io
    from tqdm.auto import tqdm

    path = Path(path)
    cache = _LabelCache(path.with_name(path.name + ".partial.jsonl")) if source == "dft" else None
    start = time.perf_counter()
    molecules = dipole_molecules(seed=seed, nci=nci, names=names, progress=progress)
    kept, seen, label_seconds = [], 0, 0.0
    for name, atoms in tqdm(molecules, disable=not progress, desc=f"labels ({source})"):
        rng = np.random.default_rng([seed, zlib.crc32(name.encode())])
        for kind, pos in _conformers(atoms, conformers, amplitude, rng):
            seen += 1
            dip, charges = gfn2_atomic_dipoles(atoms.numbers, pos)
            group, worst = broken_by(pos, atoms.numbers, dip)
            if group == "C1" or worst < min_break:
                continue
            if cache is not None:
                dip, charges, took = _dft_labels(atoms.numbers, pos, cache)
                label_seconds += took
                worst = broken_by(pos, atoms.numbers, dip)[1]
            frame = atoms.copy()
            frame.calc = None
            frame.positions = pos
            frame.arrays["dipoles"] = dip
            frame.arrays["atomic_charges"] = charges
            frame.info.update({"name": name, "conformer": kind, "point_group": group, "dipole_break": worst, "source": SOURCES[source]})
            kept.append(frame)
    if not kept:
        raise SymbreakError("no structure qualified: nothing written")
    ase.io.write(str(path), kept, format="extxyz")
    if cache is not None:
        cache.path.unlink(missing_ok=True)
    return {
        "structures": len(kept),
        "candidates": seen,
        "molecules": len({f.info["name"] for f in kept}),
        "seconds": time.perf_counter() - start,
        "label_seconds": label_seconds,
    }
