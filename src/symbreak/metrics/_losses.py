r"""Training losses and test measures over a batch: plain Chamfer/MSE and their symmetry-breaking forms.

Each loss takes ``(pred (N, d), target (N, d), batch, kind)`` — ``batch`` with ``batch.batch``
(N,) and ``num_graphs``, and for the symmetry-breaking ones the molecules' symmetries, either as
``batch.sym_ops`` (T, 3, 3), ``batch.sym_perms`` (T, N) and ``batch.sym_owner`` (T,) listed in the data pipeline
(:func:`pad_symmetries`; then the loss is pure tensor code on the batch's device) or as the list
``batch.sym`` — and returns the mean over the batch's molecules. Needs torch only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from ._sbm import METRICS, padded_measure, symmetry_breaking_measure

__all__ = ["LOSSES", "REPORTED", "measure"]


def _per_molecule(metric: str) -> Callable:
    fn = METRICS[metric]

    def loss(pred: torch.Tensor, target: torch.Tensor, batch: Any, kind: str) -> torch.Tensor:
        counts = torch.bincount(batch.batch, minlength=batch.num_graphs).tolist()
        return torch.stack([fn(p, t) for p, t in zip(torch.split(pred, counts), torch.split(target, counts))]).mean()

    return loss


def _mse(pred: torch.Tensor, target: torch.Tensor, batch: Any, kind: str) -> torch.Tensor:
    """Per-molecule mean squared error, averaged over molecules, as one tensor expression."""
    err = ((pred - target) ** 2).mean(-1)
    counts = torch.bincount(batch.batch, minlength=batch.num_graphs).to(err.dtype)
    return (err.new_zeros(len(counts)).index_add_(0, batch.batch, err) / counts).mean()


def _symmetric(metric: str) -> Callable:
    def loss(pred: torch.Tensor, target: torch.Tensor, batch: Any, kind: str) -> torch.Tensor:
        ops = getattr(batch, "sym_ops", None)
        if ops is not None:
            return padded_measure(pred, target, batch.batch, ops, batch.sym_perms, batch.sym_owner, metric, kind, getattr(batch, "sym_max_order", None))
        return symmetry_breaking_measure(pred, target, list(batch.sym), metric=metric, kind=kind, batch=batch.batch)

    return loss


#: name → loss(pred (N, d), target (N, d), batch, kind) → scalar, averaged over the batch's molecules.
#: The plain Chamfer distances keep their per-molecule evaluation: the published tables were made
#: with it, and its float rounding is part of what reproduces them.
LOSSES: dict[str, Callable] = {
    "cd": _per_molecule("chamfer"),
    "cd2": _per_molecule("cd2"),
    "mse": _mse,
    "sbcd": _symmetric("chamfer"),
    "sbcd2": _symmetric("cd2"),
    "sbmse": _symmetric("mse"),
}

#: what every per-atom job records on its test set: the paper's one-sided CD and SBCD (comparable
#: with its tables), the atom-matched SB-MSE (the verdict measure: collapse cannot score 0 on it),
#: and the two-sided SBCD
REPORTED = ("cd", "sbcd", "sbmse", "sbcd2")


def measure(name: str, pred: torch.Tensor, target: torch.Tensor, batch: Any, kind: str) -> torch.Tensor:
    """Evaluate loss/measure ``name`` (one of :data:`LOSSES`)."""
    if name not in LOSSES:
        raise ValueError(f"unknown loss {name!r}; choose one of {sorted(LOSSES)}")
    return LOSSES[name](pred, target, batch, kind)
