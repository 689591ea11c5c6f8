r"""PET, a point-edge transformer (Pozdnyakov & Ceriotti, 2023), as the PET symmetry paper uses it.

Each atom i sees its neighbours j within the cutoff (periodic images included) as a set of tokens,
one per edge, built from the raw Cartesian vector :math:`\mathbf r_{ij} = \mathbf x_j + \mathbf s
- \mathbf x_i`, its length and the neighbour's element, plus one central token for i itself. A
transformer mixes each atom's tokens; the output token of edge :math:`j \to i` enters the input of
the reverse edge :math:`i \to j` in the next layer (message passing). The atomic energy reads the
central token and the cutoff-weighted edge tokens; :math:`E = \sum_i e_i` and
:math:`\mathbf F = -\partial E/\partial \mathbf x`.

Each message-passing layer is a transformer of ``transformer_layers`` self-attention layers (the
paper's :math:`N_\mathrm{TL}`; its water model: ``hidden=128, layers=4, transformer_layers=2,
cutoff=4.0``); the default, one, is the network this module has always built (same parameters,
same names, same initialisation, same outputs).

Exactly invariant to translations (only differences of positions enter) and to permutations
(the tokens of a neighbourhood form a set: no positional encoding), smooth (attention weights are
multiplied by a cosine cutoff and renormalised, so a neighbour enters at weight 0), and **not**
rotation-invariant: the Cartesian components of :math:`\mathbf r_{ij}` enter an MLP. Train it with a
new random rotation per structure per epoch and average it over a grid at inference
(:class:`symbreak.md.SymmetrizedCalculator`).

``pet-invariant`` is the same network fed only rotation invariants (lengths, and the cosines of
the angles between edges as an attention bias): an exactly invariant baseline of equal size.
"""

from __future__ import annotations

import math
import numbers

import torch
from torch import nn

from .._errors import SymbreakError
from ._base import AtomFeatures, VectorModel, scatter_sum
from ._graph import structure_edges
from ._inputs import Inputs
from ..nn._basis import BesselRBF, cosine_cutoff, mlp
from ._registry import register_model

__all__ = ["PET", "PETInvariant"]


def _reverse_edges(edge: torch.Tensor, cells: torch.Tensor | None) -> torch.Tensor:
    """Index of the reverse of every edge: (j → i, n) ↔ (i → j, −n), n the integer lattice shift. (E,) long.

    cells: (E, 3) integer lattice coordinates of each edge's shift, or None (not periodic).
    """
    code = torch.zeros((edge.shape[1], 3), dtype=torch.long, device=edge.device) if cells is None else cells
    forward = torch.cat([edge[0][:, None], edge[1][:, None], code], dim=1)
    backward = torch.cat([edge[1][:, None], edge[0][:, None], -code], dim=1)
    _, ids = torch.unique(torch.cat([forward, backward]), dim=0, return_inverse=True)
    e = edge.shape[1]
    where = torch.full((int(ids.max()) + 1,), -1, dtype=torch.long, device=edge.device)
    where[ids[:e]] = torch.arange(e, device=edge.device)
    rev = where[ids[e:]]
    if bool((rev < 0).any()):  # pragma: no cover - a radius graph is symmetric
        raise RuntimeError("radius graph is not symmetric: an edge has no reverse")
    return rev


