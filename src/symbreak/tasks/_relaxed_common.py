r"""Shared pieces of the relaxed-E(3)-network experiments (Hofgard et al. 2024, §5 and appendix B)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch


__all__ = ["train_with_penalty", "plot_signals", "MODELS"]

#: the relaxed network and its equivariant twin (every θ frozen at the scalar)
MODELS = ("relaxed-e3nn", "e3nn")


def train_with_penalty(
    model: torch.nn.Module,
    batches: Callable[[int], Sequence[Any]],
    loss_fn: Callable[[Any], torch.Tensor],
    optimizer: torch.optim.Optimizer,
    *,
    epochs: int,
    lam: float,
    progress: Any = None,
    label: str = "",
    patience: int | None = None,
    target: float = 0.0,
    schedule: str = "constant",
) -> tuple[float, list[float]]:
    r"""Minimise loss + λ·:func:`relaxation_penalty` under :class:`symbreak.training.Trainer`'s epoch
    policy, monitoring the training loss (these experiments fit one fixed set of structures; there
    is nothing to validate on), stepping the optimiser after every batch, at the learning rate
    ``schedule`` gives (the trainer's; the papers' runs keep it ``"constant"``).

    ``batches(epoch)`` gives the epoch's batches. The weights with the lowest epoch loss are kept
    and restored at the end (deep-copied by the trainer: a reference to the live parameters would
    follow later updates, a bug of the authors' code). Training stops early once the loss has not
    improved by 0.1 % for ``patience`` epochs (None: never), or has reached ``target``. The
    paper's experiments use None: a network can sit on a saddle for hundreds of epochs and then
    converge (the equivariant cube → cube run of seed 1 gains < 0.1 % in every epoch of its first
    200, escapes after ~300 and reaches 1e-11).
    Returns (best epoch loss, per-epoch loss), each epoch's loss the mean over its batches as they
    were stepped on: the kept weights are those after the best epoch's steps, so a caller that
    reports the kept model's loss measures it again (the tasks do).
    """
    from ..nn import relaxation_penalty
    from ..training import Trainer

    def evaluate_epoch(epoch: int, steps: list) -> dict[str, float]:
        total = 0.0
        for value, _ in steps:
            total += float(value)
        return {"epoch": epoch, "train": total / len(steps)}

    def report(epoch: int, row: dict[str, float]) -> None:
        if progress is not None and epoch % 50 == 1:
            progress.set_postfix_str(f"{label} epoch {epoch}/{epochs} loss {row['train']:.3g}", refresh=False)

    # frozen θ: the penalty is a constant, with no gradient
    trainer = Trainer(
        model, optimizer, epochs=epochs, monitor="train", patience=patience, min_delta=1e-3, target=target, schedule=schedule,
        regularizer=lambda m: relaxation_penalty(m, lam), on_epoch=report,
    )  # fmt: skip
    result = trainer.run(batches, loss_fn, evaluate_epoch)
    return result.best_value, [row["train"] for row in result.history]


def plot_signals(thetas: list[np.ndarray], irreps: Any, path: Any, title: str) -> Any:
    """Scalar and pseudoscalar signals (eq. 8) of each layer's θ, 0e removed as in the paper's Fig. 1: one PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..nn import interpret

    polar, azimuth = np.meshgrid(np.linspace(0, np.pi, 91), np.linspace(-np.pi, np.pi, 181), indexing="ij")
    dirs = np.stack([np.sin(polar) * np.cos(azimuth), np.sin(polar) * np.sin(azimuth), np.cos(polar)], -1).reshape(-1, 3)
    fig, axes = plt.subplots(len(thetas), 2, figsize=(9, 2.6 * len(thetas)), squeeze=False)
    for k, th in enumerate(thetas):
        th = np.array(th, dtype=float)
        th[0] = 0.0  # the 0e term only shifts the signal
        it = interpret(th, irreps)
        for j, (name, fn) in enumerate((("scalar", it.scalar_signal), ("pseudoscalar", it.pseudoscalar_signal))):
            values = fn(dirs).reshape(polar.shape)
            lim = max(float(np.abs(values).max()), 1e-12)
            im = axes[k, j].imshow(values, extent=(-180, 180, 180, 0), cmap="RdBu_r", vmin=-lim, vmax=lim, aspect="auto")
            axes[k, j].set_title(f"layer {k + 1}: {name} signal", fontsize=9)
            axes[k, j].set_xlabel("azimuth (°)", fontsize=8)
            axes[k, j].set_ylabel("polar angle from z (°)", fontsize=8)
            fig.colorbar(im, ax=axes[k, j], fraction=0.04)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
