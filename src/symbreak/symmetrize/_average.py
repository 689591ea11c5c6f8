r"""Making any model (more) equivariant at inference: grid averaging and random rotations.

For a model f and an output type acting as :math:`\rho(g)`, the averaged model is

.. math:: \bar f(x) = \sum_m w_m\, \rho(R_m)^{-1} f(R_m x),

exactly invariant/equivariant for every output whose dependence on orientation has no
spherical-harmonic content above the grid's degree (Langer, Pozdnyakov & Ceriotti, 2024).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from ..rotations import Rep, act, act_batch, random_rotations
from ..rotations import grid as make_grid

__all__ = ["RotationalAverage", "RandomRotation", "act_about", "rotate_inputs", "rotated_copies", "rotate_back", "atom_centres", "is_batch"]


def act_about(rotations: torch.Tensor, data: torch.Tensor, kind: Any, centre: torch.Tensor | None = None) -> torch.Tensor:
    r"""``data`` of representation ``kind`` acted on by ``rotations``, about ``centre`` for the kinds
    that translate (positions: :math:`x \to R (x - c) + c`), about the origin for every other kind
    (:func:`symbreak.rotations.act`: vectors, pseudovectors, tensors, irreps).

    The plain-tensor form of the group action on a batch
    (:func:`~symbreak.models._inputs.act_on_fields`), shared by the averaging wrappers,
    :func:`~symbreak.symmetrize.equivariance_error` and :func:`~symbreak.testing.assert_equivariant`.

    rotations: (3, 3), with ``data`` of any shape (..., d); or (M, 3, 3), with ``data`` (M, ..., d),
    copy m acted on by rotation m (:func:`~symbreak.rotations.act_batch`). centre: broadcastable
    to ``data`` ((..., 1, 3) for a centroid), or None: the origin.

    >>> act_about(-torch.eye(3), torch.tensor([[2.0, 0.0, 0.0]]), "positions", centre=torch.tensor([1.0, 0.0, 0.0]))
    tensor([[0., 0., 0.]])
    """
    r = rotations.to(data)
    if centre is not None and Rep.parse(kind).translates:
        return act_about(r, data - centre, kind) + centre
    return act_batch(r, data, kind) if r.ndim == 3 else act(r, data, kind)


def rotate_inputs(rotations: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
    """Rotated copies of ``positions`` (..., n, 3) about their centroids: (M, ..., n, 3) (:func:`act_about`)."""
    copies = positions.expand((len(rotations),) + tuple(positions.shape))
    return act_about(rotations, copies, "positions", centre=positions.mean(dim=-2, keepdim=True))


def is_batch(x: Any) -> bool:
    """A batch of structures (``z``, ``pos``, ...), as registry models take, rather than a tensor."""
    return hasattr(x, "pos") and hasattr(x, "z")


def rotated_copies(rotations: torch.Tensor, data: Any) -> Any:
    r"""One batch holding M rotated copies of every structure of ``data``, each about its own centroid:
    copy m of structure b is structure ``m * B + b``. Every input field turns by its declared
    representation (:data:`~symbreak.models._inputs.FIELDS`: vectors rotate with the positions,
    pseudovectors by det(R)·R, lattice rows with the atoms, invariant inputs repeat); everything
    else (labels, symmetry records, attributes derived from the old positions) is left out.

    rotations: (M, 3, 3); data: ``z`` (N,), ``pos`` (N, 3), optional ``batch``, ``x``, ``vectors``,
    ``pseudovectors``, ``cell`` (B, 3, 3) or (3B, 3).
    """
    from types import SimpleNamespace

    from ..models._inputs import act_on_fields, read_inputs

    x = read_inputs(data)  # checked
    m, pos = len(rotations), x.pos
    turned = act_on_fields(data, rotations.to(device=pos.device, dtype=pos.dtype), centre=atom_centres(x))
    out = SimpleNamespace(**{key: value.reshape((-1,) + tuple(value.shape[2:])) for key, value in turned.items()})
    out.batch = (x.batch[None, :] + x.num_graphs * torch.arange(m, device=pos.device)[:, None]).reshape(-1)
    out.num_graphs = m * x.num_graphs
    return out


def atom_centres(data: Any) -> torch.Tensor:
    """Each atom's molecule's centroid: (N, 3), the point rotated copies turn about (data: a batch or its Inputs)."""
    from ..models._inputs import Inputs, read_inputs

    x = data if isinstance(data, Inputs) else read_inputs(data)
    count = torch.bincount(x.batch, minlength=x.num_graphs).clamp_min(1).to(x.pos.dtype)[:, None]
    return x.pos.new_zeros((x.num_graphs, 3)).index_add_(0, x.batch, x.pos)[x.batch] / count[x.batch]


def rotate_back(rotations: torch.Tensor, out: torch.Tensor, output: str, centre: torch.Tensor | None) -> torch.Tensor:
    r""":math:`\rho(R_m)^{-1} = \rho(R_m^\top)` applied to each copy's output (M, ...): about
    ``centre`` for positions (which a rotation about the centre moves), about the origin for
    everything else (:func:`act_about`)."""
    return act_about(rotations.transpose(-1, -2), out, output, centre)


def _per_copy(out: torch.Tensor, m: int) -> torch.Tensor:
    """(M·K, ...) outputs of M copies as (M, K, ...)."""
    return out.reshape((m, -1) + tuple(out.shape[1:]))


class _Wrapper(nn.Module):
    """A model evaluated in other orientations: it gives what the wrapped model gives, in ``output``."""

    def __init__(self, model: Any, output: Any = None):
        super().__init__()
        self.model = model
        self.output = str(output if output is not None else getattr(model, "output_type", "0e"))

    @property
    def output_type(self) -> str:
        """The output's representation, as every registry model declares it (read by
        :func:`~symbreak.symmetrize.equivariance_error` and :func:`~symbreak.testing.assert_equivariant`)."""
        return self.output

    @output_type.setter
    def output_type(self, value: Any) -> None:
        self.output = str(value)


class RotationalAverage(_Wrapper):
    r"""Average a model over a quadrature grid of rotations, in one batched forward pass.

    Parameters
    ----------
    model:
        A model that takes a batch (any registry model: call the average with a batch, ``z``,
        ``pos``, ``batch``...; all rotated copies go through one forward pass); or a callable
        ``model(positions (M, n, 3), *features (M, ...)) -> (M, ...)`` that accepts a leading
        dimension of rotated copies. Per-atom features are repeated, unchanged, for every copy
        (they must be invariant: types, charges); a batch's inputs turn by their declared
        representations (vectors, pseudovectors, the cell's rows: :func:`rotated_copies`).
    grid:
        A spec for :func:`symbreak.rotations.grid` (``"2"``, ``"2i"``, ``"3i"``...).
    output:
        How the output transforms: a :class:`~symbreak.rotations.Rep` or its text (``"0e"``,
        ``"1o"``, ``"tensors"``, an e3nn Irreps string), on the last dimension (per-atom outputs
        have shape (..., n, d)); None: the model's ``output_type``, else invariant.

    Rotations act about the centroid of the positions. Gradients flow: forces from an averaged
    energy equal the averaged, back-rotated forces.
    """

    def __init__(self, model: Any, grid: str = "2i", output: Any = None):
        super().__init__(model, output)
        self.grid_spec = grid
        rots, weights = make_grid(grid)
        # on the CPU whatever the default device; each call moves them to its input's device
        self.register_buffer("rotations", torch.as_tensor(rots, dtype=torch.float64, device="cpu"))
        self.register_buffer("weights", torch.as_tensor(weights, dtype=torch.float64, device="cpu"))

    def forward(self, positions: Any, *features: torch.Tensor) -> torch.Tensor:
        """positions: (n, 3), or (B, n, 3) for a batch (features then carry the same leading B); or a batch of structures."""
        if is_batch(positions):
            r = self.rotations.to(device=positions.pos.device, dtype=positions.pos.dtype)
            w = self.weights.to(device=positions.pos.device, dtype=positions.pos.dtype)
            out = _per_copy(self.model(rotated_copies(r, positions)), len(r))
            return torch.einsum("m,m...->...", w, rotate_back(r, out, self.output, atom_centres(positions)))
        r = self.rotations.to(device=positions.device, dtype=positions.dtype)
        w = self.weights.to(device=positions.device, dtype=positions.dtype)
        m, lead = len(r), positions.shape[:-2]
        x = rotate_inputs(r, positions).reshape((-1,) + tuple(positions.shape[-2:]))
        feats = [f.expand((m,) + tuple(f.shape)).reshape((-1,) + tuple(f.shape[len(lead):])) for f in features]
        out = self.model(x, *feats)
        out = out.reshape((m,) + tuple(lead) + tuple(out.shape[1:]))
        back = rotate_back(r, out, self.output, positions.mean(dim=-2, keepdim=True))  # ρ(R)⁻¹ = ρ(Rᵀ)
        return torch.einsum("m,m...->...", w, back)


class RandomRotation(_Wrapper):
    r"""Evaluate a model in one fresh Haar-random orientation per call: :math:`\rho(g)^{-1} f(g x)`.

    The stochastic alternative to :class:`RotationalAverage` used in molecular dynamics: equivariant
    in distribution, at the cost of one evaluation. ``improper=True`` samples O(3); ``seed`` makes the
    sequence of rotations reproducible.
    """

    def __init__(self, model: Any, output: Any = None, *, improper: bool = False, seed: int | None = None):
        super().__init__(model, output)
        self.improper = improper
        self._rng = np.random.default_rng(seed)

    def forward(self, positions: Any, *features: torch.Tensor) -> torch.Tensor:
        """positions: (n, 3) with features, or a batch of structures (as :class:`RotationalAverage`)."""
        ref = positions.pos if is_batch(positions) else positions
        r = torch.as_tensor(random_rotations(1, improper=self.improper, seed=self._rng), dtype=ref.dtype, device=ref.device)
        if is_batch(positions):
            return rotate_back(r, _per_copy(self.model(rotated_copies(r, positions)), 1), self.output, atom_centres(positions))[0]
        out = self.model(rotate_inputs(r, positions), *[f[None] for f in features])
        return rotate_back(r, out, self.output, positions.mean(dim=-2, keepdim=True))[0]
