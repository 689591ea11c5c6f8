r"""``+sympe``: symmetry-breaking positional encodings (Lawrence, Portilheiro, Zhang & Kaba, ICLR 2025).

Each structure x draws :math:`\tilde g` uniformly from its inversion kernel
:math:`K(x) = F^\top \mathrm{Stab}(x)` (:func:`symbreak.detect.inversion_kernel`) and every atom
receives :math:`\tilde g^{-1} v` for a learned vector v of the canonical frame, as
``data.vectors`` (N, 1, 3). As :math:`K(gx) = K(x) g^{-1}`, the encoding of gx is distributed as
g times that of x: the model, an equivariant map of (x, encoding), is an equivariant conditional
distribution. One draw is :math:`h^{-1} F v` for a uniform h in the stabilizer: it breaks the
structure's symmetry down to the stabilizer of F v (trivial for generic v), while the draws
together keep it in distribution. Unlike noise injection, only |Stab(x)| encodings are possible.

Training draws per structure and per call (seeded); evaluation uses one fixed seeded draw, or
every element of the kernel with :meth:`choosing` (:func:`sympe_outputs`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from ._choice import ChoiceInput, every_choice
from ._inputs import DERIVED, read_inputs
from ._registry import register_input

__all__ = ["SymPE", "CanonicalFrameInput", "sympe_outputs"]

_PREPARED = ("sympe_kernel", "sympe_size")
DERIVED.update(_PREPARED)


@register_input("sympe")
class SymPE(ChoiceInput):
    """SymPE as the input of any model that reads vectors: ``"<model>+sympe"``.

    proper: sample from the stabilizer's rotations only;
    seed: of the draws and of v's initial value; tol: detection tolerance for batches that carry
    no symmetry record.
    """

    vectors = 1
    features = 0

    prepared = _PREPARED

    def __init__(self, *, proper: bool = False, seed: int = 0, tol: float = 0.1) -> None:
        super().__init__(element=None, seed=seed, tol=tol)
        self.proper = bool(proper)
        init = torch.Generator().manual_seed(int(seed) + 7)
        self.v = nn.Parameter(torch.randn(self.vectors, 3, generator=init, dtype=torch.float64).to(torch.get_default_dtype()))

    def elements(self, data: Any) -> list[np.ndarray]:
        """Every structure's inversion kernel: a list of ``(|G_b|, 3, 3)`` arrays."""
        from ..detect import inversion_kernel

        return [inversion_kernel(s, proper=self.proper) for s in self.symmetries(data)]

    def forward(self, data: Any, choice: torch.Tensor | list[int] | None = None) -> dict[str, torch.Tensor]:
        inputs = read_inputs(data)
        g = self.pick(*self.stacked(data), choice).to(inputs.pos.dtype)  # (B, 3, 3), each maps x to its canonical pose
        encoding = torch.einsum("bji,cj->bci", g, self.v.to(g.dtype))  # g^{-1} v = g^T v: (B, C, 3)
        return {"vectors": encoding[inputs.batch]}


def sympe_outputs(model: nn.Module, data: Any) -> list[torch.Tensor]:
    r"""A ``"<model>+sympe"`` model's output for every element of each structure's inversion kernel:
    one ``(|G_b|, n_b, d)`` tensor per structure, the support of its output distribution (each with
    probability :math:`1/|G_b|`)."""
    return every_choice(model, data, SymPE)


@register_input("canon")
class CanonicalFrameInput(SymPE):
    """``"<model>+canon"``: deterministic canonicalization as an input — the learned vector v placed in
    the structure's canonical frame, :math:`F v`, every time (the first element of the inversion
    kernel, not a random one). It breaks the symmetry by an arbitrary but fixed choice; unlike
    SymPE its law is not equivariant, and the frame jumps where the structure is near a higher
    symmetry (no canonical frame of O(3) can be continuous: Dym, Lawrence & Siegel, 2024)."""

    set_valued = False

    def forward(self, data: Any, choice: torch.Tensor | list[int] | None = None) -> dict[str, torch.Tensor]:
        if choice is None and self._choice is None:
            choice = [0] * read_inputs(data).num_graphs
        return super().forward(data, choice)
