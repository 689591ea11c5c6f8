r"""SANN, the symmetry-adapted neural network (SANN paper, §5 and appendix B).

Per molecule, :func:`symbreak.detect_symmetry` gives the canonical frame :math:`F(x)`, the
symmetry-equivalence classes (orbits) and the asymmetric unit. Atom features start from the
canonical coordinates and an element embedding. Each layer passes messages

1. *within* each class (all pairs of an orbit, self-loops included):
   :math:`f_{[i]} = \mathrm{UPD}(\mathrm{AGG}_j\, \phi(f_i, f_j, e_{ij}))`;
2. *across* classes, among the asymmetric unit's representatives (all pairs; for a molecule with
   no symmetry, a radial cutoff), and from each representative to the members of its class:
   :math:`g_{[i]} = \mathrm{UPD}(\mathrm{AGG}_{[j]}\, \psi(f_{[i]}, f_{[j]}, e_{ij}))`;
3. combines the three by attention: :math:`f_i \leftarrow f_i + \mathrm{Attention}(f_i, f_{[i]}, g_{[i]})`.

Edge features are radial Bessel functions times real spherical harmonics of the edge *in the
canonical frame*, both finite at zero length (the self-loops): sin(x)/x by its series, and the
direction of a zero vector taken as "no direction" (only Y⁰). The output is predicted in the
canonical frame and mapped back, :math:`f(x) = F(x)\, \tilde f(F(x)^{-1} x)`, which makes SANN
relaxed-equivariant: :math:`f(g \cdot x) = g\,\sigma\, f(x)` for some :math:`\sigma \in \mathrm{Sym}(x)`,
and exactly equivariant on molecules without symmetry.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from e3nn import o3
from torch import nn

from .._errors import StructureError
from ..detect import detect_symmetry
from ._base import AtomFeatures, VectorModel, scatter_sum
from ..nn._basis import BesselRBF, edge_spherical_harmonics, mlp
from ._registry import register_model

__all__ = ["SANN", "SymmetryGraphs", "symmetry_graphs"]

_GENERIC = np.array([0.8017, 0.4903, 0.3419])  # a direction no symmetry element of a molecule singles out


@dataclass(frozen=True)
class SymmetryGraphs:
    """One molecule's SANN structure (local atom indices).

    frame: (3, 3) canonical axes as columns; canonical: (n, 3) canonical positions; orbit: (n,)
    class index of each atom; representative: (n,) the asymmetric-unit atom of each atom's class;
    within: (2, E_w) all ordered pairs inside each class, self-loops included; across: (2, E_a)
    edges between representatives; point_group: its name.
    """

    frame: np.ndarray
    canonical: np.ndarray
    orbit: np.ndarray
    representative: np.ndarray
    within: np.ndarray
    across: np.ndarray
    point_group: str


def symmetry_graphs(positions: np.ndarray, numbers: np.ndarray, *, tol: float = 0.1, cutoff: float = 8.0) -> SymmetryGraphs:
    """Canonical frame, classes and SANN's graphs of one molecule (positions (n, 3) Å, numbers (n,))."""
    sym = detect_symmetry(positions, numbers, tol=tol)
    n = len(numbers)
    canon = sym.canonical_positions
    orbit = np.empty(n, dtype=int)
    rep = np.empty(n, dtype=int)
    # representatives chosen from canonical coordinates, not atom indices, so that every rotated or
    # permuted copy picks the same points (the paper picks "without loss of generality")
    key = canon @ _GENERIC
    reps = np.array([members[int(np.argmax(key[list(members)]))] for members in sym.orbits], dtype=int)
    for k, members in enumerate(sym.orbits):
        orbit[list(members)] = k
        rep[list(members)] = reps[k]
    within = np.array([(j, i) for members in sym.orbits for i in members for j in members], dtype=int).T
    if sym.order == 1:  # no symmetry: every atom is its own class; connect classes by distance
        d = np.linalg.norm(canon[:, None] - canon[None], axis=-1)
        across = np.array(np.nonzero(d < cutoff))[::-1]
    else:
        across = np.array([(j, i) for i in reps for j in reps], dtype=int).T
    return SymmetryGraphs(np.array(sym.frame), np.array(canon), orbit, rep, within.reshape(2, -1), across.reshape(2, -1), sym.point_group)


