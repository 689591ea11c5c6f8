r"""One registry of models, and of the variants (+Noise, +MLP) that wrap any of them.

A spec string names a base model and any variants: ``"egnn"``, ``"painn+mlp"``,
``"egnn+noise"``. Keyword arguments go to whichever factory accepts them, so
``build_model("egnn+noise", hidden=32, sigma=0.01)`` sizes the EGNN and sets the noise. Options
can also ride in the spec, in brackets at its end: ``"sann[layers=3,num_radial=6]"`` or
``"egnn+mlp[hidden=128]"``, so a hyper-parameter setting is one string (a benchmark row, a
``--models`` entry, a job key).
"""

from __future__ import annotations

import ast
import inspect
import re
from collections.abc import Callable
from typing import Any

from .._errors import SymbreakError
from .._lazy import LazyRegistry

__all__ = ["register_model", "register_variant", "register_input", "model_class", "INPUTS", "build_model", "available_models", "parse_spec", "split_specs", "model_config", "MODELS", "VARIANTS"]

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
                                 "canon": _M + "_sympe:CanonicalFrameInput"})
ALIASES = {"dimenet": "dimenet++"}  # the SANN paper writes "DimeNet+MLP" for DimeNet++ with an MLP head


def register_model(name: str) -> Callable:
    """Class decorator: make a model buildable as ``build_model(name)`` and by ``symbreak bench --models``."""

    def deco(cls: Callable) -> Callable:
        MODELS.register(name, cls)
        return cls

    return deco


def register_variant(name: str) -> Callable:
    """Decorator for ``wrapper(model, **options) -> nn.Module``, used as ``"<model>+<name>"``."""

    def deco(fn: Callable) -> Callable:
        VARIANTS.register(name, fn)
        return fn

    return deco


def register_input(name: str) -> Callable:
    """Class decorator for a symmetry-breaking input: an ``nn.Module`` whose ``forward(batch)``
    returns ``{"x": (N, F)}`` and/or ``{"vectors": (N, C, 3)}`` and whose class attributes
    ``features = F`` and ``vectors = C`` say how many. ``"<model>+<name>"`` then builds the model
    with F (C) more input channels and feeds it the input (wrapped in :class:`~symbreak.models.WithInputs`; docs/extending.md)."""

    def deco(cls: Callable) -> Callable:
        INPUTS.register(name, cls)
        return cls

    return deco


def available_models() -> list[str]:
    """Registered base models (combine with ``+noise``/``+mlp`` and any other registered variant)."""
    return sorted(MODELS)


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
            raise SymbreakError(f"option {key.strip()!r} in model spec {spec!r}: {value.strip()!r} is not a number, string or bool") from None
    return name, options


def split_specs(text: str) -> list[str]:
    """Split a comma-separated list of specs, leaving commas inside brackets alone: ``"egnn,sann[layers=3,num_radial=6]"``."""
    return [s.strip() for s in re.split(r",(?![^\[]*\])", text) if s.strip()]


def _resolve(spec: str) -> tuple[str, list[str], dict[str, Any]]:
    name, in_spec = parse_spec(spec)
    # "++" belongs to a name (DimeNet++), "+" separates variants: "dimenet+++mlp" or "dimenet+mlp"
    base, *variants = name.lower().replace("++", "\0").split("+")
    base, variants = base.replace("\0", "++"), [v.replace("\0", "++") for v in variants]
    base = ALIASES.get(base, base)
    if base not in MODELS:
        raise SymbreakError(f"unknown model {base!r}; registered: {', '.join(available_models())}")
    for v in variants:
        if v not in VARIANTS and v not in INPUTS:
            raise SymbreakError(f"unknown variant {v!r} in {spec!r}; registered: {', '.join(sorted(VARIANTS))}; inputs: {', '.join(sorted(INPUTS))}")
    return base, variants, in_spec


def model_class(spec: str) -> type:
    """The class of ``spec``'s base model (its capability flags: ``periodic``, ``symmetry``, ...), without building it."""
    return MODELS[_resolve(spec)[0]]


def _factory(variant: str) -> Callable:
    return VARIANTS[variant] if variant in VARIANTS else INPUTS[variant]


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
#: extra inputs is the model it was before every model could read them (job keys stay the same)
NEUTRAL_OPTIONS = {"in_features": 0, "in_vectors": 0, "in_pseudovectors": 0}


def model_config(spec: str, **options: Any) -> dict[str, Any]:
    """Every option of ``spec``'s factories, defaults included, as they would build it: a model's
    identity in a job key. Options at their :data:`NEUTRAL_OPTIONS` value are left out.

    >>> model_config("egnn+noise[hidden=32]", sigma=0.1)["hidden"], model_config("egnn+noise", sigma=0.1)["sigma"]
    (32, 0.1)
    """
    base, variants, in_spec = _resolve(spec)
    config: dict[str, Any] = {"model": base, "variants": variants}
    for fn in [MODELS[base]] + [_factory(v) for v in variants]:
        for p in inspect.signature(fn).parameters.values():
            if p.name != "model" and p.default is not p.empty and p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD):
                config[p.name] = p.default
    config = {**config, **in_spec, **options}
    return {k: v for k, v in config.items() if not (k in NEUTRAL_OPTIONS and v == NEUTRAL_OPTIONS[k])}


def build_model(spec: str, **options: Any) -> Any:
    """Build ``"base[+variant...]"``; each option goes to the factories that accept it.

    >>> build_model("egnn+noise", hidden=16, sigma=0.01).sigma
    0.01
    >>> build_model("nope")
    Traceback (most recent call last):
    ...
    symbreak._errors.SymbreakError: unknown model 'nope'; registered: dimenet++, e3nn, egnn, painn, painn-vector, pet, pet-invariant, relaxed-e3nn, sann, schnet
    """
    base, variants, in_spec = _resolve(spec)
    clash = set(in_spec) & set(options)
    if clash:
        raise SymbreakError(f"option(s) {sorted(clash)} given both in the spec {spec!r} and as arguments")
    given = dict(options)
    options = {**in_spec, **options}
    factories = [MODELS[base]] + [_factory(v) for v in variants]
    unused = set(options) - set().union(*(_accepted(f) for f in factories))
    if unused:
        raise SymbreakError(f"{spec!r} takes no option(s) {sorted(unused)}")
    base_options = {k: v for k, v in options.items() if k in _accepted(MODELS[base])}
    for key, extra in _input_channels(variants).items():
        if extra:
            if key not in _accepted(MODELS[base]):
                what = {"in_features": "invariant", "in_vectors": "vector", "in_pseudovectors": "pseudovector (axial)"}[key]
                raise SymbreakError(f"{spec!r}: model {base!r} reads no {what} inputs ({key}); the e3nn models read every kind")
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
    model.spec = spec
    model.build_options = given  # with the spec: what save_model records to rebuild it
    return model
