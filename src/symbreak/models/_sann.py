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

import copy
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from e3nn import o3
from torch import nn

from .._errors import StructureError, SymbreakError
from ..detect import detect_symmetry
from ._base import AtomFeatures, VectorModel, scatter_sum
from ._inputs import DERIVED, Inputs
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


def symmetry_graphs(positions: np.ndarray, numbers: np.ndarray, *, tol: float = 0.1, cutoff: float = 8.0, classes: bool = True) -> SymmetryGraphs:
    """Canonical frame, classes and SANN's graphs of one molecule (positions (n, 3) Å, numbers (n,)).

    classes: False keeps the canonical frame but builds the graphs as for a molecule without
    symmetry (every atom its own class, across-class edges by distance): an ablation of the
    class structure alone."""
    sym = detect_symmetry(positions, numbers, tol=tol)
    n = len(numbers)
    canon = sym.canonical_positions
    orbits = sym.orbits if classes else [(i,) for i in range(n)]
    orbit = np.empty(n, dtype=int)
    rep = np.empty(n, dtype=int)
    # representatives chosen from canonical coordinates, not atom indices, so that every rotated or
    # permuted copy picks the same points (the paper picks "without loss of generality")
    key = canon @ _GENERIC
    reps = np.array([members[int(np.argmax(key[list(members)]))] for members in orbits], dtype=int)
    for k, members in enumerate(orbits):
        orbit[list(members)] = k
        rep[list(members)] = reps[k]
    within = np.array([(j, i) for members in orbits for i in members for j in members], dtype=int).T
    if sym.order == 1 or not classes:  # no symmetry: every atom is its own class; connect classes by distance
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
    """One SANN layer. mix: ``"attention"`` (the paper's softmax over the three parts) or ``"sum"``
    (their mean, an ablation); aggregate: ``"mean"`` (messages averaged over each receiver's
    edges) or ``"sum"`` (added, as EGNN and most message-passing networks do); stages: ``"two"``
    (the paper's: within, then across, then the mix) or ``"one"`` (an ablation: one message MLP
    over the within- and across-class edges together and one update MLP, EGNN's kind of layer;
    with classes, atoms that are not representatives then hear only their own class)."""

    def __init__(self, hidden: int, edge_dim: int, mix: str = "attention", aggregate: str = "mean", stages: str = "two") -> None:
        super().__init__()
        self.mix, self.aggregate, self.stages = mix, aggregate, stages
        self.within_msg = mlp([2 * hidden + edge_dim, hidden, hidden])
        self.within_upd = mlp([2 * hidden, hidden, hidden])
        if stages == "one":  # the message and update MLPs are the whole layer
            return
        self.across_msg = mlp([2 * hidden + edge_dim, hidden, hidden])
        self.across_upd = mlp([2 * hidden, hidden, hidden])
        self.to_member = mlp([hidden + edge_dim, hidden, hidden])
        self.score = mlp([3 * hidden, hidden, 3])
        self.value = nn.Linear(hidden, hidden)
        self.out = mlp([hidden, hidden, hidden])

    def forward(self, f: torch.Tensor, g: dict[str, torch.Tensor]) -> torch.Tensor:
        n = len(f)
        (wj, wi), (aj, ai) = g["within"], g["across"]
        mean = self.aggregate == "mean"
        if self.stages == "one":  # one message stage over every edge, as EGNN's layer: f + φ_h(f, Σ φ_e)
            i, j = torch.cat([wi, ai]), torch.cat([wj, aj])
            m = self.within_msg(torch.cat([f[i], f[j], torch.cat([g["within_basis"], g["across_basis"]])], -1))
            agg = scatter_sum(m, i, n)  # counted afresh: the stored counts are clamped to 1, which an atom without across edges would miscount
            return f + self.within_upd(torch.cat([f, agg / scatter_sum(torch.ones_like(m[:, :1]), i, n).clamp_min(1) if mean else agg], -1))
        m = self.within_msg(torch.cat([f[wi], f[wj], g["within_basis"]], -1))
        f_class = self.within_upd(torch.cat([f, scatter_sum(m, wi, n) / (g["within_count"] if mean else 1)], -1))
        a = self.across_msg(torch.cat([f_class[ai], f_class[aj], g["across_basis"]], -1))
        g_rep = self.across_upd(torch.cat([f_class, scatter_sum(a, ai, n) / (g["across_count"] if mean else 1)], -1))
        g_atom = self.to_member(torch.cat([g_rep[g["representative"]], g["member_basis"]], -1))
        parts = torch.stack([f, f_class, g_atom], dim=1)  # (n, 3, hidden)
        if self.mix == "attention":
            weights = torch.softmax(self.score(parts.flatten(1)), dim=-1)  # (n, 3)
        else:
            weights = parts.new_full(parts.shape[:2], 1 / 3)
        return f + self.out((weights[:, :, None] * self.value(parts)).sum(1))


