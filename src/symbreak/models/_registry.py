r"""One registry of models, and of the variants (+Noise, +MLP) that wrap any of them.

A spec string names a base model and any variants: ``"egnn"``, ``"painn+mlp"``,
``"egnn+noise"``. Keyword arguments go to whichever factory accepts them, so
``build_model("egnn+noise", hidden=32, sigma=0.01)`` sizes the EGNN and sets the noise. Options
can also ride in the spec, in brackets at its end: ``"sann[layers=3,num_radial=6]"`` or
``"egnn+mlp[hidden=128]"``, so a hyper-parameter setting is one string (a benchmark row, a
``--models`` entry, a job key).

The string is parsed and checked once, into a :class:`ModelSpec` (base model, variants and
inputs in the order written, options), which prints back as its canonical form:
``str(ModelSpec.parse("EGNN+Noise[sigma=0.1,hidden=32]")) == "egnn+noise[hidden=32, sigma=0.1]"``.

Models and inputs belong to a *domain* (:data:`DOMAINS`): ``"points"`` (the molecules and point
clouds above, the default) or ``"graph"`` (:mod:`symbreak.graphs`: ``"graphnet+sympe[dim=8]"``).
A spec's inputs are looked up in its base model's domain only, so an input name registered in both
(``randvec``, ``sympe``, ``canon``) means the same thing in both, and one of the other domain is
refused with a one-line error.
"""

from __future__ import annotations

import ast
import inspect
import numbers
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .._errors import SymbreakError
from .._lazy import LazyRegistry

__all__ = [
    "ModelSpec", "register_model", "register_variant", "register_input", "model_class", "INPUTS", "build_model", "available_models", "parse_spec",
    "split_specs", "model_config", "MODELS", "VARIANTS", "INTEGER_OPTIONS", "POSITIVE_OPTIONS", "GRAPH_MODELS", "GRAPH_INPUTS", "DOMAINS",
]  # fmt: skip

_M = "symbreak.models."
#: name → model class; builtins are imported when first built (listing them imports nothing)
MODELS = LazyRegistry("model", {
    "schnet": _M + "_schnet:SchNet", "dimenet++": _M + "_dimenet:DimeNetPlusPlus", "egnn": _M + "_egnn:EGNN", "painn": _M + "_painn:PaiNN",
    "painn-vector": _M + "_painn:PaiNNVector", "relaxed-e3nn": _M + "_relaxed_e3nn:RelaxedE3NN", "e3nn": _M + "_relaxed_e3nn:E3NN", "sann": _M + "_sann:SANN",
    "pet": _M + "_pet:PET", "pet-invariant": _M + "_pet:PETInvariant",
})  # fmt: skip
#: name → ``wrapper(model, **options)``, used as ``"<model>+<name>"``
VARIANTS = LazyRegistry("variant", {"noise": _M + "_variants:_noise", "mlp": _M + "_variants:_mlp"})
#: name → input module class (``features``/``vectors`` channels it adds), used as ``"<model>+<name>"``
INPUTS = LazyRegistry("input", {"randvec": _M + "_randvec:RandomVector", "sbs": _M + "_sbs_input:SymmetryBreakingSetInput",
                                 "sbs-axial": _M + "_sbs_input:AxialSymmetryBreakingSetInput", "sympe": _M + "_sympe:SymPE",
                                 "canon": _M + "_sympe:CanonicalFrameInput", "learned-canon": _M + "_learned_canon:LearnedCanonicalization"})
