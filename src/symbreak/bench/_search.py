r"""Hyper-parameter search with Optuna over a benchmark's jobs: ``symbreak search TASK --model M --space FILE``.

A trial is a model spec (the space's model options in brackets) and run settings (``lr``,
``epochs``), run as ordinary benchmark jobs through :func:`run_benchmark` — on the same engine,
with the same seeded, resumable records in ``OUT/results.jsonl``. Its value is the mean over folds
of the **validation** measure of the kept epoch (``record["val"]``): the test set never takes part
in the choice. The study lives in ``OUT/study.db`` (SQLite), so a rerun continues it; a rerun
with another space or other run settings (sub-task, loss, folds, epochs, lr, seed) in the same
``OUT`` is refused, since the study's finished trials would be reported as its own. A space
whose parameters are all lists of choices is searched as a full grid (the SANN paper's Tables 5
and 6 are grids); otherwise by Optuna's seeded TPE sampler for ``trials`` trials.

Every trial reads exactly the records of its own jobs (one per fold; per fold and σ for a
``+noise`` model), each of the trial's spec: its row (and ``OUT/search.json``) names them by key
(``keys``), so each number of a search can be found in ``OUT/results.jsonl``. A trial whose
records are not its own is an error, never a value.

The space file is JSON: ``{"layers": [1, 2, 3], "hidden": {"low": 16, "high": 128, "log": true, "int": true}, "lr": {"low": 1e-4, "high": 1e-2, "log": true}}``.
"""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from .._errors import SymbreakError

__all__ = ["SearchResult", "run_search", "load_space"]

#: space entries that are run settings, not model options
RUN_SETTINGS = ("lr", "epochs")


@dataclasses.dataclass
class SearchResult:
    """trials: one row per finished trial (params, spec, validation value, test measures of its jobs);
    best: the row with the lowest validation value; default: the same measures for the model as given."""

    task: str
    model: str
    trials: list[dict[str, Any]]
    best: dict[str, Any]
    default: dict[str, Any] | None
    out: Path

    def format(self) -> str:
        measure = self.best["measure"]
        lines = [f"search {self.task} {self.model}: {len(self.trials)} trial(s), chosen on validation {measure} (mean over folds)"]
        lines.append(f"  {'trial':>5}  {'validation':>11}  {'test':>9}  spec")
        for t in sorted(self.trials, key=lambda r: r["val"]):
            lines.append(f"  {t['number']:5d}  {t['val']:11.5g}  {t['test']:9.5g}  {t['spec']} lr={t['lr']:g} epochs={t['epochs']}")
        lines.append(f"  best: {self.best['spec']} lr={self.best['lr']:g} epochs={self.best['epochs']} (validation {self.best['val']:.5g}, test {self.best['test']:.5g})")
        if self.default is not None:
            d = self.default
            lines.append(f"  as given: {d['spec']} lr={d['lr']:g} (validation {d['val']:.5g}, test {d['test']:.5g}); test {measure} changes by "
                         f"{100 * (self.best['test'] / d['test'] - 1):+.1f} %")  # fmt: skip
        return "\n".join(lines)


def load_space(path: str | Path) -> dict[str, Any]:
    """Read and check a search space (see the module docstring)."""
    try:
        space = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise SymbreakError(f"--space {path}: no such file") from None
    except json.JSONDecodeError as exc:
        raise SymbreakError(f"--space {path}: not JSON ({exc})") from None
    if not isinstance(space, dict) or not space:
        raise SymbreakError(f"--space {path}: give an object of parameter → choices or range")
    for name, rng in space.items():
        if isinstance(rng, list):
            if not rng:
                raise SymbreakError(f"--space: {name!r} has no choices")
        elif not (isinstance(rng, dict) and {"low", "high"} <= set(rng) and rng["low"] < rng["high"]):
            raise SymbreakError(f"--space: {name!r} must be a list of choices or {{'low': a, 'high': b}} with a < b")
    return space


def _suggest(trial: Any, space: dict[str, Any]) -> dict[str, Any]:
    params = {}
    for name, rng in space.items():
        if isinstance(rng, list):
            params[name] = trial.suggest_categorical(name, rng)
        elif rng.get("int"):
            params[name] = trial.suggest_int(name, int(rng["low"]), int(rng["high"]), log=bool(rng.get("log")))
        else:
            params[name] = trial.suggest_float(name, float(rng["low"]), float(rng["high"]), log=bool(rng.get("log")))
    return params


def _spec(model: str, options: dict[str, Any]) -> str:
    from ..models import parse_spec

    name, given = parse_spec(model)
    merged = {**given, **options}
    return name + ("[" + ", ".join(f"{k}={v!r}" for k, v in sorted(merged.items())) + "]" if merged else "")


