r"""Layers: relaxed E(3) convolutions with learnable symmetry-breaking weights, and how to read them."""

from .._lazy import lazy_exports

# e3nn loads with the first layer used, not with ``import symbreak.nn._basis`` (which the models share)
_EXPORTS = {
    "RelaxedConvolution": "_relaxed", "RelaxedWeights": "_relaxed", "relaxation_penalty": "_relaxed", "relaxed_blocks": "_relaxed",
    "relaxed_irreps": "_relaxed", "RelaxedNetwork": "_network", "gate_for": "_network", "interpret": "_interpret",
    "stabilizer": "_interpret", "sh_projection": "_interpret", "ThetaInterpretation": "_interpret", "BlockSummary": "_interpret",
}  # fmt: skip
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
__all__ = sorted(_EXPORTS)
