"""QM9's molecules as conditional-generation examples for ``qm9-generation``: heavy-atom Kekulé
graphs, their element classes and automorphisms (RDKit), the seeded subset, and the chemistry of
samples (validity, uniqueness, novelty). The task and its notation: :mod:`symbreak.tasks._qm9_gen`."""

from __future__ import annotations

import csv
import importlib.util
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .._errors import SymbreakError

__all__ = [
    "MolGraph", "GenerationData", "mol_graph", "graph_to_smiles", "qm9_smiles", "qm9_generation_data", "split_sizes", "kernel_positions",
    "log_group_order", "count_automorphisms", "automorphisms", "sample_scores", "ELEMENTS", "BOND_ORDERS", "N_MAX", "DATA_SEED",
]  # fmt: skip

#: the heavy elements of QM9, in the order of the canonical form's blocks (node label = index)
ELEMENTS = ("C", "N", "O", "F")
#: the bond classes of a pair (index = class): no bond, single, double, triple (Kekulé form)
BOND_ORDERS = (0, 1, 2, 3)
#: the most heavy atoms of a QM9 molecule (the SymPE table's rows)
N_MAX = 9
#: seeded draws of the ``noise`` variant's breaker over which its test likelihood is averaged
NOISE_DRAWS = 32
#: the seed of the data subset (fixed: every job of every seed sees the same molecules)
DATA_SEED = 0
#: RDKit self-matches counted at most (QM9's largest |Aut| is far below: neopentane's heavy atoms give 24)
_MAX_MATCHES = 1_000_000
_PAD = len(ELEMENTS)  # the element index of padding nodes

def _rdkit() -> Any:
    try:
        from rdkit import Chem, RDLogger
    except ImportError:  # pragma: no cover - the environment has it; the message is for one that does not
        raise SymbreakError("qm9-generation needs RDKit: pip install rdkit") from None
    RDLogger.DisableLog("rdApp.*")  # a malformed SMILES is reported by our own error, not RDKit's log
    return Chem


@dataclass(frozen=True)
class MolGraph:
    """One molecule as a conditional-generation example.

    smiles: canonical SMILES of its heavy-atom Kekulé graph (:func:`graph_to_smiles`). z: (n,) int,
    element index into :data:`ELEMENTS`. bonds: (n, n) int, symmetric, zero diagonal, bond class
    (index into :data:`BOND_ORDERS`). canonical: (n,) int, the SymPE position of each node under the
    target's canonical ranks (:func:`kernel_positions`); dfs: (n,) int, the same under the order the
    atoms are written in the target's canonical SMILES (a depth-first walk); aut: (|Aut|, n) int, the automorphisms (:func:`automorphisms`). log_group: :math:`\\log |K|`. log_aut:
    :math:`\\log |\\mathrm{Aut}(A)|`.
    """

    smiles: str
    z: np.ndarray
    bonds: np.ndarray
    canonical: np.ndarray
    log_group: float
    log_aut: float
    dfs: np.ndarray | None = None
    aut: np.ndarray | None = None

    @property
    def n(self) -> int:
        return len(self.z)


def log_group_order(z: np.ndarray) -> float:
    r""":math:`\log |K| = \sum_e \log n_e!` for element labels z (n,): the stabilizer of the multiset in :math:`S_n`."""
    return float(sum(math.lgamma(c + 1) for c in np.bincount(np.asarray(z, dtype=np.int64), minlength=1)))


def kernel_positions(z: np.ndarray, within: np.ndarray) -> np.ndarray:
    """The SymPE position of every node: nodes in blocks by element (:data:`ELEMENTS` order), inside a
    block ordered by ``within`` (n,) (ties by node index). ``within`` = canonical ranks gives the
    target's ordering :math:`g^*`; a random permutation gives a uniform element of the inversion
    kernel (a uniform random order within each element class). Returns (n,) int, a permutation of 0..n-1."""
    z, within = np.asarray(z, dtype=np.int64), np.asarray(within)
    if z.shape != within.shape or z.ndim != 1:
        raise SymbreakError(f"kernel_positions: z and within must be (n,) of one length, got {z.shape} and {within.shape}")
    order = np.lexsort((np.arange(len(z)), within, z))  # by element, then by `within`, then by index
    pos = np.empty(len(z), dtype=np.int64)
    pos[order] = np.arange(len(z))
    return pos


def count_automorphisms(mol: Any) -> int:
    """|Aut(A)|: the atom permutations of RDKit molecule ``mol`` that keep elements and bond orders
    (its substructure self-matches, ``uniquify=False``; on a Kekulized molecule bond orders are 1, 2, 3)."""
    return len(automorphisms(mol))


