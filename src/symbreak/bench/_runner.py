r"""The experiment runner: every (sub-task, model, loss, fold) as one resumable job."""

from __future__ import annotations

import json
import os
import time
import zlib
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

from .._errors import SymbreakError
from ..models import build_model, parse_spec
from ..tasks import Task, get_task
from ._losses import LOSSES
from ._training import evaluate, fit

__all__ = ["Job", "plan_jobs", "run_benchmark", "load_records", "BenchResult", "NOISE_SIGMAS"]

#: σ values (Å) tried for every "+noise" model; the table reports the best (SANN paper, §6)
NOISE_SIGMAS = (0.001, 0.01, 0.1)


@dataclass(frozen=True)
class Job:
    """One training run. Its :meth:`key` identifies it in ``results.jsonl``: equal keys are not rerun."""

    task: str
    subtask: str
    model: str
    loss: str
    fold: int
    epochs: int
    lr: float
    seed: int
    sigma: float | None = None
    limit: int | None = None

    def key(self) -> str:
        fields = asdict(self)
        if fields["limit"] is None:  # keys written before `limit` existed stay valid
            del fields["limit"]
        return json.dumps(fields, sort_keys=True)

    def run_seed(self) -> int:
        """A seed derived from everything that defines the job: reruns repeat it exactly."""
        return zlib.crc32(self.key().encode())

    def options(self) -> dict[str, Any]:
        return {} if self.sigma is None else {"sigma": self.sigma, "seed": self.run_seed()}


def _has_variant(spec: str, variant: str) -> bool:
    return variant in parse_spec(spec)[0].lower().replace("++", "").split("+")[1:]


def plan_jobs(
    task: Task,
    *,
    models: Sequence[str],
    losses: Sequence[str],
    subtasks: Sequence[str],
    folds: int,
    epochs: int,
    lr: float,
    seed: int,
    sigmas: Sequence[float] = NOISE_SIGMAS,
    limit: int | None = None,
) -> list[Job]:
    """Every job of a benchmark, in the order they run (fold-major, so early folds of all models finish first)."""
    jobs = []
    for fold in range(folds):
        for subtask in subtasks:
            for model in models:
                for loss in losses:
                    for sigma in sigmas if _has_variant(model, "noise") else (None,):
                        jobs.append(Job(task.name, subtask, model, loss, fold, epochs, lr, seed, sigma, limit))
    return jobs


def load_records(path: str | os.PathLike) -> list[dict[str, Any]]:
    """Records of ``results.jsonl``; a line cut short by an interruption is skipped, not fatal."""
    path = Path(path)
    if not path.exists():
        return []
    out = []
    for line in path.read_text().splitlines():
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return out


@dataclass
class BenchResult:
    """records: every finished job of this benchmark (old and new); ran: how many ran this time."""

    task: Task
    records: list[dict[str, Any]]
    ran: int
    skipped: int
    out: Path
    settings: dict[str, Any] = field(default_factory=dict)


def _progress(total: int, enabled: bool, desc: str) -> Any:
    from tqdm.auto import tqdm

    return tqdm(total=total, disable=not enabled, desc=desc, unit="job", dynamic_ncols=True)


def run_one(job: Job, task: Task, graphs: list, progress: Any = None, *, batch_size: int, patience: int | None, scratch: Path | None = None) -> dict[str, Any]:
    """Train and test one job; returns its record. A task with its own ``run_job`` runs it itself,
    keeping any partial state in ``scratch / <job seed>.json`` (removed once the record is written)."""
    if task.run_job is not None:
        torch.manual_seed(job.run_seed())
        start = time.perf_counter()
        checkpoint = None if scratch is None else scratch / f"{job.run_seed()}.json"
        record = task.run_job(job, graphs, progress, checkpoint)
        return {**asdict(job), "key": job.key(), **record, "seconds": round(time.perf_counter() - start, 3)}
    train_idx, val_idx, test_idx = task.splits(len(graphs), job.fold + 1, job.seed)[job.fold]
    pick = lambda idx: [graphs[i] for i in idx]  # noqa: E731
    torch.manual_seed(job.run_seed())
    model = build_model(job.model, **job.options())
    start = time.perf_counter()

    def on_epoch(epoch: int, row: dict[str, float]) -> None:
        if progress is not None:
            progress.set_postfix_str(f"{job.subtask or job.task} {job.model} {job.loss} fold {job.fold} epoch {epoch}/{job.epochs} val {row['val']:.4f}", refresh=False)

    result = fit(
        model, pick(train_idx), pick(val_idx), predict=task.predict, loss=job.loss, kind=task.kind,
        epochs=job.epochs, lr=job.lr, batch_size=batch_size, patience=patience, seed=job.run_seed(), on_epoch=on_epoch,
    )  # fmt: skip
    test = evaluate(model, pick(test_idx), task.predict, task.kind, sorted({"cd", "sbcd", job.loss}))
    return {
        **asdict(job),
        "key": job.key(),
        "test": test,
        "val": result.best_val,
        "best_epoch": result.best_epoch,
        "stopped_early": result.stopped_early,
        "final_train": result.history[-1]["train"],
        "seconds": round(time.perf_counter() - start, 3),
        "parameters": sum(p.numel() for p in model.parameters()),
    }