#: the batch attributes :meth:`SANN.prepare_data` adds (PyG offsets the ``*_index`` ones when batching)
_PREPARED = ("sann_frame", "sann_canonical", "sann_rep_index", "sann_within_index", "sann_across_index")
DERIVED.update(_PREPARED)


@register_model("sann")
class SANN(VectorModel):
    r"""The symmetry-adapted neural network. Hyper-parameters as the paper's Table 6: ``layers``
    ∈ {1, 2, 3}, ``num_spherical``, ``num_radial`` ∈ {3, 4, 6}; ``tol`` is detect_symmetry's (Å).

    readout: ``"frame"`` (the paper's: an MLP predicts the vector in the canonical frame, rotated
    back), ``"relative"`` (an ablation: :math:`\sum_{j \ne i} w(f_i, f_j, |x_{ij}|)\,(x_i - x_j)`
    over the molecule's other atoms, EGNN's kind of readout, on SANN's features; the relaxed
    equivariance holds, as the weights see only the frame-chosen features and distances) or
    ``"egnn"`` (the same as a mean over the other atoms, with w's last layer initialised small
    (gain 0.001) as EGNN's coordinate update is: ``"relative"`` starts from outputs far
    too large: a first-epoch loss 30 to 300× that of predicting zero on the dipoles, a handicap of its own),
    ``"egnn-local"`` (as ``"egnn"``, over the neighbours within ``cutoff`` only, as EGNN's step) or ``"egnn-every"`` (as ``"egnn"``, with w the sum of one
    weight function per layer's features, the embedding's included, as EGNN moves its atoms in
    every layer).
    coords: add each atom's canonical coordinates to its initial features (the paper's choice);
    False leaves the element embedding alone, so geometry enters through the edges only (an
    ablation: absolute canonical coordinates are what a frame that jumps between near-symmetric
    molecules changes most).
    readout_depth: the number of linear maps of the readout's MLP (2: the paper's one hidden layer;
    EGNN's vector weight φ_x∘φ_e has 4). pair_distance: what the pair readouts' w reads of the
    distance, ``"linear"`` :math:`|x_{ij}|` or ``"squared"`` :math:`|x_{ij}|^2` (as EGNN's φ_e does).
    mix, aggregate, classes, stages: ablations of the layer (:class:`_Layer`). mix ``"sum"`` replaces the attention over
    (f_i, f_[i], g_[i]) by their mean; aggregate ``"sum"`` adds messages instead of averaging them;
    classes False keeps the canonical frame but passes messages as for a molecule without symmetry
    (every atom its own class, across-class edges by distance).
    in_features: width F of invariant per-atom inputs ``data.x`` (N, F) (charges, hybridisation,
    ...), added to the initial features through a linear map; the relaxed equivariance holds.
    in_vectors: vector inputs ``data.vectors`` (N, C, 3), read in the canonical frame,
    :math:`F(x)^\top v_i`. The frame is chosen from the positions alone, so with vector inputs
    SANN is exactly equivariant on structures without symmetry, but on a symmetric one its answer
    depends on which of the symmetry-related frames was picked: relaxed equivariance does not
    hold for the pair (x, v), which has less symmetry than x.

    Symmetry detection runs on NumPy: :meth:`prepare_data` does it once per structure when a data
    set is built (the benchmark does), so training steps are pure tensor code on any device; a
    batch without it is detected on first sight and memoised (``cache_size`` structures).
    """

    symmetry = "relaxed"  # exact up to the input's own symmetry
    lab_frame_features = False  # features and positions are canonical: "+mlp" is refused

    def __init__(
        self, *, hidden: int = 64, layers: int = 2, num_radial: int = 4, num_spherical: int = 3, cutoff: float = 8.0, tol: float = 0.1, max_z: int = 100,
        in_features: int = 0, in_vectors: int = 0, cache_size: int = 100_000, coords: bool = True, readout: str = "frame",
        mix: str = "attention", aggregate: str = "mean", classes: bool = True, stages: str = "two", readout_depth: int = 2, pair_distance: str = "linear",
    ) -> None:  # fmt: skip
        super().__init__()
        options = (("mix", mix, ("attention", "sum")), ("aggregate", aggregate, ("mean", "sum")), ("classes", classes, (True, False)), ("stages", stages, ("two", "one")),
                   ("pair_distance", pair_distance, ("linear", "squared")))  # fmt: skip
        for name, value, allowed in options:
            if not any(value is a or (isinstance(a, str) and value == a) for a in allowed):
                raise SymbreakError(f"SANN: {name} must be {' or '.join(map(repr, allowed))}, got {value!r}")
        if not isinstance(coords, bool):
            raise SymbreakError(f"SANN: coords must be True or False, got {coords!r}")
        if readout not in ("frame", "relative", "egnn", "egnn-local", "egnn-every"):
            raise SymbreakError(f"SANN: readout must be 'frame', 'relative', 'egnn', 'egnn-local' or 'egnn-every', got {readout!r}")
        if readout == "frame" and pair_distance != "linear":  # an option that would change the key and not the model
            raise SymbreakError("SANN: pair_distance applies to the pair readouts ('relative', 'egnn', ...), not to readout='frame'")
        self.hidden, self.cutoff, self.tol, self.cache_size, self.classes = hidden, cutoff, tol, cache_size, classes
        self.pair_distance = pair_distance
        self.init_inputs(hidden, max_z, in_features, in_vectors)
        self.coords = nn.Linear(3, hidden) if coords else None
        self.basis = _EdgeBasis(num_radial, num_spherical, cutoff)
        self.layers = nn.ModuleList(_Layer(hidden, self.basis.dim, mix, aggregate, stages) for _ in range(layers))
        self.readout = readout
        inner = [hidden] * (readout_depth - 1)  # the readout's hidden widths: readout_depth linear maps in all
        self.head = mlp([hidden, *inner, 3]) if readout == "frame" else mlp([2 * hidden + 1, *inner, 1])
        # egnn-every: one weight function per layer's features, the embedding's included (EGNN
        # moves its atoms in every layer, so its first step is a law of element pairs and distances)
        self.every = nn.ModuleList(mlp([2 * hidden + 1, *inner, 1]) for _ in range(layers)) if readout == "egnn-every" else None
        for head in [self.head, *(self.every or [])] if readout.startswith("egnn") else []:
            nn.init.xavier_uniform_(head[-1].weight, gain=0.001)  # EGNN's start: small vectors, not full-size relative ones
        self.vector_in = nn.Linear(3 * in_vectors, hidden) if in_vectors else None
        self._cache: OrderedDict[bytes, SymmetryGraphs] = OrderedDict()

    def graphs(self, pos: np.ndarray, z: np.ndarray) -> SymmetryGraphs:
        """:func:`symmetry_graphs` of one molecule, memoised on its exact coordinates."""
        key = z.tobytes() + pos.tobytes()
        if key not in self._cache:
            self._cache[key] = symmetry_graphs(pos, z, tol=self.tol, cutoff=self.cutoff, classes=self.classes)
            if len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        return self._cache[key]

    def _arrays(self, pos: np.ndarray, z: np.ndarray, start: int = 0) -> dict[str, np.ndarray]:
        """One molecule's graphs as the ``sann_*`` arrays, atom indices offset by ``start``."""
        sg = self.graphs(np.ascontiguousarray(pos), z)
        return {
            "sann_frame": np.repeat(sg.frame[None], len(z), 0), "sann_canonical": sg.canonical, "sann_rep_index": sg.representative + start,
            "sann_within_index": sg.within + start, "sann_across_index": sg.across + start,
        }  # fmt: skip

    def prepare_data(self, data: Any) -> Any:
        """A copy of one structure's ``data`` with its symmetry graphs as tensors (``sann_*``), so
        :meth:`features` needs no NumPy: canonical frame and positions, representatives, within-
        and across-class edges (detected at this model's ``tol`` on ``data.pos``)."""
        out = copy.copy(data)
        for key, value in self._arrays(data.pos.detach().cpu().double().numpy(), data.z.cpu().numpy()).items():
            # on the CPU until a batch moves; long for the indices
            setattr(out, key, torch.as_tensor(np.ascontiguousarray(value), device="cpu", dtype=torch.long if key.endswith("index") else None))
        return out

    def _detect(self, inputs: Inputs) -> dict[str, torch.Tensor]:
        """The prepared tensors of a batch that has none (molecules in batch order, which PyG keeps sorted)."""
        batch, pos = inputs.batch, inputs.pos
        if inputs.num_graphs > 1 and bool((batch[1:] < batch[:-1]).any()):
            raise StructureError("SANN needs the batch vector sorted (atoms of each molecule together), as PyG makes it")
        counts = torch.bincount(batch, minlength=inputs.num_graphs).tolist()
        zs, ps = inputs.z.cpu().numpy(), pos.detach().cpu().double().numpy()
        starts = np.cumsum([0] + counts[:-1])
        parts = [self._arrays(ps[s : s + n], zs[s : s + n], int(s)) for s, n in zip(starts, counts)]
        axis = {"sann_within_index": 1, "sann_across_index": 1}
        return {k: torch.as_tensor(np.concatenate([p[k] for p in parts], axis=axis.get(k, 0)), device=pos.device) for k in _PREPARED}

    def _graph(self, inputs: Inputs) -> dict[str, torch.Tensor]:
        data, pos = inputs.data, inputs.pos
        if all(getattr(data, k, None) is not None for k in _PREPARED):
            pre = {k: getattr(data, k).to(pos.device) for k in _PREPARED}
        else:
            pre = self._detect(inputs)
        can = pre["sann_canonical"].to(pos.dtype)
        g = {"within": pre["sann_within_index"], "across": pre["sann_across_index"], "representative": pre["sann_rep_index"]}
        n = len(pos)
        g["within_basis"] = self.basis(can[g["within"][0]] - can[g["within"][1]])
        g["across_basis"] = self.basis(can[g["across"][0]] - can[g["across"][1]])
        g["member_basis"] = self.basis(can - can[g["representative"]])
        one = torch.ones(1, dtype=pos.dtype, device=pos.device)
        g["within_count"] = scatter_sum(one.expand(g["within"].shape[1], 1), g["within"][1], n).clamp_min(1)
        g["across_count"] = scatter_sum(one.expand(g["across"].shape[1], 1), g["across"][1], n).clamp_min(1)
        g["frame"], g["canonical"] = pre["sann_frame"].to(pos.dtype), can
        return g

    def features(self, inputs: Inputs) -> AtomFeatures:
        g = self._graph(inputs)
        f = self.embed(inputs)
        if self.coords is not None:
            f = f + self.coords(g["canonical"])
        if self.vector_in is not None:  # vector inputs in the canonical frame: F^T v
            f = f + self.vector_in(torch.einsum("nij,nci->ncj", g["frame"], inputs.vectors.to(f.dtype)).flatten(1))
        seen = [f]  # egnn-every reads every layer's features, the embedding's included, side by side
        for layer in self.layers:
            f = layer(f, g)
            if self.every is not None:
                seen.append(f)
        return AtomFeatures(torch.cat(seen, -1) if self.every is not None else f, frame=g["frame"])

    def vector_head(self, feats: AtomFeatures, inputs: Inputs) -> torch.Tensor:
        if self.readout != "frame":
            from ._graph import fully_connected_edges, radius_edges

            # egnn-local: the neighbours within the cutoff, as EGNN's step; the others: every other atom
            j, i = radius_edges(inputs.pos, inputs.batch, self.cutoff) if self.readout == "egnn-local" else fully_connected_edges(inputs.batch)
            rel = inputs.pos[i] - inputs.pos[j]
            f = feats.scalars
            dist = ((rel * rel).sum(-1, keepdim=True) if self.pair_distance == "squared" else rel.norm(dim=-1, keepdim=True)).to(f.dtype)
            if self.every is None:
                w = self.head(torch.cat([f[i], f[j], dist], -1))  # (E, 1)
            else:  # Σ over the embedding and every layer l < L of w_l(f^l_i, f^l_j, |x_ij|); the last layer's by self.head
                parts = f.split(self.hidden, dim=-1)
                w = sum(head(torch.cat([p[i], p[j], dist], -1)) for head, p in zip([*self.every, self.head], parts))
            out = scatter_sum(w * rel.to(f.dtype), i, len(f))
            if self.readout != "relative":  # the mean over the other atoms, as EGNN's coordinate update
                out = out / torch.bincount(i, minlength=len(f)).clamp_min(1).to(f.dtype)[:, None]
            return out
        local = self.head(feats.scalars)  # (N, 3) in each molecule's canonical frame
        return torch.einsum("nij,nj->ni", feats.frame, local)  # back to the lab: F(x) f̃