ALIASES = {"dimenet": "dimenet++"}  # the SANN paper writes "DimeNet+MLP" for DimeNet++ with an MLP head
_G = "symbreak.graphs._inputs:"
#: graph networks (:mod:`symbreak.graphs`): a model takes its node inputs as its first, positional argument
GRAPH_MODELS = LazyRegistry("graph model", {"graphnet": _G + "GraphModel"})
#: node inputs of graph networks, named as the point-cloud input of the same meaning (:mod:`symbreak.graphs._inputs`)
GRAPH_INPUTS = LazyRegistry("graph input", {"randvec": _G + "RandomNodeFeatures", "sympe": _G + "GraphSymPE", "canon": _G + "CanonicalLabels"})
#: domain → (models, variants, inputs): a spec's variants and inputs come from its base model's domain
DOMAINS: dict[str, tuple[LazyRegistry, Any, LazyRegistry]] = {"points": (MODELS, VARIANTS, INPUTS), "graph": (GRAPH_MODELS, {}, GRAPH_INPUTS)}
_DOMAIN_WORDS = {"points": "point-cloud", "graph": "graph"}


def _domain(domain: str) -> tuple[Any, Any, Any]:
    if domain not in DOMAINS:
        raise SymbreakError(f"unknown domain {domain!r}; choose from {', '.join(DOMAINS)}")
    return DOMAINS[domain]


def register_model(name: str, *, domain: str = "points") -> Callable:
    """Class decorator: make a model buildable as ``build_model(name)`` and by ``symbreak bench --models``.
    domain: ``"graph"`` for a graph network, built as ``cls(inputs, **options)`` (see :data:`DOMAINS`)."""
    models = _domain(domain)[0]

    def deco(cls: Callable) -> Callable:
        models.register(name, cls)
        return cls

    return deco


def register_variant(name: str) -> Callable:
    """Decorator for ``wrapper(model, **options) -> nn.Module``, used as ``"<model>+<name>"``."""

    def deco(fn: Callable) -> Callable:
        VARIANTS.register(name, fn)
        return fn

    return deco


def register_input(name: str, *, domain: str = "points") -> Callable:
    """Class decorator for a symmetry-breaking input: an ``nn.Module`` whose ``forward(batch)``
    returns ``{"x": (N, F)}`` and/or ``{"vectors": (N, C, 3)}`` and whose class attributes
    ``features = F`` and ``vectors = C`` say how many. ``"<model>+<name>"`` then builds the model
    with F (C) more input channels and feeds it the input (wrapped in :class:`~symbreak.models.WithInputs`; docs/extending.md).

    A class attribute ``derived`` (a tuple of names) declares the batch attributes its
    ``prepare_data`` computes from the positions, dropped when they change
    (:func:`~symbreak.models._inputs.declare_derived`). domain: ``"graph"`` for a node input of the
    graph networks (:mod:`symbreak.graphs._inputs`), ``"points"`` otherwise."""
    inputs = _domain(domain)[2]

    def deco(cls: Callable) -> Callable:
        inputs.register(name, cls)
        if getattr(cls, "derived", ()):
            from ._inputs import declare_derived

            declare_derived(*cls.derived)
        return cls

    return deco


def available_models(domain: str = "points") -> list[str]:
    """Registered base models (combine with ``+noise``/``+mlp`` and any other registered variant);
    domain ``"graph"``: the graph networks."""
    return sorted(_domain(domain)[0])


def _accepted(fn: Callable) -> set[str]:
    return {p.name for p in inspect.signature(fn).parameters.values() if p.kind is p.KEYWORD_ONLY or p.kind is p.POSITIONAL_OR_KEYWORD}


def parse_spec(spec: str) -> tuple[str, dict[str, Any]]:
    """Split ``"name[+variant...][k=v,...]"`` into the name part and its options (Python literals).

    >>> parse_spec("sann[layers=3, num_radial=6]")
    ('sann', {'layers': 3, 'num_radial': 6})
    """
    match = re.fullmatch(r"\s*([^\[\]]+?)\s*(?:\[(.*)\])?\s*", spec)
    if match is None:
        raise SymbreakError(f"malformed model spec {spec!r}: expected name[+variant...][key=value,...]")
    name, body = match.group(1), match.group(2)
    options: dict[str, Any] = {}
    for item in filter(None, (x.strip() for x in (body or "").split(","))):
        key, eq, value = item.partition("=")
        if not eq or not key.strip().isidentifier():
            raise SymbreakError(f"malformed option {item!r} in model spec {spec!r}: expected key=value")
        try:
            options[key.strip()] = ast.literal_eval(value.strip())
        except (ValueError, SyntaxError):
            raise SymbreakError(f"option {key.strip()!r} in model spec {spec!r}: {value.strip()!r} is not a number, a quoted string, True or False") from None
    return name, options


