r"""``+learned-canon``: learned canonicalization — a small equivariant network predicts each structure's frame.

Canonicalization (Kaba et al., ICML 2023; the equiadapt library) makes a model equivariant by
evaluating it in a frame that turns with the input. Here a small O(3)-equivariant network
(:class:`FrameNetwork`) predicts three polar vectors per structure, :math:`V(x) \in \mathbb R^{3
\times 3}` (columns), and Gram–Schmidt turns them into an orthogonal frame

.. math:: R(x) = \mathrm{GS}(V(x)) \in O(3), \qquad R(gx) = g\,R(x) \quad \text{for every } g \in O(3),

since Gram–Schmidt commutes with orthogonal maps. Three *polar* vectors, not two and their cross
product: the cross product is a pseudovector, which would make the frame equivariant to rotations
only. So :math:`\det R = \operatorname{sign}\det V` flips under a reflection, and the canonical pose
:math:`R^\top (x - \bar x)` is invariant under all of O(3), handedness included.

**How a model reads it.** The frame's axes :math:`e_1, e_2, e_3` (R's columns) go to every atom of
the structure as three vector inputs, ``data.vectors`` (N, 3, 3) (channels in the order
:math:`e_1, e_2, e_3`), like every other input of :mod:`symbreak.models`. For an exactly equivariant
model :math:`f(x, v)`, taking :math:`g = R^\top` in :math:`f(gx, gv) = g f(x, v)` gives

.. math:: f(x, R(x)) = R(x)\, h\big(R(x)^\top x\big), \qquad h(y) = f(y, I),

which is canonicalization in equiadapt's sense: the backbone h is an arbitrary (not equivariant)
function of the canonical pose, and its vector outputs are turned back by R. A model that is not
exactly equivariant (``+noise``, ``+mlp``) reads the axes as any other input and is not made
equivariant by them.

**Symmetric structures.** If x has a non-trivial stabilizer :math:`G_x` (its point group), an
equivariant network's pooled outputs are :math:`G_x`-invariant, :math:`hV(x) = V(hx) = V(x)`, so
they lie in the subspace every :math:`h \in G_x` fixes, at most a plane: :math:`\det V = 0` and no
frame is defined. Any frame of x is defined only up to its stabilizer — if R is one, every
:math:`hR` is another. The frame network therefore reads, on such a structure, one draw of its
inversion kernel :math:`\tilde g \in K(x) = F^\top G_x` (:func:`symbreak.detect.inversion_kernel`,
uniform, seeded; the draw SymPE makes, Lawrence et al., ICLR 2025) as a tie-breaker: the frame
:math:`T = \tilde g^\top` it defines, which the network starts from and learns to correct,
:math:`V = T + \text{(learned terms in } x \text{ and } T)` (:class:`FrameNetwork`). The pair (x, T)
has a trivial stabilizer, so :math:`R = \mathrm{GS}(V(x, T))` is a frame. The draws
:math:`\tilde g = F^\top h` give :math:`T = h^\top F` and, by equivariance, the frames
:math:`h^\top R_F`: the |G_x| possible frames are exactly the coset :math:`G_x R_F`, each with
probability :math:`1/|G_x|`; and as :math:`K(gx) = K(x) g^{-1}`, the law of the frame of gx is g
times the law of the frame of x. The model's output on a symmetric structure is one element of
the orbit :math:`G_x \cdot f(x)` (relaxed equivariance), and the outputs over all draws form that
orbit, a set that turns with the structure (``set_valued``, :func:`learned_canon_outputs`). At
initialisation the learned terms are small, so R starts at the drawn kernel frame (``+canon``'s
frame up to the stabilizer) and training moves it.

On a structure without symmetry (``|G_x| = 1``) there is nothing to break and no tie-breaker is
read (T = 0): the frame is a deterministic, exactly equivariant function of x alone, continuous
wherever V is not degenerate, with no detected frame in it; the model is exactly equivariant there
(flags: relaxed, which the conformance suite checks).

Where the three predicted vectors are nearly dependent all the same (Hadamard ratio
:math:`|\det V| / \prod_k |v_k|` below :data:`DEGENERATE_FRAME`: a network that has not learned to
span space, a structure just outside the detection tolerance of a symmetry), the frame falls back
to the drawn kernel element's frame :math:`\tilde g^\top` (on a structure without symmetry, its
detected canonical frame F), which is equivariant in law too; no gradient reaches the frame
network from those structures. Two discontinuities are thus declared: at the detection tolerance
``tol`` (a symmetry is detected and the tie-breaker switches on) and at :data:`DEGENERATE_FRAME`.
No frame of O(3) on point clouds can be continuous everywhere (Dym, Lawrence & Siegel, ICML 2024).

**The prior.** Following equiadapt's ``get_prior_regularization_loss`` for continuous groups, the
frame is pulled toward the identity on the training data, so the backbone sees the data in the
pose it was given when nothing else decides:

.. math:: \mathcal L_\text{prior} = \frac{1}{|B_\text{learned}|}\sum_{b} \lVert R_b - I \rVert_F^2
          = \frac{1}{|B_\text{learned}|}\sum_b \big(6 - 2 \operatorname{tr} R_b\big),

over the structures of the last forward pass whose frame was learned (not a fallback). It is 0
only at R = I, and at least 4 for an improper frame (its trace is at most 1). On a symmetric
structure the frames :math:`hR` cannot all be I: the expected prior over the draw is
:math:`6 - 2\operatorname{tr}(P R)`, with :math:`P = \frac{1}{|G_x|}\sum_h h` the projector onto the
vectors :math:`G_x` fixes, at best :math:`6 - 2 \operatorname{rank} P`.
Training adds it through :func:`canonicalization_prior` (``fit(..., regularizer=canonicalization_prior)``),
weighted by each input's ``prior_weight``.

>>> import torch
>>> from types import SimpleNamespace
>>> from symbreak.models import build_model
>>> model = build_model("egnn+learned-canon", hidden=8, layers=1).double().eval()
>>> x = SimpleNamespace(z=torch.tensor([6, 7, 8, 1]), pos=torch.tensor([[0.0, 0, 0], [1.3, 0.1, 0], [-0.2, 1.1, 0.3], [0.4, -0.5, 1.2]], dtype=torch.float64))
>>> frames, learned = model.source.frames(x)
>>> frames.shape, bool(learned.all()), torch.allclose(frames[0].T @ frames[0], torch.eye(3, dtype=torch.float64))
(torch.Size([1, 3, 3]), True, True)
>>> model(x).shape
torch.Size([4, 3])
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from .._errors import StructureError, SymbreakError
from ..nn._basis import mlp
from ._base import scatter_sum
from ._choice import ChoiceInput, every_choice
from ._graph import structure_edges
from ._inputs import read_inputs
from ._registry import register_input

__all__ = ["LearnedCanonicalization", "FrameNetwork", "gram_schmidt", "canonicalization_prior", "learned_canon_outputs", "DEGENERATE_FRAME"]

#: below this Hadamard ratio :math:`|\det V| / (|v_1| |v_2| |v_3|) \in [0, 1]` of the predicted
#: vectors, a frame is degenerate and the drawn inversion-kernel frame is used instead (the ratio is
#: O(3)-invariant, so the choice is too); at 1e-3 Gram–Schmidt loses at most ~3 digits, so a float32
#: frame is still good to ~1e-4
DEGENERATE_FRAME = 1e-3
#: norms below this count as zero in Gram–Schmidt (the vectors' own scale is arbitrary; this only keeps it finite)
_TINY = 1e-12


def gram_schmidt(vectors: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Orthonormalise the columns of ``vectors`` (B, 3, 3) in order: the frame R (B, 3, 3), columns
    :math:`e_1, e_2, e_3`, with :math:`R(gV) = g R(V)` for orthogonal g and :math:`\det R =
    \operatorname{sign} \det V`; and the Hadamard ratio :math:`|\det V| / \prod_k |v_k|` (B,), 1 for
    orthogonal columns, 0 for dependent ones. Finite (and differentiable) even where V is degenerate.

    >>> r, q = gram_schmidt(torch.tensor([[[2.0, 1.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, -3.0]]]))
    >>> r[0].tolist(), round(float(q[0]), 4)
    ([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, -1.0]], 0.7071)
    """
    a, b, c = vectors.unbind(-1)

    def norm(v: torch.Tensor) -> torch.Tensor:
        return (v * v).sum(-1, keepdim=True).clamp_min(_TINY**2).sqrt()

    e1 = a / norm(a)
    b_perp = b - (e1 * b).sum(-1, keepdim=True) * e1
    e2 = b_perp / norm(b_perp)
    c_perp = c - (e1 * c).sum(-1, keepdim=True) * e1 - (e2 * c).sum(-1, keepdim=True) * e2
    e3 = c_perp / norm(c_perp)
    ratio = (norm(b_perp) / norm(b) * norm(c_perp) / norm(c)).squeeze(-1)  # |det V| / (|a||b||c|)
    ratio = torch.where((norm(a).squeeze(-1) > _TINY) & (norm(b).squeeze(-1) > _TINY) & (norm(c).squeeze(-1) > _TINY), ratio, torch.zeros_like(ratio))
    return torch.stack([e1, e2, e3], dim=-1), ratio


