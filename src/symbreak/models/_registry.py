r"""One registry of models, and of the variants (+Noise, +MLP) that wrap any of them.

A spec string names a base model and any variants: ``"egnn"``, ``"painn+mlp"``,
``"egnn+noise"``. Keyword arguments go to whichever factory accepts them, so
``build_model("egnn+noise", hidden=32, sigma=0.01)`` sizes the EGNN and sets the noise.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from torch import nn

from .._errors import SymbreakError

__all__ = ["register_model", "register_variant", "build_model", "available_models", "MODELS", "VARIANTS"]

MODELS: dict[str, Callable[..., nn.Module]] = {}
VARIANTS: dict[str, Callable[..., nn.Module]] = {}
ALIASES = {"dimenet": "dimenet++"}  # the SANN paper writes "DimeNet+MLP" for DimeNet++ with an MLP head


def register_model(name: str) -> Callable:
    """Class decorator: make a model buildable as ``build_model(name)`` and by ``symbreak bench --models``."""

    def deco(cls: Callable) -> Callable:
        if name in MODELS:
            raise ValueError(f"model {name!r} is already registered")
        MODELS[name] = cls
        return cls

    return deco


def register_variant(name: str) -> Callable:
    """Decorator for ``wrapper(model, **options) -> nn.Module``, used as ``"<model>+<name>"``."""

    def deco(fn: Callable) -> Callable:
        VARIANTS[name] = fn
        return fn

    return deco


def available_models() -> list[str]:
    """Registered base models (combine with ``+noise``/``+mlp`` and any other registered variant)."""
    return sorted(MODELS)


def _accepted(fn: Callable) -> set[str]:
    return {p.name for p in inspect.signature(fn).parameters.values() if p.kind is p.KEYWORD_ONLY or p.kind is p.POSITIONAL_OR_KEYWORD}


def build_model(spec: str, **options: Any) -> nn.Module:
    """Build ``"base[+variant...]"``; each option goes to the factories that accept it.

    >>> build_model("egnn+noise", hidden=16, sigma=0.01).sigma
    0.01
    >>> build_model("nope")
    Traceback (most recent call last):
    ...
    symbreak._errors.SymbreakError: unknown model 'nope'; registered: dimenet++, e3nn, egnn, painn, painn-vector, relaxed-e3nn, sann, schnet
    """
    # "++" belongs to a name (DimeNet++), "+" separates variants: "dimenet+++mlp" or "dimenet+mlp"
    base, *variants = spec.strip().lower().replace("++", "\0").split("+")
    base, variants = base.replace("\0", "++"), [v.replace("\0", "++") for v in variants]
    base = ALIASES.get(base, base)
    if base not in MODELS:
        raise SymbreakError(f"unknown model {base!r}; registered: {', '.join(available_models())}")
    for v in variants:
        if v not in VARIANTS:
            raise SymbreakError(f"unknown variant {v!r} in {spec!r}; registered: {', '.join(sorted(VARIANTS))}")
    factories = [MODELS[base]] + [VARIANTS[v] for v in variants]
    unused = set(options) - set().union(*(_accepted(f) for f in factories))
    if unused:
        raise SymbreakError(f"{spec!r} takes no option(s) {sorted(unused)}")
    model = MODELS[base](**{k: v for k, v in options.items() if k in _accepted(MODELS[base])})
    for v in variants:
        fn = VARIANTS[v]
        model = fn(model, **{k: val for k, val in options.items() if k in _accepted(fn) and k != "model"})
    model.spec = spec
    return model
