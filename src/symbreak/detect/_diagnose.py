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

    A linear structure (``C*v``, ``D*h``) is tested on its finite stand-in ``C{m}v``/``D{m}h``
    (``breaks`` and ``kept_order`` count its operations), turned about the axis to put its mirror
    planes through the labels' own directions (vectors, pseudovectors, tensors). Where the kept
    operations hold all m rotations about the axis and the labels' degree is below m, they keep
    every rotation about it, and ``kept`` names the infinite group: ``C*``, ``C*v``, ``C*h``,
    ``D*`` or ``D*h`` (``*`` for ∞, as symbreak writes ``C*v`` and ``D*h``; :class:`PointGroup`
    parses only those two of them).
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
        """A terminal report: the census, then the ``limit`` (≥ 0) structures whose labels break the most."""
        if isinstance(limit, bool) or not isinstance(limit, (int, np.integer)) or limit < 0:
            raise SymbreakError(f"limit must be a whole number >= 0, got {limit!r}")
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


#: kinds :func:`~symbreak.rotations.act` applies to NumPy data; other irreps strings go through e3nn
_NUMPY_KINDS = ("positions", "vectors", "1o", "pseudovectors", "1e", "scalars", "0e", "pseudoscalars", "0o", "tensors")
#: kinds whose data are Cartesian vectors, (..., 3), or flattened 3×3 tensors, (..., 9)
_VECTOR_KINDS = ("positions", "vectors", "1o", "pseudovectors", "1e")
#: the finite stand-ins of a linear structure's groups that hold the whole axial rotation group
#: C_m, by family, and the infinite groups they stand for (``*`` for ∞, as in ``C*v`` and ``D*h``)
_INFINITE = {"C": "C*", "Cv": "C*v", "Ch": "C*h", "D": "D*", "Dh": "D*h"}


def _rep_matrices(ops: np.ndarray, rep: Rep) -> np.ndarray:
    """ρ(R_g) for every operation: (k, d, d) with d = rep.dim, so that g·y = y @ ρ(R_g).T for y (..., d).

    Built by :func:`~symbreak.rotations.act` (one rule of how each kind transforms) acting on the
    unit vectors; ``tensors`` are 3×3 tensors flattened row by row (d = 9); other irreps strings
    use e3nn's Wigner-D matrices (``D_from_matrix`` takes torch tensors: torch and e3nn needed).
    """
    d = rep.dim
    if rep.kind in _NUMPY_KINDS:
        eye = np.eye(d).reshape(9, 3, 3) if rep.kind == "tensors" else np.eye(d)
        return np.stack([np.asarray(act(r, eye, rep.kind)).reshape(d, d).T for r in ops])
    try:
        import torch

        from ..rotations import act_batch
    except ImportError:  # pragma: no cover - the ml extra
        raise SymbreakError(f"labels of representation {rep.text!r} need torch and e3nn: pip install -e '.[ml]'") from None
    r = torch.tensor(np.array(ops, dtype=np.float64))  # a copy: ops may be a read-only view
    eye = torch.eye(d, dtype=torch.float64).expand(len(ops), d, d)
    return act_batch(r, eye, rep.kind).transpose(1, 2).numpy()  # act_batch(r, e_a)_i = ρ(R)_ia


def _images(y: np.ndarray, mats: np.ndarray, perms: np.ndarray | None) -> np.ndarray:
    """g·y for every operation: (k, *y.shape); per-atom labels also move to π_g(i)."""
    moved = np.einsum("kij,...j->k...i", mats, y)
    if perms is None:
        return moved
    out = np.empty_like(moved)
    for g in range(len(mats)):
        out[g][perms[g]] = moved[g]
    return out


def _breaks(flat: np.ndarray, ops: np.ndarray, perms: np.ndarray | None, rep: Rep) -> np.ndarray:
    """b_g per operation, (k,): per atom (perms given) the largest 2-norm of one atom's change, per
    structure the largest change of one component."""
    diff = _images(flat, _rep_matrices(ops, rep), perms) - flat[None]
    if perms is None:
        return np.abs(diff).reshape(len(ops), -1).max(-1)
    return np.sqrt((diff**2).sum(-1)).max(-1)


def _kept_group(ops: np.ndarray) -> Any:
    """The :class:`~symbreak.groups.PointGroup` the kept operations form, or None if they do not close."""
    from ..groups import identify

    try:
        return identify(ops, atol=1e-6)[0]
    except SymbreakError:
        return None