def run_benchmark(
    task: str | Task,
    *,
    models: Sequence[str] | None = None,
    losses: Sequence[str] | None = None,
    subtasks: Sequence[str] | None = None,
    folds: int | None = None,
    epochs: int | None = None,
    lr: float | None = None,
    seed: int = 0,
    out: str | os.PathLike | None = None,
    quick: bool = False,
    sigmas: Sequence[float] | None = None,
    limit: int | None = None,
    progress: bool = True,
) -> BenchResult:
    """Run (or resume) a benchmark; results stream to ``out/results.jsonl``.

    Settings left as None take the task's (the paper's) values, or its ``quick`` overrides when
    ``quick`` is set. A job whose key is already in ``results.jsonl`` is not rerun, so an
    interrupted run loses at most the job in progress. ``limit`` caps the number of structures of
    tasks that read a large data set (``canonicalization``).
    """
    task = get_task(task) if isinstance(task, str) else task
    q = task.quick if quick else {}
    settings = {
        "models": list(models or q.get("models", task.models)),
        "losses": list(losses or task.losses),
        "subtasks": list(subtasks or task.subtasks),
        "folds": folds or q.get("folds", task.folds),
        "epochs": epochs or q.get("epochs", task.epochs),
        "lr": lr or q.get("lr", task.lr),
        "seed": seed,
        "sigmas": list(sigmas or q.get("sigmas", NOISE_SIGMAS)),
        "batch_size": task.batch_size,
        "patience": task.patience,
        "limit": limit or q.get("limit"),
    }
    if settings["limit"] is not None:
        if settings["limit"] < 1:
            raise SymbreakError(f"limit must be ≥ 1, got {settings['limit']}")
        task.limit = settings["limit"]
    for name in settings["losses"]:
        if name not in LOSSES and task.run_job is None:
            raise SymbreakError(f"unknown loss {name!r}; choose one of {sorted(LOSSES)}")
    if settings["folds"] < 1 or settings["epochs"] < 1 or not settings["lr"] > 0:
        raise SymbreakError(f"need folds ≥ 1, epochs ≥ 1 and lr > 0; got {settings['folds']}, {settings['epochs']}, {settings['lr']}")
    for name in settings["subtasks"]:
        if name not in task.subtasks:
            raise SymbreakError(f"task {task.name!r} has no sub-task {name!r}; it has {list(task.subtasks)}")
    for spec in settings["models"]:  # fail before any training
        if task.run_job is not None:
            if spec not in task.models:
                raise SymbreakError(f"task {task.name!r} runs its own models {list(task.models)}; got {spec!r}")
        else:
            build_model(spec, **({"sigma": 0.01} if _has_variant(spec, "noise") else {}))
    out = Path(out or Path("results") / task.name)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "results.jsonl"
    jobs = plan_jobs(task, **{k: settings[k] for k in ("models", "losses", "subtasks", "folds", "epochs", "lr", "seed", "sigmas", "limit")})
    done = {r["key"] for r in load_records(path)}
    todo = [j for j in jobs if j.key() not in done]
    graphs = {s: task.dataset(s) for s in settings["subtasks"]}
    bar = _progress(len(jobs), progress, task.name)
    bar.update(len(jobs) - len(todo))
    with open(path, "a") as fh:
        for job in todo:
            record = run_one(job, task, graphs[job.subtask], bar, batch_size=settings["batch_size"], patience=settings["patience"], scratch=out / "partial")
            fh.write(json.dumps(record) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
            (out / "partial" / f"{job.run_seed()}.json").unlink(missing_ok=True)
            bar.update(1)
    bar.close()
    keys = {j.key() for j in jobs}
    records = [r for r in load_records(path) if r["key"] in keys]
    return BenchResult(task, records, ran=len(todo), skipped=len(jobs) - len(todo), out=out, settings=settings)
