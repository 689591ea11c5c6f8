r"""What a model reads from a batch: one record, checked once, the same for every model.

A batch (a PyG ``Batch``, or anything with these attributes) carries

============== =============== ==============================================================
``z``          (N,) long       atomic numbers
``pos``        (N, 3)          positions, Å
``batch``      (N,) long       molecule of each atom, sorted (optional for one molecule)
``x``          (N, F)          invariant per-atom inputs (charges, hybridisation...), optional
``vectors``    (N, C, 3)       equivariant per-atom inputs, C channels of ``1o``, optional:
                               e3nn's layout of ``"Cx1o"`` (a symmetry-breaking input lives here)
``pseudovectors`` (N, C, 3)    axial per-atom inputs (``"Cx1e"``: a reflection g turns them by
                               det(g)·g), optional; read by the e3nn models only
``cell``       (B, 3, 3)       lattice vectors as rows, optional (zeros: not periodic); the
                               models that read it build periodic graphs
``sym``        list            one frozen :class:`~symbreak.Symmetry` per molecule, computed once
                               when the data set is built, at the task's tolerance (for losses)
============== =============== ==============================================================

:func:`read_inputs` turns it into :class:`Inputs` and refuses empty, non-finite or mismatched
arrays with a :class:`~symbreak.StructureError`; models never read the batch directly, except
for what they computed into it themselves when the data set was built (:meth:`VectorModel.prepare_data`),
which :func:`with_positions` drops when positions change.
"""

from __future__ import annotations

import copy
import dataclasses
from typing import Any

import torch
from torch import nn

from .._errors import StructureError

__all__ = ["Inputs", "read_inputs", "with_positions", "transform_batch", "act_on_fields", "WithInputs", "DERIVED", "declare_derived", "FIELDS", "RandomDraws", "set_eval_draw", "DRAW_STRIDE"]

#: batch attributes computed from the positions when a data set is built (SANN's graphs): stale
#: as soon as the positions change, so :func:`with_positions` drops them. The union of what every
#: class declared: an input's class attribute ``derived`` (read by
#: :func:`~symbreak.models.register_input`), a :class:`~symbreak.models.ChoiceInput`'s ``prepared``
#: (read when the subclass is defined), or :func:`declare_derived`; editing it directly (older
#: modules' ``DERIVED.update``) still works, but a new class declares instead
DERIVED: set[str] = set()


def declare_derived(*names: str) -> None:
    """Declare batch attributes computed from the positions (added to :data:`DERIVED`): they are
    dropped whenever the positions change (:func:`with_positions`, :func:`transform_batch`)."""
    bad = [n for n in names if not isinstance(n, str) or not n.isidentifier()]
    if bad:
        raise ValueError(f"derived batch attributes are identifiers, got {bad!r}")
    DERIVED.update(names)


#: how each input field of a batch transforms under an element g of O(3), named as
#: :func:`symbreak.rotations.act` names representations, and whether it has one row per atom (an
#: atom permutation then moves it too). ``positions`` turn about a centre, the rest about the origin;
#: ``cell`` turns row by row (each lattice vector is a vector). Labels ``y`` are not listed: their
#: representation is the task's (a per-atom ``y`` follows a permutation only). Nothing else is
#: acted on: :func:`transform_batch` keeps other attributes as they are (``batch``, per-structure
#: invariants) and drops :data:`DERIVED`; rotated copies (:mod:`symbreak.symmetrize`) leave them out.
FIELDS: dict[str, tuple[str, bool]] = {
    "z": ("0e", True),
    "pos": ("positions", True),
    "x": ("0e", True),
    "vectors": ("1o", True),
    "pseudovectors": ("1e", True),
    "cell": ("1o", False),
}


@dataclasses.dataclass(frozen=True)
class Inputs:
    """A model's inputs for a batch of N atoms in ``num_graphs`` molecules (see the module docstring).

    data: the batch itself, for attributes a model prepared in it (:meth:`VectorModel.prepare_data`).
    """

    z: torch.Tensor
    pos: torch.Tensor
    batch: torch.Tensor
    num_graphs: int
    x: torch.Tensor | None = None
    vectors: torch.Tensor | None = None
    data: Any = None
    pseudovectors: torch.Tensor | None = None

    def replace(self, **changes: Any) -> "Inputs":
        """A copy with some fields changed (positions that track gradients, say)."""
        return dataclasses.replace(self, **changes)


