r"""``qm9-generation``: one-shot molecular graph generation on QM9, scored by NLL (SymPE paper, Table 2, in kind).

The condition :math:`x` is a molecule's heavy-atom multiset: n nodes with element labels
:math:`z \in \{C, N, O, F\}^n` and no edges. The target is its Kekulé graph
:math:`A \in \{0, 1, 2, 3\}^{n \times n}` (no bond, single, double, triple; RDKit, heavy atoms only).
The stabilizer of :math:`x` in :math:`S_n` is

.. math:: K = \prod_{e} S_{n_e}, \qquad |K| = \prod_e n_e!,

the permutations within each element class. A permutation-equivariant network that sees only
:math:`x` gives every pair of same-element nodes the same bond distribution (Curie's principle on
graphs): it cannot put a ring or a chain anywhere in particular. Three variants of one network
(:class:`PairGenerator`; pairs independent given the input, 4 logits per unordered pair):

* ``none``: no breaker, :math:`q(A \mid x)`;
* ``noise``: i.i.d. :math:`\mathcal N(0, I_d)` node features :math:`\varepsilon`, drawn per pass,
  :math:`q(A \mid x, \varepsilon)`;
* ``sympe``: SymPE (Lawrence et al., ICLR 2025): an ordering :math:`g` of the nodes from the inversion
  kernel of the element-sorted canonical form (elements in blocks C, N, O, F; inside a block, a
  uniformly random order, i.e. a uniform element of the coset of :math:`K`), node i reads a learned
  table :math:`v` (n_max, d) at its position :math:`g(i)`: :math:`q(A \mid x, g)`.

Training loss (nats per molecule): ``none``: :math:`-\log q(A \mid x)`; ``noise``:
:math:`-\log q(A \mid x, \varepsilon)` with one draw (the dataset's own labelling: noise cannot be
aligned with the target); ``sympe``: :math:`-\log q(A \mid x, g^*)` with :math:`g^*` the ordering by
RDKit's canonical ranks of the target (``CanonicalRankAtoms(breakTies=True)``), an element of the
kernel consistent with A. A fourth model, ``sympe-dfs``, is the same network with :math:`g^*` the
order in which the target's canonical SMILES writes its atoms (a depth-first walk, so consecutive
positions are mostly bonded): any kernel element that is a function of the unlabelled graph keeps
the bound below valid, and which one is chosen changes how learnable :math:`q(A \mid x, g^*)` is.

**The reported quantity** is the NLL of the *unlabelled* graph :math:`[A]` (the molecule's Kekulé
graph up to relabelling within element classes) given x, in nats per molecule. Each variant's
labelled law :math:`p(A \mid x)` is K-invariant (the network is equivariant and the breaker's law is
K-invariant), and the orbit of A under K has :math:`|K| / |\mathrm{Aut}(A)|` members, so

.. math:: -\log p([A] \mid x) = -\log p(A \mid x) - \log |K| + \log |\mathrm{Aut}(A)|,

with :math:`\mathrm{Aut}(A)` the element- and bond-order-preserving automorphisms (RDKit self-matches,
``uniquify=False``). Per variant (:func:`unlabelled_nll`):

* ``none``: exact, :math:`p(A \mid x) = q(A \mid x)`;
* ``sympe``: :math:`p(A \mid x) = \frac{1}{|K|} \sum_{g} q(A \mid x, g)`, intractable; the
  :math:`|\mathrm{Aut}(A)|` orderings :math:`h g^*` (:math:`h \in \mathrm{Aut}(A)`) all give
  :math:`q(A \mid x, h g^*) = q(h^{-1} A \mid x, g^*) = q(A \mid x, g^*)` (equivariance), so
  :math:`p(A \mid x) \ge \frac{|\mathrm{Aut}(A)|}{|K|} q(A \mid x, g^*)`, so
  :math:`-\log q(A \mid x, g^*)` is an **upper bound** on the unlabelled NLL (recorded as
  ``gstar_nll``). The reported number is the tighter bound of a larger set S of distinct orderings,
  the Aut-orbits of :math:`g^*` and of its within-class transpositions
  (:func:`sympe_nll_bound`): :math:`-\log p([A] \mid x) \le -\log \sum_{g \in S} q(A \mid x, g) + \log |\mathrm{Aut}(A)|`;
* ``noise``: :math:`p(A \mid x) = \mathbb E_\varepsilon\, q(A \mid x, \varepsilon)`, estimated by the
  mean over 32 seeded draws; :math:`-\log` of that mean is an upper bound *in expectation* (Jensen).

How loose SymPE's bound is: on the test molecules with :math:`|K| \le 240` (:data:`EXACT_MAX_GROUP`)
the exact :math:`-\log \frac{1}{|\mathrm{Aut}(A)|}\sum_{g \in K} q(A \mid x, g)` is computed by
enumerating the kernel (:func:`exact_sympe_nll`) and recorded beside the bound on the same molecules.

Samples: for every test x, one graph per variant (a fresh ordering or fresh noise), each pair's bond
order drawn from its softmax; scored by validity (RDKit sanitizes it and it is one fragment),
uniqueness (distinct canonical SMILES among the valid), novelty (valid and not a training molecule)
and recovery (the sample is the test molecule itself).

Data: QM9's SMILES from the installed ``qm9pack`` (nothing is downloaded), a seeded subset
(``limit`` training molecules, default 3,000; validation and test an eighth and a quarter of that);
molecules that do not parse, carry a formal charge or a radical, or have an element outside C, N, O, F
are skipped and counted. Needs RDKit and ``qm9pack`` (``pip install rdkit qm9pack``).
"""

