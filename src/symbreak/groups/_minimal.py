r"""The smallest equivariant symmetry-breaking set of *any* objects, and the generalized normalizer.

Let G be the input's group, N its normalizer in O(3) (finite here) and K ≤ G the output symmetry.
An equivariant SBS is a union of N-orbits; one orbit :math:`N\cdot b` has
:math:`|N| / |M|` elements, with :math:`M = \mathrm{Stab}_N(b)`, and every element keeps
:math:`\mathrm{Stab}_G(b) = M \cap G` of the input's symmetry. So the set is ideal (each element
keeps exactly a conjugate of K) when :math:`M \cap G = K`, and as :math:`M \cap G` is normal in M
(G is normal in N), M lies in the *generalized normalizer*

.. math:: N(G, K) = \{ n \in N : nKn^{-1} = K \} = N_N(K).

The smallest ideal set comes from the largest such M. Since :math:`|MG| = |M||G|/|K| \le |N|`, its
size is at least :math:`|G|/|K|`, reached exactly when :math:`MG = N`: then :math:`M/K` is a
complement of :math:`G/K` in :math:`N/K` — Xie & Smidt's "minimal sets are complements". Every
finite M is the stabilizer of some object (the orbit :math:`M\cdot p` of a generic point), so the
size found here is the true minimum over all objects; :func:`symmetry_breaking_set` gives the
smallest set of *vectors*, which may be larger or not ideal, since a vector's stabilizer is axial.

**Keeping one class of K.** A name such as ``"Cs"`` means any subgroup of that type, and N may fuse
classes of K that G keeps apart (C2v's two mirrors, conjugate in N = D4h by the C4 about z): a set
closed under N then holds elements of every fused class. A set whose every element keeps a
G-conjugate of one *chosen* K is closed under the subgroup of N that maps K's class to itself,

.. math:: N^{\mathrm{cl}}(G, K) = \{ n \in N : nKn^{-1} = gKg^{-1} \text{ for some } g \in G \} = G \cdot N_N(K),

Xie & Smidt's generalized normalizer (their code tests ``gKg⁻¹ ∈ Cl_G(K)``; ``conjugates=True`` of
:func:`generalized_normalizer`). It equals N exactly when N fuses no class with K's; otherwise
such a set is equivariant only where K's class is itself an equivariant function of the input
(the mirror that holds the atoms: ``keep`` of ``+sbs``), and the whole of N sends it to another set.
``keep=`` of :func:`minimal_sbs` and :func:`~symbreak.groups.symmetry_breaking_set` builds it.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

import numpy as np

from .._errors import GroupError
from ._pointgroup import PointGroup, group_name
from ._subgroups import Subgroup, _search, _table_of, check_order, subgroups_of_type

__all__ = ["MinimalSet", "minimal_sbs", "generalized_normalizer", "describe_subgroup", "kept_subgroup"]

#: a point with no special position for any point group in standard orientation
_GENERIC = np.array([0.8660254, 0.3090170, 0.4226183]) * np.array([1.0, 1.1, 0.9])


@dataclasses.dataclass(frozen=True)
class MinimalSet:
    """The smallest ideal equivariant SBS for G → K over all objects (see the module docstring).

    size: :math:`|N|/|M|` (None where N is infinite or no ideal set exists); stabilizer: the type of M;
    complement: whether the size is the bound :math:`|G|/|K|` (M/K complements G/K); normalizer: N;
    generalized_normalizer: the type of N(G, K); objects: ``(size, |M|, 3)``, each element as the
    point set :math:`n M p` (a concrete object with exactly that stabilizer), in G's standard frame.
    """

    group: str
    target: str
    size: int | None
    bound: int
    stabilizer: str
    complement: bool
    normalizer: str
    generalized_normalizer: str
    objects: np.ndarray
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in dataclasses.asdict(self).items() if k != "objects"}


def _match(ops: np.ndarray, among: np.ndarray) -> list[int]:
    """Indices in ``among`` of each matrix of ``ops`` (nearest by a k-d tree)."""
    from scipy.spatial import cKDTree

    d, idx = cKDTree(among.reshape(len(among), 9)).query(ops.reshape(len(ops), 9))
    if (d > 1e-6).any():
        raise GroupError("the group is not inside its normalizer")  # pragma: no cover - a bug, not an input
    return idx.tolist()


def _normalizer_ops(g: PointGroup, proper: bool) -> tuple[PointGroup, list[int], str] | None:
    """G's normalizer N in O(3) (in G's frame), the indices of the elements used (its rotations
    with ``proper``), and the name of the group they form; None where N is infinite."""
    n = g.normalizer()
    if n is None:
        return None
    if not proper:
        return n, list(range(len(n.operations))), n.name
    used = np.flatnonzero(np.linalg.det(n.operations) > 0).tolist()
    return n, used, group_name(n.operations[used])


def generalized_normalizer(group: PointGroup | str, target: Subgroup, *, proper: bool = False, conjugates: bool = False) -> np.ndarray | None:
    r""":math:`N(G, K) = \{n \in N_{O(3)}(G) : nKn^{-1} = K\}`, (m, 3, 3) in G's frame; None where
    :math:`N_{O(3)}(G)` is infinite. target: K, a :class:`Subgroup` of ``group``; proper: within
    the rotations of :math:`N_{O(3)}(G)`. conjugates: Xie & Smidt's form,
    :math:`\{n : nKn^{-1} \text{ conjugate to } K \text{ in } G\} = G \cdot N_N(K)`, the group that maps
    K's class of G to itself (the same group where K is normal in G). Raises
    :class:`~symbreak.GroupError` where N has more than
    :data:`~symbreak.groups._subgroups.MAX_TABLE_ORDER` elements."""
    g = group if isinstance(group, PointGroup) else PointGroup(group)
    found = _normalizer_ops(g, proper)
    if found is None:
        return None
    n, used, _ = found
    check_order(n, "generalized_normalizer", of=f"the normalizer of {g.name} in O(3)")
    t = _table_of(n)
    k = np.asarray(_match(target.operations, n.operations))
    u = np.asarray(used)
    conj = t.table[t.table[u[:, None], k[None, :]], t.inverse[u][:, None]]  # x k x⁻¹ for x in N, k in K
    if conjugates:
        g_in_n = np.asarray(_match(g.operations, n.operations))
        cls = {frozenset(row.tolist()) for row in t.table[t.table[g_in_n[:, None], k[None, :]], t.inverse[g_in_n][:, None]]}
        return n.operations[u[[frozenset(row.tolist()) in cls for row in conj]]]
    in_k = np.zeros(len(n.operations), dtype=bool)
    in_k[k] = True
    return n.operations[u[in_k[conj].all(axis=1)]]


def _axis_label(v: np.ndarray) -> str:
    """``x``, ``y``, ``z`` for a coordinate axis (either sense), else the direction rounded."""
    v = np.asarray(v, dtype=float)
    v = v / np.linalg.norm(v)
    for i, name in enumerate("xyz"):
        if abs(abs(v[i]) - 1.0) < 1e-6:
            return name
    first = v[np.flatnonzero(np.abs(v) > 1e-6)[0]]
    v = v * np.sign(first)
    return "(" + ", ".join(f"{round(float(c), 3) + 0.0:g}" for c in v) + ")"


def _element_label(op: np.ndarray) -> str:
    """The Schoenflies label of one orthogonal matrix in its frame: ``E``, ``i``, ``C4(z)``,
    ``C3^2(x)``, ``σ(yz)`` (a mirror by its plane; ``σ⊥(a, b, c)`` by its normal off the axes), ``S4(z)``."""
    op = np.asarray(op, dtype=float)
    det = float(np.linalg.det(op))
    if np.allclose(op, np.eye(3), atol=1e-8):
        return "E"
    if np.allclose(op, -np.eye(3), atol=1e-8):
        return "i"
    r = op * det  # the rotation part
    w, vecs = np.linalg.eig(r)
    axis = np.real(vecs[:, int(np.argmin(np.abs(w - 1.0)))])
    axis = axis / np.linalg.norm(axis) * np.sign(axis[np.flatnonzero(np.abs(axis) > 1e-6)[0]])  # one sense
    cos = (np.trace(r) - 1.0) / 2.0
    sin = 0.5 * float(axis @ np.array([r[2, 1] - r[1, 2], r[0, 2] - r[2, 0], r[1, 0] - r[0, 1]]))
    angle = float(np.arctan2(sin, cos)) % (2 * np.pi)  # about ``axis``, counter-clockwise
    if det < 0:  # −R(θ) = σ R(θ + π), σ the mirror ⟂ the axis: a rotoreflection S by θ + π
        angle = (angle + np.pi) % (2 * np.pi)
    if det < 0 and min(angle, 2 * np.pi - angle) < 1e-8:  # a mirror: the reflection through the plane ⟂ its axis
        label = _axis_label(axis)
        plane = {"x": "yz", "y": "xz", "z": "xy"}.get(label)
        return f"σ({plane})" if plane else f"σ⊥{label}"
    turns = angle / (2 * np.pi)
    order = next((m for m in range(1, 2001) if abs(m * turns - round(m * turns)) < 1e-6), 0)
    power = round(order * turns)
    body = f"{order}" + (f"^{power}" if power > 1 else "")
    return f"{'C' if det > 0 else 'S'}{body}({_axis_label(axis)})"


def describe_subgroup(operations: np.ndarray, *, most: int = 8) -> str:
    """A subgroup by its type and elements, in its parent's frame: ``"Cs {σ(yz)}"``,
    ``"C2v {C2(x), σ(xy), σ(xz)}"`` (operations (k, 3, 3); at most ``most`` elements listed)."""
    ops = np.asarray(operations, dtype=float)
    labels = [lab for lab in (_element_label(o) for o in ops) if lab != "E"]
    shown = ", ".join(labels[:most]) + (f", … ({len(labels)} in all)" if len(labels) > most else "")
    name = group_name(ops) if len(ops) > 1 else "C1"
    return f"{name} {{{shown}}}"


_PLANES = {"yz": 0, "zy": 0, "xz": 1, "zx": 1, "xy": 2, "yx": 2}
_KEEP_HELP = ("name mirror planes (xy, yz, xz) and rotation axes (x, y, z) of G's standard orientation that K contains, "
              "comma-separated (e.g. 'yz' or 'z,xz'), or give K as a Subgroup or its operations (k, 3, 3)")  # fmt: skip


def _matches(ops: np.ndarray, token: str) -> np.ndarray:
    """Which of ``ops`` (k, 3, 3) a token names: a mirror plane ``yz`` (also ``σ(yz)``), a rotation
    axis ``x`` (any rotation about it; also ``C2(x)``), or ``i`` (the inversion). (k,) bool."""
    t = token.strip().lower().replace("σ", "").replace("sigma", "")
    t = re.sub(r"^c\d*(\^\d+)?", "", t) if re.fullmatch(r"c\d*(\^\d+)?\(?[xyz]\)?", t) else t
    t = t.strip("()")
    eye = np.eye(3)
    if t == "i":
        return np.linalg.norm(ops + eye, axis=(1, 2)) < 1e-6
    if t in _PLANES:
        e = eye[_PLANES[t]]
        return np.linalg.norm(ops - (eye - 2 * np.outer(e, e)), axis=(1, 2)) < 1e-6
    if t in ("x", "y", "z"):
        e = eye["xyz".index(t)]
        proper = np.linalg.det(ops) > 0
        return proper & (np.linalg.norm(ops @ e - e, axis=1) < 1e-6) & (np.linalg.norm(ops - eye, axis=(1, 2)) > 1e-6)
    raise GroupError(f"keep: cannot read {token!r}: {_KEEP_HELP}")


def _token_label(token: str) -> str:
    """What a ``keep`` token names, in words: ``σ(yz)``, ``a rotation about x``, ``i``."""
    t = re.sub(r"[^a-z]", "", token.lower().replace("sigma", "").replace("σ", ""))
    t = t[1:] if len(t) == 2 and t[0] == "c" else t
    return f"σ({t})" if t in _PLANES else (f"a rotation about {t}" if t in ("x", "y", "z") else t)


def _g_class(g: PointGroup, indices) -> frozenset[frozenset[int]]:
    """The conjugates :math:`gKg^{-1}` in G of the subgroup with these indices (index sets)."""
    t = _table_of(g)
    k = np.asarray(sorted(indices))
    every = np.arange(len(g.operations))
    return frozenset(frozenset(row.tolist()) for row in t.table[t.table[every[:, None], k[None, :]], t.inverse[every][:, None]])


def kept_subgroup(group: PointGroup | str, target: PointGroup | str, keep: Any) -> Subgroup:
    """The subgroup K of ``group`` of type ``target`` that ``keep`` names (one of its G-conjugates
    for a name that fits a whole class): a :class:`Subgroup`, its operations (k, 3, 3) in G's
    standard orientation, or a string naming elements K contains (mirror planes ``xy``, ``yz``,
    ``xz``; rotation axes ``x``, ``y``, ``z``; ``i``), comma-separated. Raises
    :class:`~symbreak.GroupError` (one line) when K is no subgroup of that type, or when the names
    fit no subgroup of that type, or subgroups of more than one class of G."""
    g = group if isinstance(group, PointGroup) else PointGroup(group)
    k_name, wanted = subgroups_of_type(g, target)
    if isinstance(keep, Subgroup) or (not isinstance(keep, str) and np.ndim(keep) == 3):
        ops = keep.operations if isinstance(keep, Subgroup) else np.asarray(keep, dtype=float)
        d = np.linalg.norm(ops[:, None] - g.operations[None], axis=(2, 3))
        if (d.min(axis=1) > 1e-6).any():
            raise GroupError(f"keep: these {len(ops)} operations are not all elements of {g.name} (in its standard orientation)")
        chosen = frozenset(np.argmin(d, axis=1).tolist())
        if chosen not in wanted:
            what = describe_subgroup(g.operations[sorted(chosen)]) if len(chosen) == len(ops) else f"{len(ops)} operations"
            raise GroupError(f"keep: {what} is not a {k_name} subgroup of {g.name}")
        return Subgroup(g, tuple(sorted(chosen)), ())
    if not isinstance(keep, str) or not keep.strip():
        raise GroupError(f"keep: got {keep!r}; {_KEEP_HELP}")
    tokens = [x for x in re.split(r"[,\s+]+", keep.strip()) if x]
    masks = [_matches(g.operations, tok) for tok in tokens]
    fits = [w for w in wanted if all(m[sorted(w)].any() for m in masks)]
    if not fits:
        named = " and ".join(_token_label(tok) for tok in tokens)
        raise GroupError(f"keep={keep!r}: no {k_name} subgroup of {g.name} contains {named} "
                         f"(its {k_name} subgroups: {'; '.join(describe_subgroup(g.operations[sorted(w)]) for w in wanted)})")  # fmt: skip
    classes = {_g_class(g, w) for w in fits}
    if len(classes) > 1:
        shown = "; ".join(describe_subgroup(g.operations[sorted(min((w for w in fits if w in c), key=sorted))]) for c in classes)
        raise GroupError(f"keep={keep!r} fits {len(classes)} classes of {k_name} in {g.name} ({shown}): name more elements")
    return Subgroup(g, tuple(sorted(min(fits, key=sorted))), ())


def minimal_sbs(group: PointGroup | str, target: PointGroup | str | Subgroup = "C1", *, proper: bool = False, keep: Any = None) -> MinimalSet:
    r"""The smallest ideal equivariant symmetry-breaking set for G → K over all objects.

    proper: equivariance under rotations only (N's rotations; G must then be a rotation group).
    keep: one class of K only (:func:`kept_subgroup`: a :class:`Subgroup`, its operations, or
    names such as ``"yz"``): every element keeps a G-conjugate of that K, and the set is closed
    under :math:`G \cdot N_N(K)` (``normalizer``) instead of N (see the module docstring).
    Raises :class:`~symbreak.GroupError`
    when K is not a subgroup of G, G is infinite, or G or its normalizer N has more than
    :data:`~symbreak.groups._subgroups.MAX_TABLE_ORDER` elements (D500h, 2,000).
    """
    g = group if isinstance(group, PointGroup) else PointGroup(group)
    if not g.is_finite:
        raise GroupError(f"{g.name} is infinite: give a finite input group")
    if proper and (np.linalg.det(g.operations) < 0).any():
        raise GroupError(f"proper=True describes a network equivariant to rotations only, for which the input's group is "
                         f"its rotation subgroup: give that (e.g. D8 for D8h) and K's rotations")  # fmt: skip
    check_order(g, "minimal_sbs")
    normalizer = g.normalizer()
    if normalizer is not None:
        check_order(normalizer, "minimal_sbs", of=f"the normalizer of {g.name} in O(3)")
    if keep is not None and isinstance(target, Subgroup):
        raise GroupError("give the subgroup once: as keep= (one class of K) with target its type name")
    k_name, wanted = subgroups_of_type(g, target)
    kept_k = None
    if keep is not None:
        kept_k = kept_subgroup(g, target, keep)
        wanted = sorted(_g_class(g, kept_k.indices), key=sorted)
    bound = len(g.operations) // len(next(iter(wanted)))
    found = _normalizer_ops(g, proper)
    if found is None:
        return MinimalSet(g.name, k_name, None, bound, "-", False, "infinite", "-", np.zeros((0, 0, 3)),
                          f"the normalizer of {g.name} in O(3) is infinite: no finite equivariant set exists")  # fmt: skip
    n, used, n_name = found
    g_in_n = np.asarray(_match(g.operations, n.operations))  # G's element i is N's element g_in_n[i]
    if kept_k is not None:  # only the elements of N that map K's class of G to itself: G·N_N(K)
        keeping = generalized_normalizer(g, kept_k, proper=proper, conjugates=True)
        used = sorted(_match(keeping, n.operations))
        n_name = group_name(n.operations[used])
    in_g = np.zeros(len(n.operations), dtype=bool)
    in_g[g_in_n] = True
    allowed = np.zeros(len(n.operations), dtype=bool)
    allowed[used] = True
    # The candidates M: subgroups of N (of its rotations with ``proper``) with M ∩ G a wanted K.
    # Every subgroup between K and such an M meets G in K too, so they are all reached from the
    # K's by joining elements of N ∖ G one at a time; |M| ≤ |K| |N| / |G| bounds the search.
    # K = M ∩ G is normal in M (G is normal in N), so M lies in N_N(K): only those elements join.
    t = _table_of(n)
    k_order = len(next(iter(wanted)))
    limit = k_order * len(used) // len(g.operations)
    candidates = []
    for w in wanted:
        k = np.sort(g_in_n[sorted(w)])
        in_k = np.zeros(len(n.operations), dtype=bool)
        in_k[k] = True
        normalizes = in_k[t.table[t.table[:, k], t.inverse[:, None]]].all(axis=1)
        found_m = _search(t, [k], lambda m: int(in_g[m].sum()) == k_order, allowed=allowed & ~in_g & normalizes, limit=limit)
        candidates += [m for m, _ in found_m.values()]
    best_idx = max(candidates, key=lambda m: (len(m), tuple(m.tolist())))
    best = Subgroup(n, tuple(best_idx.tolist()), ())
    to_g = {int(j): i for i, j in enumerate(g_in_n)}
    kept = tuple(sorted(to_g[j] for j in best.indices if j in to_g))
    gn = generalized_normalizer(g, Subgroup(g, kept, ()), proper=proper)
    gn_name = group_name(gn) if gn is not None and len(gn) > 1 else "C1"
    # the set: x·(M p) over representatives x of the left cosets xM, in the order of N's elements
    p = _GENERIC / np.linalg.norm(_GENERIC)
    base = np.unique(np.round(best.operations @ p, 12), axis=0)
    cosets = np.sort(t.table[np.asarray(used)[:, None], best_idx[None, :]], axis=1)
    _, first = np.unique(cosets, axis=0, return_index=True)
    reps = np.asarray(used)[np.sort(first)]
    objects = np.einsum("mj,xij->xmi", base, n.operations[reps])  # base @ x.T for each representative x
    size = len(used) // best.order
    r = np.round(objects, 6) + 0.0  # each object's points in lexicographic order: equal objects, equal keys
    r = np.take_along_axis(r, np.lexsort((r[..., 2], r[..., 1], r[..., 0]), axis=-1)[..., None], axis=1)
    keys = np.unique(r.reshape(len(r), -1), axis=0)
    if len(objects) != size or len(keys) != size:  # pragma: no cover - p was not generic
        raise GroupError(f"the object for {g.name} → {k_name} has an orbit of {len(keys)}, not {size}")
    return MinimalSet(g.name, k_name, size, bound, best.name, size == bound, n_name, gn_name, objects)
