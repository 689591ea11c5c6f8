r"""The experiment runner: every (sub-task, model, loss, fold) as one resumable job."""

from __future__ import annotations

import copy

import json
import logging
import os
import time
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from .._errors import SymbreakError
from ..tasks import Task, get_task
from ._engines import ENGINES, import_plugins, run_local, run_ray
from ._jobs import NOISE_SIGMAS, RESULTS_VERSION, Job, job_record

log = logging.getLogger("symbreak")

__all__ = ["Job", "job_record", "plan_jobs", "job_settings", "run_benchmark", "train_to_plateau", "PLATEAU_MIN_DELTA", "load_records", "BenchResult", "BenchInterrupted", "NOISE_SIGMAS"]

def resolve_device(device: str | None) -> str:
    """``"auto"`` (or None): ``"cuda"`` when a GPU is present, else ``"cpu"``; ``"cpu"``/``"cuda"``/``"cuda:1"`` as given."""
    if device in (None, "auto"):
        return "cuda" if torch.cuda.is_available() else "cpu"
    try:
        dev = torch.device(device)
    except RuntimeError:
        raise SymbreakError(f"unknown device {device!r}: use auto, cpu or cuda") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise SymbreakError("--device cuda: this torch sees no GPU (use --device auto to fall back to the CPU)")
    return str(dev)


def job_settings(task: Task, spec: str, *, batch_size: int, patience: int | None, device: str = "cpu") -> dict[str, Any]:
    """Everything besides a job's identity that changes its result (see :class:`Job`): the task's
    :meth:`~symbreak.tasks.Task.job_settings` and the symbreak version whose numbers it reproduces."""
    return {"symbreak": RESULTS_VERSION, **task.job_settings(spec, batch_size=batch_size, patience=patience, device=device)}


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
    batch_size: int | None = None,
    patience: int | None = None,
    device: str = "cpu",
) -> list[Job]:
    """Every job of a benchmark, in the order they run (fold-major, so early folds of all models finish first)."""
    batch_size = task.batch_size if batch_size is None else batch_size
    settings = {m: job_settings(task, m, batch_size=batch_size, patience=patience, device=device) for m in models}
    jobs = []
    for fold in range(folds):
        for subtask in subtasks:
            for model in models:
                if not task.applies(subtask, model):
                    continue
                for loss in losses:
                    for sigma in task.noise_sigmas(model, sigmas):
                        jobs.append(Job(task.name, subtask, model, loss, fold, epochs, lr, seed, sigma, limit, settings[model]))
    return jobs


def canonical_key(key: str) -> str:
    """A record's key as this version writes it: model options at their neutral value
    (:data:`symbreak.models._registry.NEUTRAL_OPTIONS`, e.g. ``in_features=0``, which older
    versions wrote for SANN) are dropped, so records made before every model could read extra
    inputs are found again (the results are the same: tests/test_golden.py)."""
    from ..models._registry import NEUTRAL_OPTIONS

    try:
        parsed = json.loads(key)
    except (TypeError, json.JSONDecodeError):
        return key
    model = parsed.get("settings", {}).get("model") if isinstance(parsed, dict) and isinstance(parsed.get("settings"), dict) else None
    if not isinstance(model, dict) or not any(model.get(k, object()) == v for k, v in NEUTRAL_OPTIONS.items()):
        return key
    parsed["settings"]["model"] = {k: v for k, v in model.items() if not (k in NEUTRAL_OPTIONS and v == NEUTRAL_OPTIONS[k])}
    return json.dumps(parsed, sort_keys=True, default=str)


def _recover(line: str) -> tuple[str, dict[str, Any] | None]:
    """Split a line that does not parse into the broken text and a whole record glued after it, if any."""
    decoder = json.JSONDecoder()
    for start in [i for i, c in enumerate(line) if c == "{"][1:]:
        try:
            obj, end = decoder.raw_decode(line, start)
        except json.JSONDecodeError:
            continue
        if end == len(line.rstrip()) and isinstance(obj, dict):
            return line[:start], obj
    return line, None


