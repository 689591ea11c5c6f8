r"""Equivariant symmetry-breaking sets of vectors (Xie & Smidt, TMLR 2024).

An equivariant network cannot map an input with symmetry group G to an output with less symmetry
K < G. Fed one extra object b as well, it can reach outputs whose symmetry contains
:math:`\mathrm{Stab}_G(b)`; fed, in turn, every element of a *symmetry-breaking set* B (so that no
choice is privileged) it stays equivariant. The set is equivariant when it depends on the input
only through its symmetry: :math:`B(gx) = gB(x)`, which for the inputs sharing G means B is closed
under the normalizer :math:`N = N_{O(3)}(G)`. It is *ideal* when every element breaks G exactly down
to K (:math:`\mathrm{Stab}_G(b)` conjugate to K in G), so the outputs keep K.

Here the objects are vectors (``1o``, what every registered model reads as ``data.vectors``): a
vector's stabilizer is its own axial group C∞v(v), so the candidates that give small sets are the
rotation axes and mirror planes of N. For each candidate v the set is the orbit :math:`N v`; the
smallest ideal one is returned (else the smallest that breaks at least down to K, marked not
ideal). Where N is infinite (G of cyclic type: Cn, Cnh, S2n, Cs, Ci, C1), no finite equivariant set
exists unless the vectors lie on the axis, which every rotation of G fixes: that is said, not
hidden.

**One class of K** (``keep=``). N may fuse classes of K that G keeps apart: C2v's two mirrors
σ(xz) and σ(yz) are not conjugate in C2v (it is abelian) but the C4 about z in N = D4h swaps
them, so the N-closed set for C2v → Cs, {±x, ±y}, holds two vectors kept by each mirror. For an
output that keeps one particular mirror (water's asymmetric stretch keeps the molecular plane),
the elements of the other class can only give outputs symmetric under the wrong mirror. No
N-closed set of elements that all keep one class exists then (N moves K out of its class), so no
set that depends on G alone can be both ideal and equivariant. With ``keep`` naming K, the set is
closed under the generalized normalizer :math:`N^{\mathrm{cl}}(G, K) = G \cdot N_N(K)` (the elements
of N that map K's class of G to itself; D2h for either mirror of C2v) and every element's
stabilizer in G is a G-conjugate of K: for C2v → σ(yz), {±y}. Such a set is equivariant for
inputs whose K is itself picked equivariantly (the mirror holding the atoms: ``+sbs[keep='atoms']``);
it is computed for one reference class of each N-orbit and carried to the others by an element of
N, so that :math:`B(nKn^{-1}) = nB(K)` for every n in N. Where no vector keeps exactly K's class
that is a :class:`~symbreak.GroupError`, not a set that breaks further.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from .._errors import GroupError
from ._matrices import rotation_axes
from ._minimal import _g_class, _match, _table_of, describe_subgroup, generalized_normalizer, kept_subgroup, minimal_sbs
from ._pointgroup import PointGroup, group_name
from ._subgroups import Subgroup, check_order, subgroups, subgroups_of_type

__all__ = ["BreakingSet", "symmetry_breaking_set", "sbs_table", "write_sbs_table", "table_groups"]


@dataclasses.dataclass(frozen=True)
class BreakingSet:
    """A symmetry-breaking set of unit vectors for input group ``group`` and output group ``target``.

    vectors: (m, 3), in ``group``'s standard orientation. stabilizer: the name of
    :math:`\\mathrm{Stab}_G(b)` of its elements. ideal: whether that is conjugate to ``target`` in G.
    normalizer: the group the set is closed under (N in O(3), or its rotations with ``proper``;
    :math:`G \\cdot N_N(K)` with ``keep``). equivariant: False where N is infinite and the set is
    only G-closed (see ``note``). keep: with ``keep=``, the class kept, as one of its subgroups
    and its elements (``"Cs {σ(yz)}"``); "" otherwise.
    """

    group: str
    target: str
    vectors: np.ndarray
    stabilizer: str
    ideal: bool
    normalizer: str
    equivariant: bool
    note: str = ""
    keep: str = ""

    @property
    def size(self) -> int:
        return len(self.vectors)

    def to_dict(self) -> dict[str, Any]:
        out = {
            "group": self.group, "target": self.target, "size": self.size, "stabilizer": self.stabilizer, "ideal": self.ideal,
            "normalizer": self.normalizer, "equivariant": self.equivariant, "vectors": np.round(self.vectors, 12).tolist(), "note": self.note,
        }  # fmt: skip
        if self.keep:
            out["keep"] = self.keep
        return out


def _unique_directions(v: np.ndarray, atol: float = 1e-8) -> np.ndarray:
    """The rows of ``v`` (m, 3) without repeats: each kept unless an earlier kept row lies within
    ``atol``. Each kept row's near rows come from a k-d tree: O(m log m), however many repeats."""
    from scipy.spatial import cKDTree

    v = np.asarray(v, dtype=float)
    if len(v) < 2:
        return v.copy()
    tree = cKDTree(v)
    keep = np.zeros(len(v), dtype=bool)
    gone = np.zeros(len(v), dtype=bool)
    for i in range(len(v)):
        if gone[i]:
            continue
        keep[i] = True
        near = np.asarray(tree.query_ball_point(v[i], atol), dtype=np.intp)
        near = near[(near > i) & (np.linalg.norm(v[near] - v[i], axis=1) < atol)] if len(near) else near
        gone[near] = True
    return v[keep]


