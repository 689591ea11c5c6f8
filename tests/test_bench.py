"""The experiment harness: runs, resumes without recomputing, is deterministic, writes tables and plots."""

import json

import numpy as np
import pytest
import torch

from symbreak import SymbreakError
from symbreak.bench import Job, _runner, fit, load_records, run_benchmark, write_outputs, write_report
from symbreak.cli import main
from symbreak.tasks import get_task

SMALL = dict(models=["egnn", "painn+mlp"], losses=["cd", "sbcd"], folds=2, epochs=2, progress=False)


def test_run_writes_records_tables_and_plots(tmp_path):
    res = run_benchmark("square-ssb", out=tmp_path, **SMALL)
    assert res.ran == 2 * 2 * 2 and res.skipped == 0
    recs = load_records(tmp_path / "results.jsonl")
    assert len(recs) == 8 and {r["loss"] for r in recs} == {"cd", "sbcd"}
    assert all(set(r["test"]) >= {"cd", "sbcd"} and r["test"]["cd"] >= r["test"]["sbcd"] - 1e-6 for r in recs)
    outputs = write_outputs(res.task, res.records, res.out, res.settings)
    # ours beside the paper's in the egnn row: the mean over our folds, not only the paper's constant
    row = next(line for line in outputs["texts"][0].splitlines() if line.startswith("egnn "))
    ours = np.mean([r["test"]["cd"] for r in recs if r["model"] == "egnn" and r["loss"] == "cd"])
    assert row.split()[1] == f"{ours:.3f}" and row.split()[4] == "0.251"
    assert all(set(r["test"]) >= {"sbmse", "sbcd2", "collapsed"} and r["zero"]["sbmse"] > 0 for r in recs)
    assert all(r["kept_epoch"] == 2 and not r["stopped_early"] for r in recs)  # train = test: the last epoch, no selection
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


def test_noise_models_sweep_sigma_and_report_the_best_on_validation(tmp_path):
    res = run_benchmark("square-ssb", out=tmp_path, models=["egnn+noise"], losses=["sbcd"], folds=1, epochs=1, sigmas=[0.01, 0.1], progress=False)
    assert sorted(r["sigma"] for r in res.records) == [0.01, 0.1]
    # validation is another noise draw than the test (train = validation = test structures)
    assert all(r["val"] != r["test"]["sbcd"] for r in res.records)
    best = min(res.records, key=lambda r: r["val"])
    outputs = write_outputs(res.task, res.records, res.out, res.settings)
    row = next(line for line in outputs["texts"][0].splitlines() if line.startswith("egnn+noise"))
    assert f"(σ={best['sigma']:g})" in row and f"{best['test']['sbcd']:.3f}" in row


def _record(model, fold, test, val, *, sigma=None, zero=0.2, collapsed=0.0, sub="", loss="sbcd"):
    tests = {"sbcd": test, "cd": test, "sbmse": test, "sbcd2": 2 * test, "collapsed": collapsed}
    return {"model": model, "subtask": sub, "loss": loss, "fold": fold, "sigma": sigma, "val": val, "test": tests, "zero": dict.fromkeys(tests, zero), "key": f"{model}{fold}{sigma}"}


def test_sigma_is_chosen_on_validation_never_on_test():
    from symbreak.bench._report import summarize
    from symbreak.tasks import TableSpec

    spec = TableSpec("T", ("egnn+noise",), (("SBCD", "", "sbcd"),))
    # σ=0.1 is best on test, σ=0.01 on validation: the table must report σ=0.01's test values
    records = [_record("egnn+noise", f, 0.05, 0.01, sigma=0.01) for f in range(2)] + [_record("egnn+noise", f, 0.01, 0.03, sigma=0.1) for f in range(2)]
    cell = summarize(records, spec)["egnn+noise"]["SBCD"]
    assert cell.sigma == 0.01 and cell.values == (0.05, 0.05)


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
    records = load_records(tmp_path / "results.jsonl")
    ours = np.mean([r["test"]["sbcd"] for r in records if r["model"] == "egnn"])
    assert "Table 2" in out and any(line.startswith("egnn ") and f"{ours:.3f}" in line and "0.852 ± 0.000" in line for line in out.splitlines())
    assert "atom-matched" in out and "predicting zero" in out
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


