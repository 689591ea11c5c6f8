"""Held-out likelihoods of ``qm9-generation``'s variants: exact (``none``), the mean over seeded
draws (``noise``), and for SymPE, whose likelihood sums over the inversion kernel, upper bounds from
chosen orderings, the exact sum where the kernel is small, and an importance-sampled estimate."""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import numpy as np
import torch

from .._errors import SymbreakError
from ._qm9_data import MolGraph
from ._qm9_model import PairGenerator, _breaker_input, _Tensors, pair_log_likelihood, unlabelled_nll

__all__ = [
    "neighbourhood_orderings", "sympe_nll_bound", "heldout_nll", "kernel_orderings", "exact_sympe_nll", "OrderingProposal", "importance_sympe_nll", "importance_log_weights",
    "NOISE_DRAWS", "IMPORTANCE_SAMPLES", "IMPORTANCE_TEMPERATURES",
]  # fmt: skip

#: seeded draws of the ``noise`` variant's breaker over which its test likelihood is averaged
NOISE_DRAWS = 32
#: orderings drawn per molecule by :func:`importance_sympe_nll`
IMPORTANCE_SAMPLES = 1024
#: the temperatures of :class:`OrderingProposal`'s mixture (inf: the uniform kernel element)
IMPORTANCE_TEMPERATURES = (0.5, 1.0, 2.0, math.inf)


def neighbourhood_orderings(graph: MolGraph, start: np.ndarray) -> np.ndarray:
    """Distinct kernel orderings near ``start`` (n,): the Aut(A)-orbits of ``start`` and of every
    ordering one within-class transposition away from it. Returns (m, n) int; h acts as
    :math:`(h \\cdot g)_{h(i)} = g_i`, which leaves :math:`q(A \\mid x, g)` unchanged."""
    start = np.asarray(start, dtype=np.int64)
    if graph.aut is None or start.shape != (graph.n,):
        raise SymbreakError(f"neighbourhood_orderings: need a MolGraph with automorphisms and start of shape ({graph.n},), got {start.shape}")
    seeds = [start]
    for i, j in itertools.combinations(range(graph.n), 2):
        if graph.z[i] == graph.z[j]:
            moved = start.copy()
            moved[[i, j]] = start[[j, i]]
            seeds.append(moved)
    out = set()
    for g in seeds:
        for h in graph.aut:
            p = np.empty_like(g)
            p[h] = g
            out.add(tuple(p.tolist()))
    return np.array(sorted(out), dtype=np.int64)


def _kernel_log_q(model: PairGenerator, graph: MolGraph, positions: np.ndarray) -> torch.Tensor:
    """:math:`\\log q(A \\mid x, g)` for each row g of ``positions`` (m, n): (m,)."""
    pos = torch.as_tensor(positions)
    data = _Tensors.of([graph], n_max=graph.n)
    k = len(pos)
    with torch.no_grad():
        return pair_log_likelihood(model(data.z.expand(k, -1), data.mask.expand(k, -1), pos), data.bonds.expand(k, -1, -1), data.mask.expand(k, -1))


def sympe_nll_bound(model: PairGenerator, graph: MolGraph, start: np.ndarray) -> float:
    r"""SymPE's upper bound on the unlabelled NLL from a set S of distinct kernel orderings
    (:func:`neighbourhood_orderings` of ``start`` = :math:`g^*`):
    :math:`-\log p([A] \mid x) \le -\log \sum_{g \in S} q(A \mid x, g) + \log |\mathrm{Aut}(A)|`,
    as :math:`p([A] \mid x) = \frac{1}{|\mathrm{Aut}(A)|}\sum_{g \in K} q(A \mid x, g)`; S ⊇ the orbit of
    :math:`g^*`, so it is never above :math:`-\log q(A \mid x, g^*)`."""
    if model.breaker != "sympe":
        raise SymbreakError(f"sympe_nll_bound needs a 'sympe' generator, got {model.breaker!r}")
    return float(-torch.logsumexp(_kernel_log_q(model, graph, neighbourhood_orderings(graph, start)), 0) + graph.log_aut)


