r"""The common shape of symbreak's vector-output models: inputs in, per-atom features, a readout."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from .._errors import StructureError, SymbreakError
from ._inputs import Inputs, read_inputs

__all__ = ["AtomFeatures", "VectorModel", "scatter_sum", "SYMMETRY_KINDS"]

#: what a model promises about its output under O(3) acting on its inputs (the conformance suite
#: tests each): "exact" — equivariant; "relaxed" — equivariant up to the input's own symmetry,
#: :math:`f(gx) = g\sigma f(x)` with :math:`\sigma \in \mathrm{Sym}(x)`, exactly equivariant on
#: inputs without symmetry; "approximate" — not equivariant (noise, a learned symmetry-breaking
#: weight, a lab-frame readout), only permutation-equivariant
SYMMETRY_KINDS = ("exact", "relaxed", "approximate")


def scatter_sum(src: torch.Tensor, index: torch.Tensor, size: int) -> torch.Tensor:
    """Sum rows of ``src`` (E, ...) into ``size`` bins by ``index`` (E,)."""
    out = src.new_zeros((size,) + tuple(src.shape[1:]))
    return out.index_add_(0, index, src)


def vector_edge_invariants(vectors: torch.Tensor, unit: torch.Tensor, edge: torch.Tensor) -> torch.Tensor:
    r"""Projections of both atoms' vector inputs on the edge direction, :math:`[v_j \cdot \hat r_{ij}, v_i \cdot \hat r_{ij}]`: (E, 2C).

    Invariant when positions and vectors rotate together, so a scalar-only model (SchNet, EGNN)
    can read vector inputs, and a symmetry-breaking one breaks its output's symmetry.
    vectors: (N, C, 3); unit: (E, 3) unit edge vectors; edge: (2, E) (sender j, receiver i).
    """
    sender, receiver = edge
    vectors = vectors.to(unit.dtype)
    return torch.cat([(vectors[sender] * unit[:, None, :]).sum(-1), (vectors[receiver] * unit[:, None, :]).sum(-1)], dim=-1)


@dataclass
class AtomFeatures:
    """What a model's body computes per atom; each field means one thing.

    scalars: (N, F) invariant features. vectors: (N, 3, F) equivariant (1o) features, or None.
    positions: (N, 3) positions the body has moved (EGNN's coordinate updates), or None.
    output: (N, 3) the per-atom output when the body computes it directly (relaxed-e3nn), or None.
    frame: (N, 3, 3) each atom's molecule's canonical frame when the body works in it (SANN), or None.
    """

    scalars: torch.Tensor
    vectors: torch.Tensor | None = None
    positions: torch.Tensor | None = None
    output: torch.Tensor | None = None
    frame: torch.Tensor | None = None


class VectorModel(nn.Module):
    r"""Per-atom vector prediction :math:`f(z, x) \in \mathbb R^{N \times 3}` from a PyG-style batch.

    Subclasses create their input embedding with :meth:`init_inputs`, implement
    :meth:`features` (reading :class:`~symbreak.models.Inputs`, starting from :meth:`embed`) and
    either set ``gradient_output = True`` (an invariant energy :math:`E = \sum_i e(\mathbf h_i)`
    whose negative gradient :math:`-\partial E/\partial \mathbf x_i` is the output, the paper's
    recipe for invariant models) or override :meth:`vector_head`.

    Capability flags (read by the conformance tests, ``assert_equivariant`` and the averaging):
    ``output_type`` (a representation, "1o"); ``symmetry`` (one of :data:`SYMMETRY_KINDS`);
    ``dtypes`` (the floating dtypes it runs in); ``permutation_equivariant`` (relabelling atoms
    relabels the output; every model here, not ``+noise``); ``vector_inputs`` (whether it can read
    ``data.vectors``); ``lab_frame_features`` (its features are in the lab frame, so ``+mlp``
    can read them); ``periodic`` (it reads ``data.cell`` and builds periodic graphs; the others
    refuse a periodic batch rather than treat a unit cell as a molecule).
    """

    output_type: str = "1o"
    symmetry: str = "exact"
    dtypes: tuple[torch.dtype, ...] = (torch.float32, torch.float64)
    permutation_equivariant: bool = True
    vector_inputs: bool = True
    periodic: bool = False
    gradient_output: bool = False
    vector_channels: int = 0  # F of AtomFeatures.vectors (N, 3, F), for heads that read them
    # False when features() works in a per-molecule frame (SANN's canonical frame): a head that
    # reads them as lab-frame quantities (+mlp) would be rotation-invariant, not symmetry-breaking
    lab_frame_features: bool = True
    in_features: int = 0
    in_vectors: int = 0
    in_pseudovectors: int = 0  # axial inputs (the e3nn models)
    hidden: int
    energy_mlp: nn.Module  # (N, hidden) -> (N, 1) atomic energies, for gradient_output models

    @property
    def equivariant(self) -> bool:
        """Exactly E(3)- and permutation-equivariant (``symmetry == "exact"``)."""
        return self.symmetry == "exact"

    def init_inputs(self, hidden: int, max_z: int, in_features: int = 0, in_vectors: int = 0) -> None:
        """Create the embedding every model starts from: elements, plus a linear map of ``in_features`` invariant inputs."""
        if in_features < 0 or in_vectors < 0:
            raise SymbreakError(f"in_features and in_vectors count channels: need ≥ 0, got {in_features}, {in_vectors}")
        if in_vectors and not self.vector_inputs:
            raise SymbreakError(f"{type(self).__name__} cannot read vector inputs (in_vectors={in_vectors})")
        self.in_features, self.in_vectors = in_features, in_vectors
        self.embedding = nn.Embedding(max_z, hidden)
        self.extra = nn.Linear(in_features, hidden) if in_features else None

    def embed(self, inputs: Inputs) -> torch.Tensor:
        r"""Initial invariant features :math:`h^0_i = E(z_i) + W x_i`: (N, hidden)."""
        h = self.embedding(inputs.z)
        if self.extra is not None:
            h = h + self.extra(inputs.x.to(h.dtype))
        return h

    def read(self, data: Any) -> Inputs:
        """The checked :class:`~symbreak.models.Inputs` of a batch, with the channels this model reads."""
        cell = getattr(data, "cell", None)
        if not self.periodic and isinstance(cell, torch.Tensor) and not torch.compiler.is_compiling() and bool(cell.abs().sum() > 0):
            raise StructureError(f"{type(self).__name__} builds molecular graphs: it cannot read a periodic structure (data.cell); "
                                 "use a model that reads cells (painn, egnn, pet)")  # fmt: skip
        return read_inputs(data, features=self.in_features, vectors=self.in_vectors, pseudovectors=self.in_pseudovectors)

    def prepare_data(self, data: Any) -> Any:
        """Precompute, once per structure when a data set is built, what :meth:`features` would
        otherwise compute on every call (SANN's symmetry graphs); the default adds nothing."""
        return data

    def features(self, inputs: Inputs) -> AtomFeatures:  # pragma: no cover
        raise NotImplementedError

    def atomic_energies(self, feats: AtomFeatures, inputs: Inputs) -> torch.Tensor:
        r"""(N,) atomic energies :math:`e_i`, for ``gradient_output`` models: ``energy_mlp`` of the
        scalars, times ``energy_scale`` plus ``energy_shift[z]`` where the model has those buffers."""
        e = self.energy_mlp(feats.scalars).squeeze(-1)
        scale = getattr(self, "energy_scale", None)
        if scale is not None:
            e = e * scale + self.energy_shift[inputs.z]
        return e

    def vector_head(self, feats: AtomFeatures, inputs: Inputs) -> torch.Tensor:
        """(N, 3) equivariant readout; the default differentiates the invariant energy."""
        energy = self.atomic_energies(feats, inputs).sum()
        (grad,) = torch.autograd.grad(energy, inputs.pos, create_graph=self.training)
        return -grad

    def energy_and_forces(self, data: Any, *, create_graph: bool | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        r"""Energies :math:`E_b = \sum_{i \in b} e_i` (B,) and forces :math:`-\partial E/\partial \mathbf x` (N, 3).

        For ``gradient_output`` models (an energy model: SchNet, PaiNN, PET...). ``create_graph``
        (default: in training mode) keeps the graph for a loss on the forces.
        """
        if not self.gradient_output:
            raise SymbreakError(f"{type(self).__name__} predicts vectors directly, not an energy")
        inputs = self.read(data)
        with torch.enable_grad():
            inputs = inputs.replace(pos=inputs.pos.detach().requires_grad_(True))
            energy = scatter_sum(self.atomic_energies(self.features(inputs), inputs), inputs.batch, inputs.num_graphs)
            (grad,) = torch.autograd.grad(energy.sum(), inputs.pos, create_graph=self.training if create_graph is None else create_graph)
        return energy, -grad

    def forward(self, data: Any) -> torch.Tensor:
        """data: a batch (see :mod:`symbreak.models._inputs`): ``z`` (N,), ``pos`` (N, 3), ``batch`` (N,), optional ``x``, ``vectors``. Returns (N, 3)."""
        inputs = self.read(data)
        with torch.set_grad_enabled(self.gradient_output or torch.is_grad_enabled()):
            if self.gradient_output and not inputs.pos.requires_grad:
                inputs = inputs.replace(pos=inputs.pos.detach().requires_grad_(True))
            return self.vector_head(self.features(inputs), inputs)
