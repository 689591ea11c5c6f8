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
from ._pointgroup import PointGroup
from ._subgroups import Subgroup, subgroups, subgroups_of_type

__all__ = ["MinimalSet", "minimal_sbs", "generalized_normalizer"]

#: a point with no special position for any point group in standard orientation
_GENERIC = np.array([0.8660254, 0.3090170, 0.4226183]) * np.array([1.0, 1.1, 0.9])


@dataclasses.dataclass(frozen=True)
class MinimalSet:
    """The smallest ideal equivariant SBS for G → K over all objects (see the module docstring).

    size: |N|/|M| (None where N is infinite or no ideal set exists); stabilizer: the type of M;
    complement: whether the size is the bound |G|/|K| (M/K complements G/K); normalizer: N;
    generalized_normalizer: the type of N(G, K); objects: (size, |M|, 3), each element as the
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
    """Indices in ``among`` of each matrix of ``ops``."""
    d = np.linalg.norm(ops[:, None] - among[None], axis=(2, 3))
    if (d.min(axis=1) > 1e-6).any():
        raise GroupError("the group is not inside its normalizer")  # pragma: no cover - a bug, not an input
    return d.argmin(axis=1).tolist()


def _normalizer_ops(g: PointGroup, proper: bool) -> tuple[PointGroup, list[int], str] | None:
    """G's normalizer N in O(3) (in G's frame), the indices of the elements used (its rotations
    with ``proper``), and the name of the group they form; None where N is infinite."""
    n = g.normalizer()
    if n is None:
        return None
    if not proper:
        return n, list(range(len(n.operations))), n.name
    used = np.flatnonzero(np.linalg.det(n.operations) > 0).tolist()
    return n, used, PointGroup.from_operations(n.operations[used]).name


def generalized_normalizer(group: PointGroup | str, target: Subgroup, *, proper: bool = False) -> np.ndarray | None:
    r""":math:`N(G, K) = \{n \in N_{O(3)}(G) : nKn^{-1} = K\}`, (m, 3, 3) in G's frame; None where
    :math:`N_{O(3)}(G)` is infinite. target: K, a :class:`Subgroup` of ``group``; proper: within
    the rotations of :math:`N_{O(3)}(G)`."""
    g = group if isinstance(group, PointGroup) else PointGroup(group)
    found = _normalizer_ops(g, proper)
    if found is None:
        return None
    n, used, _ = found
    k = target.operations
    keep = []
    for x in n.operations[used]:
        conj = x @ k @ x.T
        d = np.linalg.norm(conj[:, None] - k[None], axis=(2, 3)).min(axis=1)
        if d.max() < 1e-6:
            keep.append(x)
    return np.array(keep)


def minimal_sbs(group: PointGroup | str, target: PointGroup | str | Subgroup = "C1", *, proper: bool = False) -> MinimalSet:
    """The smallest ideal equivariant symmetry-breaking set for G → K over all objects.

    proper: equivariance under rotations only (N's rotations; G must then be a rotation group). Raises :class:`~symbreak.GroupError`
    when K is not a subgroup of G or G is infinite.
    """
    g = group if isinstance(group, PointGroup) else PointGroup(group)
    if not g.is_finite:
        raise GroupError(f"{g.name} is infinite: give a finite input group")
    if proper and (np.linalg.det(g.operations) < 0).any():
        raise GroupError(f"proper=True describes a network equivariant to rotations only, for which the input's group is "
                         f"its rotation subgroup: give that (e.g. D8 for D8h) and K's rotations")  # fmt: skip
    k_name, wanted = subgroups_of_type(g, target)
    bound = len(g.operations) // len(next(iter(wanted)))
    found = _normalizer_ops(g, proper)
    if found is None:
        return MinimalSet(g.name, k_name, None, bound, "-", False, "infinite", "-", np.zeros((0, 0, 3)),
                          f"the normalizer of {g.name} in O(3) is infinite: no finite equivariant set exists")  # fmt: skip
    n, used, n_name = found
    allowed = set(used)
    g_in_n = _match(g.operations, n.operations)  # G's element i is N's element g_in_n[i]
    to_g = {j: i for i, j in enumerate(g_in_n)}
    best: Subgroup | None = None
    for m in subgroups(n):  # smallest first: keep the last (largest) that works
        if not allowed.issuperset(m.indices):
            continue
        inside = frozenset(to_g[j] for j in m.indices if j in to_g)
        if inside in wanted and (best is None or m.order >= best.order):
            best = m
    if best is None:  # pragma: no cover - M = K itself always qualifies
        return MinimalSet(g.name, k_name, None, bound, "-", False, n_name, "-", np.zeros((0, 0, 3)), "no ideal set")
    kept = frozenset(to_g[j] for j in best.indices if j in to_g)
    k_sub = next(s for s in subgroups(g) if frozenset(s.indices) == kept)
    gn = generalized_normalizer(g, k_sub, proper=proper)
    gn_name = PointGroup.from_operations(gn).name if gn is not None and len(gn) > 1 else "C1"
    # the set: x·(M p) over coset representatives x of N/M
    p = _GENERIC / np.linalg.norm(_GENERIC)
    base = np.unique(np.round(best.operations @ p, 12), axis=0)
    objects: list[np.ndarray] = []
    for x in n.operations[used]:
        cand = base @ x.T
        if not any(np.linalg.norm(cand[:, None] - o[None], axis=-1).min(axis=1).max() < 1e-8 for o in objects):
            objects.append(cand)
    size = len(used) // best.order
    if len(objects) != size:  # pragma: no cover - p was not generic
        raise GroupError(f"the object for {g.name} → {k_name} has an orbit of {len(objects)}, not {size}")
    return MinimalSet(g.name, k_name, size, bound, best.name, size == bound, n_name, gn_name, np.array(objects))
