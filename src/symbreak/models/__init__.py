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

from .._lazy import lazy_exports
from ._registry import INPUTS, MODELS, VARIANTS, ModelSpec, available_models, register_input, build_model, model_class, model_config, parse_spec, register_model, register_variant, split_specs

# the classes load on first use, so that listing or resolving models imports no e3nn or torch-geometric
_EXPORTS = {
    "VectorModel": "_base", "AtomFeatures": "_base", "scatter_sum": "_base", "SYMMETRY_KINDS": "_base", "vector_edge_invariants": "_base",
    "Inputs": "_inputs", "read_inputs": "_inputs", "with_positions": "_inputs",
    "SchNet": "_schnet", "DimeNetPlusPlus": "_dimenet", "EGNN": "_egnn", "PaiNN": "_painn", "PaiNNVector": "_painn",
    "GatedEquivariantBlock": "_painn", "RelaxedE3NN": "_relaxed_e3nn", "E3NN": "_relaxed_e3nn",
    "SANN": "_sann", "symmetry_graphs": "_sann", "SymmetryGraphs": "_sann",
    "save_model": "_checkpoint", "load_model": "_checkpoint",
    "WithInputs": "_inputs", "RandomVector": "_randvec", "transform_batch": "_inputs",
    "NoisyInput": "_variants", "MLPHead": "_variants", "set_noise_draw": "_variants",
    "SymPE": "_sympe", "sympe_outputs": "_sympe", "CanonicalFrameInput": "_sympe", "ChoiceInput": "_choice", "every_choice": "_choice",
    "LearnedCanonicalization": "_learned_canon", "FrameNetwork": "_learned_canon", "canonicalization_prior": "_learned_canon", "learned_canon_outputs": "_learned_canon",
    "SymmetryBreakingSetInput": "_sbs_input", "AxialSymmetryBreakingSetInput": "_sbs_input", "sbs_outputs": "_sbs_input", "structure_sbs": "_sbs_input",
    "structure_edges": "_graph", "periodic_radius_edges": "_graph",
    "fully_connected_edges": "_graph", "radius_edges": "_graph", "edge_vectors": "_graph", "triplets": "_graph",
}  # fmt: skip
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
__all__ = [
    "build_model",
    "ModelSpec",
    "parse_spec",
    "model_config",
    "model_class",
    "split_specs",
    "register_model",
    "register_variant",
    "register_input",
    "save_model",
    "load_model",
    "INPUTS",
    "WithInputs",
    "RandomVector",
    "SymmetryBreakingSetInput",
    "SymPE",
    "CanonicalFrameInput",
    "LearnedCanonicalization",
    "FrameNetwork",
    "canonicalization_prior",
    "learned_canon_outputs",
    "sympe_outputs",
    "ChoiceInput",
    "every_choice",
    "AxialSymmetryBreakingSetInput",
    "sbs_outputs",
    "structure_sbs",
    "transform_batch",
    "available_models",
    "MODELS",
    "VARIANTS",
    "VectorModel",
    "AtomFeatures",
    "Inputs",
    "read_inputs",
    "with_positions",
    "SYMMETRY_KINDS",
    "vector_edge_invariants",
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
    "structure_edges",
    "periodic_radius_edges",
    "edge_vectors",
    "triplets",
    "scatter_sum",
]
