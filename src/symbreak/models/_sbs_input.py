r"""``+sbs``: one element of an equivariant symmetry-breaking set per structure, as a vector input.

For each structure of the batch, with symmetry G (its ``data.sym``, or detected here) and the
output symmetry ``target`` = K, the set B of :func:`symbreak.groups.symmetry_breaking_set` is placed
in the structure's frame (:math:`B_\text{lab} = Q B`, with Q the structure's orientation), and one
element is given to every atom as ``data.vectors`` (N, 1, 3). Because B is closed under the
normalizer of G, the set turns with the structure: :math:`B(gx) = gB(x)` for every g in O(3), so
the model reading it stays equivariant as a map from (structure, set) to a set of outputs — the
Xie & Smidt definition — while each output keeps only :math:`\mathrm{Stab}_G(b)`.

Training draws an element at random (seeded); evaluation takes the element of index ``element``
(default 0); :func:`sbs_outputs` evaluates every element and returns the set of outputs.

``keep`` chooses one class of K where N fuses several (C2v → Cs: the normalizer D4h swaps the two
mirrors, so the N-closed set {±x, ±y} holds two vectors for each mirror, and an output that keeps
one particular mirror — water's asymmetric stretch keeps the molecular plane — is out of reach
for the other two). With ``keep`` the set is closed under :math:`G \cdot N_N(K)` only and every
element keeps K's class; it stays equivariant because K is picked from the structure itself:
``keep="atoms"``, the class whose subgroups leave the most atoms in place (water: the molecular
plane, {±(in-plane ⟂ C2)}), computed in the detected orientation and carried covariantly
(:func:`symbreak.groups.symmetry_breaking_set` with ``keep``), or element names (``"xz"``,
``"z,xz"``) read in the structure's canonical frame (``Symmetry.frame``, which turns with it).

The sets are computed on NumPy from the symmetry records. :meth:`SymmetryBreakingSetInput.prepare_data`
does it once per structure when a data set is built (``sbs_set`` (m, 3) and ``sbs_size`` (1,) in
the graph, batched by PyG), so a forward pass on a GPU only indexes tensors; a batch without them
(new positions, a hand-made batch) gets them computed on the fly.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
import torch
from torch import nn

from ._choice import ChoiceInput, every_choice
from ._inputs import DERIVED, read_inputs
from ._registry import register_input

__all__ = ["SymmetryBreakingSetInput", "AxialSymmetryBreakingSetInput", "structure_sbs", "sbs_outputs"]

#: what :meth:`SymmetryBreakingSetInput.prepare_data` adds: stale once the positions move
_PREPARED = ("sbs_set", "sbs_size")
DERIVED.update(_PREPARED)


@functools.lru_cache(maxsize=512)
def _standard_set(group: str, target: str, proper: bool, axial: bool = False) -> np.ndarray:
    from ..groups import symmetry_breaking_set

    if group in ("C*v", "D*h", "Kh"):  # infinite groups: no finite set
        return np.zeros((0, 3))
    return symmetry_breaking_set(group, target, proper=proper, axial=axial).vectors


@functools.lru_cache(maxsize=512)
def _kept_standard_set(group: str, target: str, proper: bool, axial: bool, keep: str | tuple[int, ...]) -> np.ndarray:
    """The set for one class of K in ``group``'s standard orientation: ``keep`` names elements
    (``"xz"``) or gives K's indices in ``PointGroup(group).operations``."""
    from ..groups import PointGroup, symmetry_breaking_set

    if group in ("C*v", "D*h", "Kh"):
        return np.zeros((0, 3))
    g = PointGroup(group)
    chosen = keep if isinstance(keep, str) else g.operations[list(keep)]
    return symmetry_breaking_set(g, target, proper=proper, axial=axial, keep=chosen).vectors


#: the ``keep`` rule that picks K's class from the structure: the one leaving the most atoms in place
KEEP_RULES = ("atoms",)


def check_keep(keep: str | None) -> str | None:
    """``keep`` as :class:`SymmetryBreakingSetInput` takes it: None, ``"atoms"``, or element names
    (``"yz"``, ``"z,xz"``); anything else is a one-line :class:`~symbreak.SymbreakError`."""
    import re

    from .._errors import SymbreakError
    from ..groups._minimal import _matches

    if keep is None:
        return None
    if not isinstance(keep, str) or not keep.strip():
        raise SymbreakError(f"+sbs: keep must be 'atoms' or names of mirror planes (xy, yz, xz) and axes (x, y, z), got {keep!r}")
    keep = keep.strip()
    if keep.lower() in KEEP_RULES:
        return keep.lower()
    for token in filter(None, re.split(r"[,\s+]+", keep)):
        try:
            _matches(np.eye(3)[None], token)
        except SymbreakError:
            raise SymbreakError(f"+sbs: keep={keep!r}: {token!r} is neither 'atoms' nor a mirror plane (xy, yz, xz) or axis (x, y, z)") from None
    return keep