def _max_degree(rep: Rep) -> int:
    """The largest degree l in ``rep`` (a 3×3 tensor holds l ≤ 2)."""
    return 2 if rep.kind == "tensors" else max(l for _, l, _ in rep.terms)


def _about(axis: np.ndarray, angle: float) -> np.ndarray:
    """The rotation by ``angle`` (rad) about the unit vector ``axis`` (Rodrigues)."""
    k = np.array([[0.0, -axis[2], axis[1]], [axis[2], 0.0, -axis[0]], [-axis[1], axis[0], 0.0]])
    return np.eye(3) + np.sin(angle) * k + (1.0 - np.cos(angle)) * (k @ k)


def _directions(v: np.ndarray, kind: str, axis: np.ndarray) -> list[np.ndarray]:
    """Directions across ``axis`` that one label ``v`` (3,) or (9,) singles out: its own, or a
    tensor's T a, Tᵀ a, axial vector and in-plane principal axes."""
    if kind in _VECTOR_KINDS:
        return [v]
    t = v.reshape(3, 3)
    e1 = np.cross(axis, np.eye(3)[np.argmin(np.abs(axis))])
    e1 /= np.linalg.norm(e1)
    plane = np.stack([e1, np.cross(axis, e1)], axis=1)  # (3, 2): a basis across the axis
    w, u = np.linalg.eigh(plane.T @ (0.5 * (t + t.T)) @ plane)  # the symmetric part's in-plane principal axes
    axial = np.array([t[2, 1] - t[1, 2], t[0, 2] - t[2, 0], t[1, 0] - t[0, 1]])  # the antisymmetric part
    return [t @ axis, t.T @ axis, axial, (w[1] - w[0]) * (plane @ u[:, 0]), (w[1] - w[0]) * (plane @ u[:, 1])]


