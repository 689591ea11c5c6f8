r"""A model's *set* of outputs for one structure, whatever its symmetry breaker, scored as a set.

Three kinds of model answer a symmetric input with a set:

* a set-valued input (``+sbs``, ``+sympe``, ``+learned-canon``: a :class:`~symbreak.models._choice.ChoiceInput`
  as ``model.source``): one output per element of its set (:meth:`~symbreak.models._choice.FixedChoice.choosing`);
* a random input without a set (``+noise``, ``+randvec``): one output per fixed evaluation draw
  (:func:`~symbreak.models._inputs.set_eval_draw`, draws ``0 .. draws-1``): the set a user gets
  by running it ``draws`` times with fresh noise;
* a deterministic model: its one output (a set of one).

:func:`evaluate_draws` scores these sets with :func:`~symbreak.metrics.set_breaking_measures`
(``set_fit``, ``set_cover``, ``set_best``), the same keys :func:`~symbreak.training.evaluate_set`
writes for ``+sbs``, so a ``+noise`` model's coverage of the target's images is comparable.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch

__all__ = ["set_outputs", "evaluate_draws", "evaluate_set", "random_inputs", "DEFAULT_DRAWS"]

#: how many fixed draws make a random input's set when none is given
DEFAULT_DRAWS = 16


def random_inputs(model: torch.nn.Module) -> bool:
    """Whether ``model`` draws a random input (``+noise``, ``+randvec``): its outputs form a set over draws."""
    from ..models._inputs import RandomDraws

    return any(isinstance(m, RandomDraws) for m in model.modules())


def set_outputs(model: torch.nn.Module, graph: Any, predict: Callable, *, draws: int = DEFAULT_DRAWS, device: Any = None) -> torch.Tensor:
    """(m, n, d) outputs of ``model`` for one structure ``graph`` (n atoms, labels of width d), in
    evaluation mode (see the module docstring for what m is). predict: the task's
    ``predict(model, batch)``. draws: the number of fixed draws of a random input without a set
    (≥ 1). The model is left in evaluation mode with the test draw."""
    from ..models._choice import FixedChoice
    from ..models._inputs import set_eval_draw
    from ._data import batches
    from ._fit import TEST_DRAW

    if int(draws) < 1:
        raise ValueError(f"draws must be a positive number of fixed draws, got {draws}")
    model.eval()
    param = next(model.parameters(), None)
    dev = torch.device(device) if device is not None else (param.device if param is not None else torch.device("cpu"))
    batch = next(iter(batches([graph], 1, False, 0))).to(dev)
    source = getattr(model, "source", None)
    outputs = []
    with torch.no_grad():
        if isinstance(source, FixedChoice) and getattr(source, "set_valued", False):
            for k in range(int(source.set_sizes(batch)[0])):
                with source.choosing(k):
                    outputs.append(predict(model, batch).detach())
        elif random_inputs(model):
            for k in range(int(draws)):
                set_eval_draw(model, k)
                outputs.append(predict(model, batch).detach())
            set_eval_draw(model, TEST_DRAW)
        else:
            outputs.append(predict(model, batch).detach())
    return torch.stack(outputs)


def evaluate_draws(model: torch.nn.Module, graphs: Sequence[Any], predict: Callable, kind: str, *, draws: int = DEFAULT_DRAWS, device: Any = None) -> dict[str, float]:
    """``{"set_fit", "set_cover", "set_best", "set_size"}`` of :func:`set_outputs` against each
    structure's target images (:func:`~symbreak.metrics.set_breaking_measures`), averaged over
    ``graphs``; ``set_size``: the mean number of outputs per structure."""
    from ..metrics import set_breaking_measures

    if not len(graphs):
        raise ValueError("evaluate_draws: no structures to evaluate")
    sums = dict.fromkeys(("set_fit", "set_cover", "set_best", "set_size"), 0.0)
    for graph in graphs:
        out = set_outputs(model, graph, predict, draws=draws, device=device)
        sym = graph.sym[0] if isinstance(graph.sym, (list, tuple)) else graph.sym
        got = set_breaking_measures(out.cpu(), graph.y.to(out.dtype), sym.operations, sym.permutations, kind=kind)
        for key in ("fit", "cover", "best"):
            sums["set_" + key] += got[key]
        sums["set_size"] += len(out)
    return {k: v / len(graphs) for k, v in sums.items()}


def evaluate_set(model: torch.nn.Module, graphs: Sequence[Any], predict: Callable, kind: str, *, device: Any = None) -> dict[str, float]:
    """For a ``"<model>+sbs"`` or ``"<model>+sympe"`` model: each structure's outputs for every element
    of its symmetry-breaking set (or inversion kernel) against its target's images
    (:func:`~symbreak.metrics.set_breaking_measures`), averaged over ``graphs``:
    ``{"set_fit": ..., "set_cover": ..., "set_best": ...}`` (for SymPE: the expected error of one
    draw, the coverage of the target's images, the best draw)."""
    source = getattr(model, "source", None)
    if not hasattr(source, "choosing"):
        raise TypeError(f"evaluate_set needs a model built as '<model>+sbs', got {type(model).__name__}")
    got = evaluate_draws(model, graphs, predict, kind, device=device)
    return {key: got[key] for key in ("set_fit", "set_cover", "set_best")}