def _check_per_atom(name: str, value: Any, n: int, shape: tuple[int, ...], expected: int | None) -> torch.Tensor | None:
    if value is None:
        return None
    if not isinstance(value, torch.Tensor) or value.ndim != 1 + len(shape) or len(value) != n or tuple(value.shape[2:]) != shape[1:]:
        got = tuple(value.shape) if isinstance(value, torch.Tensor) else type(value).__name__
        raise StructureError(f"data.{name} must be ({n}, {', '.join(map(str, shape))}) — one row per atom; got {got}")
    if expected is not None and value.shape[1] != expected:
        raise StructureError(f"this model reads {expected} channel(s) of data.{name}, got {value.shape[1]}")
    if value.is_floating_point() and not torch.compiler.is_compiling() and not bool(torch.isfinite(value).all()):
        raise StructureError(f"data.{name} holds NaN or infinite values")
    return value


def read_inputs(data: Any, *, features: int = 0, vectors: int = 0, pseudovectors: int = 0) -> Inputs:
    """Check a batch and read it as :class:`Inputs`.

    features, vectors, pseudovectors: how many channels of ``x``, ``vectors`` and
    ``pseudovectors`` the model reads; 0: it reads none, and :class:`Inputs` holds None whatever
    the batch carries.
    """
    z, pos = getattr(data, "z", None), getattr(data, "pos", None)
    if not isinstance(pos, torch.Tensor) or pos.ndim != 2 or pos.shape[-1] != 3 or len(pos) == 0:
        raise StructureError(f"positions must be (N, 3) with N ≥ 1, got {tuple(pos.shape) if isinstance(pos, torch.Tensor) else pos!r}")
    batch = getattr(data, "batch", None)
    if batch is None:
        batch = torch.zeros(len(pos), dtype=torch.long, device=pos.device)
    if not isinstance(z, torch.Tensor) or len(z) != len(pos) or len(batch) != len(pos):
        raise StructureError(f"z ({len(z) if z is not None else None}), pos ({len(pos)}) and batch ({len(batch)}) must have one entry per atom")
    # a data-dependent check reads a value back from the device: torch.compile would break its
    # graph there, so compiled code (benchmarks, production inference) skips it
    if not torch.compiler.is_compiling() and not bool(torch.isfinite(pos).all()):
        raise StructureError("positions contain NaN or infinity")
    num = getattr(data, "num_graphs", None)
    num_graphs = int(num) if isinstance(num, int) else int(batch.max()) + 1
    x = None
    if features:
        x = _check_per_atom("x", getattr(data, "x", None), len(pos), (features,), features)
        if x is None:
            raise StructureError(f"this model reads {features} invariant feature(s) per atom: give data.x of shape ({len(pos)}, {features})")
    v = None
    if vectors:
        v = _check_per_atom("vectors", getattr(data, "vectors", None), len(pos), (vectors, 3), vectors)
        if v is None:
            raise StructureError(f"this model reads {vectors} vector input(s) per atom: give data.vectors of shape ({len(pos)}, {vectors}, 3)")
    a = None
    if pseudovectors:
        a = _check_per_atom("pseudovectors", getattr(data, "pseudovectors", None), len(pos), (pseudovectors, 3), pseudovectors)
        if a is None:
            raise StructureError(f"this model reads {pseudovectors} pseudovector input(s) per atom: give data.pseudovectors of shape ({len(pos)}, {pseudovectors}, 3)")
    return Inputs(z, pos, batch, num_graphs, x=x, vectors=v, data=data, pseudovectors=a)