def _candidates(n_ops: np.ndarray) -> np.ndarray:
    """Unit vectors whose stabilizers in N are largest: N's rotation axes (both senses), a generic
    direction in each mirror plane, and a generic direction."""
    axes, _ = rotation_axes(n_ops)
    axes = axes[np.linalg.norm(axes, axis=1) > 0.5]
    cands = [axes, -axes]
    mirrors = n_ops[(np.linalg.det(n_ops) < 0) & (np.abs(np.trace(n_ops, axis1=1, axis2=2) - 1.0) < 1e-8)]
    generic = np.array([0.2718281828, 0.5772156649, 0.7853981634])
    generic /= np.linalg.norm(generic)
    for m in mirrors:  # the mirror's normal is its −1 eigenvector; a generic vector projected into its plane
        normal = np.linalg.eigh(m)[1][:, 0]
        w = generic - (generic @ normal) * normal
        cands.append((w / np.linalg.norm(w))[None])
    cands.append(generic[None])
    return _unique_directions(np.concatenate(cands))


def _act(ops: np.ndarray, v: np.ndarray, axial: bool) -> np.ndarray:
    """g·v for every g: (k, 3); an axial vector turns by det(g)·g."""
    moved = ops @ v
    return moved * np.linalg.det(ops)[:, None] if axial else moved


def _stabilizer(ops: np.ndarray, v: np.ndarray, axial: bool = False) -> np.ndarray:
    return np.flatnonzero(np.linalg.norm(_act(ops, v, axial) - v, axis=1) < 1e-8)


def _orbit(ops: np.ndarray, v: np.ndarray, axial: bool = False) -> np.ndarray:
    return _unique_directions(_act(ops, v, axial))