class FrameNetwork(nn.Module):
    r"""A small EGNN-style network from a structure (and a tie-breaking frame T) to three vectors: (B, 3, 3).

    .. math::
        m_{ij} &= \phi_e\big(h_i, h_j, \lVert r_{ij}\rVert^2, T_b^\top r_{ij}\big), \qquad
        h_i \leftarrow h_i + \phi_h\Big(h_i, \textstyle\sum_j c(r_{ij})\, m_{ij}\Big), \\
        V_b &= \sum_{i \in b} \sum_j c(r_{ij})\; r_{ij}\, \phi_x(m_{ij})^\top + T_b\,\big(I + \psi(\bar h_b)\big),

    with :math:`h^0_i` an embedding of :math:`z_i`, :math:`r_{ij} = x_j + s_{ij} - x_i` over the
    radius graph (periodic images where the batch carries a cell: :func:`~symbreak.models.structure_edges`),
    :math:`c(r) = \tfrac12(\cos(\pi r / r_c) + 1)` a smooth cutoff (V is continuous in x),
    :math:`\bar h_b` the mean of the structure's features and :math:`\psi` a 3 × 3 matrix of them.
    :math:`\phi_e` reads (i, j) in order, so the sum over edges does not cancel.

    T (B, 3, 3) is an orthogonal frame per structure (columns its axes) or zero (none). Every input of
    :math:`\phi, \psi` is invariant (:math:`T^\top r` is, when T turns with the structure), and
    :math:`r_{ij}` and T's columns are polar vectors, so :math:`V(gx, gT) = g V(x, T)` for every g in
    O(3); translations and relabellings of the atoms leave V alone. :math:`\phi_x` and
    :math:`\psi` start small (last layer scaled by ``init_gain``, and zero), so V starts at T plus a
    small learned correction where T is given.

    hidden: feature size; layers: message-passing layers (≥ 1); cutoff: radius graph (Å); max_z:
    largest atomic number + 1.
    """

    #: scale of the last layer of :math:`\phi_x` at initialisation (EGNN's authors start their coordinate steps small too)
    init_gain = 0.01

    def __init__(self, *, hidden: int = 16, layers: int = 2, cutoff: float = 5.0, max_z: int = 100) -> None:
        super().__init__()
        self.cutoff = float(cutoff)
        self.embedding = nn.Embedding(max_z, hidden)
        self.phi_e = nn.ModuleList(nn.Sequential(mlp([2 * hidden + 4, hidden, hidden]), nn.SiLU()) for _ in range(layers))
        self.phi_h = nn.ModuleList(mlp([2 * hidden, hidden, hidden]) for _ in range(layers))
        self.phi_x = mlp([hidden, hidden, 3])
        self.psi = mlp([hidden, hidden, 9])
        nn.init.xavier_uniform_(self.phi_x[-1].weight, gain=self.init_gain)
        nn.init.zeros_(self.psi[-1].weight)
        nn.init.zeros_(self.psi[-1].bias)

    def forward(self, z: torch.Tensor, pos: torch.Tensor, batch: torch.Tensor, num_graphs: int, tie: torch.Tensor, data: Any = None) -> torch.Tensor:
        """z (N,), pos (N, 3), batch (N,), tie: T (B, 3, 3) per structure (zero: none); data: the batch, for its ``cell``. Returns V (B, 3, 3), columns the vectors."""
        edge, shift = structure_edges(pos, batch, self.cutoff, data)
        sender, receiver = edge
        rel = pos[sender] + shift - pos[receiver]  # r_ij, from receiver i to sender j
        dist2 = (rel * rel).sum(-1, keepdim=True)
        envelope = 0.5 * (torch.cos(torch.pi * dist2.sqrt() / self.cutoff) + 1.0)
        along = torch.einsum("eji,ej->ei", tie[batch[receiver]], rel)  # T^T r_ij: the edge in T's axes
        h = self.embedding(z).to(pos.dtype)
        m = h.new_zeros((len(rel), h.shape[-1]))
        for phi_e, phi_h in zip(self.phi_e, self.phi_h):
            m = phi_e(torch.cat([h[receiver], h[sender], dist2, along], dim=-1))
            h = h + phi_h(torch.cat([h, scatter_sum(envelope * m, receiver, len(z))], dim=-1))
        per_edge = (envelope * rel)[:, :, None] * self.phi_x(m)[:, None, :]  # (E, 3, 3)
        vectors = scatter_sum(per_edge, batch[receiver], num_graphs)
        count = torch.bincount(batch, minlength=num_graphs).clamp_min(1).to(pos.dtype)[:, None]
        mix = self.psi(scatter_sum(h, batch, num_graphs) / count).reshape(-1, 3, 3)
        return vectors + tie + tie @ mix