def with_positions(data: Any, pos: torch.Tensor) -> Any:
    """A shallow copy of the batch at other positions, without the attributes derived from the old ones."""
    moved = copy.copy(data)
    moved.pos = pos
    for key in DERIVED:
        if getattr(moved, key, None) is not None:
            try:
                delattr(moved, key)
            except AttributeError:  # pragma: no cover - an object that refuses deletion
                setattr(moved, key, None)
    return moved


def act_on_fields(data: Any, rotations: torch.Tensor, *, centre: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
    r"""Every field of :data:`FIELDS` that ``data`` carries, acted on by its representation:
    :math:`x_i \to R (x_i - c_i) + c_i`, :math:`v_i \to R v_i`, :math:`a_i \to \det(R) R a_i`,
    cell rows :math:`L \to L R^\top`, invariant fields unchanged.

    rotations: (3, 3) orthogonal; or (M, 3, 3), and then every field comes back with a leading
    dimension M, copy m acted on by rotation m. centre: (N, 3) or (3,), the point positions turn
    about (None: the origin). Each field keeps its dtype and device.

    >>> from types import SimpleNamespace
    >>> data = SimpleNamespace(z=torch.tensor([1]), pos=torch.ones(1, 3), pseudovectors=torch.tensor([[[1.0, 2.0, 3.0]]]))
    >>> turned = act_on_fields(data, -torch.eye(3))  # the inversion moves the atom, not its axial vector
    >>> turned["pos"], turned["pseudovectors"]
    (tensor([[-1., -1., -1.]]), tensor([[[1., 2., 3.]]]))
    """
    from ..rotations import act, act_batch

    out = {}
    for key, (kind, _) in FIELDS.items():
        value = getattr(data, key, None)
        if value is None:
            continue
        r = rotations.to(device=value.device, dtype=value.dtype if value.is_floating_point() else rotations.dtype)
        c = centre.to(value) if centre is not None and kind == "positions" else None
        moved = value if c is None else value - c
        moved = act_batch(r, moved.expand((len(r),) + tuple(moved.shape)), kind) if r.ndim == 3 else act(r, moved, kind)
        out[key] = moved if c is None else moved + c
    return out


def transform_batch(data: Any, rotation: Any = None, *, translation: Any = None, permutation: Any = None) -> Any:
    r"""The batch acted on by :math:`g = (R, t)` and an atom permutation :math:`\sigma`:
    :math:`x_i \to R x_{\sigma(i)} + t`, every other field of :data:`FIELDS` by its representation
    (:func:`act_on_fields`: vector inputs :math:`v_i \to R v_{\sigma(i)}`, pseudovector inputs
    :math:`a_i \to \det(R) R a_{\sigma(i)}`, lattice rows turned), the per-atom fields and per-atom
    labels ``y`` permuted (labels are not rotated: their representation is the task's); the
    symmetry records and attributes derived from the old positions dropped.

    rotation: (3, 3) orthogonal (a reflection when det = −1), None for the identity; translation:
    (3,); permutation: (N,) long, which must keep each molecule's atoms together.
    """
    pos = data.pos
    dev, dt = pos.device, pos.dtype
    out = with_positions(data, pos)
    if rotation is not None:
        for key, value in act_on_fields(data, torch.as_tensor(rotation, dtype=dt, device=dev)).items():
            setattr(out, key, value)
    if permutation is not None:
        perm = torch.as_tensor(permutation, dtype=torch.long, device=dev)
        batch = getattr(data, "batch", None)
        if batch is not None and not torch.equal(batch[perm], batch):
            raise ValueError("a permutation of a batch must keep each molecule's atoms in place")
        y = getattr(data, "y", None)
        # labels with one row per atom follow their atoms (per-structure labels with N rows belong
        # to one-atom molecules, which σ leaves in place)
        labels = ["y"] if isinstance(y, torch.Tensor) and y.ndim and len(y) == len(pos) else []
        for key in [key for key, (_, atomic) in FIELDS.items() if atomic] + labels:
            if getattr(out, key, None) is not None:
                setattr(out, key, getattr(out, key)[perm])
    if translation is not None:
        out.pos = out.pos + torch.as_tensor(translation, dtype=dt, device=dev)
    if permutation is not None or rotation is not None:  # the symmetry records belong to the old positions
        for key in ("sym", "sym_ops", "sym_perms", "sym_owner", "sym_max_order"):
            if getattr(data, key, None) is not None:
                setattr(out, key, None)
    return out


def inherit_capabilities(wrapper: nn.Module, model: nn.Module) -> None:
    """A wrapper (+noise, +mlp, an input) runs in the dtypes of the model it wraps and keeps its output type."""
    wrapper.output_type = getattr(model, "output_type", "1o")
    wrapper.dtypes = getattr(model, "dtypes", (torch.float32, torch.float64))
    wrapper.periodic = getattr(model, "periodic", False)
    # permutation equivariance survives wrapping only if both layers have it (+noise does not)
    wrapper.permutation_equivariant = getattr(type(wrapper), "permutation_equivariant", True) and getattr(model, "permutation_equivariant", True)


class WithInputs(nn.Module):
    """``model`` evaluated on the batch with ``source``'s inputs appended (after any the batch carries).

    An *input* is a module that, given a batch, returns extra per-atom inputs — invariant ``x``
    (N, F) or vectors (N, C, 3) — and declares how many (class attributes ``features``,
    ``vectors``). Registered with :func:`~symbreak.models.register_input`, ``build_model("<model>+<name>")``
    builds the model with that many more input channels and wraps it in this class.
    """

    symmetry = "approximate"  # an input that breaks the structure's symmetry breaks the output's

    def __init__(self, model: nn.Module, source: nn.Module) -> None:
        super().__init__()
        self.model, self.source = model, source
        inherit_capabilities(self, model)

    def prepare_data(self, data: Any) -> Any:
        """What the model and the input precompute once per structure (see :meth:`VectorModel.prepare_data`)."""
        data = getattr(self.model, "prepare_data", lambda d: d)(data)
        return getattr(self.source, "prepare_data", lambda d: d)(data)

    def forward(self, data: Any) -> torch.Tensor:
        extra = self.source(data)
        out = copy.copy(data)  # the caller's batch is left as it was
        for key in ("x", "vectors", "pseudovectors"):
            if extra.get(key) is not None:
                old = getattr(data, key, None)
                setattr(out, key, extra[key] if old is None else torch.cat([old, extra[key].to(old.dtype)], dim=1))
        return self.model(out)


#: how far apart the seeds of two fixed evaluation draws of one random input lie: draw ``d`` of an
#: input seeded ``s`` is seeded ``s + 1 + DRAW_STRIDE * d`` (a prime, so the draws of inputs
#: seeded 0, 1, 2, ... do not meet those of another draw number until far out)
DRAW_STRIDE = 7919


class RandomDraws:
    r"""Mixin of the inputs that draw random numbers (``+randvec``, ``+noise``, ``+sympe``, a ``+sbs``
    without a fixed element): fresh numbers on every training call, from their own generator seeded
    with ``seed``; in evaluation one *fixed* draw, chosen by ``draw`` (an int, 0 by default) and
    seeded by :meth:`eval_generator`, so the same batch gets the same answer and two draw numbers
    get two independent draws. :func:`set_eval_draw` sets ``draw`` on every such input of a model:
    :func:`symbreak.training.fit` validates with one draw and the benchmark tests with another, so
    nothing chosen on validation (an epoch, a σ) is chosen on the test draw.
    """

    seed: int
    draw: int = 0

    def eval_generator(self) -> torch.Generator:
        """A CPU generator seeded ``seed + 1 + DRAW_STRIDE * draw``: the same numbers on every call and every device."""
        return torch.Generator().manual_seed(int(self.seed) + 1 + DRAW_STRIDE * int(self.draw))


def set_eval_draw(model: nn.Module, draw: int) -> None:
    """Make every :class:`RandomDraws` input inside ``model`` evaluate with fixed draw ``draw`` (0: the default).

    >>> from symbreak.models import build_model
    >>> model = build_model("egnn+randvec").eval()
    >>> set_eval_draw(model, 1)
    >>> model.source.draw
    1
    """
    for module in model.modules():
        if isinstance(module, RandomDraws):
            module.draw = int(draw)
