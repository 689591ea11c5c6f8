r"""Complete networks behind one registry: SchNet, DimeNet++, EGNN, PaiNN, and their +Noise/+MLP variants.

Every model maps a PyG-style batch (``z`` (N,), ``pos`` (N, 3), ``batch`` (N,)) to per-atom
vectors (N, 3). Build by name with :func:`build_model`; add your own with :func:`register_model`.

>>> import torch
>>> from types import SimpleNamespace
>>> model = build_model("egnn", hidden=16)
>>> water = SimpleNamespace(z=torch.tensor([8, 1, 1]), pos=torch.randn(3, 3), batch=torch.zeros(3, dtype=torch.long))
>>> model(water).shape
torch.Size([3, 3])
"""

from . import _variants
from ._base import AtomFeatures, VectorModel, scatter_sum
from ._dimenet import DimeNetPlusPlus
from ._egnn import EGNN
from ._graph import edge_vectors, fully_connected_edges, radius_edges, triplets
from ._painn import GatedEquivariantBlock, PaiNN, PaiNNVector
from ._relaxed_e3nn import E3NN, RelaxedE3NN
from ._registry import MODELS, VARIANTS, available_models, build_model, model_config, parse_spec, register_model, register_variant, split_specs
from ._sann import SANN, SymmetryGraphs, symmetry_graphs
from ._schnet import SchNet
from ._variants import MLPHead, NoisyInput, set_noise_draw

del _variants

__all__ = [
    "build_model",
    "parse_spec",
    "model_config",
    "split_specs",
    "register_model",
    "register_variant",
    "available_models",
    "MODELS",
    "VARIANTS",
    "VectorModel",
    "AtomFeatures",
    "SchNet",
    "DimeNetPlusPlus",
    "EGNN",
    "PaiNN",
    "PaiNNVector",
    "RelaxedE3NN",
    "E3NN",
    "SANN",
    "symmetry_graphs",
    "SymmetryGraphs",
    "GatedEquivariantBlock",
    "NoisyInput",
    "MLPHead",
    "set_noise_draw",
    "fully_connected_edges",
    "radius_edges",
    "edge_vectors",
    "triplets",
    "scatter_sum",
]
