r"""Symmetry-breaking inputs as model variants: ``"egnn+randvec"`` feeds a random vector to EGNN.

An *input* is a module that, given a batch, returns extra per-atom inputs — invariant ``x``
(N, F) or vectors (N, C, 3) — and declares how many (class attributes ``features``, ``vectors``).
Register it with :func:`register_input`; then ``build_model("<model>+<name>")`` builds the model
with that many more input channels (every model reads them through its embedding hook) and wraps
it in :class:`WithInputs`. A new symmetry-breaking input is therefore one file and a registration.
"""

from __future__ import annotations

import copy
from typing import Any

import torch
from torch import nn

from ._base import inherit_capabilities
from ._inputs import read_inputs
from ._registry import register_input

__all__ = ["WithInputs", "RandomVector"]


class WithInputs(nn.Module):
    """``model`` evaluated on the batch with ``source``'s inputs appended (after any the batch carries)."""

    symmetry = "approximate"  # an input that breaks the structure's symmetry breaks the output's

    def __init__(self, model: nn.Module, source: nn.Module) -> None:
        super().__init__()
        self.model, self.source = model, source
        inherit_capabilities(self, model)

    def prepare_data(self, data: Any) -> Any:
        return getattr(self.model, "prepare_data", lambda d: d)(data)

    def forward(self, data: Any) -> torch.Tensor:
        extra = self.source(data)
        out = copy.copy(data)  # the caller's batch is left as it was
        for key in ("x", "vectors"):
            if extra.get(key) is not None:
                old = getattr(data, key, None)
                setattr(out, key, extra[key] if old is None else torch.cat([old, extra[key].to(old.dtype)], dim=1))
        return self.model(out)


@register_input("randvec")
class RandomVector(nn.Module):
    r"""One Haar-random unit vector :math:`u_b \in S^2` per structure, given to each of its atoms: (N, 1, 3).

    The simplest probabilistic symmetry breaking: the pair (structure, u) has no symmetry but the
    rotations about u, so an equivariant model reading it can output less symmetric answers, and
    it stays equivariant in distribution (u is isotropic). A fresh draw on every training call
    (seeded generator); evaluation uses one fixed draw per call, seeded by ``seed``, so the same
    batch gets the same answer.
    """

    vectors = 1
    features = 0

    def __init__(self, *, seed: int = 0) -> None:
        super().__init__()
        self.seed = int(seed)
        self._generator = torch.Generator().manual_seed(self.seed)

    def forward(self, data: Any) -> dict[str, torch.Tensor]:
        inputs = read_inputs(data)
        gen = self._generator if self.training else torch.Generator().manual_seed(self.seed + 1)
        u = torch.randn((inputs.num_graphs, 3), generator=gen, dtype=torch.float64, device="cpu")  # the same draw on every device
        u = (u / u.norm(dim=-1, keepdim=True)).to(device=inputs.pos.device, dtype=inputs.pos.dtype)
        return {"vectors": u[inputs.batch][:, None, :]}
