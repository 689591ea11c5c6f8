r"""The conformance suite of registry models, shipped as base classes (metatrain's ``ArchitectureTests`` pattern).

Every model that :func:`~symbreak.models.build_model` can build runs the same tests, each chosen by
the model's capability flags (:class:`ModelFlags`), never by its name:

========================================= ===============================================================
test                                      what it checks
========================================= ===============================================================
``test_declares_its_capabilities``        the flags exist and are well formed; the output has the declared
                                          shape and the batch is left as it was
``test_symmetry_as_declared``             "exact": :math:`f(g\cdot x) = g\cdot f(x)` for random O(3) elements
                                          (half improper), a translation and a random permutation, in
                                          float64; "relaxed": exact on structures without symmetry and
                                          :math:`f(gx) = g\sigma f(x)`, :math:`\sigma \in \mathrm{Sym}(x)`, on a
                                          symmetric one; "approximate": permutation equivariance, as flagged.
                                          An input that picks one element of a set turning with the structure
                                          (``+sbs``, ``+sympe``, ``+canon``) around an exact model is checked
                                          as relaxed (:attr:`ModelFlags.checked`, inferred)
``test_equivariant_given_its_input``      an input wrapper (``+randvec``, ``+sbs`` ...): the wrapped model
                                          keeps its own symmetry when the input turns with the structure
``test_breaks_symmetry_where_declared``   on a symmetric structure (:attr:`ModelConformance.symmetric_group`),
                                          an exact model's output keeps every symmetry (Curie) and any other
                                          model's output breaks one
``test_law_of_outputs_is_equivariant``    a set-valued input (``+sbs``, ``+sympe``): the *set* of outputs over
                                          the input's elements turns with the structure, atoms relabelled
``test_device_clean``                     runs with the default device set to ``meta`` (every tensor it makes
                                          follows its input), in training and evaluation
``test_same_answer_on_cuda``              the same answer on a GPU (skipped without one)
``test_runs_in_each_declared_dtype``      float32 and float64, each run if declared in ``dtypes`` (else
                                          skipped); float32 agrees with float64
``test_checkpoint_round_trip``            :func:`~symbreak.models.save_model` then
                                          :func:`~symbreak.models.load_model` gives the same outputs
========================================= ===============================================================

A plugin author tests a model (or a model with an input or variant) by subclassing::

    from symbreak.testing import ModelConformance

    class TestMine(ModelConformance):
        spec = "mymodel+sbs"            # any spec string build_model accepts
        options = {"hidden": 8}         # small sizes: the tests build it once

and an input, on every model that can read it::

    from symbreak.testing import InputConformance

    class TestMyInput(InputConformance):
        input = "myinput"

Every test uses the ``model_spec`` fixture; a subclass with ``specs = [...]`` is parametrized over
them (symbreak's own ``tests/test_conformance.py`` uses ``specs = conformance_specs()``, every
buildable model × variant × input); ``known_failures`` marks tests expected to fail. Weights are perturbed away from their initial values (a
relaxed layer starts exactly equivariant), seeded. Tolerances are class attributes: ``atol``
(float64, in the output's units), ``atol32`` (float32 against float64, relative to the output's
largest entry) and ``break_atol`` (the least deviation that counts as broken).
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import itertools
from collections.abc import Iterable
from types import SimpleNamespace
from typing import Any, ClassVar

import numpy as np
import pytest

__all__ = ["ModelConformance", "InputConformance", "ModelFlags", "conformance_specs", "refused_specs", "SMALL_OPTIONS"]

#: the sizes the suite builds every model at (each given only to the specs whose factories take it)
SMALL_OPTIONS: dict[str, Any] = {"hidden": 8, "layers": 1, "head_hidden": 8, "num_rbf": 6, "num_radial": 4, "int_emb": 4, "basis_emb": 4, "out_emb": 8, "lmax": 1}

#: float64 tolerance of an exact property (Å, or the output's units)
ATOL = 1e-8
#: float32 against float64: tolerance relative to the output's largest entry (the builtin models
#: agree to 1e-6 of it; a model that draws other noise in float32 misses by 1e-2)
ATOL32 = 1e-4
#: a deviation above this, in float64, counts as a broken symmetry
BREAK_ATOL = 1e-6
#: how much the seeded perturbation moves each trainable weight (a fresh build can be special)
PERTURBATION = 0.1


@dataclasses.dataclass(frozen=True)
class ModelFlags:
    """What a built model declares, read from its capability flags (see :class:`~symbreak.models.VectorModel`).

    symmetry: the model's ``symmetry`` ("exact", "relaxed", "approximate"). checked: the symmetry
    the suite checks, ``symmetry`` unless a stronger promise is inferred (``inferred`` says which).
    permutation_equivariant, output_type, dtypes, periodic: the model's flags. input: the class name
    of an input wrapper's input (``model.source``), else None; set_valued: that input's
    ``set_valued`` (its elements together are the input, a set or a law); inner: the flags of the
    model an input wraps (``model.model``), else None.
    """

    symmetry: str
    checked: str
    permutation_equivariant: bool
    output_type: str
    dtypes: tuple[Any, ...]
    periodic: bool
    input: str | None = None
    set_valued: bool = False
    inner: ModelFlags | None = None
    inferred: tuple[str, ...] = ()

    @classmethod
    def of(cls, model: Any) -> ModelFlags:
        """The flags of ``model`` (missing ones at :class:`~symbreak.models.VectorModel`'s defaults)."""
        import torch

        from ..models._choice import ChoiceInput

        symmetry = str(getattr(model, "symmetry", "exact"))
        source, wrapped = getattr(model, "source", None), getattr(model, "model", None)
        inner = cls.of(wrapped) if source is not None and wrapped is not None else None
        checked, inferred = symmetry, ()
        # a per-structure set that turns with the structure (B(gx) = g B(x), K(gx) = K(x) g⁻¹), one
        # element of it picked by a fixed index or seeded draw, fed to an exact model: f(gx) = gσ f(x)
        # for σ in Sym(x) (relaxed), and exact on structures without symmetry
        if inner is not None and isinstance(source, ChoiceInput) and inner.checked == "exact" and symmetry == "approximate":
            checked, inferred = "relaxed", (f"{type(source).__name__} picks from a set that turns with the structure, around an exact model: relaxed",)
        return cls(
            symmetry=symmetry,
            checked=checked,
            permutation_equivariant=bool(getattr(model, "permutation_equivariant", True)),
            output_type=str(getattr(model, "output_type", "1o")),
            dtypes=tuple(getattr(model, "dtypes", (torch.float32, torch.float64))),
            periodic=bool(getattr(model, "periodic", False)),
            input=None if source is None else type(source).__name__,
            set_valued=bool(getattr(source, "set_valued", False)),
            inner=inner,
            inferred=inferred,
        )


# ---------------------------------------------------------------------------------------------
# building: once per (spec, options, seed), float64, evaluation mode, weights perturbed


def _options_for(spec: str, options: dict[str, Any]) -> dict[str, Any]:
    from ..models import ModelSpec

    parsed = ModelSpec.parse(spec)
    accepted = parsed.accepted()
    return {k: v for k, v in options.items() if k in accepted and k not in parsed.options}


@functools.lru_cache(maxsize=None)
def _reference(spec: str, options: tuple[tuple[str, Any], ...], seed: int) -> Any:
    import torch

    from ..models import build_model

    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            model = build_model(spec, **dict(options)).double().eval()
        gen = torch.Generator().manual_seed(seed + 1)
        with torch.no_grad():
            for p in model.parameters():
                if p.requires_grad and p.is_floating_point():
                    p.add_(PERTURBATION * torch.randn(p.shape, generator=gen, dtype=p.dtype))
    finally:
        torch.set_default_dtype(old)
    return model


def build_reference(spec: str, options: dict[str, Any] | None = None, seed: int = 0, *, shared: bool = False) -> Any:
    """``spec`` built with ``options`` (those its factories take; :data:`SMALL_OPTIONS` by default), in
    float64 and evaluation mode, its trainable weights moved by a seeded perturbation. Built once:
    a fresh copy, or with ``shared`` the cached instance itself (copying an e3nn model costs as much
    as a test), which the caller must leave as it found it."""
    opts = _options_for(spec, SMALL_OPTIONS if options is None else options)
    model = _reference(spec, tuple(sorted(opts.items())), int(seed))
    return model if shared else copy.deepcopy(model)


def _names(names: Iterable[str] | None, registry: Any) -> list[str]:
    return sorted(registry) if names is None else list(names)


def _candidates(models: Iterable[str] | None, variants: Iterable[str] | None, inputs: Iterable[str] | None) -> list[str]:
    from ..models import INPUTS, MODELS, VARIANTS

    out = []
    for m, v, i in itertools.product(_names(models, MODELS), [None, *_names(variants, VARIANTS)], [None, *_names(inputs, INPUTS)]):
        out.append("+".join(x for x in (m, v, i) if x))
    return out


@functools.lru_cache(maxsize=None)
def _verdicts(candidates: tuple[str, ...], options: tuple[tuple[str, Any], ...]) -> dict[str, str | None]:
    from .._errors import SymbreakError
    from ..models import ModelSpec

    out: dict[str, str | None] = {}
    for spec in candidates:
        try:
            canonical = str(ModelSpec.parse(spec))
            _reference(canonical, tuple(sorted(_options_for(canonical, dict(options)).items())), 0)
            out[canonical] = None
        except SymbreakError as exc:  # the registry's own refusal (or the constructor's, one line)
            out[spec] = str(exc)
    return out


def _verdicts_for(models: Any, variants: Any, inputs: Any, options: dict[str, Any] | None) -> dict[str, str | None]:
    cands = tuple(_candidates(models, variants, inputs))
    return _verdicts(cands, tuple(sorted((SMALL_OPTIONS if options is None else options).items())))


def conformance_specs(
    *, models: Iterable[str] | None = None, variants: Iterable[str] | None = None, inputs: Iterable[str] | None = None, options: dict[str, Any] | None = None
) -> list[str]:
    """Every buildable spec ``model[+variant][+input]``: each registered model (:data:`~symbreak.models.MODELS`),
    alone, with each variant (:data:`~symbreak.models.VARIANTS`) and with each input
    (:data:`~symbreak.models.INPUTS`), and with one of each; canonical strings, in that order.

    A combination the registry refuses (:class:`~symbreak.SymbreakError` from
    :class:`~symbreak.models.ModelSpec` or from building it at ``options``, :data:`SMALL_OPTIONS` by
    default) is left out; :func:`refused_specs` lists them with the registry's error. models,
    variants, inputs: names to combine (None: every registered one; ``[]``: none).

    >>> specs = conformance_specs(models=["egnn"], variants=[], inputs=["randvec", "sbs-axial"])
    >>> specs
    ['egnn', 'egnn+randvec']
    """
    return [spec for spec, error in _verdicts_for(models, variants, inputs, options).items() if error is None]


def refused_specs(
    *, models: Iterable[str] | None = None, variants: Iterable[str] | None = None, inputs: Iterable[str] | None = None, options: dict[str, Any] | None = None
) -> dict[str, str]:
    """The combinations :func:`conformance_specs` leaves out, each with the registry's one-line error.

    >>> refused_specs(models=["egnn"], variants=[], inputs=["sbs-axial"])["egnn+sbs-axial"]
    "'egnn+sbs-axial': model 'egnn' reads no pseudovector (axial) inputs (in_pseudovectors); the e3nn models read every kind"
    """
    return {spec: error for spec, error in _verdicts_for(models, variants, inputs, options).items() if error is not None}


# ---------------------------------------------------------------------------------------------
# structures


def _asymmetric_batch() -> SimpleNamespace:
    """Two molecules without symmetry (4 and 5 atoms, not coplanar: C1 at 0.1 Å), float64: (z, pos, batch)."""
    import torch

    rng = np.random.default_rng(20261122)
    pos = rng.normal(size=(9, 3)) * 1.2
    return SimpleNamespace(z=torch.tensor([6, 7, 8, 1, 6, 6, 8, 1, 1]), pos=torch.tensor(pos), batch=torch.tensor([0, 0, 0, 0, 1, 1, 1, 1, 1]))


@functools.lru_cache(maxsize=16)
def _symmetric(group: str, seed: int) -> tuple[np.ndarray, np.ndarray, Any]:
    from ..detect import detect_symmetry
    from ._structures import random_symmetric_structure

    pos, numbers = random_symmetric_structure(group, n_seeds=1, seed=seed)
    pos = pos + np.array([0.3, -0.2, 0.5])  # off the origin: a model's centre must be its own
    sym = detect_symmetry(pos, numbers)
    if sym.point_group != group:  # pragma: no cover - random_symmetric_structure promises exactly `group`
        raise AssertionError(f"the test structure is {sym.point_group}, not {group}")
    return pos, numbers, sym


def _copy_batch(data: Any) -> SimpleNamespace:
    return SimpleNamespace(**{k: (v.clone() if hasattr(v, "clone") else v) for k, v in vars(data).items()})


def _cast(data: Any, dtype: Any) -> SimpleNamespace:
    out = _copy_batch(data)
    for key in ("pos", "x", "vectors", "pseudovectors", "cell"):
        v = getattr(out, key, None)
        if v is not None and v.is_floating_point():
            setattr(out, key, v.to(dtype))
    return out


def _within_molecules(batch: Any, seed: int) -> Any:
    import torch

    rng = np.random.default_rng(seed)
    b = batch.numpy()
    perm = np.arange(len(b))
    for k in np.unique(b):
        idx = np.nonzero(b == k)[0]
        perm[idx] = rng.permutation(idx)
    return torch.as_tensor(perm)


def _random_elements(n: int, seed: int) -> np.ndarray:
    from ..rotations import random_rotations

    r = random_rotations(n, seed=seed)
    r[1::2] *= -1.0  # half improper: reflections are tested, not left to chance
    return r


def _symmetry_deviation(out: Any, sym: Any, rep: str) -> float:
    """max over the structure's operations of |g·f(x) − f(x)| (atoms carried by each operation's permutation)."""
    from ..metrics import transform_labels

    images = transform_labels(out, sym.operations, sym.permutations, rep)
    return float((images - out).abs().max())


# ---------------------------------------------------------------------------------------------
# the checks, by flag


def _check_symmetry(model: Any, flags: ModelFlags, data: Any, symmetric: Any, *, n_rotations: int, atol: float, seed: int) -> None:
    """``model`` keeps the symmetry ``flags.checked`` promises on ``data`` (no symmetry) and ``symmetric`` (one symmetric structure, or None)."""
    from ._equivariance import assert_equivariant, assert_relaxed_equivariant

    name = flags.checked
    if name in ("exact", "relaxed"):
        assert_equivariant(model, data, n_rotations=n_rotations, atol=atol, seed=seed)  # relaxed is exact without symmetry
        if name == "relaxed" and symmetric is not None:
            assert_relaxed_equivariant(model, symmetric, n_rotations=n_rotations, atol=atol, seed=seed)
    elif flags.permutation_equivariant:
        assert_equivariant(model, data, group=np.eye(3)[None], translation=False, atol=atol, seed=seed)
    else:  # the flag is honest: relabelling the atoms does change the answer
        with pytest.raises(AssertionError, match="not permutation equivariant"):
            assert_equivariant(model, data, group=np.eye(3)[None], translation=False, atol=atol, seed=seed)


def _with_input(model: Any, data: Any) -> SimpleNamespace:
    """The batch with the wrapper's input appended, as :class:`~symbreak.models.WithInputs` feeds its model."""
    import torch

    extra = model.source(data)
    out = _copy_batch(data)
    for key in ("x", "vectors", "pseudovectors"):
        if extra.get(key) is not None:
            old = getattr(data, key, None)
            setattr(out, key, extra[key] if old is None else torch.cat([old, extra[key].to(old.dtype)], dim=1))
    return out


def _set_match(a: Any, b: Any) -> float:
    """Distance between two sets of outputs (m, n, d): the largest distance from an element of one to the nearest of the other."""
    if a.shape != b.shape:
        return float("inf")
    d = (a[:, None] - b[None, :]).abs().flatten(2).amax(-1)  # (m, m)
    return float(max(d.amin(1).max(), d.amin(0).max()))


class ModelConformance:
    """Conformance tests of one registry model: subclass and set ``spec`` (see the module docstring).

    Class attributes: spec: the spec string (``"mymodel+sbs"``); specs: a list of them instead (the
    class is parametrized over them); options: build options, each given to the specs that take it
    (:data:`SMALL_OPTIONS`); symmetric_group: the point group of the symmetric test structure;
    n_rotations: random O(3) elements per check (half improper); atol, atol32, break_atol:
    tolerances (:data:`ATOL`, :data:`ATOL32`, :data:`BREAK_ATOL`); seed: of weights, elements and
    permutations; known_failures: ``{"test_name[params]": reason}``, tests expected to fail (a known
    defect, named with its reason; a fix shows as XPASS).
    """

    spec: ClassVar[str]
    specs: ClassVar[list[str] | None] = None
    options: ClassVar[dict[str, Any]] = SMALL_OPTIONS
    symmetric_group: ClassVar[str] = "C3v"
    n_rotations: ClassVar[int] = 2
    atol: ClassVar[float] = ATOL
    atol32: ClassVar[float] = ATOL32
    break_atol: ClassVar[float] = BREAK_ATOL
    seed: ClassVar[int] = 0
    known_failures: ClassVar[dict[str, str]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        specs = cls.__dict__.get("specs")
        if specs is not None:
            marks = [m for m in getattr(cls, "pytestmark", []) if tuple(getattr(m, "args", ()))[:1] != ("model_spec",)]
            cls.pytestmark = [*marks, pytest.mark.parametrize("model_spec", list(specs), ids=str)]

    # -- fixtures ------------------------------------------------------------------------------

    @pytest.fixture(autouse=True)
    def _known_failure(self, request: Any) -> None:
        """Mark the tests named in ``known_failures`` (``"test_name[params]"`` → reason) as expected
        failures (a fix shows as XPASS in the summary: then remove the entry)."""
        reason = self.known_failures.get(request.node.name)
        if reason is not None:
            request.applymarker(pytest.mark.xfail(reason=reason, strict=False))

    @pytest.fixture
    def model_spec(self) -> str:
        """The spec under test: the class's ``spec`` (or each of ``specs``, by parametrization)."""
        spec = getattr(type(self), "spec", None)
        if spec is None:
            pytest.fail(f"{type(self).__name__} sets neither `spec` nor `specs`", pytrace=False)
        return spec

    @pytest.fixture
    def model(self, model_spec: str) -> Any:
        """The model, float64, evaluation mode, weights perturbed; one instance shared by the tests
        of a spec, which change it only on a copy (and leave it in evaluation mode)."""
        model = build_reference(model_spec, self.options, self.seed, shared=True)
        yield model
        model.eval()

    @pytest.fixture
    def flags(self, model: Any) -> ModelFlags:
        return ModelFlags.of(model)

    @pytest.fixture
    def batch(self) -> SimpleNamespace:
        """Two molecules without symmetry, float64."""
        return _asymmetric_batch()

    @pytest.fixture
    def symmetric(self) -> SimpleNamespace:
        """One structure of point group :attr:`symmetric_group`, off the origin, float64, with its ``Symmetry`` as ``.symmetry``."""
        import torch

        pos, numbers, sym = _symmetric(self.symmetric_group, self.seed + 3)
        return SimpleNamespace(z=torch.as_tensor(numbers), pos=torch.tensor(pos), symmetry=sym)

    # -- tests ---------------------------------------------------------------------------------

    def test_declares_its_capabilities(self, model: Any, flags: ModelFlags, batch: Any) -> None:
        import torch

        from ..models._base import SYMMETRY_KINDS
        from ..rotations import Rep

        assert flags.symmetry in SYMMETRY_KINDS, f"symmetry must be one of {SYMMETRY_KINDS}, got {flags.symmetry!r}"
        assert flags.dtypes and all(d in (torch.float16, torch.bfloat16, torch.float32, torch.float64) for d in flags.dtypes), flags.dtypes
        before = _copy_batch(batch)
        with torch.no_grad():
            out = model(batch)
        assert out.shape == (len(batch.pos), Rep.parse(flags.output_type).dim), f"output {tuple(out.shape)} for output_type {flags.output_type!r}"
        assert out.dtype == torch.float64 and bool(torch.isfinite(out).all())
        assert vars(batch).keys() == vars(before).keys() and all(torch.equal(getattr(batch, k), v) for k, v in vars(before).items()), "the model changed its batch"

    def test_symmetry_as_declared(self, model: Any, flags: ModelFlags, batch: Any, symmetric: Any) -> None:
        sym_batch = SimpleNamespace(z=symmetric.z, pos=symmetric.pos)
        _check_symmetry(model, flags, batch, sym_batch, n_rotations=self.n_rotations, atol=self.atol, seed=self.seed)

    def test_equivariant_given_its_input(self, model: Any, flags: ModelFlags, batch: Any) -> None:
        import torch

        if flags.inner is None:
            pytest.skip("not an input wrapper (no model.source)")
        with torch.no_grad():
            augmented = _with_input(model, batch)
        _check_symmetry(model.model, flags.inner, augmented, None, n_rotations=self.n_rotations, atol=self.atol, seed=self.seed)

    def test_breaks_symmetry_where_declared(self, model: Any, flags: ModelFlags, symmetric: Any) -> None:
        import torch

        with torch.no_grad():
            out = model(SimpleNamespace(z=symmetric.z, pos=symmetric.pos))
        dev = _symmetry_deviation(out, symmetric.symmetry, flags.output_type)
        group = symmetric.symmetry.point_group
        if flags.symmetry == "exact":
            assert dev <= self.atol, f"an exact model's output on a {group} structure must keep its symmetry (Curie): max |g·f(x) − f(x)| = {dev:.3g}"
        else:
            assert dev > self.break_atol, f"a {flags.symmetry} model's output on a {group} structure keeps all its symmetry: max |g·f(x) − f(x)| = {dev:.3g}"

    def test_law_of_outputs_is_equivariant(self, model: Any, flags: ModelFlags, batch: Any, symmetric: Any) -> None:
        import torch

        from ..models._choice import ChoiceInput, every_choice
        from ..models._inputs import transform_batch
        from ..rotations import act

        if not flags.set_valued:
            pytest.skip("no set-valued input (the law of a continuous input, +randvec's, is its own input's test)")
        if not isinstance(model.source, ChoiceInput):
            pytest.skip(f"{flags.input} is set-valued but not a ChoiceInput: its elements cannot be enumerated")
        if flags.inner is None or flags.inner.checked != "exact":
            pytest.skip(f"the wrapped model is {flags.inner.checked if flags.inner else '?'}: only an exact model's outputs form an equivariant set")
        # the symmetric structure (a set of |G|-ish elements) and one molecule without symmetry (one element)
        n = len(symmetric.z)
        data = SimpleNamespace(
            z=torch.cat([symmetric.z, batch.z[:4]]),
            pos=torch.cat([symmetric.pos, batch.pos[:4]]),
            batch=torch.cat([torch.zeros(n, dtype=torch.long), torch.ones(4, dtype=torch.long)]),
        )
        rep = flags.output_type
        prepare = model.source.prepare_data  # each structure's set computed once per batch, not once per element
        with torch.no_grad():
            base = every_choice(model, prepare(data), ChoiceInput)
            for k, g in enumerate(_random_elements(self.n_rotations, self.seed + 11)):
                perm = _within_molecules(data.batch, self.seed + k)
                moved = every_choice(model, prepare(transform_batch(data, g, permutation=perm)), ChoiceInput)
                gt = torch.as_tensor(g)
                for b, (mine, theirs) in enumerate(zip(moved, base)):
                    start = int((data.batch < b).sum())
                    local = perm[data.batch == b] - start
                    expected = act(gt, theirs, rep)[:, local]
                    dev = _set_match(mine, expected)
                    kind = "improper" if np.linalg.det(g) < 0 else "proper"
                    assert dev <= self.atol, (
                        f"the set of outputs of structure {b} ({len(theirs)} element(s)) does not turn with it under element {k} ({kind}) "
                        f"and a permutation: distance between the sets {dev:.3g} > atol {self.atol:g}"
                    )

    def test_device_clean(self, model: Any, batch: Any) -> None:
        """Under ``torch.device("meta")`` every tensor made without an explicit device lands on
        ``meta``; a model that makes its tensors on its input's device runs unchanged."""
        import torch

        for mode in ("train", "eval"):
            model.train(mode == "train")
            with torch.device("meta"):
                out = model(_copy_batch(batch))
            assert out.device.type == "cpu" and out.shape[0] == len(batch.pos), f"{mode}: output on {out.device}, shape {tuple(out.shape)}"

    def test_same_answer_on_cuda(self, model: Any, batch: Any) -> None:
        import torch

        if not torch.cuda.is_available():
            pytest.skip("no CUDA device")
        with torch.no_grad():
            cpu = model(batch)
            moved = SimpleNamespace(**{k: v.cuda() for k, v in vars(batch).items()})
            gpu = copy.deepcopy(model).cuda()(moved)
        assert gpu.device.type == "cuda"
        torch.testing.assert_close(gpu.cpu(), cpu, atol=1e-6, rtol=1e-6)

    @pytest.mark.parametrize("dtype", ["float32", "float64"])
    def test_runs_in_each_declared_dtype(self, model: Any, flags: ModelFlags, batch: Any, dtype: str) -> None:
        import torch

        dt = getattr(torch, dtype)
        if dt not in flags.dtypes:
            pytest.skip(f"declares dtypes {[str(d).removeprefix('torch.') for d in flags.dtypes]}")
        with torch.no_grad():
            reference = model(batch)
            out = (model if dt == torch.float64 else copy.deepcopy(model).to(dt))(_cast(batch, dt))
        assert out.dtype == dt and out.shape == reference.shape and bool(torch.isfinite(out).all())
        scale = float(reference.abs().max())
        dev = float((out.double() - reference).abs().max())
        tol = self.atol if dt == torch.float64 else self.atol32 * scale
        assert dev <= tol, f"{dtype} output differs from float64 by {dev:.3g} > {tol:.3g}"

    def test_checkpoint_round_trip(self, model: Any, batch: Any, tmp_path: Any) -> None:
        import torch

        from ..models import load_model, save_model

        path = save_model(model, tmp_path / "model.pt")
        raw = torch.load(path, weights_only=True)  # plain data: no pickled code
        assert raw["spec"] == model.spec and raw["dtype"] == "float64"
        loaded = load_model(path)
        assert not loaded.training and type(loaded) is type(model) and ModelFlags.of(loaded) == ModelFlags.of(model)
        with torch.no_grad():
            assert torch.equal(loaded(batch), model(batch)), "the reloaded model gives other outputs"


class InputConformance(ModelConformance):
    """Conformance of a registered input on every model that reads it: subclass and set ``input``
    (``"myinput"``); models: the base models to try (None: every registered one), alone and with
    each variant, keeping those the registry builds."""

    input: ClassVar[str]
    models: ClassVar[list[str] | None] = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        name = cls.__dict__.get("input")
        if name is not None and "specs" not in cls.__dict__:
            cls.specs = [s for s in conformance_specs(models=cls.models, inputs=[name], options=cls.options) if s.endswith("+" + name)]
        super().__init_subclass__(**kwargs)
