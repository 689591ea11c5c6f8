r"""The epoch policy every training in symbreak runs under, written once.

A training run is (model, optimiser, batches, loss) plus a *policy*: which epoch's weights to keep,
when to stop, how the learning rate moves, gradient clipping, checkpoint and resume, and what is
reported after each epoch. :class:`Trainer` is that policy; the callers say only what they train:

- :func:`~symbreak.training.fit` (per-atom models): monitors the validation loss;
- :func:`~symbreak.training.fit_energy` (energy and forces): monitors a validation error score;
- the relaxed networks' experiments (``shape-deformation``, ``charged-particle``): monitor the
  training loss, with a relative ``min_delta`` and a ``target``;
- the graph tasks (``ising``, ``graph-autoencoding``): the training loss, every epoch kept.

The policy, per epoch :math:`e = 1, 2, \dots` with monitored value :math:`v_e`:

- best: :math:`v_e < \min_{e' < e} v_{e'}` makes epoch e the best; its weights are deep-copied
  (never a reference to the live parameters, which later steps would change);
- progress: :math:`v_e < (1 - \delta)\,v_{e_{\text{gain}}}` (``min_delta`` δ, default 0), against
  the value of the last epoch that was a gain (as ``ReduceLROnPlateau`` and Keras do), makes epoch
  e the new gain; with ``patience`` p, training stops once :math:`e - e_{\text{gain}} \ge p`.
  Measured against the best value instead, a loss falling by less than δ per epoch would never
  count, however far it falls over ``patience`` epochs;
- target: training stops once the best value is ≤ ``target``;
- ``select="best"`` ends with the best epoch's weights, ``"last"`` with the last epoch's.

Schedules (:data:`SCHEDULES`): ``"onecycle"`` (stepped every batch, peak ``lr``), ``"plateau"``
(halved after 10 epochs without a better monitored value), ``"cosine"`` (annealed per epoch to 0
over ``epochs``), ``"constant"``, ``"warmup"`` (per epoch, linearly from ``lr``/25 to ``lr`` over
:data:`WARMUP_EPOCHS` epochs, then constant: training to a plateau, where ``epochs`` is only a
cap, needs the start of onecycle without its end).

With ``checkpoint=path`` the whole state (weights, optimiser, schedule, history, best weights,
and whatever ``extra_state`` adds, e.g. the batch order's generator) is written atomically after
an epoch at most every ``checkpoint_every`` seconds (0: every epoch), loadable with
``torch.load(weights_only=True)``; a new :class:`Trainer` given the same
path resumes after the last finished epoch and reaches the same weights as an uninterrupted run.
"""

from __future__ import annotations

import copy
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from .._errors import SymbreakError
from ._loop import train_epochs

__all__ = ["Trainer", "TrainResult", "SCHEDULES"]

SCHEDULES = ("onecycle", "plateau", "cosine", "constant", "warmup")
#: the epochs of the ``"warmup"`` schedule's linear ramp (from lr/25, onecycle's starting point)
WARMUP_EPOCHS = 50

_CHECKPOINT_KEYS = {"model", "optimizer", "scheduler", "history", "best_state", "best_epoch", "best_value", "last_gain", "stopped", "extra"}


@dataclass
class TrainResult:
    """What a :class:`Trainer` run did.

    history: one row per epoch (what ``evaluate_epoch`` returned); best_epoch: 1-based epoch of the
    lowest monitored value (0: none was finite); best_value: that value; kept_epoch: the epoch whose
    weights the model holds; stopped_early: ended by ``patience`` or ``target``.
    """

    history: list[dict[str, float]] = field(default_factory=list)
    best_epoch: int = 0
    best_value: float = float("inf")
    kept_epoch: int = 0
    stopped_early: bool = False