from __future__ import annotations

import csv
import importlib.util
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from .._errors import SymbreakError
from ._base import OwnModelsTask, TableSpec, register_task

__all__ = [
    "QM9Generation", "MolGraph", "mol_graph", "graph_to_smiles", "qm9_smiles", "qm9_generation_data", "PairGenerator", "kernel_positions",
    "pair_log_likelihood", "unlabelled_nll", "count_automorphisms", "automorphisms", "kernel_orderings", "neighbourhood_orderings", "sympe_nll_bound", "exact_sympe_nll", "heldout_nll", "sample_graphs",
    "sample_scores", "ELEMENTS", "BOND_ORDERS", "BREAKERS", "VARIANTS",
]  # fmt: skip

#: the heavy elements of QM9, in the order of the canonical form's blocks (node label = index)
ELEMENTS = ("C", "N", "O", "F")
#: the bond classes of a pair (index = class): no bond, single, double, triple (Kekulé form)
BOND_ORDERS = (0, 1, 2, 3)
#: the breakers of :class:`PairGenerator`
BREAKERS = ("none", "noise", "sympe")
#: the task's models: a breaker, and for SymPE which kernel element :math:`g^*` trains and scores it
#: (``sympe``: RDKit's canonical ranks; ``sympe-dfs``: the canonical SMILES's writing order)
VARIANTS = {"none": ("none", "ranks"), "noise": ("noise", "ranks"), "sympe": ("sympe", "ranks"), "sympe-dfs": ("sympe", "dfs")}
#: molecules whose |K| is at most this get SymPE's exact NLL too (the sum over the whole kernel), beside the bound
EXACT_MAX_GROUP = 240
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