@register_input("learned-canon")
class LearnedCanonicalization(ChoiceInput):
    r"""Learned canonicalization as the input of any model that reads vectors: ``"<model>+learned-canon"``.

    Every atom receives its structure's frame axes :math:`e_1, e_2, e_3` (the columns of R(x)) as
    three vector inputs, ``data.vectors`` (N, 3, 3); see the module docstring for the frame, its
    handling of reflections and of symmetric structures, and the prior.

    frame_hidden, frame_layers, frame_cutoff (Å): the :class:`FrameNetwork`'s size and radius;
    max_z: largest atomic number + 1; prior_weight: the weight :func:`canonicalization_prior`
    gives this input's prior (≥ 0); seed: of the inversion-kernel draws (training: a fresh draw per
    call; evaluation: one fixed draw per draw number, :class:`~symbreak.models._inputs.RandomDraws`);
    tol: detection tolerance (Å) for batches without a symmetry record (``data.sym``).

    Shapes: :meth:`frames` gives R (B, 3, 3) and which frames were learned (B,) bool;
    :meth:`forward` gives ``{"vectors": (N, 3, 3)}``.
    """

    vectors = 3
    features = 0
    set_valued = True  # on a symmetric structure the outputs over the draws are the orbit G_x·f(x)

    #: what :meth:`prepare_data` stores: each structure's inversion kernel and its size (declared derived from the positions)
    prepared = ("lcanon_kernel", "lcanon_size")

    def __init__(
        self, *, frame_hidden: int = 16, frame_layers: int = 2, frame_cutoff: float = 5.0, max_z: int = 100, prior_weight: float = 0.01, seed: int = 0, tol: float = 0.1
    ) -> None:
        if isinstance(prior_weight, bool) or not isinstance(prior_weight, (int, float)) or not prior_weight >= 0:
            raise SymbreakError(f"learned-canon: prior_weight must be a number >= 0, got {prior_weight!r}")
        super().__init__(element=None, seed=seed, tol=tol)
        self.prior_weight = float(prior_weight)
        self.network = FrameNetwork(hidden=int(frame_hidden), layers=int(frame_layers), cutoff=float(frame_cutoff), max_z=int(max_z))
        self._frames: tuple[torch.Tensor, torch.Tensor] | None = None

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        state["_frames"] = None  # the last pass's frames hold its autograd graph: neither copied nor pickled
        return state

    def symmetries(self, data: Any) -> list[Any]:
        """Each structure's symmetry record (``data.sym``, else detected at ``tol``); a periodic batch must carry its own."""
        cell = getattr(data, "cell", None)
        if getattr(data, "sym", None) is None and isinstance(cell, torch.Tensor) and bool(cell.abs().sum() > 0):
            raise StructureError("learned-canon: a periodic batch needs data.sym, the crystal's point group about its origin "
                                 "(detecting the cell's atoms as a molecule would give the wrong stabilizer)")  # fmt: skip
        return super().symmetries(data)

    def elements(self, data: Any) -> list[np.ndarray]:
        """Every structure's inversion kernel :math:`F^\\top G_x`: a list of ``(|G_b|, 3, 3)``."""
        from ..detect import inversion_kernel

        return [inversion_kernel(s) for s in self.symmetries(data)]

    def frames(self, data: Any, choice: torch.Tensor | list[int] | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        r"""Each structure's frame R (B, 3, 3), columns :math:`e_1, e_2, e_3`, and whether it was learned
        (B,) bool (False: the drawn kernel frame :math:`\tilde g^\top`, where the predicted vectors
        were degenerate). choice: the kernel element of each structure (default: drawn, see :class:`~symbreak.models.ChoiceInput`)."""
        inputs = read_inputs(data)
        stacked, sizes = self.stacked(data)
        g = self.pick(stacked, sizes, choice).to(inputs.pos.dtype)  # (B, 3, 3), each maps x to a canonical pose
        symmetric = (sizes.to(g.device) > 1).to(g.dtype)[:, None, None]
        tie = symmetric * g.transpose(1, 2)  # T = g^T on symmetric structures, 0 on the others
        v = self.network(inputs.z, inputs.pos, inputs.batch, inputs.num_graphs, tie, inputs.data)
        learned_frame, ratio = gram_schmidt(v)
        learned = ratio >= DEGENERATE_FRAME
        frame = torch.where(learned[:, None, None], learned_frame, g.transpose(1, 2))
        return frame, learned

    def forward(self, data: Any, choice: torch.Tensor | list[int] | None = None) -> dict[str, torch.Tensor]:
        frame, learned = self.frames(data, choice)
        self._frames = (frame, learned)
        return {"vectors": frame.transpose(1, 2)[read_inputs(data).batch]}  # channel k = e_k

    def prior_loss(self) -> torch.Tensor:
        r"""The prior of the last forward pass: mean over its learned frames of :math:`\lVert R - I\rVert_F^2`
        (a scalar with gradient; 0 before any pass or when no frame was learned)."""
        if self._frames is None:
            return self.network.embedding.weight.new_zeros(())
        frame, learned = self._frames
        eye = torch.eye(3, dtype=frame.dtype, device=frame.device)
        per = ((frame - eye) ** 2).sum((1, 2))
        mask = learned.to(frame.dtype)
        return (per * mask).sum() / mask.sum().clamp_min(1.0)


def canonicalization_prior(model: nn.Module, weight: float | None = None) -> torch.Tensor:
    r"""The prior regulariser of every :class:`LearnedCanonicalization` in ``model``:
    :math:`\sum \lambda\, \mathcal L_\text{prior}` over its last forward pass, λ = ``weight`` or, if
    None, each input's own ``prior_weight``. A zero scalar for a model without one, so it can be
    passed for any model: ``fit(model, ..., regularizer=canonicalization_prior)`` (the loop calls it
    after the forward pass of each step, as equiadapt's ``get_prior_regularization_loss``).
    """
    terms = [(m.prior_weight if weight is None else float(weight)) * m.prior_loss() for m in model.modules() if isinstance(m, LearnedCanonicalization)]
    if not terms:
        param = next(model.parameters(), None)
        return torch.zeros((), dtype=param.dtype if param is not None else torch.get_default_dtype(), device=param.device if param is not None else None)
    return torch.stack(terms).sum()


def learned_canon_outputs(model: nn.Module, data: Any) -> list[torch.Tensor]:
    r"""A ``"<model>+learned-canon"`` model's output for every element of each structure's inversion
    kernel: one ``(|G_b|, n_b, d)`` tensor per structure, the support of its output law (each with
    probability :math:`1/|G_b|`; one element for a structure without symmetry)."""
    return every_choice(model, data, LearnedCanonicalization)
