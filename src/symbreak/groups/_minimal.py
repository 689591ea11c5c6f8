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
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from .._errors import GroupError
from ._pointgroup import PointGroup, group_name
from ._subgroups import Subgroup, _search, _table_of, check_order, subgroups_of_type

__all__ = ["MinimalSet", "minimal_sbs", "generalized_normalizer"]

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


def generalized_normalizer(group: PointGroup | str, target: Subgroup, *, proper: bool = False) -> np.ndarray | None:
    r""":math:`N(G, K) = \{n \in N_{O(3)}(G) : nKn^{-1} = K\}`, (m, 3, 3) in G's frame; None where
    :math:`N_{O(3)}(G)` is infinite. target: K, a :class:`Subgroup` of ``group``; proper: within
    the rotations of :math:`N_{O(3)}(G)`. Raises :class:`~symbreak.GroupError` where N has more than
    :data:`~symbreak.groups._subgroups.MAX_TABLE_ORDER` elements."""
    g = group if isinstance(group, PointGroup) else PointGroup(group)
    found = _normalizer_ops(g, proper)
    if found is None:
        return None
    n, used, _ = found
    check_order(n, "generalized_normalizer", of=f"the normalizer of {g.name} in O(3)")
    t = _table_of(n)
    k = np.asarray(_match(target.operations, n.operations))
    in_k = np.zeros(len(n.operations), dtype=bool)
    in_k[k] = True
    u = np.asarray(used)
    conj = t.table[t.table[u[:, None], k[None, :]], t.inverse[u][:, None]]  # x k x⁻¹ for x in N, k in K
    return n.operations[u[in_k[conj].all(axis=1)]]


def minimal_sbs(group: PointGroup | str, target: PointGroup | str | Subgroup = "C1", *, proper: bool = False) -> MinimalSet:
    """The smallest ideal equivariant symmetry-breaking set for G → K over all objects.

    proper: equivariance under rotations only (N's rotations; G must then be a rotation group). Raises :class:`~symbreak.GroupError`
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
    k_name, wanted = subgroups_of_type(g, target)
    bound = len(g.operations) // len(next(iter(wanted)))
    found = _normalizer_ops(g, proper)
    if found is None:
        return MinimalSet(g.name, k_name, None, bound, "-", False, "infinite", "-", np.zeros((0, 0, 3)),
                          f"the normalizer of {g.name} in O(3) is infinite: no finite equivariant set exists")  # fmt: skip
    n, used, n_name = found
    g_in_n = np.asarray(_match(g.operations, n.operations))  # G's element i is N's element g_in_n[i]
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
