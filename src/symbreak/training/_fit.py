r"""One training run: AdamW, a one-cycle or on-plateau learning rate, and which epoch's weights to keep.

Two ways to end a run, because they answer different questions:

- ``select="last"``: train the fixed number of epochs and keep the last weights. The only honest
  choice when validation *is* the test set (the SANN paper's synthetic tasks): picking the best
  epoch there would select on the test set.
- ``select="best"``: keep the weights of the best validation epoch; with ``patience``, stop once
  validation has not improved for that many epochs. With ``schedule="plateau"`` the learning rate
  halves whenever validation stalls, so a run trains until it has converged (capped at ``epochs``).

Whenever validation chooses something (the kept epoch, the stopping epoch, the learning rate), it
must not be the test set: :func:`fit` takes the test data too (``test=``), never reads it, and
refuses a validation set that shares a structure with it. Random inputs (``+randvec``, ``+noise``,
``+sympe``) are evaluated on fixed draws, and validation (:data:`VALIDATION_DRAW`) and test
(:data:`TEST_DRAW`) use different ones.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from .._errors import SymbreakError
from ..metrics import is_collapsed, measure
from ._data import batches
from ._trainer import Trainer

__all__ = ["fit", "evaluate", "init_distributed", "FitResult", "ZeroModel", "SCHEDULES", "VALIDATION_DRAW", "TEST_DRAW"]

#: the schedules :func:`fit` takes (the :class:`~symbreak.training.Trainer` has more)
SCHEDULES = ("onecycle", "plateau", "constant", "warmup")

#: the fixed draw of every random input (:class:`~symbreak.models._inputs.RandomDraws`) that
#: :func:`fit` validates with, and the one a test set is evaluated with (:func:`evaluate`'s
#: default): different, so an epoch or a σ chosen on validation is not chosen on the test draw,
#: even where validation and test hold the same structures. The test draw is 0, the draw every
#: random input evaluated with before draws were numbered, so test numbers recorded then still hold.
VALIDATION_DRAW, TEST_DRAW = 1, 0


@dataclass
class FitResult:
    """What :func:`fit` did.

    best_epoch: epoch (1-based) of the lowest monitored loss (validation, or training with
    ``monitor="train"``); best_val: that loss; history: one
    row per epoch, ``{"epoch", "train", "val", "lr"}`` (training loss over the epoch's batches,
    validation loss, the learning rate the next epoch starts with); stopped_early: ended by
    ``patience``; kept_epoch: the epoch whose weights the model holds (:attr:`kept_val` its
    validation loss)."""

    best_epoch: int
    best_val: float
    history: list[dict[str, float]] = field(default_factory=list)
    stopped_early: bool = False
    kept_epoch: int = 0

    @property
    def kept_val(self) -> float:
        """Validation loss of the weights the model holds."""
        return self.history[self.kept_epoch - 1]["val"]


class ZeroModel(torch.nn.Module):
    """Predicts zeros of the labels' width: through a task's ``predict``, the 'learned nothing' baseline."""

    def forward(self, data: Any) -> torch.Tensor:
        """Zeros (N, d) for a batch of N atoms with labels ``data.y`` (N, d)."""
        return data.pos.new_zeros((len(data.pos), data.y.shape[-1]))


def _device_of(model: torch.nn.Module, device: Any) -> torch.device:
    if device is not None:
        return torch.device(device)
    param = next(model.parameters(), None)
    return param.device if param is not None else torch.device("cpu")


def evaluate(
    model: torch.nn.Module, graphs: Sequence[Any], predict: Callable, kind: str, measures: Sequence[str], *, draw: int = TEST_DRAW, collapse: bool = False,
    device: Any = None,
) -> dict[str, float]:
    """Mean of each measure over ``graphs`` (every structure weighted equally), model in eval mode:
    ``{measure: value}``, plus ``"collapsed"`` with ``collapse``.

    measures: names of :data:`symbreak.metrics.REPORTED` or :data:`~symbreak.metrics.LOSSES`
    (a list, not one string). predict, kind: as :func:`fit`'s.

    draw: which fixed draw every random input of the model (``+randvec``, ``+noise``, ``+sympe``:
    :func:`~symbreak.models._inputs.set_eval_draw`) evaluates with: :data:`TEST_DRAW` (default)
    or :data:`VALIDATION_DRAW`, so nothing chosen on validation is chosen on the test draw.
    collapse: also return ``"collapsed"``, the fraction of molecules whose prediction has fewer
    distinct vectors than their target (:func:`symbreak.metrics.is_collapsed`).
    device: where the batches go (default: the model's parameters' device).
    """
    from ..models._inputs import set_eval_draw

    if isinstance(measures, str):
        raise TypeError(f"measures is a list of names, got the string {measures!r}: write [{measures!r}]")
    if not len(graphs):
        raise ValueError("evaluate: no structures to evaluate")
    model.eval()
    set_eval_draw(model, draw)
    sums = dict.fromkeys(measures, 0.0)
    collapsed = 0
    dev = _device_of(model, device)
    for batch in batches(graphs, 64, False, 0):
        batch = batch.to(dev)
        pred = predict(model, batch).detach()
        for m in measures:
            sums[m] += float(measure(m, pred, batch.y, batch, kind)) * batch.num_graphs
        if collapse:
            counts = torch.bincount(batch.batch, minlength=batch.num_graphs).tolist()
            collapsed += sum(is_collapsed(p, t) for p, t in zip(torch.split(pred.cpu(), counts), torch.split(batch.y.cpu(), counts)))
    set_eval_draw(model, TEST_DRAW)
    out = {m: s / len(graphs) for m, s in sums.items()}
    if collapse:
        out["collapsed"] = collapsed / len(graphs)
    return out


def _world() -> tuple[int, int]:
    """(rank, world size) of this process: (0, 1) unless torch.distributed is initialized."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def init_distributed(backend: str | None = None) -> tuple[int, int]:
    """Join the process group a launcher (``torchrun``) describes in the environment (``RANK``,
    ``WORLD_SIZE``, ``MASTER_ADDR``, ``MASTER_PORT``); backend: ``"nccl"`` on GPUs, else
    ``"gloo"`` (the default picks). Returns (rank, world size); (0, 1) without a launcher.

    The group is destroyed when the interpreter exits (an ``atexit`` handler), before it shuts
    down; calling ``torch.distributed.destroy_process_group`` earlier is fine. A
    ``DistributedDataParallel`` wrapper of your own that is still referenced then keeps the group
    alive (:func:`fit`'s own is gone once it returns): delete it before the script ends."""
    import atexit
    import os

    import torch.distributed as dist

    if "WORLD_SIZE" not in os.environ or dist.is_initialized():
        return _world()
    # Imported after the group exists (DistributedDataParallel imports it), this module binds the
    # group into its functions' default arguments, which then keep it alive past
    # destroy_process_group, and its gloo threads past the interpreter (_teardown_distributed).
    # Imported first, its defaults are None.
    import torch.distributed.nn.functional  # noqa: F401

    dist.init_process_group(backend or ("nccl" if torch.cuda.is_available() else "gloo"))
    atexit.register(_teardown_distributed)
    return _world()