def split_specs(text: str) -> list[str]:
    """Split a comma-separated list of specs, leaving commas inside brackets alone: ``"egnn,sann[layers=3,num_radial=6]"``."""
    return [s.strip() for s in re.split(r",(?![^\[]*\])", text) if s.strip()]


#: the least value of each integer option (a size or a count) the builtin models and inputs take;
#: any factory's option of one of these names is checked, in the spec and as an argument
INTEGER_OPTIONS = {
    "layers": 1, "hidden": 1, "head_hidden": 1, "heads": 1, "num_rbf": 1, "num_radial": 1, "num_spherical": 1, "int_emb": 1, "basis_emb": 1,
    "out_emb": 1, "max_z": 1, "lmax": 0, "l_relaxed": 0, "in_features": 0, "in_vectors": 0, "in_pseudovectors": 0, "cache_size": 0,
    "dim": 1, "max_nodes": 1, "node_colors": 1, "edge_colors": 1, "frame_hidden": 1, "frame_layers": 1, "transformer_layers": 1, "rbf": 0, "readout_depth": 2,
}  # fmt: skip
#: options that are lengths in Å and must be > 0 (``sigma``, the noise of ``+noise``, may be 0)
POSITIVE_OPTIONS = ("cutoff", "tol", "frame_cutoff")

_SEPARATOR_HELP = "'+' separates variants (egnn+noise) and '++' belongs only to a model's name (dimenet++: dimenet+++mlp or dimenet+mlp)"


def _take(text: str, names: list[str]) -> str | None:
    """The longest of ``names`` that ``text`` starts with, followed by ``+`` or its end."""
    for name in sorted(names, key=len, reverse=True):
        if text == name or text.startswith(name + "+"):
            return name
    return None


def _check_value(where: str, key: str, value: Any) -> Any:
    """``value`` of option ``key``, checked for range (:data:`INTEGER_OPTIONS`, :data:`POSITIVE_OPTIONS`); numpy scalars become Python's."""
    if hasattr(value, "item") and type(value).__module__ == "numpy":
        value = value.item()
    if key in INTEGER_OPTIONS:
        least = INTEGER_OPTIONS[key]
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < least:
            raise SymbreakError(f"{where}: {key} must be an integer >= {least}, got {value!r}")
    elif key in POSITIVE_OPTIONS:
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not value > 0:
            raise SymbreakError(f"{where}: {key} must be a number > 0 (Å), got {value!r}")
    elif key == "sigma" and (isinstance(value, bool) or not isinstance(value, numbers.Real) or not value >= 0):
        raise SymbreakError(f"{where}: sigma must be a number >= 0 (Å), got {value!r}")
    return value