def automorphisms(mol: Any) -> np.ndarray:
    """Aut(A) of RDKit molecule ``mol`` as (|Aut|, n) int: row h has ``h[i]``, the atom that atom i goes to
    (:func:`count_automorphisms`)."""
    return np.array(mol.GetSubstructMatches(mol, uniquify=False, useChirality=False, maxMatches=_MAX_MATCHES), dtype=np.int64).reshape(-1, mol.GetNumAtoms())


def mol_graph(smiles: str) -> MolGraph:
    """The :class:`MolGraph` of a SMILES: heavy atoms only, Kekulized. Raises
    :class:`~symbreak.SymbreakError` naming the SMILES when it does not parse, has no heavy atom, an
    element outside :data:`ELEMENTS`, a formal charge or a radical.

    >>> g = mol_graph("CC(C)C=O")  # isobutyraldehyde: K = S4 × S1, the two methyls swap
    >>> g.smiles, g.z.tolist(), round(math.exp(g.log_group)), round(math.exp(g.log_aut))
    ('CC(C)C=O', [0, 0, 0, 0, 2], 24, 2)
    """
    chem = _rdkit()
    if not isinstance(smiles, str) or not smiles.strip():
        raise SymbreakError(f"mol_graph: need a non-empty SMILES string, got {smiles!r}")
    mol = chem.MolFromSmiles(smiles)
    if mol is None:
        raise SymbreakError(f"mol_graph: RDKit cannot parse SMILES {smiles!r}")
    mol = chem.RemoveHs(mol)
    if not any(a.GetAtomicNum() > 1 for a in mol.GetAtoms()):  # RemoveHs keeps the H of H2
        raise SymbreakError(f"mol_graph: SMILES {smiles!r} has no heavy atom (n = 0)")
    for atom in mol.GetAtoms():
        if atom.GetSymbol() not in ELEMENTS:
            raise SymbreakError(f"mol_graph: SMILES {smiles!r} has element {atom.GetSymbol()}; the task knows {ELEMENTS}")
        if atom.GetFormalCharge() or atom.GetNumRadicalElectrons():
            raise SymbreakError(f"mol_graph: SMILES {smiles!r} has a charged or radical atom; elements alone cannot condition it")
    chem.Kekulize(mol, clearAromaticFlags=True)
    z = np.array([ELEMENTS.index(a.GetSymbol()) for a in mol.GetAtoms()], dtype=np.int64)
    bonds = np.zeros((len(z), len(z)), dtype=np.int64)
    for b in mol.GetBonds():
        order = int(round(b.GetBondTypeAsDouble()))
        if order not in (1, 2, 3):
            raise SymbreakError(f"mol_graph: SMILES {smiles!r} has a bond of order {b.GetBondTypeAsDouble()} after Kekulization")
        bonds[b.GetBeginAtomIdx(), b.GetEndAtomIdx()] = bonds[b.GetEndAtomIdx(), b.GetBeginAtomIdx()] = order
    ranks = np.array(list(chem.CanonicalRankAtoms(mol, breakTies=True)))
    target, written = _smiles_and_order(z, bonds)
    if target is None:
        raise SymbreakError(f"mol_graph: the heavy-atom graph of {smiles!r} does not sanitize")
    walk = np.empty(len(z), dtype=np.int64)
    walk[written] = np.arange(len(z))
    aut = automorphisms(mol)
    return MolGraph(target, z, bonds, kernel_positions(z, ranks), log_group_order(z), math.log(len(aut)), kernel_positions(z, walk), aut)


def graph_to_smiles(z: np.ndarray, bonds: np.ndarray) -> str | None:
    """Canonical SMILES of the heavy-atom graph (elements z (n,), bond classes (n, n)), hydrogens
    implicit; None when it is not a valid molecule (RDKit does not sanitize it, or it has more than
    one fragment)."""
    return _smiles_and_order(z, bonds)[0]