def _align_linear(
    flat: np.ndarray, positions: np.ndarray, ops: np.ndarray, perms: np.ndarray | None, rep: Rep, m: int, label_tol: float, breaks: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    r"""A linear structure's finite stand-in C{m}v/D{m}h, turned about the molecular axis to keep the most.

    The stand-in's mirror planes and C2' axes lie at arbitrary angles about the axis, so labels
    across the axis (a bending mode, say) would find none of them, though the true group C*v/D*h
    holds the ones they keep. A plane or C2' axis that keeps the labels contains, or is normal to,
    a direction the labels single out: one atom's label, or the sum or difference of the labels
    that a flip of the axis swaps. The stand-in is turned (by an angle modulo π/m, its own period)
    to put a mirror plane through each such direction; turning about the axis moves no atom, so
    the permutations stay. Only for the Cartesian kinds (vectors, pseudovectors, tensors).
    Returns (operations, breaks) of the turn that keeps the most operations.
    """
    if rep.kind not in _VECTOR_KINDS + ("tensors",):
        return ops, breaks
    axis = np.linalg.svd(positions - positions.mean(0), full_matrices=False)[2][0]
    along = np.einsum("i,kij,j->k", axis, ops, axis)  # +1: keeps the axis, -1: flips it
    mirrors = np.flatnonzero((np.linalg.det(ops) < 0) & (np.abs(np.einsum("kii->k", ops) - 1.0) < 1e-6) & (along > 0.5))
    if not len(mirrors):
        return ops, breaks
    twice_nn = np.eye(3) - ops[mirrors[0]]  # I - σ = 2 n nᵀ for the plane's normal n
    normal = twice_nn[:, np.argmax(np.linalg.norm(twice_nn, axis=0))]
    in_plane = np.cross(axis, normal / np.linalg.norm(normal))  # a direction in that mirror plane, across the axis
    rows = flat.reshape(-1, flat.shape[-1])
    labels = [rows]
    if perms is not None and (along < 0).any():
        swap = perms[np.argmax(along < 0)]
        labels += [rows + rows[swap], rows - rows[swap]]
    angles = set()
    for v in np.concatenate(labels):
        for c in _directions(v, rep.kind, axis):
            c = c - (c @ axis) * axis
            if np.linalg.norm(c) > label_tol:
                angle = float(np.arctan2(axis @ np.cross(in_plane, c), in_plane @ c)) % (np.pi / m)
                angles.add(round(angle, 9))
    best_ops, best = ops, breaks
    for angle in sorted(angles):
        q = _about(axis, angle)
        turned = q @ ops @ q.T
        b = _breaks(flat, turned, perms, rep)
        if (b <= label_tol).sum() > (best <= label_tol).sum():
            best_ops, best = turned, b
    return best_ops, best


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
    r = Rep.parse(rep)
    n = len(numbers)
    per_atom = y.ndim >= 1 and len(y) == n and y.ndim == 2
    if not per_atom and y.ndim > 1:
        raise SymbreakError(f"structure {index} ({name}): labels of shape {y.shape} are neither per atom ({n}, d) nor per structure (d,)")
    flat = y.reshape(n, -1) if per_atom else y.reshape(-1)
    width = flat.shape[-1]
    if width != r.dim:
        raise SymbreakError(
            f"structure {index} ({name}): representation {r.text!r} has dimension {r.dim} but the labels have {width} "
            f"component{'s' if width != 1 else ''} per {'atom' if per_atom else 'structure'}"
        )
    sym = detect_symmetry(positions, numbers, tol=tol)
    scale = float(np.abs(flat).max()) if flat.size else 0.0
    if sym.order == 1:
        return LabelDiagnosis(index, name, sym.point_group, 1, (0.0,), sym.point_group, 1, scale, "no symmetry")
    ops, perms = sym.operations, (sym.permutations if per_atom else None)
    breaks = _breaks(flat, ops, perms, r)
    linear = sym.group.family in ("C*v", "D*h")
    if linear and (breaks > label_tol).any():
        ops, breaks = _align_linear(flat, np.asarray(positions, dtype=float), ops, perms, r, sym.group.axial_order, label_tol, breaks)
    kept_ops = ops[breaks <= label_tol]
    group = _kept_group(kept_ops)
    kept, kept_order = ("?" if group is None else group.name), len(kept_ops)
    # a linear structure's finite stand-in: kept whole, or a subgroup holding all of its C_m, is
    # the infinite group, when C_m then keeps every rotation about the axis (degrees l < m)
    if linear and group is not None and group.family in _INFINITE and group.n == sym.group.axial_order and _max_degree(r) < group.n:
        kept = _INFINITE[group.family]
    case = "keeps" if kept_order == sym.order else "breaks"
    return LabelDiagnosis(index, name, sym.point_group, sym.order, tuple(float(b) for b in breaks), kept, kept_order, scale, case)


def _calc_per_atom(key: str, value: np.ndarray, n: int) -> bool:
    """Whether a calculator result is per atom: as ASE declares it (forces (natoms, 3), charges
    (natoms,), stress (6,)), else when it has more than one axis and n rows."""
    from ase.outputs import all_outputs

    spec = getattr(all_outputs.get(key), "shapespec", None)
    if spec is not None:
        return len(spec) > 0 and spec[0] == "natoms"
    return value.ndim >= 2 and len(value) == n


def _labels_of(atoms: Any, labels: str, index: int) -> np.ndarray:
    """The labels of one ``Atoms``: (n, d) per atom, from ``arrays`` or the calculator's per-atom
    results; (d,) per structure, from ``info`` or the calculator's other results."""
    n = len(atoms)
    results = getattr(atoms.calc, "results", None) or {}
    for source in (atoms.arrays, atoms.info, results):
        if labels in source:
            try:
                value = np.asarray(source[labels], dtype=float)
            except (TypeError, ValueError):
                raise SymbreakError(f"structure {index}: labels {labels!r} are not numbers ({source[labels]!r:.40})") from None
            per_atom = source is atoms.arrays or (source is results and _calc_per_atom(labels, value, n))
            return value.reshape(n, -1) if per_atom else value.reshape(-1)
    have = sorted(k for k in atoms.arrays if k not in ("numbers", "positions")) + sorted(atoms.info) + sorted(results)
    raise SymbreakError(f"structure {index} has no labels {labels!r}; it has {', '.join(have) or 'none'}")


def diagnose(
    structures: Sequence[Any], labels: str, *, rep: str | None = None, tol: float | str = DEFAULT_TOL, label_tol: float = 1e-3, progress: bool = False
) -> DatasetDiagnosis:
    """Diagnose a data set of ASE ``Atoms`` whose labels are ``atoms.arrays[labels]`` (per atom),
    ``atoms.info[labels]`` (per structure) or a stored result of ``atoms.calc`` (the
    ``SinglePointCalculator`` in which ASE's extxyz reader keeps forces, energies, charges, ...).

    rep: how they transform; default "1o" for three components per atom or structure (dipoles,
    forces, modes), "0e" for one (charges, energies), "tensors" for nine.
    """
    if progress:
        from tqdm.auto import tqdm

        structures = tqdm(structures, desc="diagnose", unit="structure")
    out = DatasetDiagnosis(labels, rep or "auto", tol, label_tol)
    for i, atoms in enumerate(structures):
        y = _labels_of(atoms, labels, i)
        width = y.shape[-1]
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