def symmetry_breaking_set(group: PointGroup | str, target: PointGroup | str | Subgroup = "C1", *, proper: bool = False, axial: bool = False,
                          keep: Any = None) -> BreakingSet:  # fmt: skip
    """The smallest equivariant symmetry-breaking set of vectors for input ``group`` → output ``target``.

    target: the output symmetry K, a subgroup of G, by name (any subgroup of that type) or as a
    :class:`Subgroup` of ``group``. The set is equivariant under the normalizer N of G, so it is
    closed under N: it breaks to the chosen subgroup *up to conjugacy in N*, and where N fuses
    classes that G keeps apart its elements break to each of them (C2v → one mirror, N = D4h:
    half the vectors keep the other mirror). proper: equivariance
    under rotations only (the normalizer's rotations: a larger set may become a smaller one).
    axial: pseudovectors (``1e``, turned by det(g)·g) instead of vectors: their stabilizers are
    the C∞h-type groups, so they reach chiral-in-plane targets such as D8h → C8h with 2 elements.
    keep: one class of K (default None: any subgroup of type ``target``, the set closed under N).
    A :class:`Subgroup` of G, its operations (k, 3, 3), or a string naming elements K contains in
    G's standard orientation: mirror planes ``xy``, ``yz``, ``xz`` and rotation axes ``x``, ``y``,
    ``z`` (any rotation about it), comma-separated (:func:`~symbreak.groups.kept_subgroup`);
    ``target`` is then K's type name. The set is closed under :math:`G \\cdot N_N(K)` and every
    element b has :math:`\\mathrm{Stab}_G(b)` conjugate to K in G (see the module docstring); a
    :class:`~symbreak.GroupError` where no vector does that (e.g. D4h → the C2v of ``"z,xz"``:
    a vector on z keeps C4v).
    Raises :class:`~symbreak.GroupError` when K is not a subgroup of G, or when G or its normalizer
    N has more than :data:`~symbreak.groups._subgroups.MAX_TABLE_ORDER` elements (D500h, 2,000).
    """
    g = group if isinstance(group, PointGroup) else PointGroup(group)
    if not g.is_finite:
        raise GroupError(f"{g.name} is infinite: give a finite input group")
    check_order(g, "symmetry_breaking_set")
    normalizer = g.normalizer()
    if normalizer is not None:
        check_order(normalizer, "symmetry_breaking_set", of=f"the normalizer of {g.name} in O(3)")
    if keep is not None:
        if isinstance(target, Subgroup):
            raise GroupError("give the subgroup once: as keep= (one class of K) with target its type name")
        return _kept_set(g, target, keep, proper=proper, axial=axial)
    k_name, wanted_sets = subgroups_of_type(g, target)
    if any(len(w) == len(g.operations) for w in wanted_sets):
        return BreakingSet(g.name, k_name, np.zeros((0, 3)), g.name, True, normalizer.name if normalizer else g.name, True, "K = G: nothing to break")
    equivariant = normalizer is not None
    n_ops = normalizer.operations if normalizer is not None else g.operations
    if proper:
        n_ops = n_ops[np.linalg.det(n_ops) > 0]
    n_name = group_name(n_ops) if normalizer is not None else g.name
    best = _search_vectors(g, n_ops, set(wanted_sets), axial, further=True)
    note = ""
    if not equivariant:
        note = (f"the normalizer of {g.name} in O(3) is infinite (it holds every rotation about the main axis), so no finite set "
                "of vectors is equivariant; this one is closed under the group only. Use a probabilistic breaker (SymPE, "
                "+randvec) or learned relaxed weights instead.")  # fmt: skip
    if best is None:
        return BreakingSet(g.name, k_name, np.zeros((0, 3)), "-", False, n_name, equivariant,
                           note or f"no vector breaks {g.name} down to within {k_name}: the stabilizer of a vector is axial (C∞v), so "
                           "a target that is not inside one needs higher-order objects (l ≥ 2 tensors)")  # fmt: skip
    v, stab, ideal = best
    orbit = _orbit(n_ops, v, axial)
    stab_name = group_name(g.operations[sorted(stab)])
    if not ideal:
        note = (note + " " if note else "") + f"no vector breaks {g.name} to exactly {k_name}; these break it further, to {stab_name}"
    return BreakingSet(g.name, k_name, orbit, stab_name, ideal, n_name, equivariant, note)