def load_records(path: str | os.PathLike, *, repair: bool = False) -> list[dict[str, Any]]:
    """Records of ``results.jsonl``.

    A line cut short by a killed write (and a record a later run glued onto it) is not fatal: the
    whole records are kept, the broken text is set aside in ``results.jsonl.broken`` with a
    warning, and with ``repair`` the file is rewritten without it, so the next record starts on a
    line of its own. A line of valid JSON that is not a record is a :class:`SymbreakError`.
    """
    path = Path(path)
    if not path.exists():
        return []
    if path.is_dir():
        raise SymbreakError(f"{path} is a folder, expected a results.jsonl file")
    text = path.read_text()
    out, broken = [], []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            bad, record = _recover(line)
            broken.append(bad)
            if record is None:
                continue
        if not isinstance(record, dict) or "key" not in record:
            raise SymbreakError(f"{path}, line {number}: valid JSON but not a symbreak record (no 'key'); move the file aside or pick another --out")
        record["key"] = canonical_key(record["key"])
        out.append(record)
    if broken:
        log.warning("%s: %d broken line(s) (an interrupted write) set aside in %s; their jobs will run again", path, len(broken), path.name + ".broken")
        if repair:
            with open(path.with_name(path.name + ".broken"), "a") as fh:
                fh.write("".join(b + "\n" for b in broken))
            _write_atomic(path, "".join(json.dumps(r) + "\n" for r in out))
    elif repair and text and not text.endswith("\n"):
        _write_atomic(path, text + "\n")
    return out


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


class BenchInterrupted(KeyboardInterrupt):
    """Ctrl-C during a benchmark: says what finished and how to resume."""


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


def run_one(
    job: Job, task: Task, graphs: list, progress: Any = None, *, batch_size: int, patience: int | None, scratch: Path | None = None, device: str = "cpu", save: Path | None = None
) -> dict[str, Any]:
    """Run one job through its task (:meth:`~symbreak.tasks.Task.run_job`) and return its record
    (:func:`~symbreak.bench._jobs.job_record`). The job keeps its partial state in
    ``scratch / <hash of the job's key><task.checkpoint_suffix>`` (removed once the record is written), so an
    interrupted job resumes. ``device``: where a registered model trains; ``save``: a file to
    write it to (:func:`symbreak.models.save_model`).
    """
    torch.manual_seed(job.run_seed())
    start = time.perf_counter()
    checkpoint = None if scratch is None else _partial(scratch, job.key(), task)
    threads = torch.get_num_threads()
    if task.threads:
        torch.set_num_threads(task.threads)
    try:
        record = task.run_job(job, graphs, progress=progress, checkpoint=checkpoint, device=device, save=save, batch_size=batch_size, patience=patience)
    finally:
        torch.set_num_threads(threads)
    return job_record(job, record, time.perf_counter() - start)


def _partial(scratch: Path, key: str, task: Task) -> Path:
    """The file ``job`` keeps its partial state in: named by its whole key, so a job of the same
    identity under other settings (which shares its seed) never resumes from it."""
    return scratch / f"{zlib.crc32(key.encode()):08x}{task.checkpoint_suffix}"


#: the relative gain of the training loss that counts as progress under ``--until-plateau``
PLATEAU_MIN_DELTA = 0.01


def train_to_plateau(task: Task, patience: int) -> Task:
    """A copy of ``task`` that trains each job until its training loss stops improving, not for a
    fixed budget (``task`` itself is left as it was).

    The kept weights are those of the lowest training loss; training stops once ``patience``
    epochs pass without a gain of :data:`PLATEAU_MIN_DELTA` (1 %, relative), the learning rate
    rises from the task's ``lr``/25 to ``lr`` over 50 epochs and then stays (schedule
    ``"warmup"``: no annealing, which would end a run by the clock rather than on a plateau, and a
    ramp that spares the first steps: PaiNN on BaTiO3's periodic cell diverged at once without
    it), and the task's ``epochs`` is only the cap. Validation chooses nothing, so this is the one early stopping open to tasks
    whose validation is their test set (one structure, as in ``sbs-examples``). The settings
    enter every job's key: these records never mix with fixed-budget ones.
    """
    if isinstance(patience, bool) or not isinstance(patience, int) or patience < 1:
        raise SymbreakError(f"--until-plateau takes a patience in epochs ≥ 1, got {patience!r}")
    if not task.trains_registered_models:
        raise SymbreakError(f"task {task.name!r} trains its own models with its own stopping rule: --until-plateau applies to tasks that train registered models")
    task = copy.copy(task)
    task.select, task.schedule, task.monitor, task.patience, task.min_delta = "best", "warmup", "train", patience, PLATEAU_MIN_DELTA
    return task


