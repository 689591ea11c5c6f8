r"""Radial and angular bases with smooth cutoffs, shared by the layers and models."""

from __future__ import annotations

import math

import torch
from torch import nn

__all__ = ["GaussianRBF", "BesselRBF", "cosine_cutoff", "legendre", "edge_spherical_harmonics", "ShiftedSoftplus", "mlp"]


def cosine_cutoff(d: torch.Tensor, cutoff: float) -> torch.Tensor:
    r""":math:`\tfrac12(\cos(\pi d / r_c) + 1)` inside the cutoff, 0 outside (SchNet/PaiNN)."""
    return torch.where(d < cutoff, 0.5 * (torch.cos(math.pi * d / cutoff) + 1.0), torch.zeros_like(d))


class GaussianRBF(nn.Module):
    r"""Gaussians :math:`\exp(-\gamma (d - \mu_k)^2)` on an even grid of centres in [0, r_c] (SchNet)."""

    def __init__(self, num: int, cutoff: float) -> None:
        super().__init__()
        centres = torch.linspace(0.0, cutoff, num)
        self.register_buffer("centres", centres)
        self.gamma = 0.5 / float(centres[1] - centres[0]) ** 2

    def forward(self, d: torch.Tensor) -> torch.Tensor:
        """d: (E,) → (E, num)."""
        return torch.exp(-self.gamma * (d[:, None] - self.centres.to(d.dtype)) ** 2)


class BesselRBF(nn.Module):
    r"""Radial Bessel functions :math:`\sqrt{2/r_c}\,\sin(n\pi d/r_c)/d` (DimeNet, PaiNN).

    Numerically safe at d = 0, where it tends to :math:`\sqrt{2/r_c}\, n\pi/r_c`.
    """

    def __init__(self, num: int, cutoff: float) -> None:
        super().__init__()
        self.register_buffer("freq", torch.arange(1, num + 1) * math.pi / cutoff)
        self.norm = math.sqrt(2.0 / cutoff)

    def forward(self, d: torch.Tensor) -> torch.Tensor:
        """d: (E,) → (E, num)."""
        x = d[:, None] * self.freq.to(d.dtype)
        safe = torch.where(x.abs() < 1e-4, torch.ones_like(x), x)
        sinc = torch.where(x.abs() < 1e-4, 1.0 - x * x / 6.0, torch.sin(safe) / safe)
        return self.norm * self.freq.to(d.dtype) * sinc


def legendre(cos: torch.Tensor, lmax: int) -> torch.Tensor:
    r"""Legendre polynomials :math:`P_0..P_{l_{max}}` of cos α by Bonnet's recursion: (T,) → (T, lmax+1)."""
    out = [torch.ones_like(cos), cos]
    for n in range(1, lmax):
        out.append(((2 * n + 1) * cos * out[n] - n * out[n - 1]) / (n + 1))
    return torch.stack(out[: lmax + 1], dim=-1)


def edge_spherical_harmonics(irreps: str | object, vec: torch.Tensor) -> torch.Tensor:
    r"""Real spherical harmonics (e3nn, component normalisation) of edge directions (E, 3).

    A zero vector (a self-loop) has no direction: it gets :math:`Y = (1, 0, \dots, 0)` instead of NaN.
    """
    from e3nn import o3

    d = vec.norm(dim=-1, keepdim=True)
    unit = torch.where(d > 0, vec / torch.where(d > 0, d, torch.ones_like(d)), torch.zeros_like(vec))
    return o3.spherical_harmonics(irreps, unit, normalize=False, normalization="component")


class ShiftedSoftplus(nn.Module):
    r""":math:`\ln(1 + e^x) - \ln 2`: SchNet's smooth activation, zero at zero."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.softplus(x) - math.log(2.0)


def mlp(sizes: list[int], act: type[nn.Module] = nn.SiLU) -> nn.Sequential:
    """Dense layers ``sizes[0] → ... → sizes[-1]`` with ``act`` between them (none after the last)."""
    layers: list[nn.Module] = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        layers += [nn.Linear(a, b), act()]
    return nn.Sequential(*layers[:-1])