def _class_keeping_most_atoms(sym: Any, target: str) -> tuple[int, ...]:
    """The subgroup of type ``target`` of the structure's group (indices into its standard
    operations) whose class leaves the most atoms in place; a one-line error when two classes tie."""
    from .._errors import SymbreakError
    from ..groups import PointGroup, subgroups_of_type
    from ..groups._minimal import _g_class, describe_subgroup

    g = PointGroup(sym.point_group)
    ops = getattr(getattr(sym, "group", None), "operations", None)  # periodic and hand-made records carry no group
    if ops is not None and not np.allclose(np.asarray(ops), g.operations):  # pragma: no cover - the records are built this way
        raise SymbreakError(f"the symmetry record's {sym.point_group} is not in the standard order of its operations")
    perms = np.asarray(sym.permutations)
    name, found = subgroups_of_type(g, target)
    fixed = {w: int((perms[sorted(w)] == np.arange(perms.shape[1])).all(axis=0).sum()) for w in found}
    most = max(fixed.values())
    best = [w for w in found if fixed[w] == most]
    classes = {_g_class(g, w) for w in best}
    if len(classes) > 1:
        which = "; ".join(describe_subgroup(g.operations[sorted(min((w for w in best if w in c), key=sorted))]) for c in classes)
        raise SymbreakError(f"+sbs keep='atoms': {len(classes)} classes of {name} in {sym.point_group} leave {most} atoms in place each "
                            f"({which}): the structure does not pick one; name it (keep='xz', read in the canonical frame) or drop keep")  # fmt: skip
    return tuple(sorted(min(best, key=sorted)))


def structure_sbs(sym: Any, target: str = "C1", *, proper: bool = False, axial: bool = False, keep: str | None = None) -> np.ndarray:
    """The symmetry-breaking set of one structure in its own frame: (m, 3) unit vectors (m = 0:
    nothing to break, or no vector can). sym: its :class:`~symbreak.Symmetry`; axial: a set of
    pseudovectors. keep: one class of K (module docstring): ``"atoms"`` (the class leaving the
    most atoms in place, in the detected orientation), or element names read in the structure's
    canonical frame (``sym.frame``); None: closed under the whole normalizer."""
    if keep is None:
        q = np.asarray(sym.orientation)
        vectors = _standard_set(sym.point_group, target, proper, axial) @ q.T
        return vectors * np.sign(np.linalg.det(q)) if axial else vectors
    keep = check_keep(keep)
    if sym.point_group in ("C*v", "D*h", "Kh"):  # infinite groups: no finite set
        return np.zeros((0, 3))
    if keep == "atoms":
        q = np.asarray(sym.orientation)
        standard = _kept_standard_set(sym.point_group, target, proper, axial, _class_keeping_most_atoms(sym, target))
    else:
        q = np.asarray(sym.frame)  # Q·M for some M in N, picked by the structure alone: it turns with it
        standard = _kept_standard_set(sym.point_group, target, proper, axial, keep)
    vectors = standard @ q.T
    return vectors * np.sign(np.linalg.det(q)) if axial else vectors


@register_input("sbs")
class SymmetryBreakingSetInput(ChoiceInput):
    """Xie & Smidt's symmetry-breaking set as the input of any model: ``"<model>+sbs"``.

    target: the output symmetry K (a subgroup type of each structure's group; "C1" breaks
    everything); None: each structure's own ``data.sbs_target`` (a data set whose structures
    break to different groups), else "C1". proper: a set equivariant under rotations only.
    keep: one class of K where the normalizer fuses several (module docstring): ``"atoms"``
    (the class that leaves the most atoms in place: water's molecular plane for ``target="Cs"``),
    or names of the mirror planes and axes K contains (``"xz"``) in each structure's canonical
    frame; None (default): the set closed under the whole normalizer, every class mixed.
    element: which element evaluation uses. seed: of the training draws. A structure whose group
    has no such set gets the zero vector (no breaking).
    """

    vectors = 1
    features = 0
    pseudovectors = 0
    axial = False

    prepared = _PREPARED

    def __init__(self, *, target: str | None = None, proper: bool = False, keep: str | None = None, element: int = 0, seed: int = 0,
                 tol: float = 0.1) -> None:  # fmt: skip
        super().__init__(element=element, seed=seed, tol=tol)
        self.target, self.proper = None if target is None else str(target), bool(proper)
        self.keep = check_keep(keep)

    def _targets(self, data: Any, count: int) -> list[str]:
        if self.target is not None:
            return [self.target] * count
        given = getattr(data, "sbs_target", None)
        if given is None:
            return ["C1"] * count
        return [given] * count if isinstance(given, str) else [str(t) for t in given]

    def elements(self, data: Any) -> list[np.ndarray]:
        """Each structure's set in its frame: a list of (m_b, 3)."""
        syms = self.symmetries(data)
        return [structure_sbs(s, k, proper=self.proper, axial=self.axial, keep=self.keep) for s, k in zip(syms, self._targets(data, len(syms)))]

    def forward(self, data: Any, choice: torch.Tensor | list[int] | None = None) -> dict[str, torch.Tensor]:
        inputs = read_inputs(data)
        picked = self.pick(*self.stacked(data), choice).to(inputs.pos.dtype)
        return {"pseudovectors" if self.axial else "vectors": picked[inputs.batch][:, None, :]}


@register_input("sbs-axial")
class AxialSymmetryBreakingSetInput(SymmetryBreakingSetInput):
    """``"<model>+sbs-axial"``: the set made of pseudovectors (``1e``), for models that read axial
    inputs (the e3nn ones). Its stabilizers are C∞h-type, so it reaches targets that are chiral in
    a plane (D8h → C8h: 2 elements, ±z) where polar vectors must break further."""

    vectors = 0
    pseudovectors = 1
    axial = True


def sbs_outputs(model: nn.Module, data: Any) -> list[torch.Tensor]:
    r"""The set-valued output of an ``+sbs`` model: :math:`\{f(x, b) : b \in B(x)\}` for each structure.

    model: built as ``"<model>+sbs"``; data: a batch. Returns one (m_b, n_b, d) tensor per
    structure (m_b = the size of its set, 1 where it has none), in the set's order. Equivariance
    in Xie & Smidt's sense is that this *set* turns with the structure.
    """
    return every_choice(model, data, SymmetryBreakingSetInput)
