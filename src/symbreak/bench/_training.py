r"""One training run: AdamW, one-cycle learning rate, early stopping on validation, best weights kept."""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from ._losses import measure

__all__ = ["fit", "evaluate", "FitResult"]


@dataclass
class FitResult:
    """best_epoch: epoch (1-based) of the lowest validation loss, whose weights the model now holds."""

    best_epoch: int
    best_val: float
    history: list[dict[str, float]] = field(default_factory=list)
    stopped_early: bool = False


def _loader(graphs: Sequence[Any], batch_size: int, shuffle: bool, seed: int) -> Any:
    from torch_geometric.loader import DataLoader

    gen = torch.Generator().manual_seed(seed)
    return DataLoader(list(graphs), batch_size=batch_size, shuffle=shuffle, generator=gen)


def evaluate(model: torch.nn.Module, graphs: Sequence[Any], predict: Callable, kind: str, measures: Sequence[str]) -> dict[str, float]:
    """Mean of each measure over ``graphs`` (every molecule weighted equally), model in eval mode."""
    model.eval()
    sums = dict.fromkeys(measures, 0.0)
    for batch in _loader(graphs, 64, False, 0):
        pred = predict(model, batch).detach()
        for m in measures:
            sums[m] += float(measure(m, pred, batch.y, batch, kind)) * batch.num_graphs
    return {m: s / len(graphs) for m, s in sums.items()}


def fit(
    model: torch.nn.Module,
    train: Sequence[Any],
    val: Sequence[Any],
    *,
    predict: Callable,
    loss: str,
    kind: str,
    epochs: int,
    lr: float,
    batch_size: int = 1,
    weight_decay: float = 1e-2,
    patience: int | None = None,
    seed: int = 0,
    on_epoch: Callable[[int, dict[str, float]], None] | None = None,
) -> FitResult:
    """Train ``model`` in place with AdamW and a one-cycle schedule (peak ``lr``), stepping every batch.

    Early stopping: stop when the validation loss has not improved for ``patience`` epochs (None:
    never); the weights of the best validation epoch are restored (a deep copy, not a reference to
    the live parameters).
    """
    if epochs < 1 or not lr > 0:
        raise ValueError(f"need epochs ≥ 1 and lr > 0, got {epochs}, {lr}")
    loader = _loader(train, batch_size, True, seed)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=epochs * len(loader))
    best = FitResult(0, float("inf"))
    best_state = copy.deepcopy(model.state_dict())
    for epoch in range(1, epochs + 1):
        model.train()
        total = 0.0
        for batch in loader:
            opt.zero_grad()
            value = measure(loss, predict(model, batch), batch.y, batch, kind)
            value.backward()
            opt.step()
            sched.step()
            total += float(value.detach()) * batch.num_graphs
        val_loss = evaluate(model, val, predict, kind, [loss])[loss]
        row = {"epoch": epoch, "train": total / len(train), "val": val_loss}
        best.history.append(row)
        if on_epoch is not None:
            on_epoch(epoch, row)
        if val_loss < best.best_val:
            best.best_epoch, best.best_val = epoch, val_loss
            best_state = copy.deepcopy(model.state_dict())
        elif patience is not None and epoch - best.best_epoch >= patience:
            best.stopped_early = True
            break
    model.load_state_dict(best_state)
    return best