@dataclass(frozen=True)
class ModelSpec:
    r"""A model spec, parsed and checked: ``"name[+variant...][key=value, ...]"``.

    Parameters
    ----------
    name : str
        A registered base model (:data:`MODELS`), lower case, aliases resolved (``dimenet`` → ``dimenet++``).
    variants : tuple of str
        Registered variants (:data:`VARIANTS`, e.g. ``noise``, ``mlp``) and inputs (:data:`INPUTS`,
        e.g. ``sbs``), in the order written; each at most once.
    options : dict
        Options for the factories, each taken by at least one of them and in range
        (:data:`INTEGER_OPTIONS`, :data:`POSITIVE_OPTIONS`); ``sigma`` ≥ 0.

    Notes
    -----
    A ``ModelSpec`` is checked when made (by :meth:`parse` or directly), so every one builds (or
    fails only on what its model's own constructor refuses). ``str(spec)`` is the canonical
    string: names in lower case, options sorted by name as ``key=repr(value)`` joined by ``", "``;
    ``ModelSpec.parse(str(spec)) == spec``. A job's identity (its key, its seed) is the spec string
    as the user wrote it, so two spellings of one model are two jobs with their own seeds.

    Examples
    --------
    >>> spec = ModelSpec.parse("EGNN+Noise[sigma=0.1,hidden=32]")
    >>> spec.name, spec.variants, spec.options
    ('egnn', ('noise',), {'hidden': 32, 'sigma': 0.1})
    >>> str(spec), str(ModelSpec.parse("dimenet+mlp"))
    ('egnn+noise[hidden=32, sigma=0.1]', 'dimenet+++mlp')
    >>> ModelSpec.parse("egnn[layers=0]")
    Traceback (most recent call last):
    ...
    symbreak._errors.SymbreakError: egnn: layers must be an integer >= 1, got 0
    """

    name: str
    variants: tuple[str, ...] = ()
    options: dict[str, Any] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "variants", tuple(self.variants))
        if not any(self.name in models for models, _, _ in DOMAINS.values()):
            raise SymbreakError(_unknown_model(self.name))
        _, variants, inputs = DOMAINS[self.domain]
        for v in self.variants:
            if v not in variants and v not in inputs:
                raise SymbreakError(_unknown_variant(v, self.names, self.name, self.domain))
            if self.variants.count(v) > 1:
                raise SymbreakError(f"{self.names!r}: variant {v!r} given twice")
        unused = set(self.options) - self.accepted()
        if unused:
            raise SymbreakError(f"{self.names!r} takes no option(s) {sorted(unused)}")
        options = {key: _check_value(self.names, key, value) for key, value in sorted(self.options.items())}
        object.__setattr__(self, "options", options)
        base = _accepted(DOMAINS[self.domain][0][self.name])
        for key, extra in _input_channels(list(self.variants) if self.domain == "points" else []).items():
            if extra and key not in base:
                what = {"in_features": "invariant", "in_vectors": "vector", "in_pseudovectors": "pseudovector (axial)"}[key]
                raise SymbreakError(f"{self.names!r}: model {self.name!r} reads no {what} inputs ({key}); the e3nn models read every kind")

    @classmethod
    def parse(cls, text: str | ModelSpec) -> ModelSpec:
        """Parse and check ``"name[+variant...][key=value, ...]"`` (a :class:`ModelSpec` is returned as it is).

        Names are read case-insensitively; ``+`` separates variants and ``++`` belongs to a
        model's name (``dimenet+++mlp`` is DimeNet++ with ``+mlp``); option values are Python
        literals. Every problem is a one-line :class:`~symbreak.SymbreakError` naming it.
        """
        if isinstance(text, ModelSpec):
            return text
        if not isinstance(text, str):
            raise SymbreakError(f"a model spec is a string such as 'egnn+noise[hidden=32]', got {type(text).__name__} {text!r}")
        names, options = parse_spec(text)
        lowered = names.lower()
        base = _take(lowered, [m for models, _, _ in DOMAINS.values() for m in models] + list(ALIASES))
        if base is None:
            first = lowered.replace("++", "\0").split("+")[0].replace("\0", "++")
            if not first:
                raise SymbreakError(f"model spec {text!r} names no model; {_SEPARATOR_HELP}")
            raise SymbreakError(_unknown_model(first))
        domain = _domain_of(ALIASES.get(base, base))
        _, known, inputs = DOMAINS[domain]
        rest, variants = lowered[len(base) :], []
        while rest:
            rest = rest[1:]  # the "+" before each variant
            variant = _take(rest, list(known) + list(inputs))
            if variant is None:
                token = rest.split("+")[0]
                if not token:
                    raise SymbreakError(f"model spec {text!r}: an empty variant name; {_SEPARATOR_HELP}")
                raise SymbreakError(_unknown_variant(token, text, ALIASES.get(base, base), domain))
            variants.append(variant)
            rest = rest[len(variant) :]
        return cls(ALIASES.get(base, base), tuple(variants), options)

    @property
    def domain(self) -> str:
        """The base model's domain (:data:`DOMAINS`): ``"points"`` or ``"graph"``."""
        return _domain_of(self.name)

    @property
    def names(self) -> str:
        """The base model and its variants, without options: ``"egnn+noise"``."""
        return "+".join((self.name, *self.variants))

    def __str__(self) -> str:
        body = ", ".join(f"{k}={v!r}" for k, v in sorted(self.options.items()))
        return self.names + (f"[{body}]" if body else "")

    def factories(self) -> list[Callable]:
        """The base model's class, then each variant's wrapper or input class, in the order written."""
        models, variants, inputs = DOMAINS[self.domain]
        return [models[self.name]] + [variants[v] if v in variants else inputs[v] for v in self.variants]

    def accepted(self) -> set[str]:
        """Every option some factory of this spec takes."""
        return set().union(*(_accepted(f) for f in self.factories())) - {"model"}

    def with_options(self, **options: Any) -> ModelSpec:
        """The same model with ``options`` added (replacing options of the same name), checked."""
        return ModelSpec(self.name, self.variants, {**self.options, **options})