def test_fit_can_keep_the_last_epoch_and_validates_on_another_noise_draw():
    from symbreak.bench import evaluate
    from symbreak.models import build_model

    task = get_task("h2o-modes")
    graphs = task.dataset("asymmetric")
    torch.manual_seed(0)
    model = build_model("egnn+noise", hidden=8, sigma=0.05)
    result = fit(model, graphs, graphs, predict=task.predict, loss="sbcd", kind="vectors", epochs=5, lr=1e-2, select="last", seed=0)
    assert result.kept_epoch == 5 and not result.stopped_early
    on_val = evaluate(model, graphs, task.predict, "vectors", ["sbcd"], draw=1)["sbcd"]
    on_test = evaluate(model, graphs, task.predict, "vectors", ["sbcd"])["sbcd"]
    assert on_val == pytest.approx(result.history[-1]["val"], rel=1e-6) and on_val != pytest.approx(on_test, rel=1e-3)
    with pytest.raises(ValueError, match="patience"):
        fit(model, graphs, graphs, predict=task.predict, loss="sbcd", kind="vectors", epochs=1, lr=1e-2, select="last", patience=3)


@pytest.mark.parametrize("setting", [{"folds": 0}, {"epochs": 0}, {"lr": 0.0}, {"limit": 0}, {"models": []}, {"sigmas": [0.0]}])
def test_zero_settings_are_refused_not_read_as_the_default(tmp_path, setting):
    with pytest.raises(SymbreakError, match="≥ 1|> 0|no models"):
        run_benchmark("square-ssb", out=tmp_path, **{**dict(models=["egnn"], folds=1, epochs=1, progress=False), **setting})
    assert not (tmp_path / "results.jsonl").exists()  # refused before anything ran


def test_job_keys_hold_every_setting_that_changes_the_result():
    from symbreak.bench._runner import RESULTS_VERSION
    from symbreak.bench import plan_jobs

    task = get_task("dipoles")
    plan = dict(models=["sann", "egnn"], losses=["sbcd"], subtasks=["dft"], folds=1, epochs=5, lr=1e-3, seed=0)
    base = plan_jobs(task, **plan)
    sann = json.loads(base[0].key())["settings"]
    assert sann["symbreak"] == RESULTS_VERSION and sann["batch_size"] == 16 and sann["schedule"] == "plateau" and "sbmse" in sann["measures"]
    assert sann["model"]["tol"] == 0.2 and sann["model"]["layers"] == 2  # model defaults, and the task's tolerance
    assert base[0].options() == {"tol": 0.2} and base[1].options() == {}  # SANN reads the task's symmetry tolerance
    keys = {j.key() for j in base}
    assert not keys & {j.key() for j in plan_jobs(task, **plan, batch_size=32)}
    assert not keys & {j.key() for j in plan_jobs(task, **plan, patience=5)}
    assert [j.run_seed() for j in base] == [j.run_seed() for j in plan_jobs(task, **plan, batch_size=32)]  # same random numbers


def test_records_written_under_other_settings_are_not_reused(tmp_path, caplog):
    run_benchmark("square-ssb", out=tmp_path, models=["egnn"], losses=["cd"], folds=1, epochs=1, progress=False)
    path = tmp_path / "results.jsonl"
    record = json.loads(path.read_text())
    record["settings"]["symbreak"] = "0.0.1"  # as if written by an older symbreak
    record["key"] = json.dumps({**{k: record[k] for k in ("task", "subtask", "model", "loss", "fold", "epochs", "lr", "seed", "sigma")}, "settings": record["settings"]}, sort_keys=True)
    path.write_text(json.dumps(record) + "\n")
    with caplog.at_level("WARNING", logger="symbreak"):
        res = run_benchmark("square-ssb", out=tmp_path, models=["egnn"], losses=["cd"], folds=1, epochs=1, progress=False)
    assert res.ran == 1 and "other settings or another symbreak version" in caplog.text