class PairGenerator(nn.Module):
    r"""A permutation-equivariant one-shot generator of bond classes on the complete graph of the nodes.

    .. math::
        h^0_i = E[z_i] + W b_i, \qquad
        h^{l+1}_i = \mathrm{LN}\Big(h^l_i + \psi_l\big(h^l_i, \textstyle\sum_{j \ne i} \phi_l(h^l_i, h^l_j)\big)\Big), \qquad
        \ell_{ij} = \rho(h_i + h_j,\, h_i \odot h_j) \in \mathbb R^4,

    with :math:`b_i` the breaker's node input: none (``"none"``), :math:`\varepsilon_i \sim \mathcal N(0, I_d)`
    (``"noise"``), or :math:`v_{g(i)}`, a learned table :math:`v` (n_max, d) read at the node's SymPE
    position (``"sympe"``). The logits are symmetric in (i, j) and, for a fixed breaker input,
    equivariant: permuting the nodes (with their z and b) permutes the rows and columns of the logits.

    ``forward(z, mask, inputs)``: z (B, N) long element index (padding: any value where mask is False);
    mask (B, N) bool; inputs: None (``none``), noise (B, N, d) float, or positions (B, N) long
    (``sympe``). Returns logits (B, N, N, 4).
    """

    def __init__(self, breaker: str, *, hidden: int = 64, layers: int = 3, dim: int = 16, n_max: int = N_MAX, seed: int = 0) -> None:
        super().__init__()
        if breaker not in BREAKERS:
            raise SymbreakError(f"PairGenerator: unknown breaker {breaker!r}; choose from {BREAKERS}")
        self.breaker, self.dim, self.n_max = breaker, dim, n_max
        self.embed = nn.Embedding(len(ELEMENTS) + 1, hidden)
        self.inputs = None if breaker == "none" else nn.Linear(dim, hidden, bias=False)
        if breaker == "sympe":
            self.table = nn.Parameter(torch.randn(n_max, dim, generator=torch.Generator().manual_seed(int(seed))))
        mlp = lambda i, o: nn.Sequential(nn.Linear(i, hidden), nn.SiLU(), nn.Linear(hidden, o))  # noqa: E731
        self.message = nn.ModuleList(mlp(2 * hidden, hidden) for _ in range(layers))
        self.update = nn.ModuleList(mlp(2 * hidden, hidden) for _ in range(layers))
        self.norm = nn.ModuleList(nn.LayerNorm(hidden) for _ in range(layers))
        self.head = mlp(2 * hidden, len(BOND_ORDERS))

    def forward(self, z: torch.Tensor, mask: torch.Tensor, inputs: torch.Tensor | None = None) -> torch.Tensor:
        if z.ndim != 2 or mask.shape != z.shape:
            raise SymbreakError(f"PairGenerator: z and mask must be (B, N) of one shape, got {tuple(z.shape)} and {tuple(mask.shape)}")
        h = self.embed(torch.where(mask, z, torch.full_like(z, _PAD)))
        if self.breaker == "sympe":
            if inputs is None or inputs.shape != z.shape or inputs.dtype != torch.long:
                raise SymbreakError("PairGenerator('sympe') needs positions (B, N) long")
            if bool(((inputs >= self.n_max) & mask).any()):
                raise SymbreakError(f"PairGenerator('sympe'): a position ≥ n_max = {self.n_max}")
            h = h + self.inputs(self.table[inputs.clamp(0, self.n_max - 1)])
        elif self.breaker == "noise":
            if inputs is None or inputs.shape != (*z.shape, self.dim):
                raise SymbreakError(f"PairGenerator('noise') needs noise (B, N, {self.dim})")
            h = h + self.inputs(inputs.to(h.dtype))
        elif inputs is not None:
            raise SymbreakError("PairGenerator('none') takes no breaker input")
        m = mask.to(h.dtype)
        n = z.shape[1]
        pair = m[:, :, None] * m[:, None, :] * (1 - torch.eye(n, dtype=h.dtype, device=h.device))  # (B, N, N): j ≠ i, both real
        h = h * m[..., None]
        for message, update, norm in zip(self.message, self.update, self.norm):
            hi, hj = h[:, :, None].expand(-1, -1, n, -1), h[:, None, :].expand(-1, n, -1, -1)
            agg = (message(torch.cat([hi, hj], -1)) * pair[..., None]).sum(2)
            h = norm(h + update(torch.cat([h, agg], -1))) * m[..., None]
        hi, hj = h[:, :, None], h[:, None, :]
        return self.head(torch.cat([hi + hj, hi * hj], -1))


