r"""``+sbs``: one element of an equivariant symmetry-breaking set per structure, as a vector input.

For each structure of the batch, with symmetry G (its ``data.sym``, or detected here) and the
output symmetry ``target`` = K, the set B of :func:`symbreak.groups.symmetry_breaking_set` is placed
in the structure's frame (:math:`B_\text{lab} = Q B`, with Q the structure's orientation), and one
element is given to every atom as ``data.vectors`` (N, 1, 3). Because B is closed under the
normalizer of G, the set turns with the structure: :math:`B(gx) = gB(x)` for every g in O(3), so
the model reading it stays equivariant as a map from (structure, set) to a set of outputs — the
Xie & Smidt definition — while each output keeps only :math:`\mathrm{Stab}_G(b)`.

Training draws an element at random (seeded); evaluation takes the element of index ``element``
(default 0), or, with :meth:`SymmetryBreakingSetInput.all_elements`, every one of them.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
import torch
from torch import nn

from ._inputs import read_inputs
from ._registry import register_input

__all__ = ["SymmetryBreakingSetInput", "structure_sbs"]


@functools.lru_cache(maxsize=512)
def _standard_set(group: str, target: str, proper: bool) -> np.ndarray:
    from ..groups import symmetry_breaking_set

    if group in ("C*v", "D*h", "Kh"):  # infinite groups: no finite set
        return np.zeros((0, 3))
    return symmetry_breaking_set(group, target, proper=proper).vectors


def structure_sbs(sym: Any, target: str = "C1", *, proper: bool = False) -> np.ndarray:
    """The symmetry-breaking set of one structure in its own frame: (m, 3) unit vectors (m = 0:
    nothing to break, or no vector can). sym: its :class:`~symbreak.Symmetry`."""
    vectors = _standard_set(sym.point_group, target, proper)
    return vectors @ np.asarray(sym.orientation).T


@register_input("sbs")
class SymmetryBreakingSetInput(nn.Module):
    """Xie & Smidt's symmetry-breaking set as the input of any model: ``"<model>+sbs"``.

    target: the output symmetry K (a subgroup type of each structure's group; "C1" breaks
    everything). proper: a set equivariant under rotations only. element: which element
    evaluation uses. A structure whose group has no such set gets the zero vector (no breaking).
    """

    vectors = 1
    features = 0

    def __init__(self, *, target: str = "C1", proper: bool = False, element: int = 0, seed: int = 0, tol: float = 0.1) -> None:
        super().__init__()
        self.target, self.proper, self.element, self.tol = str(target), bool(proper), int(element), float(tol)
        self._rng = np.random.default_rng(seed)

    def _symmetries(self, data: Any, inputs: Any) -> list[Any]:
        syms = getattr(data, "sym", None)
        if syms is not None:
            return list(syms) if isinstance(syms, (list, tuple)) else [syms]
        from ..detect import detect_symmetry

        pos, z, batch = inputs.pos.detach().cpu().numpy(), inputs.z.cpu().numpy(), inputs.batch.cpu().numpy()
        return [detect_symmetry(pos[batch == b], z[batch == b], tol=self.tol) for b in range(inputs.num_graphs)]

    def sets(self, data: Any) -> list[np.ndarray]:
        """Each structure's set in its frame: a list of (m_b, 3)."""
        inputs = read_inputs(data)
        return [structure_sbs(s, self.target, proper=self.proper) for s in self._symmetries(data, inputs)]

    def forward(self, data: Any, choice: list[int] | None = None) -> dict[str, torch.Tensor]:
        inputs = read_inputs(data)
        picked = []
        for b, vecs in enumerate(self.sets(data)):
            if len(vecs) == 0:
                picked.append(np.zeros(3))
                continue
            i = choice[b] if choice is not None else (int(self._rng.integers(len(vecs))) if self.training else self.element % len(vecs))
            picked.append(vecs[i % len(vecs)])
        u = torch.as_tensor(np.array(picked), dtype=inputs.pos.dtype, device=inputs.pos.device)
        return {"vectors": u[inputs.batch][:, None, :]}