def _given(value: Any, default: Any) -> Any:
    """``value`` unless it is None: 0 is a value (and is refused by the checks), not "the default"."""
    return default if value is None else value


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
    device: str | None = "auto",
    save_models: bool = False,
    engine: str = "local",
    address: str | None = None,
    workers: int | None = None,
    plugins: Sequence[str] = (),
    shards: int | None = None,
    until_plateau: int | None = None,
) -> BenchResult:
    """Run (or resume) a benchmark; results stream to ``out/results.jsonl``.

    Settings left as None take the task's (the paper's) values, or its ``quick`` overrides when
    ``quick`` is set; 0 folds, epochs, learning rate or limit are refused, never read as "the
    default". A job whose key (every setting that changes its result, and the symbreak version) is
    already in ``results.jsonl`` is not rerun, so an interrupted run loses at most the job in
    progress; Ctrl-C raises :class:`BenchInterrupted`, which says so. ``limit`` caps the number of
    structures of tasks that read a large data set (``canonicalization``). ``device``: ``"auto"``
    (a GPU when present), ``"cpu"`` or ``"cuda"``. ``save_models``: keep every trained model in
    ``out/models/<job seed>.pt`` (loadable with :func:`symbreak.models.load_model`).
    engine: ``"local"`` (this process, one job after another) or ``"ray"`` (every job a Ray task:
    ``address`` of a cluster, else a local one of ``workers`` CPUs; ``plugins`` are imported in
    every worker); see :mod:`symbreak.bench._engines`. The records are the same either way.
    shards: with Ray, split each job of a task that can be split (canonicalization) into this
    many Ray tasks, merged by the driver (default: the local cluster's workers; 1: never).
    until_plateau: train every job to a plateau of its training loss instead of a fixed budget
    (:func:`train_to_plateau` with this patience; ``epochs`` is then the cap).
    """
    if engine not in ENGINES:
        raise SymbreakError(f"unknown engine {engine!r}; choose from {', '.join(ENGINES)}")
    import_plugins(plugins)
    if workers is not None and workers < 1:
        raise SymbreakError(f"workers must be ≥ 1, got {workers}")
    task = get_task(task) if isinstance(task, str) else task
    if until_plateau is not None:
        task = train_to_plateau(task, until_plateau)
    q = task.quick if quick else {}
    settings = {
        "models": list(_given(models, q.get("models", task.models))),
        "losses": list(_given(losses, task.losses)),
        "subtasks": list(_given(subtasks, q.get("subtasks", task.subtasks))),
        "folds": _given(folds, q.get("folds", task.folds)),
        "epochs": _given(epochs, q.get("epochs", task.epochs)),
        "lr": _given(lr, q.get("lr", task.lr)),
        "seed": seed,
        "sigmas": list(_given(sigmas, q.get("sigmas", NOISE_SIGMAS))),
        "batch_size": task.batch_size,
        "patience": task.patience if task.select == "best" else None,
        "select": task.select,
        "schedule": task.schedule,
        "limit": _given(limit, q.get("limit")),
        "device": resolve_device(device),
    }
    if settings["limit"] is not None:
        if settings["limit"] < 1:
            raise SymbreakError(f"limit must be ≥ 1, got {settings['limit']}")
        task.limit = settings["limit"]
    for key in ("models", "losses", "subtasks", "sigmas"):
        if not settings[key]:
            raise SymbreakError(f"no {key} given: name at least one, or leave the option out for the paper's")
    for name in settings["losses"]:
        task.check_loss(name)
    if settings["folds"] < 1 or settings["epochs"] < 1 or not settings["lr"] > 0:
        raise SymbreakError(f"need folds ≥ 1, epochs ≥ 1 and lr > 0; got {settings['folds']}, {settings['epochs']}, {settings['lr']}")
    if any(not s > 0 for s in settings["sigmas"]):
        raise SymbreakError(f"noise σ must be > 0 Å, got {settings['sigmas']}")
    for name in settings["subtasks"]:
        if name not in task.subtasks:
            named = [s for s in task.subtasks if s]
            raise SymbreakError(f"task {task.name!r} has no sub-task {name!r}; " + (f"it has {named}" if named else "it has none: leave --subtasks off"))
    for spec in settings["models"]:  # fail before any training
        task.check_model(spec)
    task.check_settings({**settings, "save_models": save_models, "engine": engine})
    out = Path(out or Path("results") / task.name)
    if out.exists() and not out.is_dir():
        raise SymbreakError(f"--out {out} is a file; give a folder (it will hold results.jsonl, tables and plots)")
    out.mkdir(parents=True, exist_ok=True)
    path = out / "results.jsonl"
    jobs = plan_jobs(
        task, **{k: settings[k] for k in ("models", "losses", "subtasks", "folds", "epochs", "lr", "seed", "sigmas", "limit", "batch_size", "patience", "device")}
    )
    previous = [task.upgrade_record(r) for r in load_records(path, repair=True)]
    done = {r["key"] for r in previous}
    todo = [j for j in jobs if j.key() not in done]
    planned, names = {j.key() for j in jobs}, {j.run_seed() for j in todo}
    stale = sum(1 for r in previous if r["key"] not in planned and Job(**_identity_of(r)).run_seed() in names)
    if stale:
        log.warning("%s: %d record(s) of these jobs were written under other settings or another symbreak version; they are not reused", path, stale)
    graphs = {s: task.dataset(s) for s in settings["subtasks"]}
    bar = _progress(len(jobs), progress, task.name)
    bar.update(len(jobs) - len(todo))
    finished = 0
    options = {"batch_size": settings["batch_size"], "patience": settings["patience"], "scratch": out / "partial", "device": settings["device"]}

    def save_path(job: Job) -> Path | None:
        return out / "models" / f"{job.run_seed()}.pt" if save_models and task.trains_registered_models else None

    if engine == "ray":
        use_gpu = settings["device"].startswith("cuda") and task.trains_registered_models
        if shards is not None and shards < 1:
            raise SymbreakError(f"shards must be ≥ 1, got {shards}")
        split = shards if shards is not None else (workers or (1 if address else os.cpu_count() or 1))
        records = run_ray(todo, options, execute=run_one, task=task, plugins=plugins, address=address, workers=workers, gpus=0.5 if use_gpu else 0.0, save=save_path,
                          shards=split)  # fmt: skip
    else:
        records = run_local(todo, lambda job: run_one(job, task, graphs[job.subtask], bar, **options, save=save_path(job)))
    try:
        with open(path, "a") as fh:
            for record in records:
                fh.write(json.dumps(record) + "\n")
                fh.flush()
                os.fsync(fh.fileno())
                partial = _partial(out / "partial", record["key"], task)
                if partial.is_file():  # a folder (a task's work folder: water-pet) keeps the job's files
                    partial.unlink()
                finished += 1
                bar.update(1)
    except KeyboardInterrupt:
        bar.close()
        raise BenchInterrupted(
            f"interrupted: {len(jobs) - len(todo) + finished} of {len(jobs)} jobs are finished and saved in {path}; "
            "rerun the same command to resume (long jobs continue from their checkpoint)"
        ) from None
    bar.close()
    keys = {j.key() for j in jobs}
    records = [r for r in map(task.upgrade_record, load_records(path)) if r["key"] in keys]
    return BenchResult(task, records, ran=len(todo), skipped=len(jobs) - len(todo), out=out, settings=settings)


def _identity_of(record: dict[str, Any]) -> dict[str, Any]:
    names = ("task", "subtask", "model", "loss", "fold", "epochs", "lr", "seed", "sigma", "limit")
    return {k: record.get(k) for k in names}
