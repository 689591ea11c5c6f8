"""``symbreak search``: Optuna over benchmark jobs, chosen on validation only, resumable."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("optuna", reason="symbreak search needs optuna: pip install 'symbreak[scale]'")
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
