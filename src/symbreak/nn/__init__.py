r"""Layers: relaxed E(3) convolutions with learnable symmetry-breaking weights, and how to read them."""

from ._interpret import BlockSummary, ThetaInterpretation, interpret, sh_projection, stabilizer
from ._network import RelaxedNetwork, gate_for
from ._relaxed import RelaxedConvolution, RelaxedWeights, relaxation_penalty, relaxed_blocks, relaxed_irreps

__all__ = [
    "RelaxedConvolution",
    "RelaxedNetwork",
    "gate_for",
    "RelaxedWeights",
    "relaxation_penalty",
    "relaxed_blocks",
    "relaxed_irreps",
    "interpret",
    "stabilizer",
    "sh_projection",
    "ThetaInterpretation",
    "BlockSummary",
]
