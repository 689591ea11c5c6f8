r"""Model checkpoints that rebuild themselves: spec, options, weights, versions and conventions.

A checkpoint is a plain dictionary of tensors, strings and numbers, so it loads with
``torch.load(path, weights_only=True)`` (no pickled code runs). :func:`load_model` rebuilds the
model from its spec and options through the registry and loads the weights.
"""

from __future__ import annotations

import os
import platform
from pathlib import Path
from typing import Any

import torch

from .._errors import SymbreakError
from ._registry import build_model

__all__ = ["save_model", "load_model", "FORMAT"]

FORMAT = "symbreak-model/1"


def _versions() -> dict[str, str]:
    from .. import __version__

    out = {"symbreak": __version__, "torch": str(torch.__version__), "python": platform.python_version()}
    for name in ("e3nn", "torch_geometric", "numpy"):
        try:
            out[name] = str(__import__(name).__version__)
        except ImportError:  # pragma: no cover - optional
            pass
    return out


def _plain(key: str, value: Any) -> Any:
    """An option as plain data that ``weights_only`` loading accepts (NumPy scalars become Python numbers)."""
    if hasattr(value, "item") and getattr(value, "ndim", 1) == 0:  # NumPy scalars (np.float64 is a float)
        return value.item()
    if isinstance(value, (str, bool, int, float)) or value is None:
        return value
    if isinstance(value, (list, tuple)):
        return [_plain(key, v) for v in value]
    raise SymbreakError(f"option {key}={value!r} is not plain data (a number, string, bool or list of them): a checkpoint could not rebuild the model")


def save_model(model: torch.nn.Module, path: str | os.PathLike, *, extra: dict[str, Any] | None = None) -> Path:
    """Write ``model`` (built by :func:`build_model`) to ``path``: spec, options, weights (on the
    CPU), the library versions and the conventions its numbers assume. Atomic: an interrupted write
    leaves no half file. extra: more JSON-like metadata (a job key, a validation score)."""
    model = getattr(model, "_orig_mod", model)  # a torch.compile'd model saves the model it wraps
    spec = getattr(model, "spec", None)
    if spec is None:
        raise SymbreakError("save_model needs a model made by build_model (it records the spec to rebuild it from)")
    param = next(model.parameters(), None)
    options = {k: _plain(k, v) for k, v in getattr(model, "build_options", {}).items()}
    checkpoint = {
        "format": FORMAT,
        "spec": spec,
        "options": options,
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "dtype": str(param.dtype).removeprefix("torch.") if param is not None else "float32",
        "versions": _versions(),
        "conventions": {"length": "Å", "output": str(getattr(model, "output_type", "1o")), "rotation": "active, x' = R x (rows: x @ R.T)"},
        "extra": dict(extra or {}),
    }
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(checkpoint, tmp)
    os.replace(tmp, path)
    return path


def load_model(path: str | os.PathLike, *, map_location: Any = "cpu") -> torch.nn.Module:
    """The model saved at ``path``, rebuilt and with its weights, in evaluation mode (loaded with ``weights_only=True``).

    Its metadata is on ``model.checkpoint`` (spec, options, versions, conventions, extra).
    """
    path = Path(path)
    if not path.is_file():
        raise SymbreakError(f"no checkpoint at {path}")
    try:
        checkpoint = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:
        raise SymbreakError(f"{path} is not a readable checkpoint: {exc}") from None
    if not isinstance(checkpoint, dict) or checkpoint.get("format") != FORMAT:
        raise SymbreakError(f"{path} is not a symbreak model checkpoint (format {checkpoint.get('format') if isinstance(checkpoint, dict) else None!r})")
    model = build_model(checkpoint["spec"], **checkpoint["options"]).to(getattr(torch, checkpoint["dtype"]))
    model.load_state_dict(checkpoint["state_dict"])
    model.checkpoint = {k: v for k, v in checkpoint.items() if k != "state_dict"}
    return model.to(map_location).eval()