def heldout_nll(model: PairGenerator, data: _Tensors, seed: int, draws: int = NOISE_DRAWS, graphs: Sequence[MolGraph] | None = None) -> torch.Tensor:
    """Per-molecule NLL (nats) of the unlabelled graph given x (module docstring): exact for ``none``,
    for ``sympe`` the upper bound :math:`-\\log q(A \\mid x, g^*)`, or with ``graphs`` (the batch's
    :class:`MolGraph` list) the tighter :func:`sympe_nll_bound`, and for ``noise``
    :math:`-\\log \\frac1D \\sum_d q(A \\mid x, \\varepsilon_d)` over ``draws`` seeded draws. Returns (B,)."""
    if graphs is not None and model.breaker == "sympe":
        return torch.tensor([sympe_nll_bound(model, g, data.canonical[k, : g.n].numpy()) for k, g in enumerate(graphs)], dtype=data.log_group.dtype)
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        if model.breaker == "noise":
            logq = torch.stack([pair_log_likelihood(model(data.z, data.mask, _breaker_input(model, data, gen, canonical=False)), data.bonds, data.mask) for _ in range(draws)])
            log_p = torch.logsumexp(logq, 0) - math.log(draws)
            return unlabelled_nll(log_p, data.log_group, data.log_aut)
        logq = pair_log_likelihood(model(data.z, data.mask, _breaker_input(model, data, gen, canonical=True)), data.bonds, data.mask)
        if model.breaker == "sympe":  # p(A|x) ≥ |Aut(A)|/|K| q(A|x, g*): the bound's log|Aut| and log|K| cancel
            return -logq
        return unlabelled_nll(logq, data.log_group, data.log_aut)


def kernel_orderings(z: np.ndarray) -> np.ndarray:
    """Every ordering of the inversion kernel of element labels z (n,): (|K|, n) positions, the
    canonical blocks (:func:`kernel_positions`) with every permutation within each element class;
    the kernel of the bond-less graph coloured by atomic number (:func:`symbreak.graphs.graph_kernel`)."""
    from ..graphs import ColoredGraph, graph_kernel

    z = np.asarray(z, dtype=np.int64)
    return graph_kernel(ColoredGraph.make(len(z), [], colors=z))


def exact_sympe_nll(model: PairGenerator, graph: MolGraph) -> float:
    r"""SymPE's exact NLL of the unlabelled graph, summing the whole kernel:
    :math:`-\log p([A] \mid x) = -\log \sum_{g} q(A \mid x, g) + \log |\mathrm{Aut}(A)|` (nats;
    |K| forward passes, so only for small |K|)."""
    if model.breaker != "sympe":
        raise SymbreakError(f"exact_sympe_nll needs a 'sympe' generator, got {model.breaker!r}")
    return float(-torch.logsumexp(_kernel_log_q(model, graph, kernel_orderings(graph.z)), 0) + graph.log_aut)


class OrderingProposal:
    r"""A law r(g) on the inversion kernel K of element labels z (n,), concentrated near an ordering
    ``start`` (n,) and positive on every element of K: an equal mixture over ``temperatures`` τ of
    Plackett–Luce laws. Within each element block, the nodes are ranked by Plackett–Luce with
    weights :math:`w_i = e^{-s_i / \tau}` (s: ``start``'s positions), and the k-th ranked node takes
    the block's k-th position:

    .. math:: r_\tau(g) = \prod_{\text{blocks}} \prod_k \frac{w_{\sigma_k}}{\sum_{l \ge k} w_{\sigma_l}},

    σ the block's nodes in order of g. τ → 0 gives ``start`` itself, τ = inf the uniform element of
    K (probability 1/|K|), so the mixture covers K whatever the other τ."""

    def __init__(self, z: np.ndarray, start: np.ndarray, temperatures: Sequence[float] = IMPORTANCE_TEMPERATURES) -> None:
        self.z, self.start = np.asarray(z, dtype=np.int64), np.asarray(start, dtype=np.int64)
        if self.z.ndim != 1 or self.start.shape != self.z.shape:
            raise SymbreakError(f"OrderingProposal: z and start must be (n,) of one length, got {self.z.shape} and {self.start.shape}")
        temps = [float(t) for t in temperatures]
        if not temps or any(not t > 0 for t in temps):  # `not t > 0` also refuses nan
            raise SymbreakError(f"OrderingProposal: temperatures must be positive numbers (inf for uniform), got {list(temperatures)}")
        if not any(math.isinf(t) for t in temps):
            raise SymbreakError("OrderingProposal: the temperatures must include inf (the uniform law), or r(g) is not positive on all of K")
        self.temperatures = temps
        self.blocks = [np.flatnonzero(self.z == e) for e in np.unique(self.z)]
        for block in self.blocks:
            if sorted(self.start[block].tolist()) != list(range(int(self.start[block].min()), int(self.start[block].min()) + len(block))):
                raise SymbreakError("OrderingProposal: start is not an element of the kernel (each element class must fill a block of consecutive positions)")

    def sample(self, count: int, generator: np.random.Generator) -> np.ndarray:
        """``count`` orderings (count, n) drawn from r (Gumbel-perturbed keys sorted within each block)."""
        which = generator.integers(len(self.temperatures), size=count)
        out = np.empty((count, len(self.z)), dtype=np.int64)
        for block in self.blocks:
            base = int(self.start[block].min())
            gumbel = generator.gumbel(size=(count, len(block)))
            scale = np.array([0.0 if math.isinf(t) else 1 / t for t in self.temperatures])[which][:, None]
            keys = self.start[block][None, :] * scale - gumbel  # ascending key = Plackett–Luce order of weights e^{-s/τ}
            ranks = np.argsort(np.argsort(keys, axis=1, kind="stable"), axis=1)
            out[:, block] = base + ranks
        return out

    def log_prob(self, orderings: np.ndarray) -> np.ndarray:
        """log r(g) of each row of ``orderings`` (m, n), elements of K: (m,)."""
        g = np.asarray(orderings, dtype=np.int64).reshape(-1, len(self.z))
        per_temp = np.zeros((len(self.temperatures), len(g)))
        for block in self.blocks:
            sigma = block[np.argsort(g[:, block], axis=1)]  # (m, n_e): the block's nodes in order of position
            for k, t in enumerate(self.temperatures):
                if math.isinf(t):
                    per_temp[k] -= math.lgamma(len(block) + 1)
                    continue
                a = -self.start[sigma] / t
                tail = np.logaddexp.accumulate(a[:, ::-1], axis=1)[:, ::-1]  # log Σ_{l ≥ k} w_σl
                per_temp[k] += (a - tail).sum(1)
        return np.logaddexp.reduce(per_temp, axis=0) - math.log(len(self.temperatures))