class Trainer:
    """The epoch policy of one training run (see the module docstring for the rules).

    model: trained in place. optimizer: over its parameters. epochs: the most epochs to train.
    monitor: the key of the epoch row (``evaluate_epoch``'s result) that chooses the best epoch,
    the plateau schedule's steps, patience and target. select: ``"best"`` or ``"last"``.
    patience: epochs without a gain before stopping (None: never). min_delta: the relative
    improvement that counts as a gain. target: stop once the best monitored value is ≤ this.
    schedule: one of :data:`SCHEDULES`; ``lr`` and ``steps_per_epoch`` are needed for ``"onecycle"``.
    clip_norm: largest gradient norm of a step (None: none). regularizer: ``regularizer(model)``
    added to every step's objective, not to the reported loss. checkpoint: file to save the state
    to after every epoch and to resume from. extra_state: ``(get, set)`` of more state to keep in
    the checkpoint (tensors, numbers, lists, dicts). on_epoch: ``on_epoch(epoch, row)`` after each epoch
    (progress bars).
    """

    def __init__(
        self, model: torch.nn.Module, optimizer: torch.optim.Optimizer, *, epochs: int, monitor: str = "val", select: str = "best",
        patience: int | None = None, min_delta: float = 0.0, target: float | None = None, schedule: str = "constant", lr: float | None = None,
        steps_per_epoch: int | None = None, clip_norm: float | None = None, regularizer: Callable[[torch.nn.Module], torch.Tensor] | None = None,
        checkpoint: str | os.PathLike | None = None, extra_state: tuple[Callable[[], dict[str, Any]], Callable[[dict[str, Any]], None]] | None = None,
        on_epoch: Callable[[int, dict[str, float]], None] | None = None, checkpoint_every: float = 30.0,
    ) -> None:  # fmt: skip
        if epochs < 1:
            raise ValueError(f"need epochs ≥ 1, got {epochs}")
        if select not in ("best", "last") or schedule not in SCHEDULES:
            raise ValueError(f"select must be 'best' or 'last' and schedule one of {SCHEDULES}; got {select!r}, {schedule!r}")
        if patience is not None and patience < 1:
            raise ValueError(f"patience must be ≥ 1 or None, got {patience}")
        if not 0.0 <= min_delta < 1.0:
            raise ValueError(f"min_delta is a relative improvement in [0, 1), got {min_delta}")
        self.model, self.optimizer, self.epochs, self.monitor, self.select = model, optimizer, epochs, monitor, select
        self.patience, self.min_delta, self.target, self.schedule = patience, min_delta, target, schedule
        self.clip_norm, self.regularizer, self.on_epoch, self.extra_state = clip_norm, regularizer, on_epoch, extra_state
        self.checkpoint = None if checkpoint is None else Path(checkpoint)
        self.checkpoint_every = float(checkpoint_every)
        self.scheduler = _scheduler(optimizer, schedule, epochs=epochs, lr=lr, steps_per_epoch=steps_per_epoch)

    def run(self, batches: Callable[[int], Iterable[Any]], loss_fn: Callable[[Any], torch.Tensor],
            evaluate_epoch: Callable[[int, list[tuple[torch.Tensor, int]]], dict[str, float]]) -> TrainResult:  # fmt: skip
        """Train: ``batches(epoch)`` (0-based) gives an epoch's batches, ``loss_fn(batch)`` the loss
        to minimise, ``evaluate_epoch(epoch, steps) -> row`` (1-based epoch; steps: the epoch's
        (detached loss, structures) pairs) the epoch's report, holding :attr:`monitor`."""
        result = TrainResult()
        best_state = copy.deepcopy(self.model.state_dict())
        last_gain, gain_ref, start = 0, float("inf"), 0
        if self.checkpoint is not None and self.checkpoint.exists():
            saved = self._load()
            result.history, result.best_epoch, result.best_value = saved["history"], saved["best_epoch"], saved["best_value"]
            best_state, last_gain, result.stopped_early = saved["best_state"], saved["last_gain"], saved["stopped"]
            gain_ref = float(saved.get("gain_ref", result.best_value))  # a checkpoint written before gain_ref was kept
            start = len(result.history)
        if start >= self.epochs or result.stopped_early:
            return self._finish(result, best_state)

        last_save = time.monotonic()

        def after_epoch(index: int, steps: list[tuple[torch.Tensor, int]]) -> bool:
            nonlocal best_state, last_gain, gain_ref, last_save
            epoch = start + index + 1
            row = evaluate_epoch(epoch, steps)
            if self.monitor not in row:
                raise KeyError(f"the epoch's row has no {self.monitor!r} to monitor: {sorted(row)}")
            value = float(row[self.monitor])
            if self.schedule == "plateau":
                self.scheduler.step(value)
            elif self.schedule in ("cosine", "warmup"):
                self.scheduler.step()
            result.history.append(row)
            if value < gain_ref * (1.0 - self.min_delta):
                last_gain, gain_ref = epoch, value
            if value < result.best_value:
                result.best_epoch, result.best_value = epoch, value
                if self.select == "best":
                    best_state = copy.deepcopy(self.model.state_dict())
            stop = (self.target is not None and result.best_value <= self.target) or (self.patience is not None and epoch - last_gain >= self.patience)
            result.stopped_early = stop
            if self.on_epoch is not None:
                self.on_epoch(epoch, row)
            if self.checkpoint is not None and time.monotonic() - last_save >= self.checkpoint_every:
                self._save(result, best_state, last_gain, gain_ref)
                last_save = time.monotonic()
            return stop

        train_epochs(
            self.model, lambda index: batches(start + index), loss_fn, self.optimizer, epochs=self.epochs - start, after_epoch=after_epoch,
            regularizer=self.regularizer, after_step=self.scheduler.step if self.schedule == "onecycle" else None, clip_norm=self.clip_norm,
        )  # fmt: skip
        return self._finish(result, best_state)

    def _finish(self, result: TrainResult, best_state: dict[str, Any]) -> TrainResult:
        if self.select == "best" and result.best_epoch > 0:
            self.model.load_state_dict(best_state)
            result.kept_epoch = result.best_epoch
        else:
            result.kept_epoch = len(result.history)
        return result

    def _save(self, result: TrainResult, best_state: dict[str, Any], last_gain: int, gain_ref: float) -> None:
        state = {
            "model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict() if self.scheduler is not None else {}, "history": result.history,
            "best_state": best_state, "best_epoch": result.best_epoch, "best_value": result.best_value, "last_gain": last_gain, "gain_ref": gain_ref,
            "stopped": result.stopped_early, "extra": self.extra_state[0]() if self.extra_state else {},
        }  # fmt: skip
        self.checkpoint.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.checkpoint.with_name(self.checkpoint.name + ".tmp")
        torch.save(state, tmp)
        os.replace(tmp, self.checkpoint)

    def _load(self) -> dict[str, Any]:
        try:
            saved = torch.load(self.checkpoint, weights_only=True, map_location="cpu")
        except Exception as exc:  # a truncated or foreign file: say which, never resume from garbage
            raise SymbreakError(f"cannot resume from {self.checkpoint}: {exc}; delete it to start over") from None
        if not isinstance(saved, dict) or not _CHECKPOINT_KEYS <= set(saved):
            raise SymbreakError(f"{self.checkpoint} is not a symbreak training checkpoint (written by another version?); delete it to start over")
        self.model.load_state_dict(saved["model"])
        self.optimizer.load_state_dict(saved["optimizer"])
        if self.scheduler is not None:
            self.scheduler.load_state_dict(saved["scheduler"])
        if self.extra_state:
            self.extra_state[1](saved["extra"])
        return saved


def _scheduler(optimizer: torch.optim.Optimizer, schedule: str, *, epochs: int, lr: float | None, steps_per_epoch: int | None) -> Any:
    if schedule == "onecycle":
        if lr is None or not steps_per_epoch:
            raise ValueError("schedule='onecycle' needs lr and steps_per_epoch")
        return torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=lr, total_steps=epochs * steps_per_epoch)
    if schedule == "plateau":
        return torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, factor=0.5, patience=10)
    if schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(1, epochs))
    if schedule == "warmup":
        return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda epoch: 1 / 25 + (1 - 1 / 25) * min(1.0, epoch / WARMUP_EPOCHS))
    return None