def _teardown_distributed() -> None:
    """Destroy the process group while the interpreter is still whole (``atexit``).

    A gloo worker thread lets go of a collective's tensors just *after* the caller's ``wait()``
    returns, and for a tensor made in Python that takes the GIL. When the process exits first (a
    loaded machine), the thread asks for the GIL during interpreter shutdown, which ends it inside a
    destructor: ``terminate called without an active exception``, SIGABRT. Destroying the group
    joins its worker threads before that."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def _generators(model: torch.nn.Module) -> dict[str, torch.Generator]:
    """Every generator a submodule holds as an attribute (a random input's training draws:
    ``+randvec``, ``+noise``, ``+sympe``), by ``"<module path>.<attribute>"``: not part of a
    state dict, so :func:`fit`'s checkpoint keeps them itself."""
    return {
        f"{path}.{attr}": value for path, module in model.named_modules() for attr, value in vars(module).items() if isinstance(value, torch.Generator)
    }  # fmt: skip


def _check_held_out(val: Sequence[Any], test: Sequence[Any] | None, select: str, schedule: str, monitor: str = "val") -> None:
    """Refuse a validation set that shares a structure (the same object) with the test set when validation chooses something."""
    if test is None or monitor == "train" or (select == "last" and schedule != "plateau"):
        return
    held_out = {id(g) for g in test}
    shared = [i for i, g in enumerate(val) if id(g) in held_out]
    if shared:
        chooses = "the kept epoch and when to stop" if select == "best" else "the learning rate"
        raise SymbreakError(
            f"validation and test share {len(shared)} of {len(val)} validation structure(s) (validation positions {shared[:5]}"
            f"{', ...' if len(shared) > 5 else ''}): validation chooses {chooses} here, so the test set would be selected on; "
            "give disjoint index sets, or select='last' with schedule='onecycle' where validation is the test set"
        )


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
    select: str = "best",
    schedule: str = "onecycle",
    seed: int = 0,
    on_epoch: Callable[[int, dict[str, float]], None] | None = None,
    regularizer: Callable[[torch.nn.Module], torch.Tensor] | None = None,
    device: Any = None,
    clip_norm: float | None = None,
    test: Sequence[Any] | None = None,
    checkpoint: str | os.PathLike | None = None,
    checkpoint_every: float = 30.0,
    monitor: str = "val",
    min_delta: float = 0.0,
) -> FitResult:
    r"""Train ``model`` in place with AdamW, stepping every batch; returns the :class:`FitResult`.

    Each step minimises ``measure(loss, predict(model, batch), batch.y, batch, kind)`` (+
    ``regularizer(model)``) over a batch of ``batch_size`` structures; after every epoch the same
    loss is measured on ``val`` (mean over structures).

    model: a per-atom model (``symbreak.models.build_model``), on its device. train, val: lists
    of structures as :func:`~symbreak.tasks.make_graph` makes them (``z``, ``pos``, ``y``,
    ``sym``); prepare them first with ``model.prepare_data`` where the model has one (SANN).
    predict: ``predict(model, batch) -> (N, d)``, what is compared with ``batch.y``: usually
    ``lambda m, b: m(b)``. loss: a name of :data:`symbreak.metrics.LOSSES` (``"mse"``, ``"cd"``,
    ``"sbcd"``, ``"sbmse"``, ...). kind: how the structure's symmetry acts on the labels
    (``"vectors"``, ``"positions"``, ``"scalars"``, ``"pseudovectors"`` or an e3nn irreps string):
    the symmetry-breaking losses minimise over the labels' images under it. epochs: the most
    epochs. lr: the peak (onecycle) or initial (plateau) learning rate. weight_decay: AdamW's.
    seed: the batch order's seed. on_epoch: ``on_epoch(epoch, row)`` after every epoch, ``row`` =
    ``{"epoch", "train", "val", "lr"}`` (progress).
    schedule: ``"onecycle"`` (peak ``lr``, annealed over ``epochs``), ``"plateau"`` (``lr``,
    halved after 10 epochs without a better monitored loss), ``"constant"`` (``lr`` throughout) or
    ``"warmup"`` (from ``lr``/25 to ``lr`` over the first 50 epochs, then constant: training to a
    plateau, where ``epochs`` is only a cap).
    select: ``"best"`` restores the weights of the best validation epoch (a deep copy, not a
    reference to the live parameters) and stops after ``patience`` epochs without improvement
    (None: never); ``"last"`` keeps the last epoch's weights and never stops early.
    regularizer: ``regularizer(model) -> scalar`` added to every step's objective (not to the
    reported losses), e.g. the relaxed networks' ``lambda m: relaxation_penalty(m, lam)``.
    device: where the batches go (default: the model's parameters' device; move the model first).
    clip_norm: largest gradient norm of a step (None: no clipping), against a divergence.
    test: the structures the caller will test the model on, never read here: where validation
    chooses something (``select="best"``, or ``schedule="plateau"``), a validation structure that
    is also a test structure — the same object, which is how a split's indices arrive (prepare
    each structure once) — raises :class:`~symbreak.SymbreakError`. With ``select="last"`` and
    ``"onecycle"`` validation only reports, and may be the test set (the SANN paper's synthetic
    tasks). Validation uses fixed draw :data:`VALIDATION_DRAW` of any random input.
    monitor: what chooses the kept epoch, when to stop and the plateau schedule's steps:
    ``"val"`` (the validation loss) or ``"train"`` (the training set's loss measured after the
    epoch, on the weights that would be kept, with the fixed draw of any random input; the row's
    ``"train_after"``; validation then only reports, and may be the test set: train to a plateau
    on one structure).
    min_delta: the relative improvement of the monitored loss that counts as progress for
    ``patience`` (0.01: a 1 % gain resets the count).
    checkpoint: a file the whole training state is saved to after every epoch; a call with the
    same file resumes after its last finished epoch, with the same result as an uninterrupted run
    (the epoch policy is :class:`~symbreak.training.Trainer`'s), at most every ``checkpoint_every``
    seconds (0: after every epoch).

    Example: ten noisy prisms with random per-atom vectors, an EGNN, two epochs.

    >>> import numpy as np, torch
    >>> from symbreak import detect_symmetry
    >>> from symbreak.models import build_model
    >>> from symbreak.tasks import make_graph
    >>> rng = np.random.default_rng(0)
    >>> t = np.radians([0, 120, 240]); ring = np.stack([np.cos(t), np.sin(t), np.zeros(3)], 1)
    >>> prism = np.concatenate([ring + [0, 0, 0.7], ring - [0, 0, 0.7]])
    >>> data = []
    >>> for _ in range(10):
    ...     x = prism + 0.05 * rng.normal(size=(6, 3))
    ...     data.append(make_graph([6] * 6, x, rng.normal(size=(6, 3)), detect_symmetry(x, [6] * 6)))
    >>> torch.manual_seed(0) and None
    >>> model = build_model("egnn", hidden=8)
    >>> result = fit(model, data[:6], data[6:8], predict=lambda m, b: m(b), loss="sbmse", kind="vectors",
    ...              epochs=2, lr=1e-3, batch_size=2, test=data[8:])
    >>> len(result.history), sorted(result.history[0])
    (2, ['epoch', 'lr', 'train', 'val'])
    >>> sorted(evaluate(model, data[8:], lambda m, b: m(b), "vectors", ["sbmse", "mse"]))
    ['mse', 'sbmse']

    Data-parallel: run under ``torchrun`` (or any launcher) after :func:`init_distributed`; with W
    processes, ``batch_size`` is the global batch, every process trains on its W-th share of each
    (gradients averaged by DDP), and every process evaluates the whole validation set. The same
    seed gives the same weights as one process with the same global batch, up to float rounding.
    """
    if epochs < 1 or not lr > 0:
        raise ValueError(f"need epochs ≥ 1 and lr > 0, got {epochs}, {lr}")
    if select not in ("best", "last") or schedule not in SCHEDULES:
        raise ValueError(f"select must be 'best' or 'last' and schedule one of {SCHEDULES}; got {select!r}, {schedule!r}")
    if select == "last" and patience is not None:
        raise ValueError("select='last' trains every epoch: patience must be None")
    if monitor not in ("val", "train"):
        raise ValueError(f"monitor must be 'val' or 'train', got {monitor!r}")
    _check_held_out(val, test, select, schedule, monitor)
    rank, world = _world()
    if world > 1 and batch_size % world:
        raise ValueError(f"data-parallel training over {world} processes needs a batch size divisible by it, got {batch_size}")
    if not len(train) or not len(val):
        raise ValueError(f"fit needs training and validation structures, got {len(train)} and {len(val)}")
    loader = batches(train, batch_size, True, seed, shard=(rank, world))
    # under torch.distributed the gradients are averaged over processes: each holds a share of every global batch
    # (some models hold parameters a given output does not use: an energy head, say)
    net = torch.nn.parallel.DistributedDataParallel(model, find_unused_parameters=True) if world > 1 else model
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    dev = _device_of(model, device)

    def epoch_batches(epoch: int) -> Iterable[Any]:
        model.train()
        return (batch.to(dev, non_blocking=True) for batch in loader)

    def evaluate_epoch(epoch: int, steps: list[tuple[torch.Tensor, int]]) -> dict[str, float]:
        total = 0.0
        for value, count in steps:
            total += float(value) * count
        if world > 1:  # the epoch's training loss over every process's share
            summed = torch.tensor([total], dtype=torch.float64)
            torch.distributed.all_reduce(summed)
            total = float(summed[0])
        val_loss = evaluate(model, val, predict, kind, [loss], draw=VALIDATION_DRAW, device=dev)[loss]
        row = {"epoch": epoch, "train": total / len(train), "val": val_loss}
        if monitor == "train":
            # the epoch's running loss describes the weights *before* its steps; the kept state is the
            # weights after them, so the monitored value is the training set measured again, on them
            row["train_after"] = evaluate(model, train, predict, kind, [loss], draw=VALIDATION_DRAW, device=dev)[loss]
        return row

    def with_lr(epoch: int, row: dict[str, float]) -> None:
        # the learning rate the next epoch starts with: read once the trainer has stepped the schedule on this epoch
        row["lr"] = opt.param_groups[0]["lr"]
        if on_epoch is not None:
            on_epoch(epoch, row)

    # the batch order's generator and the global one (training draws of random inputs) go into the
    # checkpoint, so a resumed run draws what an uninterrupted one would
    generator = loader.generator

    owned = _generators(model)

    def restore(saved: dict[str, Any]) -> None:
        generator.set_state(saved["generator"])
        torch.set_rng_state(saved["torch_rng"])
        for name, state in saved["modules"].items():
            owned[name].set_state(state)

    def keep() -> dict[str, Any]:
        return {"generator": generator.get_state(), "torch_rng": torch.get_rng_state(), "modules": {k: g.get_state() for k, g in owned.items()}}

    trainer = Trainer(
        model, opt, epochs=epochs, monitor="train_after" if monitor == "train" else "val", select=select, patience=patience, min_delta=min_delta, schedule=schedule, lr=lr, steps_per_epoch=len(loader),
        clip_norm=clip_norm, regularizer=regularizer, checkpoint=checkpoint, checkpoint_every=checkpoint_every, on_epoch=with_lr,
        extra_state=(keep, restore),
    )  # fmt: skip
    run = trainer.run(epoch_batches, lambda batch: measure(loss, predict(net, batch), batch.y, batch, kind), evaluate_epoch)
    return FitResult(run.best_epoch, run.best_value, run.history, run.stopped_early, run.kept_epoch)