def _search_vectors(g: PointGroup, c_ops: np.ndarray, wanted: set[frozenset[int]], axial: bool, *, further: bool = False
                    ) -> tuple[np.ndarray, frozenset[int], bool] | None:  # fmt: skip
    """The candidate vector with the smallest orbit under ``c_ops`` whose stabilizer in G is one of
    ``wanted`` (ideal), or with ``further`` also one inside a member of ``wanted`` (it breaks at least
    down to K), ideal ones first; (vector, stabilizer, ideal), or None if none."""
    best = None
    for v in _candidates(c_ops):
        stab = frozenset(_stabilizer(g.operations, v, axial).tolist())
        ideal = stab in wanted
        if not (ideal or (further and any(stab <= w for w in wanted))):
            continue
        key = (not ideal, len(c_ops) // len(_stabilizer(c_ops, v, axial)))  # the orbit's size, |N| / |Stab_N(v)|
        if best is None or key < best[0]:
            best = (key, v, stab, ideal)
    return None if best is None else best[1:]


def _kept_set(g: PointGroup, target: PointGroup | str, keep: Any, *, proper: bool, axial: bool) -> BreakingSet:
    """:func:`symmetry_breaking_set` for one class of K (``keep``): closed under G·N_N(K)."""
    k = kept_subgroup(g, target, keep)
    k_name, desc = k.name if k.order > 1 else "C1", describe_subgroup(k.operations)
    normalizer = g.normalizer()
    n_name = normalizer.name if normalizer is not None else g.name
    if k.order == len(g.operations):
        return BreakingSet(g.name, k_name, np.zeros((0, 3)), g.name, True, n_name, True, "K = G: nothing to break", desc)
    if normalizer is None:  # cyclic types: N is infinite, the set is closed under G only (as without keep)
        c_ops, equivariant, carry = g.operations, False, np.eye(3)
        ref = k
        note = (f"the normalizer of {g.name} in O(3) is infinite (it holds every rotation about the main axis), so no finite set "
                "of vectors is equivariant; this one is closed under the group only")  # fmt: skip
    else:
        # A reference class for every N-orbit of classes (the conjugate nKn⁻¹ with the smallest
        # indices), its set carried to K's class by an n with n K_ref n⁻¹ = K: B(nKn⁻¹) = n B(K).
        t = _table_of(normalizer)
        g_in_n = np.asarray(_match(g.operations, normalizer.operations))
        to_g = np.full(len(normalizer.operations), -1)
        to_g[g_in_n] = np.arange(len(g_in_n))
        k_in_n = g_in_n[list(k.indices)]
        every = np.arange(len(normalizer.operations))
        images = np.sort(to_g[t.table[t.table[every[:, None], k_in_n[None, :]], t.inverse[every][:, None]]], axis=1)  # n K n⁻¹, in G's indices
        ref_row = min(map(tuple, images.tolist()))
        back = int(np.flatnonzero((images == np.asarray(ref_row)).all(axis=1))[0])  # back K back⁻¹ = K_ref
        carry = normalizer.operations[t.inverse[back]]  # K = carry K_ref carry⁻¹
        ref = Subgroup(g, ref_row, ())
        c_ops = generalized_normalizer(g, ref, conjugates=True)
        if proper:
            c_ops = c_ops[np.linalg.det(c_ops) > 0]
        equivariant, note = True, ""
        if len(c_ops) < len(normalizer.operations) // (2 if proper else 1):
            note = (f"N = {normalizer.name} maps {desc} to subgroups not conjugate to it in {g.name}: no set of elements that all keep "
                    f"its class is closed under N; this one is closed under G·N_N(K) = {group_name(c_ops)}, and is equivariant where K's "
                    "class is picked from the input itself (+sbs[keep='atoms'])")  # fmt: skip
    found = _search_vectors(g, c_ops, set(_g_class(g, ref.indices)), axial)
    if found is None:
        kind, axial_group = ("pseudovector", "C∞h") if axial else ("vector", "C∞v")
        instead = (f"minimal_sbs({g.name!r}, {k_name!r}, keep=...) gives one of other objects" if normalizer is not None
                   else f"no finite equivariant set exists for {g.name} anyway (its normalizer is infinite)")  # fmt: skip
        raise GroupError(f"no {kind} keeps exactly {desc} of {g.name} (a {kind}'s stabilizer is axial, {axial_group}), so no ideal set "
                         f"of {kind}s keeps that class: {instead}; without keep the set may break further or mix classes")  # fmt: skip
    v, stab, _ = found
    orbit = _orbit(c_ops, v, axial)
    vectors = orbit @ carry.T * (np.linalg.det(carry) if axial else 1.0)  # carried from the reference class to K's
    return BreakingSet(g.name, k_name, vectors, group_name(g.operations[sorted(stab)]), True, group_name(c_ops) if len(c_ops) > 1 else "C1",
                       equivariant, note, desc)  # fmt: skip


def table_groups(max_n: int = 12) -> list[str]:
    """The finite point groups of the table: every axial family to main-axis order ``max_n``, cubic, icosahedral."""
    names = ["C1", "Cs", "Ci"]
    for n in range(2, max_n + 1):
        names += [f"C{n}", f"C{n}v", f"C{n}h", f"D{n}", f"D{n}h", f"D{n}d"] + ([f"S{n}"] if n % 2 == 0 and n >= 4 else [])
    return names + ["T", "Td", "Th", "O", "Oh", "I", "Ih"]


def sbs_table(groups: list[str] | None = None, *, progress: bool = False) -> list[dict[str, Any]]:
    """For every group G and every type of subgroup K of G: the smallest equivariant vector SBS
    (full O(3) and rotations only). Rows of plain values, for JSON and Markdown."""
    from tqdm.auto import tqdm

    rows = []
    for name in tqdm(groups or table_groups(), disable=not progress, desc="SBS table"):
        g = PointGroup(name)
        for k in sorted({s.name for s in subgroups(g)}, key=lambda n: (PointGroup(n).order, n)):
            full, rot = symmetry_breaking_set(g, k), symmetry_breaking_set(g, k, proper=True)
            best = minimal_sbs(g, k)
            rows.append({
                "group": g.name, "target": k, "size": full.size, "stabilizer": full.stabilizer, "ideal": full.ideal,
                "normalizer": full.normalizer, "equivariant": full.equivariant, "size_proper": rot.size, "ideal_proper": rot.ideal,
                "any_size": best.size, "any_bound": best.bound, "any_stabilizer": best.stabilizer, "complement": best.complement,
                "generalized_normalizer": best.generalized_normalizer, "vectors": full.to_dict()["vectors"],
            })  # fmt: skip
    return rows


def write_sbs_table(out: str, groups: list[str] | None = None, *, progress: bool = False) -> tuple[str, str]:
    """Write ``sbs_table.json`` and ``sbs_table.md`` into folder ``out``; returns their paths."""
    import json
    from pathlib import Path

    rows = sbs_table(groups, progress=progress)
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "sbs_table.json").write_text(json.dumps(rows, indent=0) + "\n")
    lines = [
        "# Equivariant symmetry-breaking sets of vectors for every point group",
        "",
        "Generated by `symbreak sbs --table docs/sbs` (`symbreak.groups.write_sbs_table`); vectors in each",
        "group's standard orientation are in `sbs_table.json`. For input group G and output symmetry K: the",
        "size of the smallest set of unit vectors closed under the normalizer N of G in O(3) whose every",
        "element breaks G to K (ideal), else to the largest subgroup of K a vector can keep (stabilizer",
        "column). Sets for G with an infinite normalizer (cyclic types) are closed under G only (not",
        "equivariant). `proper`: closed under N's rotations only. '-': no vector breaks G to within K (a",
        "vector's stabilizer is axial; higher-order objects are needed).",
        "",
        "The last three columns are for any objects (`symbreak.groups.minimal_sbs`): the size of the smallest",
        "ideal equivariant set, the stabilizer M in N of each element (an object with exactly that symmetry, e.g.",
        "a point set M·p, is returned), and whether it reaches the bound |G|/|K| (M/K a complement of G/K: Xie",
        "& Smidt's minimal sets). M lies in the generalized normalizer N(G, K) = {n ∈ N : nKn⁻¹ = K}.",
        "",
        "| G | K | size | stabilizer of each vector | ideal | N | equivariant | size (proper) | any object: size | its stabilizer in N | = \\|G\\|/\\|K\\| |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        size = r["size"] if r["size"] else "-"
        lines.append(f"| {r['group']} | {r['target']} | {size} | {r['stabilizer']} | {'yes' if r['ideal'] else 'no'} | {r['normalizer']} | "
                     f"{'yes' if r['equivariant'] else 'no'} | {r['size_proper'] or '-'} | {r['any_size'] or '-'} | {r['any_stabilizer']} | "
                     f"{'yes' if r['complement'] else ('no' if r['any_size'] else '-')} |")  # fmt: skip
    (folder / "sbs_table.md").write_text("\n".join(lines) + "\n")
    return str(folder / "sbs_table.json"), str(folder / "sbs_table.md")