def pair_log_likelihood(logits: torch.Tensor, bonds: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    r""":math:`\log q(A \mid \cdot) = \sum_{i<j,\ \text{both real}} \log \mathrm{softmax}(\ell_{ij})_{A_{ij}}`
    per graph: logits (B, N, N, 4), bonds (B, N, N) long, mask (B, N) bool → (B,)."""
    n = logits.shape[1]
    logp = torch.log_softmax(logits, -1).gather(-1, bonds[..., None].clamp_min(0)).squeeze(-1)
    upper = torch.triu(torch.ones(n, n, dtype=torch.bool, device=logits.device), 1)
    keep = (mask[:, :, None] & mask[:, None, :] & upper).to(logp.dtype)
    return (logp * keep).sum((1, 2))


def unlabelled_nll(log_p_labelled: torch.Tensor | np.ndarray | float, log_group: Any, log_aut: Any) -> Any:
    r"""NLL of the unlabelled graph from a K-invariant labelled log-likelihood (nats):
    :math:`-\log p([A] \mid x) = -\log p(A \mid x) - \log |K| + \log |\mathrm{Aut}(A)|` (the orbit of A
    under K has :math:`|K| / |\mathrm{Aut}(A)|` members, all equally likely). Elementwise over arrays."""
    return -log_p_labelled - log_group + log_aut


@dataclass
class _Tensors:
    """A list of :class:`MolGraph` padded to N_MAX: z, mask, bonds, canonical positions, log|K|, log|Aut|."""

    z: torch.Tensor
    mask: torch.Tensor
    bonds: torch.Tensor
    canonical: torch.Tensor
    log_group: torch.Tensor
    log_aut: torch.Tensor

    @classmethod
    def of(cls, graphs: Sequence[MolGraph], n_max: int = N_MAX, ordering: str = "ranks") -> "_Tensors":
        b = len(graphs)
        z, mask = np.full((b, n_max), _PAD, dtype=np.int64), np.zeros((b, n_max), dtype=bool)
        bonds, canonical = np.zeros((b, n_max, n_max), dtype=np.int64), np.zeros((b, n_max), dtype=np.int64)
        for k, g in enumerate(graphs):
            if g.n > n_max:
                raise SymbreakError(f"molecule {g.smiles} has {g.n} heavy atoms, more than n_max = {n_max}")
            z[k, : g.n], mask[k, : g.n], bonds[k, : g.n, : g.n] = g.z, True, g.bonds
            canonical[k, : g.n] = g.dfs if ordering == "dfs" else g.canonical
        f = torch.get_default_dtype()
        return cls(torch.as_tensor(z), torch.as_tensor(mask), torch.as_tensor(bonds), torch.as_tensor(canonical),
                   torch.tensor([g.log_group for g in graphs], dtype=f), torch.tensor([g.log_aut for g in graphs], dtype=f))  # fmt: skip

    def take(self, idx: torch.Tensor) -> "_Tensors":
        return _Tensors(*(getattr(self, k)[idx] for k in ("z", "mask", "bonds", "canonical", "log_group", "log_aut")))


def random_positions(z: torch.Tensor, mask: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """A uniform element of every graph's inversion kernel: (B, N) positions (:func:`kernel_positions`
    with a random order within each element class; padding nodes come last)."""
    keys = torch.rand(z.shape, generator=generator, dtype=torch.float64)
    zz = torch.where(mask, z, torch.full_like(z, _PAD + 1)).to(torch.float64)
    order = torch.argsort(zz * 2 + keys, dim=1)  # keys < 1: by element, then at random
    pos = torch.empty_like(order)
    pos.scatter_(1, order, torch.arange(z.shape[1]).expand_as(order).contiguous())
    return pos


def _breaker_input(model: PairGenerator, data: _Tensors, generator: torch.Generator | None, *, canonical: bool) -> torch.Tensor | None:
    """The breaker's input of a batch: None, seeded noise, the target's canonical positions or random ones."""
    if model.breaker == "none":
        return None
    if model.breaker == "noise":
        return torch.randn(*data.z.shape, model.dim, generator=generator).to(torch.get_default_dtype())
    return data.canonical if canonical else random_positions(data.z, data.mask, generator)


def neighbourhood_orderings(graph: MolGraph, start: np.ndarray) -> np.ndarray:
    """Distinct kernel orderings near ``start`` (n,): the Aut(A)-orbits of ``start`` and of every
    ordering one within-class transposition away from it. Returns (m, n) int; h acts as
    :math:`(h \\cdot g)_{h(i)} = g_i`, which leaves :math:`q(A \\mid x, g)` unchanged."""
    start = np.asarray(start, dtype=np.int64)
    if graph.aut is None or start.shape != (graph.n,):
        raise SymbreakError(f"neighbourhood_orderings: need a MolGraph with automorphisms and start of shape ({graph.n},), got {start.shape}")
    seeds = [start]
    for i, j in itertools.combinations(range(graph.n), 2):
        if graph.z[i] == graph.z[j]:
            moved = start.copy()
            moved[[i, j]] = start[[j, i]]
            seeds.append(moved)
    out = set()
    for g in seeds:
        for h in graph.aut:
            p = np.empty_like(g)
            p[h] = g
            out.add(tuple(p.tolist()))
    return np.array(sorted(out), dtype=np.int64)


def _kernel_log_q(model: PairGenerator, graph: MolGraph, positions: np.ndarray) -> torch.Tensor:
    """:math:`\\log q(A \\mid x, g)` for each row g of ``positions`` (m, n): (m,)."""
    pos = torch.as_tensor(positions)
    data = _Tensors.of([graph], n_max=graph.n)
    k = len(pos)
    with torch.no_grad():
        return pair_log_likelihood(model(data.z.expand(k, -1), data.mask.expand(k, -1), pos), data.bonds.expand(k, -1, -1), data.mask.expand(k, -1))


def sympe_nll_bound(model: PairGenerator, graph: MolGraph, start: np.ndarray) -> float:
    r"""SymPE's upper bound on the unlabelled NLL from a set S of distinct kernel orderings
    (:func:`neighbourhood_orderings` of ``start`` = :math:`g^*`):
    :math:`-\log p([A] \mid x) \le -\log \sum_{g \in S} q(A \mid x, g) + \log |\mathrm{Aut}(A)|`,
    as :math:`p([A] \mid x) = \frac{1}{|\mathrm{Aut}(A)|}\sum_{g \in K} q(A \mid x, g)`; S ⊇ the orbit of
    :math:`g^*`, so it is never above :math:`-\log q(A \mid x, g^*)`."""
    if model.breaker != "sympe":
        raise SymbreakError(f"sympe_nll_bound needs a 'sympe' generator, got {model.breaker!r}")
    return float(-torch.logsumexp(_kernel_log_q(model, graph, neighbourhood_orderings(graph, start)), 0) + graph.log_aut)


def heldout_nll(model: PairGenerator, data: _Tensors, seed: int, draws: int = NOISE_DRAWS, graphs: Sequence[MolGraph] | None = None) -> torch.Tensor:
    """Per-molecule NLL (nats) of the unlabelled graph given x (module docstring): exact for ``none``,
    for ``sympe`` the upper bound :math:`-\\log q(A \\mid x, g^*)`, or with ``graphs`` (the batch's
    :class:`MolGraph` list) the tighter :func:`sympe_nll_bound`, and for ``noise``
    :math:`-\\log \\frac1D \\sum_d q(A \\mid x, \\varepsilon_d)` over ``draws`` seeded draws. Returns (B,)."""
    if graphs is not None and model.breaker == "sympe":
        return torch.tensor([sympe_nll_bound(model, g, data.canonical[k, : g.n].numpy()) for k, g in enumerate(graphs)], dtype=data.log_group.dtype)
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        if model.breaker == "noise":
            logq = torch.stack([pair_log_likelihood(model(data.z, data.mask, _breaker_input(model, data, gen, canonical=False)), data.bonds, data.mask) for _ in range(draws)])
            log_p = torch.logsumexp(logq, 0) - math.log(draws)
            return unlabelled_nll(log_p, data.log_group, data.log_aut)
        logq = pair_log_likelihood(model(data.z, data.mask, _breaker_input(model, data, gen, canonical=True)), data.bonds, data.mask)
        if model.breaker == "sympe":  # p(A|x) ≥ |Aut(A)|/|K| q(A|x, g*): the bound's log|Aut| and log|K| cancel
            return -logq
        return unlabelled_nll(logq, data.log_group, data.log_aut)


def kernel_orderings(z: np.ndarray) -> np.ndarray:
    """Every ordering of the inversion kernel of element labels z (n,): (|K|, n) positions, the
    canonical blocks (:func:`kernel_positions`) with every permutation within each element class;
    the kernel of the bond-less graph coloured by atomic number (:func:`symbreak.graphs.graph_kernel`)."""
    from ..graphs import ColoredGraph, graph_kernel

    z = np.asarray(z, dtype=np.int64)
    return graph_kernel(ColoredGraph.make(len(z), [], colors=z))


def exact_sympe_nll(model: PairGenerator, graph: MolGraph) -> float:
    r"""SymPE's exact NLL of the unlabelled graph, summing the whole kernel:
    :math:`-\log p([A] \mid x) = -\log \sum_{g} q(A \mid x, g) + \log |\mathrm{Aut}(A)|` (nats;
    |K| forward passes, so only for small |K|)."""
    if model.breaker != "sympe":
        raise SymbreakError(f"exact_sympe_nll needs a 'sympe' generator, got {model.breaker!r}")
    return float(-torch.logsumexp(_kernel_log_q(model, graph, kernel_orderings(graph.z)), 0) + graph.log_aut)


def sample_graphs(model: PairGenerator, data: _Tensors, seed: int) -> list[np.ndarray]:
    """One sampled bond-class matrix (n, n) per graph: the breaker drawn afresh (a random kernel
    ordering, or noise), each pair's class drawn from its softmax (seeded)."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        logits = model(data.z, data.mask, _breaker_input(model, data, gen, canonical=False))
        probs = torch.softmax(logits.to(torch.float64), -1)
        flat = torch.multinomial(probs.reshape(-1, probs.shape[-1]), 1, generator=gen).reshape(probs.shape[:-1])
    out = []
    for k in range(len(flat)):
        n = int(data.mask[k].sum())
        upper = torch.triu(flat[k, :n, :n], 1)
        out.append((upper + upper.T).numpy())
    return out


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


@register_task("qm9-generation")
class QM9Generation(OwnModelsTask):
    """One-shot QM9 graph generation conditioned on the heavy-atom multiset: no breaker, noise, SymPE (Lawrence et al., Table 2, in kind)."""

    description = "QM9 one-shot graph generation given the heavy-atom multiset, NLL of the unlabelled graph: none / noise / sympe / sympe-dfs (SymPE paper Table 2, in kind)"
    losses = ("nll",)
    models = tuple(VARIANTS)
    epochs = 40
    lr = 2e-3
    folds = 2
    batch_size = 50
    hidden = 64
    layers = 3
    dim = 16
    limit = 3000
    quick = {"folds": 1, "epochs": 8, "limit": 300}
    schedule = "cosine"
    select = "best"
    patience = None  # no early stopping: the best validation epoch of the whole budget is kept
    checkpoint_suffix = ".pt"
    tables = (
        TableSpec(
            "QM9 generation given the heavy-atom multiset: test NLL of the unlabelled graph (nats/molecule) and one sample per molecule (mean ± std over seeds)",
            rows=tuple(VARIANTS),
            columns=(("NLL", "", "nll", "nll"), ("Valid", "", "nll", "valid"), ("Unique", "", "nll", "unique"), ("Novel", "", "nll", "novel"),
                     ("Recovered", "", "nll", "recovered")),  # fmt: skip
            note="NLL: -log p([A] | x) of the heavy-atom Kekulé graph up to relabelling within element classes; exact for none, "
            "an upper bound for sympe (-log of the sum of q(A | x, g) over the Aut-orbits of g*, the target's canonical ordering, and of its within-class transpositions, plus log|Aut(A)|), and for noise -log of the mean "
            "of q over 32 seeded draws (an upper bound in expectation); sympe-dfs is sympe with g* the canonical SMILES's atom order. ± is the population std over seeds (ddof = 0). "
            "The paper's Table 2 numbers are not given in our copy of the paper (a summary): no numbers beside ours.",
        ),
    )

    def dataset(self, subtask: str) -> list[GenerationData]:
        _rdkit()
        return [qm9_generation_data(int(self.limit), DATA_SEED)]

    def job_settings(self, spec: str | None = None, **_: Any) -> dict[str, Any]:
        train, val, test = split_sizes(int(self.limit))
        return {"hidden": self.hidden, "layers": self.layers, "dim": self.dim, "batch_size": self.batch_size, "noise_draws": NOISE_DRAWS, "sympe_bound": "Aut-orbits of g* and its within-class transpositions",
                "data": {"train": train, "val": val, "test": test, "seed": DATA_SEED}, "select": "best val", "schedule": self.schedule}  # fmt: skip

    def run_job(self, job: Any, graphs: list, progress: Any = None, checkpoint: Any = None, **_: Any) -> dict[str, Any]:
        from ..training import Trainer

        data: GenerationData = graphs[0]
        seed = job.run_seed() % 2**31
        torch.manual_seed(seed)
        breaker, ordering = VARIANTS[job.model]
        model = PairGenerator(breaker, hidden=self.hidden, layers=self.layers, dim=self.dim, seed=seed)
        train, val, test = (_Tensors.of(part, ordering=ordering) for part in (data.train, data.val, data.test))
        size = self.batch_size

        def batches(epoch: int) -> list[tuple[_Tensors, torch.Tensor | None]]:
            # the epoch's order and noise from (seed, epoch) alone: a resumed run draws the same
            gen = torch.Generator().manual_seed(seed * 1000 + epoch)
            order = torch.randperm(len(data.train), generator=gen)
            parts = [train.take(order[k : k + size]) for k in range(0, len(order), size)]
            return [(p, _breaker_input(model, p, gen, canonical=True)) for p in parts]

        def loss(batch: tuple[_Tensors, torch.Tensor | None]) -> torch.Tensor:
            part, inputs = batch
            return -pair_log_likelihood(model(part.z, part.mask, inputs), part.bonds, part.mask).mean()

        val_inputs = _breaker_input(model, val, torch.Generator().manual_seed(seed + 1), canonical=True)

        def evaluate(epoch: int, steps: list[tuple[torch.Tensor, int]]) -> dict[str, float]:
            with torch.no_grad():
                v = -pair_log_likelihood(model(val.z, val.mask, val_inputs), val.bonds, val.mask).mean()
            row = {"epoch": epoch, "train": float(torch.stack([s for s, _ in steps]).mean()), "val": float(v)}
            if progress is not None:
                progress.set_postfix_str(f"{job.model} fold {job.fold} epoch {epoch}/{job.epochs} val {row['val']:.3f}", refresh=False)
            return row

        opt = torch.optim.Adam(model.parameters(), lr=job.lr)
        trainer = Trainer(model, opt, epochs=job.epochs, monitor="val", select=self.select, schedule=self.schedule, checkpoint=checkpoint)
        result = trainer.run(batches, loss, evaluate)
        model.eval()
        nll = heldout_nll(model, test, seed + 2, graphs=data.test)  # sympe: the transposition-neighbourhood bound
        samples = sample_graphs(model, test, seed + 3)
        scores, smiles = sample_scores(samples, data.test, {g.smiles for g in data.train})
        pairs = torch.tensor([g.n * (g.n - 1) / 2 for g in data.test], dtype=nll.dtype)
        uniform = unlabelled_nll(-pairs * math.log(len(BOND_ORDERS)), test.log_group, test.log_aut)
        small = [k for k, g in enumerate(data.test) if math.exp(g.log_group) <= EXACT_MAX_GROUP + 0.5]
        exact = {"small_count": len(small), "small_nll": float(nll[small].mean()) if small else float("nan")}
        if breaker == "sympe":  # the one-ordering bound, and where |K| is small the exact sum over the kernel
            gstar = heldout_nll(model, test, seed + 2)
            exact["gstar_nll"] = float(gstar.mean())
            if small:
                exact.update(small_gstar_nll=float(gstar[small].mean()), small_exact_nll=float(np.mean([exact_sympe_nll(model, data.test[k]) for k in small])))
        return {
            "test": {"nll": float(nll.mean()), **scores, "uniform_nll": float(uniform.mean()), **exact},
            "val": result.best_value, "best_epoch": result.best_epoch, "final_train": result.history[-1]["train"],
            "val_curve": [round(h["val"], 4) for h in result.history], "parameters": sum(p.numel() for p in model.parameters()),
            "data": {"train": len(data.train), "val": len(data.val), "test": len(data.test), "examined": data.examined, "skipped": data.skipped},
            "examples": [{"target": t.smiles, "sample": s} for t, s in zip(data.test[:8], smiles[:8])],
            "valid_examples": [{"target": t.smiles, "sample": s} for t, s in zip(data.test, smiles) if s is not None][:8],
        }  # fmt: skip

    def report_extras(self, records: list[dict], out: Any) -> dict[str, list]:
        """The data's sizes and skipped molecules, the uniform-guess NLL, and a few samples beside their targets."""
        rows = [r for r in records if "examples" in r]
        if not rows:
            return {"texts": [], "markdown": [], "plots": []}
        d = rows[0]["data"]
        skipped = ", ".join(f"{k}: {v}" for k, v in sorted(d["skipped"].items())) or "none"
        uniform = float(np.mean([r["test"]["uniform_nll"] for r in rows]))
        head = (f"Data: {d['train']} train / {d['val']} validation / {d['test']} test molecules of QM9 (seed {DATA_SEED}), "
                f"{d['examined']} examined, skipped: {skipped}. A uniform guess (every pair's class with probability 1/4) "
                f"scores NLL {uniform:.2f} nats/molecule on this test set.")  # fmt: skip
        lines = ["| Variant | Seed (fold) | Target | Sample |", "|---|---|---|---|"]
        text = [head, "Samples of the first seed (the first 8 test molecules, then the first 8 valid samples; '—' = invalid):"]
        first = min(r["fold"] for r in rows)  # one seed's samples: enough to see what each variant draws
        for r in sorted((r for r in rows if r["fold"] == first), key=lambda r: list(VARIANTS).index(r["model"]) if r["model"] in VARIANTS else 9):
            for e in r["examples"] + r.get("valid_examples", []):
                lines.append(f"| {r['model']} | {r['fold']} | `{e['target']}` | {'`' + e['sample'] + '`' if e['sample'] else '—'} |")
                text.append(f"  {r['model']:6s} fold {r['fold']}  {e['target']:>20s}  →  {e['sample'] or '—'}")
        md = ("### Data and samples\n\n" + head + "\n\nSamples of the first seed: the first 8 test molecules, then the first 8 valid samples "
              "(— = invalid).\n\n" + "\n".join(lines) + "\n")  # fmt: skip
        tight = _bound_table(rows)
        return {"texts": ["\n".join(text), tight[0]], "markdown": [md, tight[1]], "plots": []}


def _bound_table(rows: list[dict]) -> tuple[str, str]:
    """How loose each variant's reported NLL is: the full test set (reported, one-ordering bound) and the
    molecules with |K| ≤ :data:`EXACT_MAX_GROUP` (reported, one-ordering bound, exact), mean ± std over seeds (ddof = 0)."""
    cols = (("NLL reported", "nll"), ("-log q(A|x,g*)", "gstar_nll"), (f"|K| ≤ {EXACT_MAX_GROUP}: reported", "small_nll"),
            ("|K| small: -log q(A|x,g*)", "small_gstar_nll"), ("|K| small: exact", "small_exact_nll"))  # fmt: skip

    def cell(model: str, key: str) -> str:
        v = [r["test"][key] for r in rows if r["model"] == model and key in r["test"]]
        return "—" if not v else f"{np.mean(v):.2f} ± {np.std(v):.2f}"

    models = [m for m in VARIANTS if any(r["model"] == m for r in rows)]
    count = rows[0]["test"].get("small_count", 0)
    note = (f"Test NLL (nats/molecule) of each variant's reported quantity beside SymPE's one-ordering bound and, on the {count} test "
            f"molecules with |K| ≤ {EXACT_MAX_GROUP}, the exact NLL (the sum over the whole kernel). For none the reported number is exact; "
            "for noise it is the 32-draw estimate. Mean ± std over seeds (ddof = 0).")  # fmt: skip
    md = ["| Model | " + " | ".join(h.replace("|", "\\|") for h, _ in cols) + " |", "|---|" + "---|" * len(cols)]
    md += [f"| {m} | " + " | ".join(cell(m, k) for _, k in cols) + " |" for m in models]
    text = [note] + [f"  {m:10s}" + "  ".join(f"{h}: {cell(m, k)}" for h, k in cols) for m in models]
    return "\n".join(text), "### How loose the reported NLL is\n\n" + note + "\n\n" + "\n".join(md) + "\n"