def _trial(model: str, params: dict[str, Any], base: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """A trial's model spec (``model`` with the trial's model options) and run settings (``base`` with the trial's ``lr``, ``epochs``)."""
    settings = {**base, **{k: params[k] for k in RUN_SETTINGS if k in params}}
    return _spec(model, {k: v for k, v in params.items() if k not in RUN_SETTINGS}), settings


def _own_records(records: list[dict[str, Any]], spec: str, folds: int) -> list[dict[str, Any]]:
    """The records a trial of ``spec`` reads: those of its own jobs (every fold; every σ of a
    ``+noise`` model), each of ``spec`` as written, each job once (a job written twice, by two
    processes sharing an ``OUT``, is read once).

    Raises :class:`SymbreakError` otherwise (a record of another configuration, a fold missing),
    so a trial can never report another configuration's numbers.
    """
    own: dict[str, dict[str, Any]] = {}
    for record in records:
        own.setdefault(record["key"], record)
    foreign = sorted({str(r.get("model")) for r in own.values()} - {spec})
    seen = {r.get("fold") for r in own.values()}
    if foreign or seen != set(range(folds)):
        raise SymbreakError(
            f"trial {spec!r} read records of models {foreign or [spec]}, folds {sorted(seen, key=str)} (expected only its own jobs, "
            f"folds 0..{folds - 1}): its value would not be its own"
        )
    return list(own.values())


def _check_study(study: Any, settings: dict[str, Any], out: Path) -> None:
    """Tie ``study`` to the space and run settings it searches: a study made by other ones (its
    trials' values would be reported as this search's) is a :class:`SymbreakError`."""
    settings = json.loads(json.dumps(settings))  # as SQLite gives it back: lists, plain numbers
    stored = study.user_attrs.get("search")
    if stored is None:  # a new study (or one made before studies recorded their settings)
        study.set_user_attr("search", settings)
    elif stored != settings:
        changed = sorted(k for k in set(stored) | set(settings) if stored.get(k) != settings.get(k))
        raise SymbreakError(
            f"{out / 'study.db'} holds a search with other {', '.join(changed)} ({', '.join(f'{k}={stored.get(k)!r}' for k in changed)}); "
            "pick another --out, or rerun with the same settings to continue it"
        )


def run_search(
    task: str, *, model: str, space: dict[str, Any], trials: int | None = None, subtask: str | None = None, loss: str | None = None,
    folds: int | None = None, epochs: int | None = None, lr: float | None = None, seed: int = 0, out: str | Path | None = None,
    engine: str = "local", address: str | None = None, workers: int | None = None, progress: bool = True, plugins: tuple[str, ...] = (),
    compare_default: bool = True,
) -> SearchResult:  # fmt: skip
    """Search ``space`` for ``model`` on ``task`` (see the module docstring); resumable.

    subtask, loss: which of the task's to search on (default: its first); folds, epochs, lr: the
    run settings a trial does not set (default: the task's). compare_default: also run the model as
    given, so the result says what the search changed.
    """
    try:
        import optuna
    except ImportError:
        raise SymbreakError("symbreak search needs Optuna: pip install -e '.[scale]' (or optuna)") from None
    from ..tasks import get_task
    from ._engines import import_plugins
    from ._runner import run_benchmark

    import_plugins(plugins)
    t = get_task(task)
    subtask = t.subtasks[0] if subtask is None else subtask
    loss = t.losses[0] if loss is None else loss
    out = Path(out or Path("results") / "search" / f"{t.name}-{model}")
    out.mkdir(parents=True, exist_ok=True)
    base = {"folds": folds or t.folds, "epochs": epochs or t.epochs, "lr": lr or t.lr}
    grid = all(isinstance(r, list) for r in space.values())
    n_trials = math.prod(len(r) for r in space.values()) if grid and trials is None else trials
    if n_trials is None or n_trials < 1:
        raise SymbreakError("a space with ranges needs --trials N ≥ 1")
    sampler = optuna.samplers.GridSampler({k: list(v) for k, v in space.items()}, seed=seed) if grid else optuna.samplers.TPESampler(seed=seed)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(
        study_name=f"{t.name}-{subtask}-{loss}-{model}", storage=f"sqlite:///{out / 'study.db'}", sampler=sampler, direction="minimize", load_if_exists=True,
    )  # fmt: skip
    _check_study(study, {"space": space, "subtask": subtask, "loss": loss, "seed": seed, **base}, out)

    def run(spec: str, settings: dict[str, Any]) -> dict[str, Any]:
        result = run_benchmark(
            t, models=[spec], losses=[loss], subtasks=[subtask], folds=settings["folds"], epochs=settings["epochs"], lr=settings["lr"], seed=seed,
            out=out, progress=progress, engine=engine, address=address, workers=workers, plugins=plugins, device="cpu",
        )  # fmt: skip
        recs = _own_records(result.records, spec, settings["folds"])
        test_measure = loss if loss in recs[0]["test"] else next(iter(recs[0]["test"]))
        return {"spec": spec, "lr": settings["lr"], "epochs": settings["epochs"], "val": float(np.mean([r["val"] for r in recs])),
                "test": float(np.mean([r["test"][test_measure] for r in recs])), "measure": test_measure, "keys": [r["key"] for r in recs]}  # fmt: skip

    def objective(trial: Any) -> float:
        spec, settings = _trial(model, _suggest(trial, space), base)
        row = run(spec, settings)
        for key in ("spec", "test", "measure", "keys"):
            trial.set_user_attr(key, row[key])
        trial.set_user_attr("lr", settings["lr"])
        trial.set_user_attr("epochs", settings["epochs"])
        return row["val"]

    finished = [tr for tr in study.trials if tr.state == optuna.trial.TrialState.COMPLETE]
    remaining = n_trials - len(finished)
    if remaining > 0:
        study.optimize(objective, n_trials=remaining)
    rows = [
        {"number": tr.number, "params": tr.params, "val": tr.value, **{k: tr.user_attrs.get(k) for k in ("spec", "test", "measure", "lr", "epochs", "keys")}}
        for tr in study.trials
        if tr.state == optuna.trial.TrialState.COMPLETE
    ]
    best = min(rows, key=lambda r: r["val"])
    default = run(_spec(model, {}), base) if compare_default else None
    result = SearchResult(t.name, model, rows, best, default, out)
    (out / "search.json").write_text(json.dumps({"task": t.name, "subtask": subtask, "loss": loss, "model": model, "space": space, "trials": rows,
                                                  "best": best, "default": default}, indent=1) + "\n")  # fmt: skip
    return result

