r"""Which of a data set's labels break which symmetries: the question to ask before choosing a model.

For each structure with symmetry group :math:`G`, and labels :math:`y` (per atom, or one per
structure) of a given representation, the label image under :math:`g \in G` is
:math:`(g \cdot y)_{\pi_g(i)} = \rho(R_g)\, y_i`. The labels *break* g by

.. math:: b_g = \max_i \| (g \cdot y)_i - y_i \|,

and *keep* the subgroup :math:`H = \{g : b_g \le \epsilon\}`. When :math:`H \ne G` the target is
less symmetric than its input: by the Curie principle no exactly equivariant model can output it,
whatever it learns. The census says how many such targets a data set holds and what fits them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from .._errors import SymbreakError
from ..rotations import Rep, act
from ._detect import DEFAULT_TOL, detect_symmetry

__all__ = ["LabelDiagnosis", "DatasetDiagnosis", "diagnose_labels", "diagnose", "plot_diagnosis"]

#: how each case can be fitted, by what the labels do to the input's symmetry
MECHANISMS = {
    "no symmetry": "any model: the structure has no symmetry to keep or break",
    "keeps": "an exactly equivariant model (E3NN, PaiNN, EGNN, ...) can fit these labels",
    "breaks": "needs symmetry breaking: a symmetry-breaking loss (SBCD, SB-MSE) with a relaxed-equivariant model (SANN) or canonicalization, or a symmetry-breaking input (+randvec, SymPE); exactly equivariant models cannot fit them (Curie)",
}


@dataclass(frozen=True)
class LabelDiagnosis:
    """One structure: its group, how much its labels break each operation, the subgroup they keep.

    breaks: (k,) :math:`b_g` per operation of ``point_group`` (label units); kept: the name of the
    subgroup the labels keep (``"?"`` when the kept operations do not close into a group at this
    ``label_tol``), kept_order its order; case: "no symmetry", "keeps" or "breaks".
    """

    index: int
    name: str
    point_group: str
    order: int
    breaks: tuple[float, ...]
    kept: str
    kept_order: int
    scale: float
    case: str

    @property
    def max_break(self) -> float:
        return max(self.breaks) if self.breaks else 0.0


@dataclass
class DatasetDiagnosis:
    """Per-structure diagnoses and the census of a whole data set."""

    labels: str
    rep: str
    tol: float | str
    label_tol: float
    structures: list[LabelDiagnosis] = field(default_factory=list)

    def census(self) -> dict[str, Any]:
        """Counts by case, by point group (with how many of each break), and by kept subgroup."""
        cases = Counter(s.case for s in self.structures)
        by_group: dict[str, Counter] = {}
        for s in self.structures:
            by_group.setdefault(s.point_group, Counter())[s.case] += 1
        transitions = Counter(f"{s.point_group} → {s.kept}" for s in self.structures if s.case == "breaks")
        return {
            "structures": len(self.structures),
            "cases": dict(cases),
            "curie": cases.get("breaks", 0),
            "by_point_group": {g: dict(c) for g, c in sorted(by_group.items(), key=lambda kv: -sum(kv[1].values()))},
            "kept_subgroups": dict(transitions.most_common()),
            "mechanisms": {case: MECHANISMS[case] for case in cases},
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "labels": self.labels, "rep": self.rep, "tol": self.tol, "label_tol": self.label_tol,
            "census": self.census(), "structures": [asdict(s) for s in self.structures],
        }  # fmt: skip

    def report(self, limit: int = 20) -> str:
        """A terminal report: the census, then the structures whose labels break the most."""
        c = self.census()
        lines = [
            f"labels {self.labels!r} ({self.rep}), symmetry at tol {self.tol if isinstance(self.tol, str) else format(self.tol, 'g')}{'' if isinstance(self.tol, str) else ' Å'}, a label kept when it moves by ≤ {self.label_tol:g}",
            f"{c['structures']} structures: " + ", ".join(f"{n} {case}" for case, n in sorted(c["cases"].items())),
            f"{c['curie']} of {c['structures']} targets are less symmetric than their input: no exactly equivariant model can fit them (Curie).",
            "",
            f"{'point group':>11}  {'structures':>10}  {'labels break it':>15}",
        ]
        for group, counts in c["by_point_group"].items():
            lines.append(f"{group:>11}  {sum(counts.values()):>10}  {counts.get('breaks', 0):>15}")
        if c["kept_subgroups"]:
            lines += ["", "what the labels keep (input group → kept subgroup):"]
            lines += [f"  {t:<16} {n}" for t, n in c["kept_subgroups"].items()]
        worst = sorted((s for s in self.structures if s.case == "breaks"), key=lambda s: -s.max_break)[:limit]
        if worst:
            lines += ["", f"largest breaks (of {c['curie']}):", f"  {'#':>5}  {'name':<14} {'group':>6} {'keeps':>6}  {'max break':>10}  {'label scale':>11}"]
            lines += [f"  {s.index:>5}  {s.name[:14]:<14} {s.point_group:>6} {s.kept:>6}  {s.max_break:>10.3g}  {s.scale:>11.3g}" for s in worst]
        lines += ["", "what fits each case:"] + [f"  {case}: {text}" for case, text in c["mechanisms"].items()]
        return "\n".join(lines)


def _images(y: np.ndarray, ops: np.ndarray, perms: np.ndarray | None, rep: str) -> np.ndarray:
    """g·y for every operation: (k, *y.shape); per-atom labels also move to π_g(i)."""
    out = np.empty((len(ops),) + y.shape)
    for g, r in enumerate(ops):
        moved = act(r, y, rep)
        if perms is None:
            out[g] = moved
        else:
            out[g][perms[g]] = moved
    return out


def _kept_name(ops: np.ndarray) -> tuple[str, int]:
    from ..groups import identify

    try:
        return identify(ops, atol=1e-6)[0].name, len(ops)
    except SymbreakError:
        return "?", len(ops)


def diagnose_labels(
    positions: np.ndarray, numbers: np.ndarray, labels: np.ndarray, *, rep: str = "1o", tol: float | str = DEFAULT_TOL, label_tol: float = 1e-3, name: str = "", index: int = 0
) -> LabelDiagnosis:
    """Diagnose one structure: positions (n, 3) Å, numbers (n,), labels (n, d) per atom or (d,) per structure.

    rep: how the labels transform (a :class:`~symbreak.rotations.Rep`: ``"1o"`` dipoles or forces,
    ``"0e"`` charges, ``"1e"``, ``"tensors"``...). label_tol: the largest change of a label (its
    units) that still counts as kept.
    """
    if not label_tol > 0:
        raise SymbreakError(f"label_tol must be > 0 (label units), got {label_tol}")
    y = np.asarray(labels, dtype=float)
    if not np.all(np.isfinite(y)):
        raise SymbreakError(f"structure {index} ({name}): labels hold NaN or infinite values")
    rep = str(Rep.parse(rep))
    n = len(numbers)
    per_atom = y.ndim >= 1 and len(y) == n and y.ndim == 2
    if not per_atom and y.ndim > 1:
        raise SymbreakError(f"structure {index} ({name}): labels of shape {y.shape} are neither per atom ({n}, d) nor per structure (d,)")
    sym = detect_symmetry(positions, numbers, tol=tol)
    flat = y.reshape(n, -1) if per_atom else y.reshape(-1)
    scale = float(np.abs(flat).max()) if flat.size else 0.0
    if sym.order == 1:
        return LabelDiagnosis(index, name, sym.point_group, 1, (0.0,), sym.point_group, 1, scale, "no symmetry")
    images = _images(flat, sym.operations, sym.permutations if per_atom else None, rep)
    diff = images - flat[None]
    breaks = np.sqrt((diff.reshape(len(images), -1, diff.shape[-1]) ** 2).sum(-1)).max(-1) if per_atom else np.abs(diff).reshape(len(images), -1).max(-1)
    kept_ops = sym.operations[breaks <= label_tol]
    kept, kept_order = _kept_name(kept_ops)
    if not sym.group.is_finite:  # a linear molecule's finite stand-in kept whole is the infinite group
        m = sym.group.axial_order
        kept = {f"C{m}v": "C*v", f"D{m}h": "D*h"}.get(kept, kept)
    case = "keeps" if kept_order == sym.order else "breaks"
    return LabelDiagnosis(index, name, sym.point_group, sym.order, tuple(float(b) for b in breaks), kept, kept_order, scale, case)


def diagnose(
    structures: Sequence[Any], labels: str, *, rep: str | None = None, tol: float | str = DEFAULT_TOL, label_tol: float = 1e-3, progress: bool = False
) -> DatasetDiagnosis:
    """Diagnose a data set of ASE ``Atoms`` whose labels are ``atoms.arrays[labels]`` (per atom) or
    ``atoms.info[labels]`` (per structure).

    rep: how they transform; default "1o" for three components per atom or structure (dipoles,
    forces, modes), "0e" for one (charges, energies), "tensors" for nine.
    """
    if progress:
        from tqdm.auto import tqdm

        structures = tqdm(structures, desc="diagnose", unit="structure")
    out = DatasetDiagnosis(labels, rep or "auto", tol, label_tol)
    for i, atoms in enumerate(structures):
        if labels in atoms.arrays:
            y = np.asarray(atoms.arrays[labels], dtype=float)
        elif labels in atoms.info:
            y = np.asarray(atoms.info[labels], dtype=float).reshape(-1)
        else:
            have = sorted(k for k in atoms.arrays if k not in ("numbers", "positions")) + sorted(atoms.info)
            raise SymbreakError(f"structure {i} has no labels {labels!r}; it has {', '.join(have) or 'none'}")
        width = y.shape[-1] if y.ndim else 1
        this_rep = rep or {1: "0e", 3: "1o", 9: "tensors"}.get(width)
        if this_rep is None:
            raise SymbreakError(f"labels {labels!r} have {width} components: say how they transform with rep= (--rep), e.g. '0e+1o'")
        out.rep = this_rep if rep is None else rep
        name = str(atoms.info.get("name", atoms.get_chemical_formula()))
        out.structures.append(diagnose_labels(atoms.positions, atoms.numbers, y, rep=this_rep, tol=tol, label_tol=label_tol, name=name, index=i))
    return out


def plot_diagnosis(diagnosis: DatasetDiagnosis, path: Any) -> Any:
    """One PNG: structures per point group and how many of them the labels break; the largest break
    of each breaking structure relative to its label scale (log)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    c = diagnosis.census()
    groups = list(c["by_point_group"])
    total = [sum(c["by_point_group"][g].values()) for g in groups]
    broken = [c["by_point_group"][g].get("breaks", 0) for g in groups]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 3.8))
    xs = np.arange(len(groups))
    ax1.bar(xs, total, color="#c8d3e0", label="structures")
    ax1.bar(xs, broken, color="#c0504d", label="labels break the group")
    ax1.set_xticks(xs, groups, rotation=45, ha="right", fontsize=8)
    ax1.set_ylabel("structures")
    ax1.set_title(f"{c['curie']} of {c['structures']} targets break their input's symmetry", fontsize=9)
    ax1.legend(fontsize=8)
    rel = [s.max_break / s.scale for s in diagnosis.structures if s.case == "breaks" and s.scale > 0]
    if rel:
        ax2.hist(np.log10(rel), bins=30, color="#c0504d")
    ax2.set_xlabel("log10(largest break / largest label)")
    ax2.set_ylabel("structures")
    ax2.set_title(f"how strongly labels {diagnosis.labels!r} break the symmetry", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
