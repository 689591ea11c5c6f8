"""The experiment harness: runs, resumes without recomputing, is deterministic, writes tables and plots."""

import json

import pytest
import torch

from symbreak import SymbreakError
from symbreak.bench import _runner, fit, load_records, run_benchmark, write_outputs, write_report
from symbreak.cli import main
from symbreak.tasks import get_task

SMALL = dict(models=["egnn", "painn+mlp"], folds=2, epochs=2, progress=False)


def test_run_writes_records_tables_and_plots(tmp_path):
    res = run_benchmark("square-ssb", out=tmp_path, **SMALL)
    assert res.ran == 2 * 2 * 2 and res.skipped == 0
    recs = load_records(tmp_path / "results.jsonl")
    assert len(recs) == 8 and {r["loss"] for r in recs} == {"cd", "sbcd"}
    assert all(set(r["test"]) >= {"cd", "sbcd"} and r["test"]["cd"] >= r["test"]["sbcd"] - 1e-6 for r in recs)
    outputs = write_outputs(res.task, res.records, res.out, res.settings)
    assert "egnn" in outputs["texts"][0] and "0.251" in outputs["texts"][0]  # the paper's value beside ours
    assert (tmp_path / "table.md").exists() and (tmp_path / "square-ssb-table1.png").stat().st_size > 1000
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert len(summary["tables"][0]["cells"]["egnn"]["CD"]["folds"]) == 2
    report = write_report(res.task, outputs, res.settings, tmp_path / "docs" / "square.md", "symbreak bench square-ssb")
    assert "symbreak bench square-ssb" in report.read_text() and (tmp_path / "docs" / "square-table1.png").exists()  # plots named after the page


def test_interrupted_run_resumes_without_recomputing(tmp_path, monkeypatch):
    calls = []
    real = _runner.run_one

    def flaky(job, *args, **kwargs):
        if len(calls) == 1:
            raise KeyboardInterrupt  # killed during the second job
        calls.append(job.key())
        return real(job, *args, **kwargs)

    monkeypatch.setattr(_runner, "run_one", flaky)
    with pytest.raises(KeyboardInterrupt):
        run_benchmark("square-ssb", out=tmp_path, **SMALL)
    first = load_records(tmp_path / "results.jsonl")
    assert len(first) == 1
    monkeypatch.setattr(_runner, "run_one", lambda job, *a, **k: (calls.append(job.key()), real(job, *a, **k))[1])
    res = run_benchmark("square-ssb", out=tmp_path, **SMALL)
    assert res.ran == 7 and res.skipped == 1
    assert calls.count(first[0]["key"]) == 1  # the finished job was not recomputed
    assert load_records(tmp_path / "results.jsonl")[0] == first[0]


def test_same_seed_same_numbers(tmp_path):
    a = run_benchmark("h2o-modes", out=tmp_path / "a", subtasks=["asymmetric"], **SMALL).records
    b = run_benchmark("h2o-modes", out=tmp_path / "b", subtasks=["asymmetric"], **SMALL).records
    assert [r["test"] for r in a] == [r["test"] for r in b]
    c = run_benchmark("h2o-modes", out=tmp_path / "c", subtasks=["asymmetric"], seed=1, **SMALL).records
    assert [r["test"] for r in a] != [r["test"] for r in c]


def test_noise_models_sweep_sigma_and_report_the_best(tmp_path):
    res = run_benchmark("square-ssb", out=tmp_path, models=["egnn+noise"], losses=["sbcd"], folds=1, epochs=1, sigmas=[0.01, 0.1], progress=False)
    assert sorted(r["sigma"] for r in res.records) == [0.01, 0.1]
    outputs = write_outputs(res.task, res.records, res.out, res.settings)
    assert "σ=" in outputs["texts"][0]


def test_fit_keeps_a_copy_of_the_best_weights():
    task = get_task("h2o-modes")
    graphs = task.dataset("symmetric")
    from symbreak.models import build_model

    torch.manual_seed(0)
    model = build_model("egnn", hidden=8)
    result = fit(model, graphs, graphs, predict=task.predict, loss="sbcd", kind="vectors", epochs=6, lr=1e-2, seed=0)
    from symbreak.bench import evaluate

    assert evaluate(model, graphs, task.predict, "vectors", ["sbcd"])["sbcd"] == pytest.approx(result.best_val, rel=1e-5)
    assert result.best_val == min(h["val"] for h in result.history)


def test_bad_settings_fail_before_training(tmp_path):
    with pytest.raises(SymbreakError, match="unknown model"):
        run_benchmark("square-ssb", out=tmp_path, models=["nope"], progress=False)
    with pytest.raises(SymbreakError, match="unknown loss"):
        run_benchmark("square-ssb", out=tmp_path, losses=["l1"], progress=False)
    with pytest.raises(SymbreakError, match="sub-task"):
        run_benchmark("h2o-modes", out=tmp_path, subtasks=["wag"], progress=False)
    with pytest.raises(SymbreakError, match="epochs"):
        run_benchmark("square-ssb", out=tmp_path, epochs=-1, progress=False)
    assert not (tmp_path / "results.jsonl").exists() or not (tmp_path / "results.jsonl").read_text()


def test_cli_bench(tmp_path, capsys):
    assert main(["bench", "--list"]) == 0
    assert "h2o-modes" in capsys.readouterr().out
    report = tmp_path / "report.md"
    args = ["bench", "h2o-modes", "--models", "egnn,egnn+mlp", "--subtasks", "asymmetric", "--folds", "1", "--epochs", "2", "--out", str(tmp_path), "--no-progress", "--report", str(report)]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "Table 2" in out and "0.852 ± 0.000" in out
    assert "Table 7" not in out  # its rows are PaiNN variants, none of which ran
    assert "symbreak bench h2o-modes --models" in report.read_text()
    assert main(["bench", "h2o-modes", "--models", "gnn"]) == 2
    assert "unknown model" in capsys.readouterr().err


@pytest.mark.slow
@pytest.mark.parametrize("task", ["square-ssb", "h2o-modes"])
def test_quick_mode_smoke_runs_every_model(task, tmp_path):
    last = get_task(task).subtasks[-1:]
    res = run_benchmark(task, out=tmp_path, quick=True, folds=1, epochs=2, subtasks=last, progress=False)
    assert res.ran == len(res.records) > 0
    models = {r["model"] for r in res.records}
    assert models == set(get_task(task).models)


def test_cell_text_gives_spread_only_over_several_runs():
    from symbreak.bench._report import Cell

    assert Cell((0.25,), "0.250").ours() == "0.250"
    assert Cell((0.2, 0.4), None).ours() == "0.300 ± 0.100"
    assert Cell((1e-5, 3e-5), None, sigma=0.01).ours() == "2.0e-05 ± 1.0e-05 (σ=0.01)"
    assert Cell((), None).ours() == "—"


def test_differences_name_the_task_verdicts():
    from symbreak.bench._report import Cell, differences

    table = {"pca-raw": {"Rank 2": Cell((1.156,), "0.01793"), "Rank 1": Cell((3.4e-4,), "0.00014")}}
    assert differences(table, 1e-3, ("canonical", "not canonical")) == []
    assert differences(table, 0.1, ("canonical", "not canonical")) == [
        "pca-raw / Rank 2: ours 1.156 (not canonical), paper 0.018 (canonical)"
    ]
