r"""The one training loop every model and experiment of symbreak trains through."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import torch

__all__ = ["train_epochs"]


def train_epochs(
    model: torch.nn.Module,
    batches: Callable[[int], Iterable[Any]],
    loss_fn: Callable[[Any], torch.Tensor],
    optimizer: torch.optim.Optimizer,
    *,
    epochs: int,
    after_epoch: Callable[[int, list[tuple[torch.Tensor, int]]], bool],
    regularizer: Callable[[torch.nn.Module], torch.Tensor] | None = None,
    after_step: Callable[[], None] | None = None,
    clip_norm: float | None = None,
) -> None:
    r"""The one training loop: for each epoch, for each batch, minimise ``loss_fn(batch)`` + ``regularizer(model)``.

    batches: ``batches(epoch)`` gives the epoch's batches. after_step: called after every
    optimiser step (a per-step learning-rate schedule). after_epoch: ``after_epoch(epoch,
    steps) -> stop``, with ``steps`` the epoch's (detached loss, structures in the batch) pairs, read only then, so
    a GPU is not synchronised on every step; returning True ends training. clip_norm: scale the
    gradient down to this norm when it is larger (None: never). :func:`fit` and the
    relaxed networks' experiments (with their :func:`~symbreak.nn.relaxation_penalty` as the
    regulariser) both train through it.
    """
    for epoch in range(epochs):
        steps: list[tuple[torch.Tensor, int]] = []
        for batch in batches(epoch):
            optimizer.zero_grad()
            value = loss_fn(batch)
            objective = value if regularizer is None else value + regularizer(model)
            objective.backward()
            if clip_norm is not None:
                torch.nn.utils.clip_grad_norm_(model.parameters(), clip_norm)
            optimizer.step()
            if after_step is not None:
                after_step()
            steps.append((value.detach(), getattr(batch, "num_graphs", 1)))  # not the batch: it would stay in (device) memory
        if after_epoch(epoch, steps):
            break