def _smiles_and_order(z: np.ndarray, bonds: np.ndarray) -> tuple[str | None, list[int]]:
    """:func:`graph_to_smiles` and the order its atoms are written in (node indices; [] when invalid)."""
    chem = _rdkit()
    z, bonds = np.asarray(z), np.asarray(bonds)
    if len(z) == 0:
        return None, []
    mol = chem.RWMol()
    for e in z:
        mol.AddAtom(chem.Atom(ELEMENTS[int(e)]))
    kinds = {1: chem.BondType.SINGLE, 2: chem.BondType.DOUBLE, 3: chem.BondType.TRIPLE}
    for i, j in zip(*np.triu_indices(len(z), 1)):
        if bonds[i, j]:
            mol.AddBond(int(i), int(j), kinds[int(bonds[i, j])])
    try:
        chem.SanitizeMol(mol)
    except Exception:  # RDKit raises its own (valence, kekulization) errors: each means "invalid"
        return None, []
    if len(chem.GetMolFrags(mol)) != 1:
        return None, []
    text = chem.MolToSmiles(mol)
    return text, [int(i) for i in mol.GetPropsAsDict(True, True)["_smilesAtomOutputOrder"]]


def _qm9_root() -> Path:
    spec = importlib.util.find_spec("qm9pack")  # its CSVs only: its __init__ needs pandas and pkg_resources
    if spec is None or not spec.submodule_search_locations:
        raise SymbreakError("qm9-generation needs the qm9pack package (pip install qm9pack): QM9's SMILES are read from it")
    return Path(list(spec.submodule_search_locations)[0]) / "data"


def qm9_smiles() -> list[str]:
    """Every SMILES of QM9 in ``qm9pack``'s order (130,831 molecules)."""
    out: list[str] = []
    csv.field_size_limit(10**8)
    for part in ("qm9_part1.csv", "qm9_part2.csv", "qm9_part3.csv"):
        with open(_qm9_root() / part, newline="") as fh:
            rows = csv.reader(fh)
            column = next(rows).index("SMILES")
            out.extend(row[column] for row in rows)
    return out


@dataclass
class GenerationData:
    """The task's molecules: train, val, test (:class:`MolGraph` lists) and the skipped count by reason
    among the molecules examined (drawn in a seeded order until the three parts were full)."""

    train: list[MolGraph]
    val: list[MolGraph]
    test: list[MolGraph]
    skipped: dict[str, int] = field(default_factory=dict)
    examined: int = 0


def split_sizes(train: int) -> tuple[int, int, int]:
    """(train, validation, test) sizes for ``train`` training molecules: an eighth and a quarter of it, at least 1."""
    if train < 1:
        raise SymbreakError(f"qm9-generation needs at least 1 training molecule, got {train}")
    return train, max(1, -(-train // 8)), max(1, -(-train // 4))


def qm9_generation_data(train: int = 3000, seed: int = DATA_SEED, smiles: Sequence[str] | None = None) -> GenerationData:
    """A seeded subset of QM9 (or of ``smiles``) as :class:`GenerationData` of ``train`` training
    molecules and :func:`split_sizes` validation and test ones: molecules are examined in a seeded
    random order and those :func:`mol_graph` refuses are skipped and counted by reason."""
    sizes = split_sizes(train)
    pool = qm9_smiles() if smiles is None else list(smiles)
    taken: list[MolGraph] = []
    skipped: dict[str, int] = {}
    examined = 0
    for k in np.random.default_rng(seed).permutation(len(pool)):
        if len(taken) == sum(sizes):
            break
        examined += 1
        try:
            taken.append(mol_graph(pool[k]))
        except SymbreakError as exc:
            reason = "unparsable" if "cannot parse" in str(exc) else "charged/radical" if "charged" in str(exc) else "other"
            skipped[reason] = skipped.get(reason, 0) + 1
    if len(taken) < sum(sizes):
        raise SymbreakError(f"qm9-generation: only {len(taken)} usable molecules of {len(pool)}, need {sum(sizes)}")
    a, b = sizes[0], sizes[0] + sizes[1]
    return GenerationData(taken[:a], taken[a:b], taken[b:], skipped, examined)


def sample_scores(samples: Sequence[np.ndarray], targets: Sequence[MolGraph], train_smiles: set[str]) -> tuple[dict[str, float], list[str | None]]:
    """Validity, uniqueness (among the valid), novelty (valid and not in training, share of all samples)
    and recovery (the sample is its target) of one sample per target, and the samples' SMILES."""
    smiles = [graph_to_smiles(t.z, s) for s, t in zip(samples, targets)]
    valid = [s for s in smiles if s is not None]
    total = max(1, len(smiles))
    return {
        "valid": len(valid) / total, "unique": len(set(valid)) / len(valid) if valid else 0.0,
        "novel": sum(s not in train_smiles for s in valid) / total, "recovered": sum(s == t.smiles for s, t in zip(smiles, targets)) / total,
    }, smiles  # fmt: skip
