"""Training to a plateau of the training loss (``fit(monitor="train")``, ``bench --until-plateau``):
the one early stopping open to a task whose validation set is its test set."""

import pytest
import torch

from symbreak._errors import SymbreakError
from symbreak.bench import PLATEAU_MIN_DELTA, run_benchmark, train_to_plateau
from symbreak.models import build_model
from symbreak.tasks import get_task, make_graph, sbs_example
from symbreak.training import evaluate, fit
from symbreak.training._fit import VALIDATION_DRAW


def _prism_graph():
    ex = sbs_example("prism")
    return make_graph(ex["z"], ex["positions"], ex["displacement"], ex["symmetry"])


def test_a_model_at_the_curie_bound_stops_on_its_training_plateau_with_validation_as_test():
    torch.manual_seed(0)
    graph = _prism_graph()
    model = build_model("egnn", hidden=8)  # no breaker: the loss flattens at the prism's Curie bound
    kw = dict(predict=lambda m, b: m(b), loss="sbmse", kind="vectors", epochs=400, lr=3e-3, select="best", patience=20, schedule="warmup")
    with pytest.raises(SymbreakError, match="validation and test share"):
        fit(model, [graph], [graph], test=[graph], **kw)  # validation would choose the kept epoch
    result = fit(model, [graph], [graph], test=[graph], monitor="train", min_delta=PLATEAU_MIN_DELTA, **kw)
    assert result.stopped_early and len(result.history) < 400
    assert result.best_val == min(row["train_after"] for row in result.history)  # the kept epoch is the best *training* epoch
    # the monitored value describes the kept weights themselves, not the weights before the epoch's last step
    assert evaluate(model, [graph], lambda m, b: m(b), "vectors", ["sbmse"], draw=VALIDATION_DRAW)["sbmse"] == pytest.approx(result.best_val, rel=1e-12)
    bound = get_task("sbs-examples").curie_bound("prism", "sbmse")
    assert result.best_val == pytest.approx(bound, rel=0.05)


def test_fit_refuses_an_unknown_monitor():
    graph = _prism_graph()
    with pytest.raises(ValueError, match="monitor must be"):
        fit(build_model("egnn", hidden=8), [graph], [graph], predict=lambda m, b: m(b), loss="sbmse", kind="vectors", epochs=1, lr=1e-3, monitor="test")


@pytest.mark.parametrize("bad", [0, -5, True, 2.5])
def test_until_plateau_takes_a_positive_patience(bad):
    with pytest.raises(SymbreakError, match="until-plateau"):
        train_to_plateau(get_task("sbs-examples"), bad)


def test_until_plateau_is_refused_by_a_task_with_its_own_stopping_rule(tmp_path):
    with pytest.raises(SymbreakError, match="own stopping rule"):
        run_benchmark("ising", quick=True, until_plateau=10, out=tmp_path, progress=False)


def test_plateau_settings_enter_the_job_key_and_leave_budget_keys_alone():
    budget = get_task("sbs-examples").job_settings("egnn+sbs")
    assert "monitor" not in budget and budget["select"] == "last"  # the committed records' keys are unchanged
    task = get_task("sbs-examples")
    plateau = train_to_plateau(task, 50).job_settings("egnn+sbs")
    assert task.job_settings("egnn+sbs") == budget  # the task passed in is left as it was
    assert (plateau["monitor"], plateau["min_delta"], plateau["select"], plateau["schedule"]) == ("train", PLATEAU_MIN_DELTA, "best", "warmup")


def test_a_plateau_run_records_its_stop(tmp_path):
    result = run_benchmark("sbs-examples", models=["egnn"], subtasks=["prism"], folds=1, epochs=300, until_plateau=10, out=tmp_path, progress=False)
    (record,) = result.records
    assert record["settings"]["monitor"] == "train" and record["settings"]["patience"] == 10
    assert record["stopped_early"] and len(record["val_curve"]) < 300


def test_the_warmup_schedule_ramps_from_a_25th_of_lr_then_holds():
    from symbreak.training._trainer import WARMUP_EPOCHS

    graph = _prism_graph()
    torch.manual_seed(0)
    result = fit(build_model("egnn", hidden=8), [graph], [graph], predict=lambda m, b: m(b), loss="sbmse", kind="vectors", epochs=WARMUP_EPOCHS + 5,
                 lr=1e-3, schedule="warmup", select="last")  # fmt: skip
    lrs = [row["lr"] for row in result.history]  # the rate the next epoch starts with
    assert lrs[0] == pytest.approx(1e-3 * (1 / 25 + (24 / 25) / WARMUP_EPOCHS))
    assert all(a < b for a, b in zip(lrs[: WARMUP_EPOCHS - 1], lrs[1:WARMUP_EPOCHS]))
    assert lrs[WARMUP_EPOCHS - 1 :] == pytest.approx([1e-3] * 6)
