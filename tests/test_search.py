"""``symbreak search``: Optuna over benchmark jobs, chosen on validation only, resumable."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("optuna", reason="symbreak search needs optuna: pip install -e '.[scale]'")
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::ResourceWarning")

from symbreak import SymbreakError  # noqa: E402
from symbreak.bench import load_space, run_search  # noqa: E402

PLUGIN = str(Path(__file__).parent / "data" / "flaky_task.py")


def test_the_choice_is_made_on_validation_never_on_test(tmp_path):
    space = {"lr": [1e-4, 1e-3, 1e-2, 1e-1]}
    result = run_search("opposite", model="m", space=space, out=tmp_path, plugins=(PLUGIN,), progress=False, compare_default=False)
    assert len(result.trials) == 4  # a grid: every configuration once
    assert result.best["lr"] == pytest.approx(1e-2) and result.best["val"] == 0.0
    assert result.best["test"] == max(t["test"] for t in result.trials)  # the worst on test: the test set had no say
    saved = json.loads((tmp_path / "search.json").read_text())
    assert saved["best"]["lr"] == pytest.approx(1e-2) and len(saved["trials"]) == 4


def test_a_search_resumes_and_tunes_model_options(tmp_path):
    space = {"hidden": [8, 16]}
    kw = dict(model="egnn", space=space, loss="sbmse", folds=1, epochs=2, out=tmp_path, progress=False)
    first = run_search("square-ssb", **kw)
    lines = (tmp_path / "results.jsonl").read_text().splitlines()
    assert {t["spec"] for t in first.trials} == {"egnn[hidden=8]", "egnn[hidden=16]"} and first.default["spec"] == "egnn"
    again = run_search("square-ssb", **kw)
    assert (tmp_path / "results.jsonl").read_text().splitlines() == lines  # nothing ran again
    assert [t["val"] for t in again.trials] == [t["val"] for t in first.trials]


def test_bad_spaces_are_clear_errors(tmp_path):
    bad = tmp_path / "bad.json"
    for text, match in [("[1, 2]", "object"), ('{"lr": []}', "no choices"), ('{"lr": {"low": 1, "high": 0}}', "a < b"), ("{", "not JSON")]:
        bad.write_text(text)
        with pytest.raises(SymbreakError, match=match):
            load_space(bad)
    with pytest.raises(SymbreakError, match="no such file"):
        load_space(tmp_path / "missing.json")
    with pytest.raises(SymbreakError, match="--trials"):
        run_search("square-ssb", model="egnn", space={"lr": {"low": 1e-4, "high": 1e-2}}, out=tmp_path / "r", progress=False)


def test_two_configurations_of_a_search_get_their_own_jobs_and_records(tmp_path):
    """search-dipoles.md (2026-11-30) showed trials 1 (``layers=3, num_radial=6``) and 26
    (``layers=2, num_radial=4``: the model as given, spelled out) with the same numbers. Each
    configuration runs its own job (key and seed) and reports its own record, and the model as given
    spelled out is the same network as the model as given but not the same job."""
    from symbreak.bench import Job
    from symbreak.bench._runner import _identity_of

    space = {"layers": [3, 2], "num_radial": [6, 4], "num_spherical": [3]}
    result = run_search("square-ssb", model="sann", space=space, loss="sbmse", folds=1, epochs=1, out=tmp_path, progress=False)
    records = [json.loads(line) for line in (tmp_path / "results.jsonl").read_text().splitlines()]
    assert len(records) == len(result.trials) + 1 == 5  # four grid points and the model as given
    assert len({r["key"] for r in records}) == len({Job(**_identity_of(r)).run_seed() for r in records}) == 5
    by_key = {r["key"]: r for r in records}
    for row in [*result.trials, result.default]:
        (key,) = row["keys"]  # one fold: one record, named in the row
        record = by_key[key]
        assert record["model"] == row["spec"] and row["val"] == record["val"] and row["test"] == record["test"]["sbmse"]
        assert all(json.loads(key)["settings"]["model"][k] == v for k, v in row.get("params", {}).items())
    trial = {(t["params"]["layers"], t["params"]["num_radial"]): t for t in result.trials}
    one, twenty_six = by_key[trial[3, 6]["keys"][0]], by_key[trial[2, 4]["keys"][0]]
    assert one["parameters"] != twenty_six["parameters"] and (one["val"], one["test"]) != (twenty_six["val"], twenty_six["test"])
    given = by_key[result.default["keys"][0]]  # the same network, its own job: its numbers are another seed's
    assert json.loads(given["key"])["settings"]["model"] == json.loads(twenty_six["key"])["settings"]["model"] and given["key"] != twenty_six["key"]
    saved = json.loads((tmp_path / "search.json").read_text())
    assert [t["keys"] for t in saved["trials"]] == [t["keys"] for t in result.trials] and saved["default"]["keys"] == result.default["keys"]


def test_a_trial_never_reports_the_record_of_another_configuration(tmp_path, monkeypatch):
    """Were the runner to hand a trial another configuration's record (a key collision), the
    search stops with an error instead of reporting it as the trial's value."""
    from symbreak.bench import BenchResult, _runner

    first: dict = {}

    def collide(task, *, models, **_):  # every job answered with the first job's record
        record = first.setdefault("record", {"key": f"key of {models[0]}", "model": models[0], "fold": 0, "val": 1.0, "test": {"sbmse": 2.0}})
        return BenchResult(task, [record], ran=0, skipped=1, out=tmp_path)

    monkeypatch.setattr(_runner, "run_benchmark", collide)
    with pytest.raises(SymbreakError, match="would not be its own"):
        run_search("dipoles", model="sann", space={"layers": [3, 2]}, loss="sbmse", folds=1, epochs=1, out=tmp_path, progress=False)


def test_a_study_is_continued_only_with_its_own_space_and_settings(tmp_path, monkeypatch):
    """A rerun in the same --out with another space or other run settings would report the old
    study's finished trials as its own: refused; the same search continues (nothing reruns)."""
    from symbreak.bench import BenchResult, _runner

    ran = []

    def run(task, *, models, folds, epochs, **_):  # a record of each job, its value from its layers and epochs
        ran.append(models[0])
        value = float(json.dumps(models[0]).count("3") + epochs)
        return BenchResult(task, [{"key": f"{models[0]} {epochs}", "model": models[0], "fold": 0, "val": value, "test": {"sbmse": value}}], 1, 0, tmp_path)

    monkeypatch.setattr(_runner, "run_benchmark", run)
    kw = dict(model="sann", loss="sbmse", folds=1, out=tmp_path, progress=False, compare_default=False)
    first = run_search("dipoles", space={"layers": [2, 3]}, epochs=1, **kw)
    with pytest.raises(SymbreakError, match="other epochs"):  # its trials would be reported as trials of 2 epochs
        run_search("dipoles", space={"layers": [2, 3]}, epochs=2, **kw)
    with pytest.raises(SymbreakError, match="other space"):
        run_search("dipoles", space={"layers": [1, 2, 3]}, epochs=1, **kw)
    assert len(ran) == 2
    assert run_search("dipoles", space={"layers": [2, 3]}, epochs=1, **kw).trials == first.trials and len(ran) == 2  # continued, nothing reran
