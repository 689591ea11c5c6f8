r"""``+randvec``: a random direction per structure as a vector input (probabilistic symmetry breaking).

The builtin example of a registered input (see :func:`symbreak.models.register_input` and
docs/extending.md): ``"egnn+randvec"`` builds EGNN with one vector input channel and feeds it this.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from ._inputs import RandomDraws, read_inputs
from ._registry import register_input

__all__ = ["RandomVector"]


@register_input("randvec")
class RandomVector(RandomDraws, nn.Module):
    r"""One Haar-random unit vector :math:`u_b \in S^2` per structure, given to each of its atoms: (N, 1, 3).

    The simplest probabilistic symmetry breaking: the pair (structure, u) has no symmetry but the
    rotations about u, so an equivariant model reading it can output less symmetric answers, and
    it stays equivariant in distribution (u is isotropic). A fresh draw on every training call
    (seeded generator); evaluation uses one fixed draw per call, seeded by ``seed`` and ``draw``
    (:class:`~symbreak.models._inputs.RandomDraws`), so the same batch gets the same answer and
    validation and test get different draws.
    """

    vectors = 1
    features = 0

    def __init__(self, *, seed: int = 0) -> None:
        super().__init__()
        self.seed = int(seed)
        self._generator = torch.Generator().manual_seed(self.seed)

    def forward(self, data: Any) -> dict[str, torch.Tensor]:
        inputs = read_inputs(data)
        gen = self._generator if self.training else self.eval_generator()
        u = torch.randn((inputs.num_graphs, 3), generator=gen, dtype=torch.float64, device="cpu")  # the same draw on every device
        u = (u / u.norm(dim=-1, keepdim=True)).to(device=inputs.pos.device, dtype=inputs.pos.dtype)
        return {"vectors": u[inputs.batch][:, None, :]}