def _domain_of(name: str) -> str:
    return next((d for d, (models, _, _) in DOMAINS.items() if name in models), "points")


def _unknown_model(name: str) -> str:
    return f"unknown model {name!r}; registered: {', '.join(available_models())}; graph models: {', '.join(available_models('graph'))}"


def _unknown_variant(token: str, text: str, base: str, domain: str) -> str:
    """The one-line error of ``token``, which ``domain``'s models do not take: another domain's input or variant, or nothing."""
    _, variants, inputs = DOMAINS[domain]
    menu = f"registered: {', '.join(sorted(variants))}; inputs: {', '.join(sorted(inputs))}" if variants else f"inputs: {', '.join(sorted(inputs))}"
    for other, (_, v, i) in DOMAINS.items():
        if other != domain and (token in v or token in i):
            kind = "variant" if token in v else "input"
            takes = ", ".join(sorted({*variants, *inputs}))
            return f"{text!r}: {token!r} is a {_DOMAIN_WORDS[other]} {kind}, and {base!r} a {_DOMAIN_WORDS[domain]} model, which takes {takes}"
    return f"unknown variant {token!r} in {text!r}; {menu}"


def _resolve(spec: str | ModelSpec) -> tuple[str, list[str], dict[str, Any]]:
    parsed = ModelSpec.parse(spec)
    return parsed.name, list(parsed.variants), dict(parsed.options)


def model_class(spec: str | ModelSpec) -> type:
    """The class of ``spec``'s base model (its capability flags: ``periodic``, ``symmetry``, ...), without building it."""
    parsed = ModelSpec.parse(spec)
    return DOMAINS[parsed.domain][0][parsed.name]


def _input_channels(variants: list[str]) -> dict[str, int]:
    """Extra input channels the base model needs for the inputs among ``variants``."""
    extra = {"in_features": 0, "in_vectors": 0, "in_pseudovectors": 0}
    for v in variants:
        if v in INPUTS and v not in VARIANTS:
            extra["in_features"] += int(getattr(INPUTS[v], "features", 0))
            extra["in_vectors"] += int(getattr(INPUTS[v], "vectors", 0))
            extra["in_pseudovectors"] += int(getattr(INPUTS[v], "pseudovectors", 0))
    return extra


#: options that are part of a model's identity only when they change something: a model reading no
#: extra inputs is the model it was before every model could read them, and a PET of one
#: self-attention layer per message-passing layer the PET it was before it could have more, and an
#: ``+sbs`` set closed under the whole normalizer (``keep=None``) the set it was before ``keep`` (job keys stay the same)
NEUTRAL_OPTIONS = {"in_features": 0, "in_vectors": 0, "in_pseudovectors": 0, "transformer_layers": 1, "keep": None, "coords": True, "readout": "frame",
                   "mix": "attention", "aggregate": "mean", "classes": True, "rbf": 0, "stages": "two", "moves": "every", "readout_depth": 2, "pair_distance": "linear"}