def importance_sympe_nll(
    model: PairGenerator, graph: MolGraph, start: np.ndarray, *, samples: int = IMPORTANCE_SAMPLES, seed: int = 0,
    temperatures: Sequence[float] = IMPORTANCE_TEMPERATURES,
) -> float:  # fmt: skip
    r"""SymPE's unlabelled NLL by importance sampling over the kernel (nats):
    :math:`-\log \hat Z + \log |\mathrm{Aut}(A)|` with

    .. math:: \hat Z = \sum_{g \in S} q(A \mid x, g) + \frac1M \sum_{m=1}^M [g_m \notin S]\,\frac{q(A \mid x, g_m)}{r(g_m)}, \qquad g_m \sim r,

    S the orderings :func:`sympe_nll_bound` sums exactly (the Aut-orbits of ``start`` and of its
    transpositions) and r the :class:`OrderingProposal` around ``start``. :math:`\hat Z` is unbiased
    for :math:`Z = \sum_{g \in K} q(A \mid x, g)` and never below the sum over S, so the estimate is
    never above :func:`sympe_nll_bound` and, by Jensen, an upper bound on the exact NLL *in
    expectation* (as an importance-weighted bound); when S is all of K it is exact."""
    log_near, log_w = importance_log_weights(model, graph, start, samples=samples, seed=seed, temperatures=temperatures)
    return float(-torch.logaddexp(log_near, torch.logsumexp(log_w, 0) - math.log(len(log_w))) + graph.log_aut)


def importance_log_weights(
    model: PairGenerator, graph: MolGraph, start: np.ndarray, *, samples: int = IMPORTANCE_SAMPLES, seed: int = 0,
    temperatures: Sequence[float] = IMPORTANCE_TEMPERATURES,
) -> tuple[torch.Tensor, torch.Tensor]:  # fmt: skip
    r"""The pieces of :func:`importance_sympe_nll`: :math:`\log \sum_{g \in S} q(A \mid x, g)` (a
    float64 scalar) and the ``samples`` log-weights :math:`\log([g_m \notin S]\, q / r)` (float64,
    -inf for a draw in S), so that disjoint parts of one draw give independent estimates."""
    if model.breaker != "sympe":
        raise SymbreakError(f"importance_sympe_nll needs a 'sympe' generator, got {model.breaker!r}")
    if isinstance(samples, bool) or not isinstance(samples, (int, np.integer)) or samples < 1:
        raise SymbreakError(f"importance_sympe_nll: samples must be a whole number of at least 1, got {samples!r}")
    near = neighbourhood_orderings(graph, start)
    log_near = torch.logsumexp(_kernel_log_q(model, graph, near).double(), 0)
    proposal = OrderingProposal(graph.z, start, temperatures)
    drawn = proposal.sample(int(samples), np.random.default_rng(seed))
    known = {tuple(row) for row in near.tolist()}
    outside = torch.as_tensor([tuple(row) not in known for row in drawn.tolist()])
    log_w = torch.full((int(samples),), -math.inf, dtype=torch.float64)
    if bool(outside.any()):
        picked = drawn[outside.numpy()]
        log_w[outside] = _kernel_log_q(model, graph, picked).double() - torch.as_tensor(proposal.log_prob(picked))
    return log_near, log_w
