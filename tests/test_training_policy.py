"""fit's epoch policy: early stopping at the right epoch with the right weights kept, and
validation never the test set where validation chooses something."""

from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from symbreak import SymbreakError  # noqa: E402
from symbreak.training import fit  # noqa: E402
from symbreak.tasks import Task  # noqa: E402


class Linear(torch.nn.Module):
    """A per-atom linear map of the positions: every training step moves its weights."""

    def __init__(self) -> None:
        super().__init__()
        self.lin = torch.nn.Linear(3, 3)

    def forward(self, data):
        return self.lin(data.pos)


def graphs(n, seed=0):
    from torch_geometric.data import Data

    rng = np.random.default_rng(seed)
    return [Data(z=torch.ones(4, dtype=torch.long), pos=torch.as_tensor(rng.normal(size=(4, 3)), dtype=torch.float32),
                 y=torch.as_tensor(rng.normal(size=(4, 3)), dtype=torch.float32)) for _ in range(n)]  # fmt: skip


def scripted(curve):
    """A ``predict`` that trains the model as usual but whose validation loss (``"mse"``, one
    validation structure: one evaluation call per epoch) is ``curve[epoch - 1]``."""
    values = iter(curve)

    def predict(model, batch):
        out = model(batch)
        if model.training:
            return out
        return batch.y + math.sqrt(next(values))  # every component off by √v: mse = v

    return predict


def run(curve, *, patience, select="best", epochs=None, **kwargs):
    """fit on the scripted curve; also returns the weights the model had after each epoch."""
    torch.manual_seed(0)
    model, states = Linear(), {}
    result = fit(
        model, graphs(4), graphs(1, seed=1), predict=scripted(curve), loss="mse", kind="vectors", epochs=epochs or len(curve), lr=0.05,
        batch_size=2, patience=patience, select=select, on_epoch=lambda e, row: states.__setitem__(e, {k: v.clone() for k, v in model.state_dict().items()}),
        **kwargs,
    )  # fmt: skip
    return model, result, states


def same_state(a, b):
    return all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize("patience", [1, 2, 3, 5])
def test_training_stops_exactly_patience_epochs_after_the_best_and_keeps_the_best(patience):
    best = 4
    curve = [5.0, 4.0, 3.5, 1.0] + [2.0 + 0.01 * k for k in range(12)]  # best at epoch 4, never better after
    model, result, states = run(curve, patience=patience)
    assert len(result.history) == best + patience  # stopped after `patience` epochs without improvement, not one more or less
    assert result.stopped_early
    assert result.best_epoch == result.kept_epoch == best and result.best_val == pytest.approx(1.0) == result.kept_val
    assert [row["val"] for row in result.history] == pytest.approx(curve[: best + patience])
    assert all(not same_state(states[e], states[e + 1]) for e in range(1, len(states)))  # the epochs' weights differ
    assert same_state(model.state_dict(), states[best])  # the weights of the best epoch, not of the last or a neighbour


def test_an_improvement_restarts_the_count_and_a_tie_does_not():
    # patience 3: epoch 1 best; 2 and 3 worse; 4 better (count restarts); 5 ties it (no improvement); stop at 4 + 3
    curve = [3.0, 4.0, 5.0, 2.5, 2.5, 6.0, 7.0, 0.1, 0.1]
    model, result, states = run(curve, patience=3)
    assert len(result.history) == 7 and result.stopped_early
    assert result.kept_epoch == 4 and same_state(model.state_dict(), states[4])


def test_a_run_that_keeps_improving_runs_every_epoch_and_keeps_the_last():
    curve = [5.0, 4.0, 3.0, 2.0, 1.0]
    model, result, states = run(curve, patience=1)
    assert len(result.history) == 5 and not result.stopped_early
    assert result.kept_epoch == 5 and same_state(model.state_dict(), states[5])


def test_without_patience_or_with_select_last_no_run_stops_early():
    curve = [1.0, 2.0, 3.0, 4.0, 5.0]
    model, result, states = run(curve, patience=None)
    assert len(result.history) == 5 and result.kept_epoch == 1 and same_state(model.state_dict(), states[1])
    model, result, states = run(curve, patience=None, select="last")
    assert len(result.history) == 5 and result.kept_epoch == 5 and result.best_epoch == 1
    assert same_state(model.state_dict(), states[5])


def _fit(train, val, test, **kwargs):
    fit(Linear(), train, val, predict=lambda m, b: m(b), loss="mse", kind="vectors", epochs=1, lr=1e-3, test=test, **kwargs)


def test_fit_refuses_validation_that_shares_a_structure_with_the_test_set():
    data = graphs(8)
    train, val, test = data[:4], data[4:6], data[6:]
    _fit(train, val, test)  # disjoint: fine
    with pytest.raises(SymbreakError, match="validation and test share 2 of 2"):
        _fit(train, val, val)  # the test set used as validation
    with pytest.raises(SymbreakError, match="share 1 of 2 validation structure"):
        _fit(train, val, [data[5], *test])  # one index in both
    with pytest.raises(SymbreakError, match="learning rate"):  # validation steers the learning rate
        _fit(train, val, val, select="last", schedule="plateau")
    _fit(data, data, data, select="last")  # validation only reports: it may be the test set (train = val = test tasks)
    _fit(train, val, None)  # no test set named: nothing to check
    _fit(train, val, graphs(2, seed=4))  # equal values are not the same structure; only the same object is


class _Task(Task):
    """Just what ``run_one`` reads of a task, with the given validation and test indices."""

    name, kind, select, schedule, clip_norm = "tiny", "vectors", "best", "onecycle", None

    def __init__(self, val, test):
        self.val, self.test = val, test

    def splits(self, graphs, subtask, folds, seed):
        return [(list(range(6)), self.val, self.test)] * folds

    def predict(self, model, batch):
        return model(batch)


def test_run_one_validates_on_the_validation_split_and_refuses_one_shared_with_test(monkeypatch):
    """The benchmark hands fit the validation split and, to check against, the test split,
    prepared once per index: a split (or a runner) that validates on test structures is refused
    before any training."""
    from symbreak import training
    from symbreak.bench import Job, run_one

    from symbreak import detect_symmetry
    from symbreak.tasks import make_graph

    data, seen = [make_graph(g.z.tolist(), g.pos.numpy(), g.y.numpy(), detect_symmetry(g.pos.double().numpy(), g.z.numpy())) for g in graphs(10)], {}
    real = training.fit
    monkeypatch.setattr(training, "fit", lambda model, train, val, **kw: (seen.update(val=val, test=kw["test"]), real(model, train, val, **kw))[1])
    job = Job("tiny", "", "egnn", "mse", 0, 1, 1e-3, 0, settings={"model_options": {"hidden": 8}})
    run_one(job, _Task([6, 7], [8, 9]), data, batch_size=2, patience=None)
    assert [id(g) for g in seen["val"]] == [id(data[6]), id(data[7])]  # egnn prepares nothing: the structures themselves
    assert [id(g) for g in seen["test"]] == [id(data[8]), id(data[9])]
    with pytest.raises(SymbreakError, match="share 1 of 2"):
        run_one(job, _Task([6, 7], [7, 8, 9]), data, batch_size=2, patience=None)