def model_config(spec: str | ModelSpec, **options: Any) -> dict[str, Any]:
    """Every option of ``spec``'s factories, defaults included, as they would build it: a model's
    identity in a job key. Options at their :data:`NEUTRAL_OPTIONS` value are left out.

    >>> model_config("egnn+noise[hidden=32]", sigma=0.1)["hidden"], model_config("egnn+noise", sigma=0.1)["sigma"]
    (32, 0.1)
    """
    parsed = ModelSpec.parse(spec)
    config: dict[str, Any] = {"model": parsed.name, "variants": list(parsed.variants)}
    for fn in parsed.factories():
        for p in inspect.signature(fn).parameters.values():
            if p.name != "model" and p.default is not p.empty and p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD):
                config[p.name] = p.default
    config = {**config, **parsed.with_options(**options).options}
    return {k: v for k, v in config.items() if not (k in NEUTRAL_OPTIONS and v == NEUTRAL_OPTIONS[k])}


def build_model(spec: str | ModelSpec, **options: Any) -> Any:
    """Build ``"base[+variant...][key=value, ...]"`` (a string or a :class:`ModelSpec`); each option goes to the factories that accept it.

    Options are checked as the spec's are (:class:`ModelSpec`): taken by some factory, and in range.

    >>> build_model("egnn+noise", hidden=16, sigma=0.01).sigma
    0.01
    >>> build_model("nope")
    Traceback (most recent call last):
    ...
    symbreak._errors.SymbreakError: unknown model 'nope'; registered: dimenet++, e3nn, egnn, painn, painn-vector, pet, pet-invariant, relaxed-e3nn, sann, schnet; graph models: graphnet
    >>> build_model("egnn", layers=0)
    Traceback (most recent call last):
    ...
    symbreak._errors.SymbreakError: egnn: layers must be an integer >= 1, got 0
    """
    parsed = ModelSpec.parse(spec)
    clash = set(parsed.options) & set(options)
    if clash:
        raise SymbreakError(f"option(s) {sorted(clash)} given both in the spec {str(spec)!r} and as arguments")
    given = dict(options)
    full = parsed.with_options(**options)
    if full.domain != "points":  # a graph network takes its node inputs when it is made (symbreak.graphs)
        models, _, inputs = DOMAINS[full.domain]
        pick = lambda fn: {k: v for k, v in full.options.items() if k in _accepted(fn)}  # noqa: E731
        model = models[full.name]([inputs[v](**pick(inputs[v])) for v in full.variants], **pick(models[full.name]))
        model.spec, model.build_options = spec if isinstance(spec, str) else str(spec), given
        return model
    base, variants, options = full.name, list(full.variants), full.options
    base_options = {k: v for k, v in options.items() if k in _accepted(MODELS[base])}
    for key, extra in _input_channels(variants).items():
        if extra:
            base_options[key] = base_options.get(key, 0) + extra
    model = MODELS[base](**base_options)
    # wrappers in the order written; inputs outermost, so "painn+randvec+mlp" is "painn+mlp+randvec"
    # (a readout such as +mlp needs the model's body, which an input wrapper would hide)
    for v in [v for v in variants if v in VARIANTS] + [v for v in variants if v not in VARIANTS]:
        if v in VARIANTS:
            fn = VARIANTS[v]
            model = fn(model, **{k: val for k, val in options.items() if k in _accepted(fn) and k != "model"})
        else:
            from ._inputs import WithInputs

            source = INPUTS[v](**{k: val for k, val in options.items() if k in _accepted(INPUTS[v])})
            model = WithInputs(model, source)
    model.spec = spec if isinstance(spec, str) else str(spec)
    model.build_options = given  # with the spec: what save_model records to rebuild it
    return model
