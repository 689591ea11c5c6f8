r"""Where a benchmark's jobs run: in this process (``local``) or as Ray tasks (``ray``).

Either way the driver alone writes ``results.jsonl`` (each record flushed and fsynced as it
arrives), so a killed driver, worker or node loses at most the jobs in flight, and a rerun
resumes. An engine is a generator: given the jobs still to run, it yields their records as they
finish, in any order; the records are the same whatever the engine, since every job is seeded from
its own description.

Ray: without ``address`` a local cluster of ``workers`` CPUs starts on this machine (and stops at
the end); with one (``"auto"``, ``"ray://head:10001"``) the jobs go to that cluster. Each job is a
task asking for ``cpus`` CPUs (and ``gpus`` of a GPU when training on one); a worker that dies has
its job retried by Ray (``max_retries``). Workers import the task by name (and the ``plugins``
that register user tasks and models) and build each sub-task's data once per worker process.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import os
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from .._errors import SymbreakError
from ._jobs import job_record

__all__ = ["ENGINES", "run_local", "run_ray", "import_plugins"]

ENGINES = ("local", "ray")


def import_plugins(plugins: Sequence[str]) -> None:
    """Import modules by name or ``.py`` files by path: the models, inputs and tasks they register
    become available (in the driver, and in every Ray worker)."""
    import sys
    from pathlib import Path

    for name in filter(None, (str(n).strip() for n in plugins)):
        path = Path(name)
        if name.endswith(".py"):
            if not path.is_file():
                raise SymbreakError(f"--plugins: no such file {name}")
            loaded = sys.modules.get(path.stem)
            if loaded is not None and Path(getattr(loaded, "__file__", "") or "").resolve() == path.resolve():
                continue  # imported already (by the command line, then by run_benchmark): registering twice would clash
            spec = importlib.util.spec_from_file_location(path.stem, path)
            if spec is None or spec.loader is None:
                raise SymbreakError(f"--plugins: cannot import {name!r}")
            module = importlib.util.module_from_spec(spec)
            sys.modules[path.stem] = module
            spec.loader.exec_module(module)
        else:
            try:
                importlib.import_module(name)
            except ModuleNotFoundError as exc:
                raise SymbreakError(f"--plugins: cannot import {name!r} ({exc})") from None


def run_local(todo: Sequence[Any], execute: Any) -> Iterator[dict[str, Any]]:
    """Run the jobs here, one after another: ``execute(job) -> record``."""
    for job in todo:
        yield execute(job)


@functools.lru_cache(maxsize=16)
def _worker_task(name: str, limit: int | None, plugins: tuple[str, ...]) -> Any:
    from ..tasks import get_task

    import_plugins(plugins)
    task = get_task(name)
    if limit is not None:
        task.limit = limit
    return task


@functools.lru_cache(maxsize=16)
def _worker_graphs(name: str, subtask: str, limit: int | None, plugins: tuple[str, ...]) -> list:
    return _worker_task(name, limit, plugins).dataset(subtask)


def _in_worker(job: Any, plugins: tuple[str, ...], threads: int) -> tuple[Any, list]:
    """A Ray worker's task and sub-task data for ``job`` (built once per process), at ``threads`` threads."""
    import torch

    torch.set_num_threads(threads)
    return _worker_task(job.task, job.limit, plugins), _worker_graphs(job.task, job.subtask, job.limit, plugins)


def _remote_job(job: Any, execute: Callable[..., dict[str, Any]], options: dict[str, Any], plugins: tuple[str, ...], threads: int) -> dict[str, Any]:
    """One job in a Ray worker: ``execute(job, task, graphs, None, **options)`` (the runner's :func:`~symbreak.bench.run_one`)."""
    task, graphs = _in_worker(job, plugins, threads)
    return execute(job, task, graphs, None, **options)


def _remote_shard(job: Any, shard: int, shards: int, plugins: tuple[str, ...], threads: int) -> tuple[dict[str, Any], float]:
    """One shard of a long job in a Ray worker: its partial result and its wall time."""
    import time

    import torch

    task, graphs = _in_worker(job, plugins, threads)
    torch.manual_seed(job.run_seed())
    start = time.perf_counter()
    return task.run_shard(job, graphs, shard, shards), time.perf_counter() - start


def run_ray(
    todo: Sequence[Any], options: dict[str, Any], *, execute: Callable[..., dict[str, Any]], task: Any = None, plugins: Sequence[str] = (),
    address: str | None = None, workers: int | None = None, cpus: int = 1, gpus: float = 0.0, max_retries: int = 3,
    save: Callable[[Any], Any] | None = None, shards: int = 1,
) -> Iterator[dict[str, Any]]:  # fmt: skip
    """Run the jobs as Ray tasks; yield each record as it finishes. execute: runs one job in a
    worker, ``execute(job, task, graphs, progress, **options) -> record`` (the runner passes its
    ``run_one``: a module-level function, which Ray sends by reference, so this module never imports
    the runner); options: its keywords; save: the file each job's trained model goes to (None: not kept).

    shards: split each job of a ``task`` that can (it has ``run_shard`` and ``merge_shards``: the
    canonicalization of QM9) into this many Ray tasks; the driver merges their partial results in
    shard order into the job's record, whose ``seconds`` are then the shards' summed wall time.
    """
    try:
        import ray
    except ImportError:
        raise SymbreakError("--engine ray needs Ray: pip install -e '.[scale]' (or ray)") from None
    started = not ray.is_initialized()
    if started:
        kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False, "configure_logging": False}
        if address is None:
            kwargs["num_cpus"] = workers or os.cpu_count() or 1
        else:
            kwargs["address"] = address
        ray.init(**kwargs)
    try:
        remote = ray.remote(num_cpus=cpus, num_gpus=gpus, max_retries=max_retries)(_remote_job)
        shard_task = ray.remote(num_cpus=cpus, max_retries=max_retries)(_remote_shard)
        sharded = shards > 1 and task is not None and hasattr(task, "run_shard") and hasattr(task, "merge_shards")
        pending: dict[Any, tuple[Any, int]] = {}
        parts: dict[str, list[Any]] = {}
        for job in todo:
            if sharded:
                parts[job.key()] = [None] * shards
                for k in range(shards):
                    pending[shard_task.remote(job, k, shards, tuple(plugins), cpus)] = (job, k)
            else:
                pending[remote.remote(job, execute, {**options, "save": save(job) if save else None}, tuple(plugins), cpus)] = (job, -1)
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1)
            for ref in done:
                job, k = pending.pop(ref)
                if k < 0:
                    yield ray.get(ref)
                    continue
                mine = parts[job.key()]
                mine[k] = ray.get(ref)
                if all(p is not None for p in mine):
                    record = task.merge_shards(job, [p[0] for p in mine])
                    yield job_record(job, record, sum(p[1] for p in mine), shards=shards)
    finally:
        if started:
            ray.shutdown()
