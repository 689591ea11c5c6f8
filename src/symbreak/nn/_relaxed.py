r"""Relaxed E(3) convolutions (Hofgard, Wang, Walters, Smidt 2024): learnable symmetry-breaking weights.

A learnable vector :math:`\tilde\theta = \bigoplus_{l \le l_{relaxed},\, p} \theta^{l,p}` (eq. 5) is
tensored with the edge spherical harmonics, and the product replaces them as the filter (eq. 6):

.. math::
    f'_a = \frac{1}{\sqrt{z}} \sum_{b \in \delta(a)} f_b \otimes_{W(\|r_{ab}\|)} \big(\tilde\theta \otimes Y(\hat r_{ab})\big).

θ starts as a pure scalar (only 0e non-zero), where the layer is exactly O(3)-equivariant
(Proposition 4.1); θ lives in the lab frame, so once it learns non-scalar parts the layer is
equivariant exactly to the stabilizer of θ. Conventions: e3nn's (xyz-ordered 1o, component
normalisation); positions in Å; edges ``edge_index[0] = b`` (sender), ``edge_index[1] = a``.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence

import torch
from e3nn import o3
from e3nn.nn import FullyConnectedNet
from torch import nn

from ._basis import cosine_cutoff, edge_spherical_harmonics

__all__ = ["RelaxedWeights", "RelaxedConvolution", "relaxation_penalty", "relaxed_irreps", "relaxed_blocks"]


def relaxed_irreps(l_relaxed: int, parities: Sequence[int] = (1, -1), multiplicity: int = 1) -> o3.Irreps:
    """The irreps of θ: every l ≤ l_relaxed with each parity in ``parities`` (eq. 5), 0e first.

    >>> str(relaxed_irreps(1))
    '1x0e+1x0o+1x1e+1x1o'
    """
    if l_relaxed < 0 or multiplicity < 1 or not parities or any(p not in (1, -1) for p in parities):
        raise ValueError(f"need l_relaxed ≥ 0, multiplicity ≥ 1 and parities from (1, -1); got {l_relaxed}, {multiplicity}, {parities}")
    order = sorted(set(parities), reverse=True)
    irreps = o3.Irreps([(multiplicity, (l, p)) for l in range(l_relaxed + 1) for p in order])
    if (0, 1) not in [(ir.l, ir.p) for _, ir in irreps]:
        raise ValueError("θ needs an even scalar (0e) block: the equivariant starting point")
    return irreps


class RelaxedWeights(nn.Module):
    r"""The relaxed weights θ of one layer, with the irreps that say how they transform.

    Initialised to 1 on the first 0e component and 0 elsewhere: the layer starts equivariant.
    ``relaxed=False`` freezes θ there (the equivariant baseline with the same architecture).

    Any module that defines ``relaxed_blocks()`` takes part in :func:`relaxation_penalty` and
    :func:`symbreak.nn.interpret`: the penalty finds relaxed weights through this method, never
    through class identity, so wrappers and subclasses cannot silently switch it off.
    """

    def __init__(self, irreps: o3.Irreps | str, *, relaxed: bool = True) -> None:
        super().__init__()
        self.irreps = o3.Irreps(irreps)
        init = torch.zeros(self.irreps.dim)
        init[0] = 1.0
        self.theta = nn.Parameter(init, requires_grad=relaxed)
        self.relaxed = relaxed

    def relaxed_blocks(self) -> Iterator[tuple[str, torch.Tensor]]:
        """Yield ``(irrep, θ^{l,p})`` for every block (each copy of a multiplicity separately)."""
        for (mul, ir), sl in zip(self.irreps, self.irreps.slices()):
            for k, block in enumerate(self.theta[sl].reshape(mul, ir.dim)):
                yield str(ir), block

    def forward(self) -> torch.Tensor:
        return self.theta


def relaxed_blocks(model: nn.Module) -> Iterator[tuple[str, str, torch.Tensor]]:
    """Every relaxed block of a model: ``(module name, irrep, θ^{l,p})``, in module order.

    Found through each module's own ``relaxed_blocks()``; a block reported twice (a container
    that re-exports its children's blocks) counts once.
    """
    seen = set()
    for name, module in model.named_modules():
        blocks = getattr(module, "relaxed_blocks", None)
        if not callable(blocks):
            continue
        for ir, block in blocks():
            key = (block.data_ptr(), tuple(block.shape))
            if key not in seen:
                seen.add(key)
                yield name, ir, block


def relaxation_penalty(model: nn.Module, lam: float = 1.0, *, scalar: bool = True) -> torch.Tensor:
    r"""The paper's eq. (9): :math:`\lambda \sum_{0 \le l \le l_{max},\, p = \pm 1} \|\theta^{l,p}\|_2` over all relaxed layers.

    As in the paper the scalar block 0e is included (``scalar=False`` leaves it out: it breaks no
    symmetry, and a frozen θ holds only it, so its term is then a constant with no gradient).
    Measured on the paper's experiments, including it changes no result (docs/results/
    shape-deformation.md, charged-particle.md). Raises if the model has no relaxed weights at all,
    so a penalty can never be silently zero by misconfiguration.
    """
    terms = [block.norm() for _, ir, block in relaxed_blocks(model) if scalar or ir != "0e"]
    if not terms:
        raise ValueError("the model has no relaxed weights (no module defines relaxed_blocks())")
    return lam * torch.stack(terms).sum()


class RelaxedConvolution(nn.Module):
    r"""One relaxed E(3) graph convolution (eq. 6).

    Parameters
    ----------
    irreps_in, irreps_out:
        Node feature irreps (e3nn ``Irreps`` or strings).
    lmax:
        Degree of the edge spherical harmonics :math:`Y(\hat r)` and of the filter.
    l_relaxed, parities, theta_multiplicity:
        θ's irreps: :func:`relaxed_irreps`.
    relaxed:
        False freezes θ at the scalar: an exactly equivariant convolution of the same shape.
    num_basis, cutoff, radial_hidden:
        Radial MLP :math:`W(\|r\|)` on ``num_basis`` Gaussians in [0, cutoff] Å, times a cosine
        envelope (1 at r = 0, so self-loops carry weight).
    num_neighbors:
        Typical neighbour count z of eq. (6), for normalisation.

    Shapes: ``forward(x (N, irreps_in.dim), pos (N, 3), edge_index (2, E)) -> (N, irreps_out.dim)``.
    """

    def __init__(
        self,
        irreps_in: o3.Irreps | str,
        irreps_out: o3.Irreps | str,
        *,
        lmax: int = 2,
        l_relaxed: int = 2,
        parities: Sequence[int] = (1, -1),
        theta_multiplicity: int = 1,
        relaxed: bool = True,
        num_basis: int = 8,
        cutoff: float = 5.0,
        radial_hidden: int = 32,
        num_neighbors: float = 1.0,
    ) -> None:
        super().__init__()
        self.irreps_in, self.irreps_out = o3.Irreps(irreps_in), o3.Irreps(irreps_out)
        self.irreps_sh = o3.Irreps.spherical_harmonics(lmax)
        self.weights = RelaxedWeights(relaxed_irreps(l_relaxed, parities, theta_multiplicity), relaxed=relaxed)
        # the filter θ ⊗ Y keeps every l ≤ lmax, in both parities (θ may be odd)
        self.irreps_filter = o3.Irreps([(1, (l, p)) for l in range(lmax + 1) for p in (1, -1)])
        self.filter_tp = o3.FullyConnectedTensorProduct(self.weights.irreps, self.irreps_sh, self.irreps_filter)
        self.tp = o3.FullyConnectedTensorProduct(self.irreps_in, self.irreps_filter, self.irreps_out, shared_weights=False)
        self.radial = FullyConnectedNet([num_basis, radial_hidden, self.tp.weight_numel], torch.nn.functional.silu)
        self.num_basis, self.cutoff, self.num_neighbors = num_basis, float(cutoff), float(num_neighbors)

    @property
    def theta(self) -> torch.Tensor:
        """θ, (irreps_theta.dim,)."""
        return self.weights.theta

    @property
    def irreps_theta(self) -> o3.Irreps:
        return self.weights.irreps

    def filter(self, vec: torch.Tensor) -> torch.Tensor:
        r""":math:`\tilde\theta \otimes Y(\hat r)` for edge vectors (E, 3): (E, irreps_filter.dim)."""
        sh = edge_spherical_harmonics(self.irreps_sh, vec)
        return self.filter_tp(self.theta.to(sh.dtype).expand(len(sh), -1), sh)

    def forward(self, x: torch.Tensor, pos: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
        sender, receiver = edge_index
        vec = pos[sender] - pos[receiver]
        d = vec.norm(dim=-1)
        centres = torch.linspace(0.0, self.cutoff, self.num_basis, dtype=d.dtype, device=d.device)
        width = self.cutoff / max(self.num_basis - 1, 1)
        basis = torch.exp(-(((d[:, None] - centres) / width) ** 2))
        weight = self.radial(basis) * cosine_cutoff(d, self.cutoff)[:, None]
        msg = self.tp(x[sender], self.filter(vec), weight)
        out = msg.new_zeros((len(x), msg.shape[-1])).index_add_(0, receiver, msg)
        return out / math.sqrt(self.num_neighbors)