def test_a_cut_off_last_line_is_set_aside_and_its_job_rerun(tmp_path, caplog):
    small = dict(models=["egnn"], losses=["cd"], folds=2, epochs=1, progress=False)
    run_benchmark("square-ssb", out=tmp_path, **small)
    path = tmp_path / "results.jsonl"
    lines = path.read_text().splitlines()
    path.write_text(lines[0] + "\n" + lines[1][: len(lines[1]) // 2])  # killed while writing job 2
    with caplog.at_level("WARNING", logger="symbreak"):
        res = run_benchmark("square-ssb", out=tmp_path, **small)
    assert res.ran == 1 and "set aside" in caplog.text
    assert len(load_records(path)) == 2 and (tmp_path / "results.jsonl.broken").read_text().strip() == lines[1][: len(lines[1]) // 2]
    # a file a buggy writer left glued (broken text, then a whole record on the same line) keeps the record
    path.write_text(lines[0] + "\n" + lines[1][:40] + lines[1] + "\n")
    assert [r["key"] for r in load_records(path)] == [json.loads(lines[0])["key"], json.loads(lines[1])["key"]]


def test_bad_output_paths_and_interrupts_are_one_clear_line(tmp_path, capsys, monkeypatch):
    args = ["bench", "square-ssb", "--models", "egnn", "--loss", "cd", "--folds", "1", "--epochs", "1", "--no-progress"]
    (tmp_path / "afile").write_text("x")
    assert main(args + ["--out", str(tmp_path / "afile")]) == 2
    assert "is a file" in capsys.readouterr().err
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "results.jsonl").write_text('{"not": "a record"}\n')
    assert main(args + ["--out", str(tmp_path / "other")]) == 2
    assert "not a symbreak record" in capsys.readouterr().err

    def interrupted(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(_runner, "run_one", interrupted)
    assert main(args + ["--out", str(tmp_path / "run")]) == 130
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "0 of 1 jobs are finished" in err and "rerun the same command to resume" in err


def test_report_keeps_a_hand_written_discussion(tmp_path):
    res = run_benchmark("square-ssb", out=tmp_path, models=["egnn"], losses=["cd"], folds=1, epochs=1, progress=False)
    outputs = write_outputs(res.task, res.records, res.out, res.settings)
    page = tmp_path / "page.md"
    write_report(res.task, outputs, res.settings, page, "cmd")
    page.write_text(page.read_text() + "\n## Discussion\n\nWhy the numbers are what they are.\n")
    write_report(res.task, outputs, res.settings, page, "cmd again")
    text = page.read_text()
    assert "cmd again" in text and text.count("## Discussion") == 1 and text.rstrip().endswith("Why the numbers are what they are.")


def test_save_models_keeps_loadable_weights_and_the_cpu_keeps_its_keys(tmp_path):
    from symbreak.bench._runner import job_settings
    from symbreak.models import load_model
    from symbreak.tasks import get_task

    res = run_benchmark("square-ssb", out=tmp_path, device="cpu", save_models=True, **{**SMALL, "models": ["egnn"], "losses": ["sbcd"], "folds": 1})
    (rec,) = res.records
    files = list((tmp_path / "models").glob("*.pt"))
    assert len(files) == 1 and files[0].stem == str(Job(**{k: rec[k] for k in ("task", "subtask", "model", "loss", "fold", "epochs", "lr", "seed", "sigma")}).run_seed())
    model = load_model(files[0])
    assert model.checkpoint["extra"]["job"] == rec["key"]
    task = get_task("square-ssb")
    graphs = task.dataset("")
    from symbreak.bench import evaluate

    assert evaluate(model, graphs, task.predict, task.kind, ["sbcd"])["sbcd"] == pytest.approx(rec["test"]["sbcd"], rel=1e-6)
    # records made on the CPU keep their keys; a GPU's are its own
    assert "device" not in job_settings(task, "egnn", batch_size=1, patience=None, device="cpu")
    assert job_settings(task, "egnn", batch_size=1, patience=None, device="cuda")["device"] == "cuda"


def test_records_keyed_before_models_read_extra_inputs_are_still_found(tmp_path):
    """Keys written when SANN alone had in_features (=0 in its key) and no model had in_vectors:
    the neutral values are dropped on reading, so those records are reused, not recomputed."""
    res = run_benchmark("square-ssb", out=tmp_path, **{**SMALL, "models": ["sann"], "losses": ["sbcd"], "folds": 1})
    path = tmp_path / "results.jsonl"
    (rec,) = load_records(path)
    key = json.loads(rec["key"])
    assert "in_features" not in key["settings"]["model"] and "in_vectors" not in key["settings"]["model"]
    key["settings"]["model"]["in_features"] = 0  # as 0.2.0 wrote it
    rec["key"] = json.dumps(key, sort_keys=True, default=str)
    path.write_text(json.dumps(rec) + "\n")
    again = run_benchmark("square-ssb", out=tmp_path, **{**SMALL, "models": ["sann"], "losses": ["sbcd"], "folds": 1})
    assert again.ran == 0 and again.skipped == 1 and res.ran == 1


def test_training_benchmark_smoke_runs(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).parent.parent / "bench" / "training.py"
    out = subprocess.run([sys.executable, str(script), "--quick", "--device", "cpu", "--batches", "4", "--out", str(tmp_path)], capture_output=True, text=True, check=True)
    rows = json.loads((tmp_path / "training-cpu.json").read_text())["rows"]
    assert {r["model"] for r in rows} == {"egnn", "sann"} and all(r["structures_per_s"] > 0 and 0 < r["loss_share"] < 1 for r in rows)
    assert "loop/padded" in out.stdout


def test_cli_imports_plugins_that_register_inputs(tmp_path, capsys):
    plugin = tmp_path / "myinputs.py"
    plugin.write_text(
        "import torch\nfrom torch import nn\nfrom symbreak.models import register_input, read_inputs\n\n"
        "@register_input('unitx')\nclass UnitX(nn.Module):\n    vectors = 1\n    features = 0\n\n"
        "    def forward(self, data):\n        i = read_inputs(data)\n"
        "        return {'vectors': torch.tensor([1.0, 0.0, 0.0], dtype=i.pos.dtype).expand(len(i.pos), 1, 3)}\n"
    )
    from symbreak.models import INPUTS

    try:
        args = ["bench", "square-ssb", "--plugins", str(plugin), "--models", "egnn+unitx", "--loss", "sbcd", "--folds", "1", "--epochs", "1", "--out", str(tmp_path / "run"), "--no-progress"]
        assert main(args) == 0
        (rec,) = load_records(tmp_path / "run" / "results.jsonl")
        assert rec["model"] == "egnn+unitx" and json.loads(rec["key"])["settings"]["model"]["variants"] == ["unitx"]
    finally:
        INPUTS.pop("unitx", None)
    assert main(["bench", "square-ssb", "--plugins", str(tmp_path / "missing.py")]) == 2
    assert "no such file" in capsys.readouterr().err


def test_engine_options_are_checked_before_any_work(tmp_path):
    from symbreak.bench import run_benchmark

    with pytest.raises(SymbreakError, match="unknown engine 'spark'"):
        run_benchmark("square-ssb", quick=True, engine="spark", out=tmp_path, progress=False)
    with pytest.raises(SymbreakError, match="workers must be ≥ 1"):
        run_benchmark("square-ssb", quick=True, engine="ray", workers=0, out=tmp_path, progress=False)
    with pytest.raises(SymbreakError, match="no such file"):
        run_benchmark("square-ssb", quick=True, plugins=[str(tmp_path / "missing.py")], out=tmp_path, progress=False)


def _import_graph(root):
    """module → the modules of ``root``'s package it imports (at the top or inside functions; not
    under ``if TYPE_CHECKING:``, which never runs). ``from a import b`` is an import of ``a.b``
    when that is a module, else of ``a``; importing ``a.b`` is not counted as importing ``a``."""
    import ast

    modules = {}
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root.parent).with_suffix("").parts
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    graph = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        nodes, found = list(ast.parse(path.read_text(), str(path)).body), set()
        while nodes:
            node = nodes.pop()
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                nodes.extend(node.orelse)
                continue
            if isinstance(node, ast.Import):
                found.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    up = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(up + [base] if base else up)
                found.update(f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names)
            nodes.extend(ast.iter_child_nodes(node))
        graph[name] = {m for m in found if m in modules and m != name}
    return graph


def _cycles(graph):
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while not component or component[-1] != v:
                component.append(stack.pop())
                on.discard(component[-1])
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_the_package_has_no_import_cycles():
    """No module imports (even inside a function) a module that imports it back, directly or through others."""
    from pathlib import Path

    import symbreak

    root = Path(symbreak.__file__).parent
    graph = _import_graph(root)
    assert "symbreak.bench._engines" in graph["symbreak.bench._runner"] and len(graph) > 50  # the scan sees the package
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]  # and finds a cycle through three
    assert _cycles(graph) == []


#: the package's layers, lowest first: a module may import its own layer and those below, never above
LAYERS = (
    ("_errors", "_lazy"),
    ("groups", "rotations", "io"),
    ("detect", "metrics", "nn", "symbreak"),
    ("models", "symmetrize", "graphs"),
    ("training", "labels"),
    ("tasks", "md"),
    ("bench", "testing"),
    ("cli",),
)


def test_no_import_runs_back_up_a_layer():
    """The core (groups, rotations, detect, metrics) never imports models or training; training
    never imports tasks; tasks never import the runner; only the command line imports everything."""
    from pathlib import Path

    import symbreak

    layer = {name: k for k, names in enumerate(LAYERS) for name in names}
    graph = _import_graph(Path(symbreak.__file__).parent)

    def package(module):
        parts = module.split(".")
        return parts[1] if len(parts) > 1 else "symbreak"

    upward = sorted({(a, b) for a, targets in graph.items() for b in targets if layer[package(b)] > layer[package(a)]})
    assert {package(m) for m in graph} <= set(layer)  # every package has a layer
    assert upward == []