class _Layer(nn.Module):
    """One transformer layer over each atom's tokens (pre-norm attention and feed-forward)."""

    def __init__(self, hidden: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.norm1, self.norm2 = nn.LayerNorm(hidden), nn.LayerNorm(hidden)
        self.qkv = nn.Linear(hidden, 3 * hidden)
        self.out = nn.Linear(hidden, hidden)
        self.ff = mlp([hidden, 2 * hidden, hidden])

    def forward(self, tokens: torch.Tensor, log_weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
        """tokens (N, T, F); log_weight (N, T): log of each key's cutoff weight (−inf: padding)."""
        n, t, f = tokens.shape
        h = self.heads
        q, k, v = self.qkv(self.norm1(tokens)).view(n, t, 3, h, f // h).permute(2, 0, 3, 1, 4)  # (N, H, T, F/H)
        logits = q @ k.transpose(-1, -2) / math.sqrt(f // h) + log_weight[:, None, None, :]
        if bias is not None:
            logits = logits + bias
        att = torch.softmax(logits, dim=-1)
        mixed = (att @ v).transpose(1, 2).reshape(n, t, f)
        tokens = tokens + self.out(mixed)
        return tokens + self.ff(self.norm2(tokens))


class _Transformer(nn.Module):
    """Several :class:`_Layer` applied in turn: one message-passing layer's transformer (the paper's N_TL > 1)."""

    def __init__(self, hidden: int, heads: int, depth: int) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(_Layer(hidden, heads) for _ in range(depth))

    def forward(self, tokens: torch.Tensor, log_weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
        for block in self.blocks:
            tokens = block(tokens, log_weight, bias)
        return tokens


@register_model("pet")
class PET(VectorModel):
    """Point-edge transformer: hidden width, ``layers`` message-passing steps (each a transformer
    of ``transformer_layers`` self-attention layers, the paper's N_GNN and N_TL), attention
    ``heads``, ``cutoff`` (Å; periodic structures need it below half the cell's width only if each
    neighbour should be seen once), ``num_rbf`` radial features.

    Reads ``data.cell`` (B, 3, 3) when present (rows: lattice vectors; zeros: not periodic).
    ``energy_and_forces(data)`` gives energies (B,) in the labels' units; the model's output (N, 3)
    is the forces. ``energy_shift`` (per element) and ``energy_scale`` are buffers set from the
    training data.
    """

    periodic = True

    symmetry = "approximate"
    gradient_output = True
    vector_inputs = False
    invariant = False

    def __init__(
        self, *, hidden: int = 64, layers: int = 2, heads: int = 4, cutoff: float = 4.0, num_rbf: int = 16, max_z: int = 100, in_features: int = 0,
        in_vectors: int = 0, transformer_layers: int = 1,
    ) -> None:  # fmt: skip
        super().__init__()
        if hidden % heads:
            raise ValueError(f"hidden ({hidden}) must be a multiple of heads ({heads})")
        if isinstance(transformer_layers, bool) or not isinstance(transformer_layers, numbers.Integral) or transformer_layers < 1:
            raise SymbreakError(f"{type(self).__name__}: transformer_layers must be an integer >= 1, got {transformer_layers!r}")
        self.hidden, self.cutoff = hidden, cutoff
        self.init_inputs(hidden, max_z, in_features, in_vectors)
        self.rbf = BesselRBF(num_rbf, cutoff)
        geometry = num_rbf + (0 if self.invariant else 3)
        self.edge_in = nn.ModuleList(mlp([geometry + 2 * hidden, hidden, hidden]) for _ in range(layers))
        # one transformer layer is a bare _Layer (the parameter names every checkpoint has); more, a _Transformer
        depth = int(transformer_layers)
        self.layers = nn.ModuleList(_Layer(hidden, heads) if depth == 1 else _Transformer(hidden, heads, depth) for _ in range(layers))
        # invariant baseline: a per-head bias from the angle between two edges, [cos, cos², 1] → heads, shared by the layers
        self.angle_bias = nn.Linear(3, heads) if self.invariant else None
        self.neighbour = nn.Embedding(max_z, hidden)
        self.energy_mlp = mlp([hidden, hidden, 1])
        self.register_buffer("energy_shift", torch.zeros(max_z))
        self.register_buffer("energy_scale", torch.ones(()))

    def _geometry(self, vec: torch.Tensor, d: torch.Tensor) -> torch.Tensor:
        radial = self.rbf(d)
        return radial if self.invariant else torch.cat([vec / self.cutoff, radial], dim=-1)

    def features(self, inputs: Inputs) -> AtomFeatures:
        z, pos, batch = inputs.z, inputs.pos, inputs.batch
        edge, shift = structure_edges(pos, batch, self.cutoff, inputs.data)
        order = torch.argsort(edge[1], stable=True)  # receiver-major: each atom's edges are contiguous
        edge, shift = edge[:, order], shift[order]
        sender, receiver = edge
        n, e = len(z), edge.shape[1]
        vec = pos[sender] + shift - pos[receiver]
        d = vec.norm(dim=-1)
        fc = cosine_cutoff(d, self.cutoff)
        # dense neighbourhoods: slot 0 is the central token, slots 1..K the edges (receiver-sorted)
        counts = torch.bincount(receiver, minlength=n)
        k_max = int(counts.max()) if e else 0
        first = torch.cumsum(counts, 0) - counts
        slot = torch.arange(e, device=pos.device) - first[receiver] + 1
        log_w = torch.full((n, k_max + 1), -math.inf, dtype=pos.dtype, device=pos.device)
        log_w[:, 0] = 0.0
        log_w[receiver, slot] = torch.log(fc.clamp_min(1e-30))
        bias = None
        if self.invariant and e:
            unit = torch.zeros((n, k_max + 1, 3), dtype=pos.dtype, device=pos.device)
            unit[receiver, slot] = vec / d[:, None].clamp_min(1e-9)
            cos = unit @ unit.transpose(1, 2)  # (N, T, T); the central token's row and column are 0
            bias = self.angle_bias(torch.stack([cos, cos * cos, torch.ones_like(cos)], dim=-1)).permute(0, 3, 1, 2)
        lattice, cell = None, getattr(inputs.data, "cell", None)
        if cell is not None and e:
            cell = cell.to(pos.device).reshape(-1, 3, 3)  # integer lattice coordinates of each shift: exact, unlike its Cartesian components
            inv = torch.linalg.pinv(cell.to(pos.dtype))[batch[receiver]]
            lattice = torch.round(torch.einsum("ei,eij->ej", shift.detach(), inv)).long()
        rev = _reverse_edges(edge, lattice) if e else edge[0]
        geometry = self._geometry(vec, d)
        h = self.embed(inputs)  # (N, F) central tokens
        message = torch.zeros((e, self.hidden), dtype=pos.dtype, device=pos.device)
        species = self.neighbour(z[sender])
        for k, layer in enumerate(self.layers):
            tokens_e = self.edge_in[k](torch.cat([geometry, species, message[rev]], dim=-1))
            tokens = torch.zeros((n, k_max + 1, self.hidden), dtype=pos.dtype, device=pos.device)
            tokens = tokens.index_put((receiver, slot), tokens_e)
            tokens[:, 0] = h
            tokens = layer(tokens, log_w, bias)
            h = tokens[:, 0]
            message = tokens[receiver, slot]
        pooled = scatter_sum(message * fc[:, None], receiver, n)
        return AtomFeatures(h + pooled)


@register_model("pet-invariant")
class PETInvariant(PET):
    """:class:`PET` fed rotation invariants only: exactly rotation-, translation- and permutation-invariant."""

    symmetry = "exact"
    invariant = True
