r"""Molecules and conformers for symmetry-breaking data sets (SANN paper, §6.3).

Molecules: closed-shell, 1 to 5 heavy atoms (C, N, O, S, Cl) plus H, from ASE's G2 set and the NCI
SMILES sample shipped inside RDKit, relaxed with GFN2-xTB and kept when the minimum has a
non-trivial point group. Conformers, like QM7-X's: the minimum plus displacements along random
directions and normal modes. :func:`broken_by` says whether labels break a structure's symmetry.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from .._errors import SymbreakError
from ..detect import detect_symmetry
from ._modes import normal_modes

__all__ = ["dipole_molecules", "nci_smiles", "broken_by", "conformers"]

_ELEMENTS = {"H", "C", "N", "O", "S", "Cl"}


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
        raise SymbreakError("NCI molecules need RDKit: pip install -e '.[chem]'") from exc
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


def conformers(atoms: Any, count: int, amplitude: float, rng: np.random.Generator) -> Iterator[tuple[str, np.ndarray]]:
    """The minimum, then ``count`` displaced structures (kind "random" or "mode") whose largest atomic shift is 0.3–1 × ``amplitude`` Å."""
    yield "minimum", atoms.positions.copy()
    modes = normal_modes(atoms)
    for k in range(count):
        if k % 2 == 0:
            shift, kind = rng.normal(size=atoms.positions.shape), "random"
        else:
            shift, kind = modes[rng.integers(len(modes))], "mode"
        shift *= rng.uniform(0.3, 1.0) * amplitude / np.linalg.norm(shift, axis=-1).max()
        yield kind, atoms.positions + shift
