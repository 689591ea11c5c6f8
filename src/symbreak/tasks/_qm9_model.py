"""The one-shot pair generator of ``qm9-generation`` and its breakers' inputs (none, noise, SymPE
positions); batches of :class:`~symbreak.tasks._qm9_data.MolGraph` as padded tensors; sampling."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from .._errors import SymbreakError
from ._qm9_data import _PAD, BOND_ORDERS, ELEMENTS, N_MAX, MolGraph

__all__ = ["PairGenerator", "pair_log_likelihood", "unlabelled_nll", "random_positions", "sample_graphs", "BREAKERS"]

#: the breakers of :class:`PairGenerator`
BREAKERS = ("none", "noise", "sympe")


class PairGenerator(nn.Module):
    r"""A permutation-equivariant one-shot generator of bond classes on the complete graph of the nodes.

    .. math::
        h^0_i = E[z_i] + W b_i, \qquad
        h^{l+1}_i = \mathrm{LN}\Big(h^l_i + \psi_l\big(h^l_i, \textstyle\sum_{j \ne i} \phi_l(h^l_i, h^l_j)\big)\Big), \qquad
        \ell_{ij} = \rho(h_i + h_j,\, h_i \odot h_j) \in \mathbb R^4,

    with :math:`b_i` the breaker's node input: none (``"none"``), :math:`\varepsilon_i \sim \mathcal N(0, I_d)`
    (``"noise"``), or :math:`v_{g(i)}`, a learned table :math:`v` (n_max, d) read at the node's SymPE
    position (``"sympe"``). The logits are symmetric in (i, j) and, for a fixed breaker input,
    equivariant: permuting the nodes (with their z and b) permutes the rows and columns of the logits.

    ``forward(z, mask, inputs)``: z (B, N) long element index (padding: any value where mask is False);
    mask (B, N) bool; inputs: None (``none``), noise (B, N, d) float, or positions (B, N) long
    (``sympe``). Returns logits (B, N, N, 4).
    """

    def __init__(self, breaker: str, *, hidden: int = 64, layers: int = 3, dim: int = 16, n_max: int = N_MAX, seed: int = 0) -> None:
        super().__init__()
        if breaker not in BREAKERS:
            raise SymbreakError(f"PairGenerator: unknown breaker {breaker!r}; choose from {BREAKERS}")
        self.breaker, self.dim, self.n_max = breaker, dim, n_max
        self.embed = nn.Embedding(len(ELEMENTS) + 1, hidden)
        self.inputs = None if breaker == "none" else nn.Linear(dim, hidden, bias=False)
        if breaker == "sympe":
            self.table = nn.Parameter(torch.randn(n_max, dim, generator=torch.Generator().manual_seed(int(seed))))
        mlp = lambda i, o: nn.Sequential(nn.Linear(i, hidden), nn.SiLU(), nn.Linear(hidden, o))  # noqa: E731
        self.message = nn.ModuleList(mlp(2 * hidden, hidden) for _ in range(layers))
        self.update = nn.ModuleList(mlp(2 * hidden, hidden) for _ in range(layers))
        self.norm = nn.ModuleList(nn.LayerNorm(hidden) for _ in range(layers))
        self.head = mlp(2 * hidden, len(BOND_ORDERS))

    def forward(self, z: torch.Tensor, mask: torch.Tensor, inputs: torch.Tensor | None = None) -> torch.Tensor:
        if z.ndim != 2 or mask.shape != z.shape:
            raise SymbreakError(f"PairGenerator: z and mask must be (B, N) of one shape, got {tuple(z.shape)} and {tuple(mask.shape)}")
        h = self.embed(torch.where(mask, z, torch.full_like(z, _PAD)))
        if self.breaker == "sympe":
            if inputs is None or inputs.shape != z.shape or inputs.dtype != torch.long:
                raise SymbreakError("PairGenerator('sympe') needs positions (B, N) long")
            if bool(((inputs >= self.n_max) & mask).any()):
                raise SymbreakError(f"PairGenerator('sympe'): a position ≥ n_max = {self.n_max}")
            h = h + self.inputs(self.table[inputs.clamp(0, self.n_max - 1)])
        elif self.breaker == "noise":
            if inputs is None or inputs.shape != (*z.shape, self.dim):
                raise SymbreakError(f"PairGenerator('noise') needs noise (B, N, {self.dim})")
            h = h + self.inputs(inputs.to(h.dtype))
        elif inputs is not None:
            raise SymbreakError("PairGenerator('none') takes no breaker input")
        m = mask.to(h.dtype)
        n = z.shape[1]
        pair = m[:, :, None] * m[:, None, :] * (1 - torch.eye(n, dtype=h.dtype, device=h.device))  # (B, N, N): j ≠ i, both real
        h = h * m[..., None]
        for message, update, norm in zip(self.message, self.update, self.norm):
            hi, hj = h[:, :, None].expand(-1, -1, n, -1), h[:, None, :].expand(-1, n, -1, -1)
            agg = (message(torch.cat([hi, hj], -1)) * pair[..., None]).sum(2)
            h = norm(h + update(torch.cat([h, agg], -1))) * m[..., None]
        hi, hj = h[:, :, None], h[:, None, :]
        return self.head(torch.cat([hi + hj, hi * hj], -1))


def pair_log_likelihood(logits: torch.Tensor, bonds: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    r""":math:`\log q(A \mid \cdot) = \sum_{i<j,\ \text{both real}} \log \mathrm{softmax}(\ell_{ij})_{A_{ij}}`
    per graph: logits (B, N, N, 4), bonds (B, N, N) long, mask (B, N) bool → (B,)."""
    n = logits.shape[1]
    logp = torch.log_softmax(logits, -1).gather(-1, bonds[..., None].clamp_min(0)).squeeze(-1)
    upper = torch.triu(torch.ones(n, n, dtype=torch.bool, device=logits.device), 1)
    keep = (mask[:, :, None] & mask[:, None, :] & upper).to(logp.dtype)
    return (logp * keep).sum((1, 2))


def unlabelled_nll(log_p_labelled: torch.Tensor | np.ndarray | float, log_group: Any, log_aut: Any) -> Any:
    r"""NLL of the unlabelled graph from a K-invariant labelled log-likelihood (nats):
    :math:`-\log p([A] \mid x) = -\log p(A \mid x) - \log |K| + \log |\mathrm{Aut}(A)|` (the orbit of A
    under K has :math:`|K| / |\mathrm{Aut}(A)|` members, all equally likely). Elementwise over arrays."""
    return -log_p_labelled - log_group + log_aut


@dataclass
class _Tensors:
    """A list of :class:`MolGraph` padded to N_MAX: z, mask, bonds, canonical positions, log|K|, log|Aut|."""

    z: torch.Tensor
    mask: torch.Tensor
    bonds: torch.Tensor
    canonical: torch.Tensor
    log_group: torch.Tensor
    log_aut: torch.Tensor

    @classmethod
    def of(cls, graphs: Sequence[MolGraph], n_max: int = N_MAX, ordering: str = "ranks") -> "_Tensors":
        b = len(graphs)
        z, mask = np.full((b, n_max), _PAD, dtype=np.int64), np.zeros((b, n_max), dtype=bool)
        bonds, canonical = np.zeros((b, n_max, n_max), dtype=np.int64), np.zeros((b, n_max), dtype=np.int64)
        for k, g in enumerate(graphs):
            if g.n > n_max:
                raise SymbreakError(f"molecule {g.smiles} has {g.n} heavy atoms, more than n_max = {n_max}")
            z[k, : g.n], mask[k, : g.n], bonds[k, : g.n, : g.n] = g.z, True, g.bonds
            canonical[k, : g.n] = g.dfs if ordering == "dfs" else g.canonical
        f = torch.get_default_dtype()
        return cls(torch.as_tensor(z), torch.as_tensor(mask), torch.as_tensor(bonds), torch.as_tensor(canonical),
                   torch.tensor([g.log_group for g in graphs], dtype=f), torch.tensor([g.log_aut for g in graphs], dtype=f))  # fmt: skip

    def take(self, idx: torch.Tensor) -> "_Tensors":
        return _Tensors(*(getattr(self, k)[idx] for k in ("z", "mask", "bonds", "canonical", "log_group", "log_aut")))


def random_positions(z: torch.Tensor, mask: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """A uniform element of every graph's inversion kernel: (B, N) positions (:func:`kernel_positions`
    with a random order within each element class; padding nodes come last)."""
    keys = torch.rand(z.shape, generator=generator, dtype=torch.float64)
    zz = torch.where(mask, z, torch.full_like(z, _PAD + 1)).to(torch.float64)
    order = torch.argsort(zz * 2 + keys, dim=1)  # keys < 1: by element, then at random
    pos = torch.empty_like(order)
    pos.scatter_(1, order, torch.arange(z.shape[1]).expand_as(order).contiguous())
    return pos


def _breaker_input(model: PairGenerator, data: _Tensors, generator: torch.Generator | None, *, canonical: bool) -> torch.Tensor | None:
    """The breaker's input of a batch: None, seeded noise, the target's canonical positions or random ones."""
    if model.breaker == "none":
        return None
    if model.breaker == "noise":
        return torch.randn(*data.z.shape, model.dim, generator=generator).to(torch.get_default_dtype())
    return data.canonical if canonical else random_positions(data.z, data.mask, generator)


def sample_graphs(model: PairGenerator, data: _Tensors, seed: int) -> list[np.ndarray]:
    """One sampled bond-class matrix (n, n) per graph: the breaker drawn afresh (a random kernel
    ordering, or noise), each pair's class drawn from its softmax (seeded)."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        logits = model(data.z, data.mask, _breaker_input(model, data, gen, canonical=False))
        probs = torch.softmax(logits.to(torch.float64), -1)
        flat = torch.multinomial(probs.reshape(-1, probs.shape[-1]), 1, generator=gen).reshape(probs.shape[:-1])
    out = []
    for k in range(len(flat)):
        n = int(data.mask[k].sum())
        upper = torch.triu(flat[k, :n, :n], 1)
        out.append((upper + upper.T).numpy())
    return out
