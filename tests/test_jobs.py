"""Job keys and seeds: every setting that changes a result changes the key, and existing keys never move.

A job's key (:meth:`symbreak.bench.Job.key`) decides whether a record in ``results.jsonl`` is
reused; its run seed (:meth:`~symbreak.bench.Job.run_seed`) draws its random numbers. A setting
missing from the key makes a resume reuse another setting's numbers; a key that moves makes every
stored record unreachable. Both are tested here.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path

import pytest

from symbreak import metrics
from symbreak.bench import NOISE_SIGMAS, Job, _runner, plan_jobs
from symbreak.models import INPUTS, MODELS, VARIANTS, model_config
from symbreak.models._registry import ModelSpec
from symbreak.tasks import available_tasks, get_task

SEARCH = Path(__file__).parent.parent / "docs" / "search"

#: an alternative value for every field of a job's identity; a field added to Job must be added here
OTHER = {"task": "square-ssb", "subtask": "dft-by-molecule", "model": "egnn", "loss": "sbmse", "fold": 1, "epochs": 6, "lr": 2e-3, "seed": 1, "sigma": 0.1, "limit": 10}


def _job(task="dipoles", model="sann", **plan):
    t = get_task(task) if isinstance(task, str) else task
    kw = dict(models=[model], losses=["sbcd"], subtasks=[t.subtasks[0]], folds=1, epochs=5, lr=1e-3, seed=0, sigmas=[0.01])
    (job,) = plan_jobs(t, **{**kw, **plan})
    return job


def test_every_field_of_a_jobs_identity_moves_its_key_and_its_seed():
    base = _job()
    identity = {f.name for f in dataclasses.fields(Job)} - {"settings"}
    assert identity == set(OTHER), "a new Job field: give it another value in OTHER"
    for name, value in OTHER.items():
        assert getattr(base, name) != value
        other = dataclasses.replace(base, **{name: value})
        assert other.key() != base.key(), name
        assert other.run_seed() != base.run_seed(), name
    # and through plan_jobs, the way a run makes them
    for plan in [dict(lr=2e-3), dict(epochs=6), dict(seed=1), dict(limit=10), dict(losses=["sbmse"]), dict(subtasks=["dft-by-molecule"])]:
        assert _job(**plan).key() != base.key() and _job(**plan).run_seed() != base.run_seed(), plan
    assert [j.key() for j in plan_jobs(get_task("dipoles"), models=["sann"], losses=["sbcd"], subtasks=["dft"], folds=2, epochs=5, lr=1e-3, seed=0)][1] != base.key()
    noisy = plan_jobs(get_task("dipoles"), models=["egnn+noise"], losses=["sbcd"], subtasks=["dft"], folds=1, epochs=5, lr=1e-3, seed=0)
    assert len({j.key() for j in noisy}) == len({j.run_seed() for j in noisy}) == len(NOISE_SIGMAS)


def test_every_setting_that_changes_a_result_moves_the_key_but_not_the_seed(monkeypatch):
    """Settings besides the identity (batch size, patience, device, epoch policy, measures, the
    task's tolerance and clipping, the results version) go into the key, not the seed."""
    base = _job()

    def check(other: Job, what: str) -> None:
        assert other.key() != base.key(), what
        assert other.run_seed() == base.run_seed(), what

    check(_job(batch_size=32), "batch_size")
    check(_job(patience=5), "patience")
    check(_job(device="cuda"), "device")  # a GPU rounds differently: its records are its own
    for attribute, value in [("select", "last"), ("schedule", "onecycle"), ("clip_norm", 1.0), ("symmetry_tol", 0.3)]:
        task = get_task("dipoles")
        assert getattr(task, attribute) != value
        setattr(task, attribute, value)
        check(_job(task), attribute)
    task = get_task("dipoles")
    task.symmetry_tol = 0.3  # the data's symmetries, and so the SB measures, of a model that takes no tolerance
    assert _job(task, "egnn").key() != _job("dipoles", "egnn").key() and _job(task, "egnn").run_seed() == _job("dipoles", "egnn").run_seed()
    monkeypatch.setattr(metrics, "REPORTED", (*metrics.REPORTED, "another"))
    check(_job(), "measures")
    monkeypatch.undo()
    monkeypatch.setattr(_runner, "RESULTS_VERSION", "0.0.0")
    check(_job(), "RESULTS_VERSION")


def _other_value(value):
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    if isinstance(value, float):
        return 2 * value
    if value is None:
        return "Cs"  # the optional choices of the inputs: an SBS target subgroup
    raise AssertionError(f"no other value for {value!r}")


def _specs_with_every_factory():
    """Every registered model, and every variant and input on a model that reads it."""
    specs = sorted(MODELS)
    for name in sorted(VARIANTS) + sorted(INPUTS):
        for base in ("egnn", "e3nn"):
            try:
                specs.append(str(ModelSpec.parse(f"{base}+{name}")))
                break
            except Exception:
                continue
    return specs


@pytest.mark.parametrize("spec", _specs_with_every_factory())
def test_every_model_option_is_in_the_key(spec):
    """Each option of each factory (defaults included) is in the key's model settings; setting it
    to another value gives another key. ``+noise``'s σ and seed are the job's (sigma, run seed)."""
    base = _job("square-ssb", spec)
    config = model_config(spec)
    assert json.loads(base.key())["settings"]["model"] == config
    for option, value in config.items():
        if option in ("model", "variants") or (ModelSpec.parse(spec).variants == ("noise",) and option in ("sigma", "seed")):
            continue
        other = str(ModelSpec.parse(spec).with_options(**{option: _other_value(value)}))
        job = _job("square-ssb", other)
        assert json.loads(job.key())["settings"]["model"][option] == _other_value(value), (spec, option)
        assert job.key() != base.key() and job.run_seed() != base.run_seed(), (spec, option)


@pytest.mark.parametrize("name", [n for n in available_tasks() if not get_task(n).trains_registered_models])
def test_the_settings_of_tasks_that_train_their_own_way_are_in_the_key(name):
    base = _job(name, get_task(name).models[0], losses=[get_task(name).losses[0]])
    settings = get_task(name).job_settings()
    moved = [k for k in settings if isinstance(getattr(get_task(name), k, None), (int, float)) and not isinstance(getattr(get_task(name), k), bool)]
    for key in moved:
        task = get_task(name)
        setattr(task, key, _other_value(getattr(task, key)))
        other = _job(task, task.models[0], losses=[task.losses[0]])
        assert other.key() != base.key() and other.run_seed() == base.run_seed(), (name, key)


@pytest.mark.parametrize(("attribute", "value"), [("copies", 8), ("noise", 0.02)])
def test_canonicalization_copies_and_noise_move_the_key(attribute, value):
    """At the task's own 16 copies and 0.01 Å the key is the committed records' one; any other setting is another job."""
    base = _job("canonicalization", "symbreak", losses=["emd"])
    task = get_task("canonicalization")
    setattr(task, attribute, value)
    other = _job(task, "symbreak", losses=["emd"])
    assert other.key() != base.key() and other.run_seed() == base.run_seed()


def test_every_planned_job_of_every_task_has_its_own_key_and_seed():
    keys, seeds = [], []
    for name in available_tasks():
        task = get_task(name)
        jobs = plan_jobs(task, models=task.models, losses=task.losses, subtasks=task.subtasks, folds=task.folds, epochs=task.epochs, lr=task.lr, seed=0)
        assert jobs, name
        keys += [j.key() for j in jobs]
        seeds += [j.run_seed() for j in jobs]
    assert len(set(keys)) == len(keys) and len(set(seeds)) == len(seeds)


@pytest.mark.parametrize(("model", "space", "points"), [("sann", "sann_table6.json", 27), ("egnn", "egnn_table5.json", 15)])
def test_every_grid_point_of_a_search_is_its_own_job(model, space, points, tmp_path, monkeypatch):
    """The SANN paper's grids, planned through ``symbreak search``: one job (key, seed) per point,
    none shared with another point or with the model as given (search-dipoles.md's trials 1 and 26
    show the same numbers; not through their keys)."""
    pytest.importorskip("optuna", reason="symbreak search needs optuna")
    from symbreak.bench import load_space, run_search

    planned = []

    def plan_only(task, *, models, losses, subtasks, folds, epochs, lr, seed, **_):
        jobs = plan_jobs(task, models=models, losses=losses, subtasks=subtasks, folds=folds, epochs=epochs, lr=lr, seed=seed, batch_size=task.batch_size,
                         patience=task.patience if task.select == "best" else None)  # fmt: skip
        planned.extend(jobs)
        return _runner.BenchResult(task, [{"key": j.key(), "model": j.model, "fold": j.fold, "val": len(planned) / 100, "test": {losses[0]: 0.0}} for j in jobs], len(jobs), 0, tmp_path)

    monkeypatch.setattr(_runner, "run_benchmark", plan_only)
    result = run_search("dipoles", model=model, space=load_space(SEARCH / space), subtask="dft-by-molecule", loss="sbmse", folds=1, epochs=40, out=tmp_path, progress=False)
    assert len(result.trials) == points and len({t["spec"] for t in result.trials}) == points
    assert len(planned) == points + 1  # and the model as given
    assert len({j.key() for j in planned}) == len({j.run_seed() for j in planned}) == points + 1
    for trial in result.trials:  # each trial's spec builds the model its parameters name
        config = model_config(trial["spec"])
        assert all(config[k] == v for k, v in trial["params"].items())


#: (run seed, sha256 of the key)[:16] of jobs planned before ModelSpec: the seeds and keys of existing
#: specs, however they are spelled, must never move (stored records and golden numbers depend on them).
#: A deliberate change of a setting (or of RESULTS_VERSION) moves the key hashes: regenerate them then.
KEYS = {
    ("square-ssb", "egnn", None): (199923905, "5aa1bdc81758904f"),
    ("square-ssb", "egnn+noise", 0.01): (131772148, "8590369995b28188"),
    ("square-ssb", "EGNN+Noise", 0.01): (3342501014, "3981e2756b925876"),
    ("square-ssb", "dimenet+mlp", None): (1055730472, "5f581526492fc037"),
    ("square-ssb", "dimenet+++mlp", None): (2906677015, "b18aeccc40424d4b"),
    ("square-ssb", "painn+randvec+mlp", None): (2250243081, "448289eac6efa22a"),
    ("square-ssb", "egnn[hidden=8]", None): (180752086, "b478c181d51cad48"),
    ("dipoles", "sann", None): (1795648717, "7dd66509d9955d15"),
    ("dipoles", "sann[layers=3]", None): (2662671299, "ef1ed91a46be89ab"),
    ("dipoles", "sann[layers=3,num_radial=6]", None): (3233554732, "3e65d9240a237773"),
    ("dipoles", "sann[layers=3, num_radial=6, tol=0.2]", None): (3074543891, "b67c3e1a8202f52c"),
    ("dipoles", "sann[layers=2, num_radial=4, num_spherical=3]", None): (680907713, "1d51fa9a1378553c"),
    ("dipoles", "sann[layers=3, num_radial=6, num_spherical=3]", None): (4132898568, "799f71dfb74d748f"),
    ("dipoles", "egnn[hidden=128, layers=5]", None): (955710786, "b9a023260bf66613"),
    ("h2o-modes", "painn-vector+noise", 0.1): (1360556115, "965cdd2ca81c732f"),
    ("sbs-examples", "e3nn+sbs-axial", None): (2238566437, "c3f21864956d7810"),
    ("sbs-examples", "egnn+sympe", None): (468860827, "cbc6d482dec66a52"),
    ("ising", "noise", None): (3213144181, "05772baf0934ea1a"),
    ("charged-particle", "relaxed-e3nn", None): (1616622134, "9e8254442da606c9"),  # 2026-12-06: the schedule keyed
    ("canonicalization", "symbreak", None): (2552416671, "e07d0f13a45bc15c"),
}


def test_keys_and_seeds_of_existing_specs_do_not_move():
    for (name, spec, sigma), expected in KEYS.items():
        task = get_task(name)
        jobs = plan_jobs(task, models=[spec], losses=[task.losses[0]], subtasks=[task.subtasks[0]], folds=1, epochs=task.epochs, lr=task.lr, seed=0,
                         patience=task.patience if task.select == "best" else None)  # fmt: skip
        (job,) = [j for j in jobs if j.sigma == sigma]
        assert (job.run_seed(), hashlib.sha256(job.key().encode()).hexdigest()[:16]) == expected, (name, spec, sigma)
        assert job.model == spec  # the spec as written, not its canonical form
