r"""Networks of relaxed convolutions with gated nonlinearities (e3nn ``Gate``)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from e3nn import o3
from e3nn.nn import Gate
from torch import nn

from ._relaxed import RelaxedConvolution

__all__ = ["RelaxedNetwork", "gate_for"]


def gate_for(irreps_hidden: o3.Irreps | str) -> Gate:
    """An e3nn ``Gate`` whose output is ``irreps_hidden``: SiLU/tanh on scalars, sigmoid gates on the rest."""
    irreps = o3.Irreps(irreps_hidden)
    scalars = o3.Irreps([(m, ir) for m, ir in irreps if ir.l == 0])
    gated = o3.Irreps([(m, ir) for m, ir in irreps if ir.l > 0])
    acts = [torch.nn.functional.silu if ir.p == 1 else torch.tanh for _, ir in scalars]
    gates = o3.Irreps(f"{gated.num_irreps}x0e") if gated.num_irreps else o3.Irreps("")
    return Gate(scalars, acts, gates, [torch.sigmoid] * len(gates), gated)


class RelaxedNetwork(nn.Module):
    r"""``layers`` relaxed convolutions; gated nonlinearities between them; no nonlinearity after the last.

    Parameters
    ----------
    irreps_in, irreps_hidden, irreps_out: node irreps of the input, of every hidden layer, of the output.
    relaxed: False freezes every θ at the scalar (the exactly equivariant baseline).
    **conv: passed to every :class:`RelaxedConvolution` (lmax, l_relaxed, parities, cutoff, ...).

    Shapes: ``forward(x (N, irreps_in.dim), pos (N, 3), edge_index (2, E)) -> (N, irreps_out.dim)``.
    """

    def __init__(self, irreps_in: str | o3.Irreps, irreps_hidden: str | o3.Irreps, irreps_out: str | o3.Irreps, *, layers: int = 2, relaxed: bool = True, **conv: object) -> None:
        super().__init__()
        if layers < 1:
            raise ValueError(f"layers must be ≥ 1, got {layers}")
        self.irreps_in, self.irreps_out = o3.Irreps(irreps_in), o3.Irreps(irreps_out)
        self.convs, self.gates = nn.ModuleList(), nn.ModuleList()
        prev = self.irreps_in
        for _ in range(layers - 1):
            gate = gate_for(irreps_hidden)
            self.convs.append(RelaxedConvolution(prev, gate.irreps_in, relaxed=relaxed, **conv))
            self.gates.append(gate)
            prev = gate.irreps_out
        self.convs.append(RelaxedConvolution(prev, self.irreps_out, relaxed=relaxed, **conv))

    def forward(self, x: torch.Tensor, pos: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
        for conv, gate in zip(self.convs[:-1], self.gates):
            x = gate(conv(x, pos, edge_index))
        return self.convs[-1](x, pos, edge_index)

    def thetas(self) -> list[torch.Tensor]:
        """θ of each layer, input side first."""
        return [c.theta for c in self.convs]