class _EdgeBasis(nn.Module):
    """Radial Bessel × real spherical harmonics of canonical edge vectors, finite at zero length."""

    def __init__(self, num_radial: int, num_spherical: int, cutoff: float) -> None:
        super().__init__()
        self.rbf = BesselRBF(num_radial, cutoff)
        self.irreps = o3.Irreps.spherical_harmonics(num_spherical - 1)
        self.dim = num_radial * self.irreps.dim

    def forward(self, vec: torch.Tensor) -> torch.Tensor:
        sh = edge_spherical_harmonics(self.irreps, vec)
        return (self.rbf(vec.norm(dim=-1))[:, :, None] * sh[:, None, :]).flatten(1)


class _Layer(nn.Module):
    def __init__(self, hidden: int, edge_dim: int) -> None:
        super().__init__()
        self.within_msg = mlp([2 * hidden + edge_dim, hidden, hidden])
        self.within_upd = mlp([2 * hidden, hidden, hidden])
        self.across_msg = mlp([2 * hidden + edge_dim, hidden, hidden])
        self.across_upd = mlp([2 * hidden, hidden, hidden])
        self.to_member = mlp([hidden + edge_dim, hidden, hidden])
        self.score = mlp([3 * hidden, hidden, 3])
        self.value = nn.Linear(hidden, hidden)
        self.out = mlp([hidden, hidden, hidden])

    def forward(self, f: torch.Tensor, g: dict[str, torch.Tensor]) -> torch.Tensor:
        n = len(f)
        (wj, wi), (aj, ai) = g["within"], g["across"]
        m = self.within_msg(torch.cat([f[wi], f[wj], g["within_basis"]], -1))
        f_class = self.within_upd(torch.cat([f, scatter_sum(m, wi, n) / g["within_count"]], -1))
        a = self.across_msg(torch.cat([f_class[ai], f_class[aj], g["across_basis"]], -1))
        g_rep = self.across_upd(torch.cat([f_class, scatter_sum(a, ai, n) / g["across_count"]], -1))
        g_atom = self.to_member(torch.cat([g_rep[g["representative"]], g["member_basis"]], -1))
        parts = torch.stack([f, f_class, g_atom], dim=1)  # (n, 3, hidden)
        weights = torch.softmax(self.score(parts.flatten(1)), dim=-1)  # (n, 3)
        return f + self.out((weights[:, :, None] * self.value(parts)).sum(1))


