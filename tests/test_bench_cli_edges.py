"""``symbreak bench`` at its edges: empty values, a task without sub-tasks, an interrupt before the
first job, a loss that no table of the task reads."""

import pytest

from symbreak.cli import main


@pytest.mark.parametrize("flag", ["--out", "--models", "--subtasks", "--loss"])
def test_an_empty_value_is_refused_not_read_as_the_default(flag, capsys):
    assert main(["bench", "square-ssb", "--quick", flag, " "]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"symbreak: error: {flag} is empty: give a value, or leave {flag} off for the default"


def test_a_task_without_sub_tasks_says_so(tmp_path, capsys):
    assert main(["bench", "square-ssb", "--quick", "--subtasks", "nonsense", "--out", str(tmp_path)]) == 2
    assert "has no sub-task 'nonsense'; it has none: leave --subtasks off" in capsys.readouterr().err


def test_an_interrupt_before_any_job_says_interrupted(monkeypatch, capsys):
    import symbreak.bench

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt  # as Ctrl-C while a task makes its data, before the runner's job loop

    monkeypatch.setattr(symbreak.bench, "run_benchmark", interrupted)
    assert main(["bench", "square-ssb", "--quick"]) == 130
    assert capsys.readouterr().err.strip() == "symbreak: interrupted"


def test_a_loss_no_table_reads_is_said(tmp_path, capsys):
    assert main(["bench", "square-ssb", "--models", "egnn", "--loss", "mse", "--folds", "1", "--epochs", "1", "--out", str(tmp_path), "--no-progress"]) == 0
    assert "No table of square-ssb reads these runs (losses mse; its tables read" in capsys.readouterr().out


@pytest.mark.parametrize("task", ["qm9-generation", "ising", "cylinder-wake"])
def test_a_task_with_its_own_models_refuses_a_loss_or_setting_it_would_ignore(task, tmp_path, capsys):
    assert main(["bench", task, "--quick", "--loss", "sbcd", "--out", str(tmp_path)]) == 2
    assert f"{task} trains its own models on" in capsys.readouterr().err
    assert main(["bench", task, "--quick", "--save-models", "--out", str(tmp_path)]) == 2
    assert "--save-models does not keep" in capsys.readouterr().err
