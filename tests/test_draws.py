"""Random inputs' draws: uniform over the set in training, and one fixed, separate draw each for
validation and test in evaluation (``+randvec``, ``+noise``, ``+sympe``, ``+sbs``)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

torch = pytest.importorskip("torch")

from symbreak import detect_symmetry  # noqa: E402
from symbreak.models import build_model  # noqa: E402
from symbreak.models._choice import ChoiceInput  # noqa: E402
from symbreak.models._inputs import RandomDraws, set_eval_draw  # noqa: E402
from symbreak.tasks import make_graph  # noqa: E402
from symbreak.training import evaluate  # noqa: E402
from symbreak.training._fit import TEST_DRAW, VALIDATION_DRAW  # noqa: E402
from symbreak.tasks import Task  # noqa: E402

#: a uniform draw is rejected below this χ² p-value; with fixed seeds the verdict is fixed, and a
#: draw stuck on one element scores p < 1e-100 on these counts
P_MIN = 1e-3


def prism():
    """D3h, 12 operations: an inversion kernel of 12 elements."""
    t = np.radians([0.0, 120.0, 240.0])
    ring = np.stack([1.2 * np.cos(t), 1.2 * np.sin(t), np.zeros(3)], axis=1)
    return np.concatenate([ring + [0, 0, 0.8], ring - [0, 0, 0.8]]), np.full(6, 6)


def ammonia():
    """C3v, 6 operations: a set of another size in the same batch."""
    t = np.radians([0.0, 120.0, 240.0])
    h = np.stack([0.94 * np.cos(t), 0.94 * np.sin(t), np.zeros(3)], 1)
    return np.concatenate([[[0.0, 0.0, 0.38]], h]), np.array([7, 1, 1, 1])


def graph(structure, dtype=torch.float64):
    x, z = structure
    g = make_graph(z, x, np.zeros((len(z), 3)), detect_symmetry(x, z))
    g.pos, g.y = torch.as_tensor(x, dtype=dtype), g.y.to(dtype)
    return g


def batch_of(model, structures):
    from torch_geometric.data import Batch

    return Batch.from_data_list([model.prepare_data(graph(s)) for s in structures])


def training_counts(model, batch, calls: int) -> tuple[list[np.ndarray], np.ndarray]:
    """How often each structure type of ``batch`` drew each element of its set over ``calls``
    training calls of ``model.source``, and how many distinct elements each call gave the copies of
    the first type. An element is recognised by the input it gives (``choosing(k)``: element k)."""
    source = model.source
    sizes = source.set_sizes(batch).tolist()
    first_atom = torch.cumsum(torch.bincount(batch.batch), 0) - torch.bincount(batch.batch)

    def given(out):
        value = out.get("vectors", out.get("pseudovectors"))
        return value[first_atom].flatten(1)  # (B, ...) what each structure was given

    with torch.no_grad():
        options = []
        for k in range(max(sizes)):
            with source.choosing(k):
                options.append(given(source(batch)))
        options = torch.stack(options, 1)  # (B, max m, ...)
        for b, m in enumerate(sizes):  # the elements must be told apart by what they give
            d = torch.cdist(options[b, :m], options[b, :m]) + torch.eye(m, dtype=options.dtype)
            assert d.min() > 1e-6, "two elements give the same input: they cannot be counted apart"
        source.train()
        kinds = {m: [b for b, mb in enumerate(sizes) if mb == m] for m in sizes}
        counts = {m: np.zeros(m, dtype=int) for m in kinds}
        spread = []
        for _ in range(calls):
            out = given(source(batch))
            index = torch.cdist(out[:, None], options)[:, 0].argmin(-1)  # (B,) which element each got
            for m, members in kinds.items():
                counts[m] += np.bincount(index[members].numpy(), minlength=m)[:m]
            spread.append(len(set(index[kinds[sizes[0]]].tolist())))
    return [counts[m] for m in kinds], np.array(spread)


@pytest.mark.parametrize("spec", ["egnn+sympe", "egnn+sbs"])
def test_training_draws_every_element_of_the_set_uniformly(spec):
    """χ² of the training-time draw, per set size (a batch mixing sizes 12/6 for SymPE), against
    uniform: SymPE's law is the uniform law on the inversion kernel, and the set's equivariance
    in distribution needs every element equally often. The copies in one batch draw independently."""
    model = build_model(spec, hidden=8, seed=11).double()
    batch = batch_of(model, [prism()] * 8 + [ammonia()] * 8)
    per_size, spread = training_counts(model, batch, calls=150)
    assert all(len(c) >= 2 for c in per_size)
    for counts in per_size:
        assert stats.chisquare(counts).pvalue > P_MIN, counts
        assert counts.min() > 0
    assert np.mean(spread > 1) > 0.9  # not one index for the whole batch


def test_the_uniformity_check_fails_for_a_draw_stuck_on_element_0(monkeypatch):
    """The check above bites: a ``pick`` that always gives element 0 in training is rejected."""
    real = ChoiceInput.pick

    def first(self, stacked, sizes, choice=None):
        if choice is None and self._choice is None and self.training:
            choice = [0] * len(sizes)
        return real(self, stacked, sizes, choice)

    monkeypatch.setattr(ChoiceInput, "pick", first)
    model = build_model("egnn+sympe", hidden=8, seed=11).double()
    per_size, _ = training_counts(model, batch_of(model, [prism()] * 8), calls=20)
    assert stats.chisquare(per_size[0]).pvalue < P_MIN


RANDOM = ["egnn+randvec", "egnn+sympe", "egnn+noise", "egnn+sbs[element=None]"]


def _outputs(model, batch, draw=None):
    model.eval()
    if draw is not None:
        set_eval_draw(model, draw)
    with torch.no_grad():
        return model(batch)


@pytest.mark.parametrize("spec", RANDOM)
def test_validation_and_test_evaluate_on_two_fixed_draws(spec):
    """Every random input: its validation draw differs from its test draw, each is the same on
    every call and for every model built with the same seed, and the test draw is the one a
    freshly built model evaluates with (the draw the recorded test numbers were made with)."""
    make = lambda: build_model(spec, hidden=8, seed=5).double()  # noqa: E731
    model = make()
    assert any(isinstance(m, RandomDraws) for m in model.modules())
    batch = batch_of(model, [prism()] * 6)
    fresh = _outputs(model, batch)
    val, test = _outputs(model, batch, VALIDATION_DRAW), _outputs(model, batch, TEST_DRAW)
    assert VALIDATION_DRAW != TEST_DRAW
    assert not torch.allclose(val, test)
    assert torch.equal(test, fresh)
    assert torch.equal(val, _outputs(model, batch, VALIDATION_DRAW))  # fixed: the same again
    other = make()
    other.load_state_dict(model.state_dict())
    assert torch.equal(val, _outputs(other, batch, VALIDATION_DRAW))  # seeded: reproducible


@pytest.mark.parametrize("spec", RANDOM)
def test_evaluate_selects_the_draw_and_leaves_the_test_draw_set(spec):
    """:func:`evaluate` with ``draw=VALIDATION_DRAW`` measures on the validation draw (another
    number than the test draw), and leaves every input on the test draw afterwards."""
    model = build_model(spec, hidden=8, seed=5).double()
    graphs = [model.prepare_data(graph(prism())) for _ in range(4)]
    for g in graphs:
        g.y = torch.randn(6, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    got = {d: evaluate(model, graphs, lambda m, b: m(b), "vectors", ["mse"], draw=d)["mse"] for d in (VALIDATION_DRAW, TEST_DRAW)}
    assert got[VALIDATION_DRAW] != got[TEST_DRAW]
    assert all(m.draw == TEST_DRAW for m in model.modules() if isinstance(m, RandomDraws))
    assert evaluate(model, graphs, lambda m, b: m(b), "vectors", ["mse"])["mse"] == got[TEST_DRAW]


def test_run_one_validates_on_the_validation_draw_and_tests_on_the_test_draw(monkeypatch):
    """Through the benchmark: every evaluation call inside ``fit`` gives ``+randvec`` the validation
    draw, the test-set evaluation the test draw, and the two give different vectors."""
    from symbreak.bench import Job, run_one
    from symbreak.models._randvec import RandomVector
    from symbreak.training._draws import DEFAULT_DRAWS

    seen = []
    real = RandomVector.forward

    def spy(self, data):
        out = real(self, data)
        if not self.training:
            seen.append((self.draw, out["vectors"][0, 0].clone()))
        return out

    monkeypatch.setattr(RandomVector, "forward", spy)
    task = _TinyTask()
    graphs = task.dataset("")
    job = Job(task.name, "", "egnn+randvec", "mse", 0, 3, 1e-3, 0, settings={"model_options": {"hidden": 8}})
    record = run_one(job, task, graphs, batch_size=2, patience=None)
    epochs = len(record["val_curve"])
    assert [d for d, _ in seen[:epochs]] == [VALIDATION_DRAW] * epochs  # one validation batch per epoch
    # then the kept weights on the training set (the record's kept_train), measured as validation is
    first_test = next(k for k, (d, _) in enumerate(seen) if d == TEST_DRAW)
    assert first_test > epochs and all(d == VALIDATION_DRAW for d, _ in seen[epochs:first_test]) and record["kept_train"] >= 0
    after = [d for d, _ in seen[first_test:]]
    # the test set's evaluation, on the test draw; then the whole set of outputs over fixed draws
    # 0 .. DEFAULT_DRAWS-1, per test structure (evaluate_draws: noise scored as a set)
    sets = 2 * list(range(DEFAULT_DRAWS))
    assert after[: len(after) - len(sets)] == [TEST_DRAW] * (len(after) - len(sets)) and len(after) > len(sets)
    assert after[len(after) - len(sets) :] == sets and "set_cover" in record["test"]
    assert not torch.allclose(seen[0][1], seen[first_test][1])


class _TinyTask(Task):
    """Just what ``run_one`` reads of a task: 10 prisms, disjoint train/validation/test, best epoch kept."""

    name, kind, select, schedule, clip_norm = "tiny", "vectors", "best", "onecycle", None

    def dataset(self, subtask):
        rng = np.random.default_rng(0)
        out = []
        for _ in range(10):
            g = graph(prism(), torch.float32)
            g.y = torch.as_tensor(rng.normal(size=(6, 3)), dtype=torch.float32)
            out.append(g)
        return out

    def splits(self, graphs, subtask, folds, seed):
        return [(list(range(6)), [6, 7], [8, 9])] * folds

    def predict(self, model, batch):
        return model(batch)


def test_the_record_holds_the_kept_weights_training_loss(tmp_path):
    """kept_train is the loss of the weights the job keeps, on its training set: the saved model
    measured again gives it exactly, and with select="best" it is not the last epoch's running loss."""
    from symbreak.bench import Job, run_one
    from symbreak.models import load_model

    task = _TinyTask()
    graphs = task.dataset("")
    job = Job(task.name, "", "egnn", "mse", 0, 6, 1e-2, 0, settings={"model_options": {"hidden": 8}})
    record = run_one(job, task, graphs, batch_size=2, patience=None, save=tmp_path / "m.pt")
    model = load_model(tmp_path / "m.pt")
    again = evaluate(model, [graphs[i] for i in range(6)], task.predict, "vectors", ["mse"])["mse"]
    assert record["kept_train"] == pytest.approx(again, rel=1e-6)
    assert len(record["train_curve"]) == len(record["val_curve"]) == 6
    assert record["kept_train"] != pytest.approx(record["final_train"], rel=1e-3)