@register_model("sann")
class SANN(VectorModel):
    """The symmetry-adapted neural network. Hyper-parameters as the paper's Table 6: ``layers``
    ∈ {1, 2, 3}, ``num_spherical``, ``num_radial`` ∈ {3, 4, 6}; ``tol`` is detect_symmetry's (Å).

    in_features: width F of per-atom dataset features ``data.x`` (N, F), added to the initial
    features through a linear map; they must be invariant (charges, hybridisation, ...) for the
    relaxed equivariance to hold. 0: the model reads no ``data.x``.
    """

    equivariant = False  # relaxed-equivariant: exact up to the input's own symmetry
    lab_frame_features = False  # features and positions are canonical: "+mlp" is refused

    def __init__(
        self, *, hidden: int = 64, layers: int = 2, num_radial: int = 4, num_spherical: int = 3, cutoff: float = 8.0, tol: float = 0.1, max_z: int = 100, in_features: int = 0, cache_size: int = 100_000
    ) -> None:
        super().__init__()
        self.hidden, self.cutoff, self.tol, self.cache_size = hidden, cutoff, tol, cache_size
        self.in_features = in_features
        self.embedding = nn.Embedding(max_z, hidden)
        self.extra = nn.Linear(in_features, hidden) if in_features else None
        self._x: torch.Tensor | None = None
        self.coords = nn.Linear(3, hidden)
        self.basis = _EdgeBasis(num_radial, num_spherical, cutoff)
        self.layers = nn.ModuleList(_Layer(hidden, self.basis.dim) for _ in range(layers))
        self.head = mlp([hidden, hidden, 3])
        self._cache: OrderedDict[bytes, SymmetryGraphs] = OrderedDict()

    def prepare(self, data: Any) -> None:
        """Reads ``data.x`` (N, in_features) when ``in_features`` > 0."""
        x = getattr(data, "x", None)
        if self.in_features:
            if x is None or x.dim() != 2 or x.shape != (len(data.z), self.in_features):
                got = "none" if x is None else tuple(x.shape)
                raise StructureError(f"SANN(in_features={self.in_features}) needs data.x of shape (N, {self.in_features}) = ({len(data.z)}, {self.in_features}); got {got}")
            if not torch.isfinite(x).all():
                raise StructureError("data.x holds NaN or infinite values")
        self._x = x if self.in_features else None

    def graphs(self, pos: np.ndarray, z: np.ndarray) -> SymmetryGraphs:
        """:func:`symmetry_graphs` of one molecule, memoised on its exact coordinates."""
        key = z.tobytes() + pos.tobytes()
        if key not in self._cache:
            self._cache[key] = symmetry_graphs(pos, z, tol=self.tol, cutoff=self.cutoff)
            if len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        return self._cache[key]

    def _assemble(self, z: torch.Tensor, pos: torch.Tensor, batch: torch.Tensor) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
        counts = torch.bincount(batch).tolist()
        order = torch.argsort(batch, stable=True)
        zs, ps = z[order].cpu().numpy(), pos[order].detach().cpu().double().numpy()
        frames, canon, rep, within, across = [], [], [], [], []
        start = 0
        for n in counts:
            sg = self.graphs(np.ascontiguousarray(ps[start : start + n]), zs[start : start + n])
            frames.append(np.repeat(sg.frame[None], n, 0))
            canon.append(sg.canonical)
            rep.append(sg.representative + start)
            within.append(sg.within + start)
            across.append(sg.across + start)
            start += n
        def cat(parts: list[np.ndarray], axis: int, dtype: torch.dtype) -> torch.Tensor:
            return torch.as_tensor(np.concatenate(parts, axis=axis), dtype=dtype, device=pos.device)

        can = cat(canon, 0, pos.dtype)
        g = {"within": cat(within, 1, torch.long), "across": cat(across, 1, torch.long), "representative": cat(rep, 0, torch.long)}
        n = len(z)
        g["within_basis"] = self.basis(can[g["within"][0]] - can[g["within"][1]])
        g["across_basis"] = self.basis(can[g["across"][0]] - can[g["across"][1]])
        g["member_basis"] = self.basis(can - can[g["representative"]])
        one = torch.ones(1, dtype=pos.dtype, device=pos.device)
        g["within_count"] = scatter_sum(one.expand(g["within"].shape[1], 1), g["within"][1], n).clamp_min(1)
        g["across_count"] = scatter_sum(one.expand(g["across"].shape[1], 1), g["across"][1], n).clamp_min(1)
        g["frame"], g["canonical"] = cat(frames, 0, pos.dtype), can
        return g, order

    def features(self, z: torch.Tensor, pos: torch.Tensor, batch: torch.Tensor) -> AtomFeatures:
        g, order = self._assemble(z, pos, batch)
        f = self.embedding(z[order]) + self.coords(g["canonical"])
        if self.extra is not None:
            f = f + self.extra(self._x[order].to(f.dtype))
        for layer in self.layers:
            f = layer(f, g)
        inverse = torch.argsort(order)
        self._frames = g["frame"][inverse]  # the readout maps canonical vectors back to the lab
        return AtomFeatures(f[inverse], positions=g["canonical"][inverse])

    def vector_head(self, feats: AtomFeatures, pos: torch.Tensor, batch: torch.Tensor) -> torch.Tensor:
        local = self.head(feats.scalars)  # (N, 3) in each molecule's canonical frame
        return torch.einsum("nij,nj->ni", self._frames, local)
