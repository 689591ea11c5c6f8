"""The one epoch policy (symbreak.training.Trainer): best state, patience with min_delta, target,
schedules, checkpoint and resume; and that fit, fit_energy and the relaxed experiments run under it."""

import inspect

import pytest
import torch

from symbreak._errors import SymbreakError
from symbreak.training import Trainer


def _problem(seed=0):
    torch.manual_seed(seed)
    x = torch.randn(32, 4, dtype=torch.float64)
    y = x @ torch.randn(4, 1, dtype=torch.float64) + 0.1 * torch.randn(32, 1, dtype=torch.float64)
    model = torch.nn.Linear(4, 1).double()
    return model, x, y


def _run(model, x, y, *, epochs, checkpoint=None, values=None, kill_at=None, **kw):
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    gen = torch.Generator().manual_seed(1)

    def batches(epoch):
        if epoch == kill_at:
            raise KeyboardInterrupt  # the process dies as epoch `kill_at` (0-based) starts
        order = torch.randperm(len(x), generator=gen)
        return [(x[order[i : i + 8]], y[order[i : i + 8]]) for i in range(0, len(x), 8)]

    def loss_fn(batch):
        return ((model(batch[0]) - batch[1]) ** 2).mean()

    def evaluate_epoch(epoch, steps):
        val = values[epoch - 1] if values is not None else float(((model(x) - y) ** 2).mean())
        return {"epoch": epoch, "val": val}

    trainer = Trainer(model, opt, epochs=epochs, checkpoint=checkpoint, checkpoint_every=0, extra_state=(lambda: {"g": gen.get_state()}, lambda s: gen.set_state(s["g"])), **kw)
    return trainer.run(batches, loss_fn, evaluate_epoch)


def test_patience_stops_at_the_right_epoch_and_keeps_the_best():
    model, x, y = _problem()
    values = [5.0, 4.0, 3.0, 3.5, 3.2, 3.1, 3.05, 1.0]
    result = _run(model, x, y, epochs=8, values=values, patience=3)
    # best at epoch 3; epochs 4, 5, 6 do not improve: stop after epoch 6 with epoch 3's weights
    assert [r["epoch"] for r in result.history] == [1, 2, 3, 4, 5, 6]
    assert result.best_epoch == 3 and result.kept_epoch == 3 and result.stopped_early


def test_min_delta_counts_only_relative_gains_as_progress():
    model, x, y = _problem()
    values = [1.0, 0.9995, 0.9992, 0.9991, 0.5]
    result = _run(model, x, y, epochs=5, values=values, patience=3, min_delta=1e-3)
    # every epoch after the first improves, but none by 0.1 % of epoch 1's value: stop after epoch 4
    assert len(result.history) == 4 and result.best_epoch == 4 and result.stopped_early
    plain = _run(*_problem(), epochs=5, values=values, patience=3)
    assert len(plain.history) == 5 and plain.best_epoch == 5 and not plain.stopped_early


def test_min_delta_measures_progress_from_the_last_gain_not_the_last_best():
    # a loss falling 0.5 % per epoch gains 1 % every two epochs: progress, never a plateau (measured
    # against the previous best, as the trainer once did, no single epoch gains 1 % and it stopped at epoch 4)
    values = [0.995**k for k in range(12)]
    result = _run(*_problem(), epochs=12, values=values, patience=3, min_delta=1e-2)
    assert len(result.history) == 12 and not result.stopped_early and result.best_epoch == 12


def test_target_ends_training_and_select_last_keeps_the_last_weights():
    model, x, y = _problem()
    result = _run(model, x, y, epochs=6, values=[3.0, 2.0, 0.0, 1.0, 1.0, 1.0], target=0.0)
    assert len(result.history) == 3 and result.stopped_early
    model, x, y = _problem()
    result = _run(model, x, y, epochs=4, values=[1.0, 0.5, 2.0, 3.0], select="last")
    assert result.best_epoch == 2 and result.kept_epoch == 4


def test_best_state_is_a_copy_not_the_live_parameters():
    model, x, y = _problem()
    result = _run(model, x, y, epochs=5, values=[0.1, 1.0, 1.0, 1.0, 1.0])
    kept = model.weight.detach().clone()
    model2, x, y = _problem()
    _run(model2, x, y, epochs=1, values=[0.1])
    assert result.kept_epoch == 1 and torch.equal(kept, model2.weight.detach())


def test_resume_from_a_checkpoint_reaches_the_uninterrupted_weights(tmp_path):
    model, x, y = _problem()
    whole = _run(model, x, y, epochs=6, schedule="cosine")
    reference = [p.detach().clone() for p in model.parameters()]

    ckpt = tmp_path / "state.pt"
    first, x, y = _problem()
    with pytest.raises(KeyboardInterrupt):
        _run(first, x, y, epochs=6, checkpoint=ckpt, schedule="cosine", kill_at=3)
    # what a killed run leaves: a checkpoint that loads without pickled code
    saved = torch.load(ckpt, weights_only=True)
    assert len(saved["history"]) == 3
    # a new process: fresh model, optimiser and generator; same seeds, same checkpoint
    again, x, y = _problem(seed=0)
    with torch.no_grad():
        for p in again.parameters():
            p.add_(1.0)  # overwritten by the checkpoint
    resumed = _run(again, x, y, epochs=6, checkpoint=ckpt, schedule="cosine")
    assert [r["epoch"] for r in resumed.history] == [r["epoch"] for r in whole.history]
    assert [r["val"] for r in resumed.history] == pytest.approx([r["val"] for r in whole.history], rel=1e-12)
    for p, q in zip(again.parameters(), reference):
        torch.testing.assert_close(p.detach(), q, rtol=0, atol=1e-12)


def test_foreign_checkpoint_is_refused_with_a_clear_error(tmp_path):
    bad = tmp_path / "state.pt"
    torch.save({"weights": torch.zeros(1)}, bad)
    model, x, y = _problem()
    with pytest.raises(SymbreakError, match="not a symbreak training checkpoint"):
        _run(model, x, y, epochs=2, checkpoint=bad)
    bad.write_bytes(b"not a torch file")
    with pytest.raises(SymbreakError, match="cannot resume"):
        _run(model, x, y, epochs=2, checkpoint=bad)


@pytest.mark.parametrize("bad", [{"epochs": 0}, {"select": "worst"}, {"schedule": "linear"}, {"patience": 0}, {"min_delta": 1.5}, {"schedule": "onecycle"}])
def test_nonsense_policies_are_refused(bad):
    model = torch.nn.Linear(2, 1)
    kw = {"epochs": 3, **bad}
    with pytest.raises(ValueError):
        Trainer(model, torch.optim.SGD(model.parameters(), lr=0.1), **kw)


def test_every_trainer_of_symbreak_runs_under_the_one_policy():
    """fit, fit_energy and the relaxed experiments hold no epoch policy of their own."""
    from symbreak.tasks import _relaxed_common
    from symbreak.training import _energy, _fit

    for module in (_fit, _energy, _relaxed_common):
        source = inspect.getsource(module)
        assert "Trainer(" in source, module.__name__
        for own in ("copy.deepcopy(", "lr_scheduler.", "train_epochs("):
            assert own not in source, f"{module.__name__} keeps its own policy: {own}"


def _prisms(n, seed):
    import numpy as np

    from symbreak import detect_symmetry
    from symbreak.tasks import make_graph

    rng = np.random.default_rng(seed)
    t = np.radians([0.0, 120.0, 240.0])
    ring = np.stack([1.2 * np.cos(t), 1.2 * np.sin(t), np.zeros(3)], axis=1)
    out = []
    for _ in range(n):
        x = np.concatenate([ring + [0, 0, 0.8], ring - [0, 0, 0.8]]) + 0.05 * rng.normal(size=(6, 3))
        out.append(make_graph(np.full(6, 6), x, rng.normal(size=(6, 3)), detect_symmetry(x, np.full(6, 6))))
    return out


@pytest.mark.parametrize("spec", ["egnn", "egnn+randvec"])
def test_fit_killed_mid_run_resumes_to_the_same_model(tmp_path, spec):
    """A per-atom benchmark job resumes from fit's checkpoint: same batches, same random-input
    draws, same kept weights as the run that was never interrupted."""
    from symbreak.models import build_model
    from symbreak.training import fit

    data = _prisms(8, 0)
    train, val = data[:6], data[6:]
    kw = dict(predict=lambda m, b: m(b), loss="mse", kind="vectors", epochs=4, lr=3e-3, batch_size=2, patience=3, seed=5)

    torch.manual_seed(0)
    whole = build_model(spec, hidden=8)
    reference = fit(whole, train, val, **kw)

    def killer(epoch, row):
        if epoch == 2:
            raise KeyboardInterrupt

    torch.manual_seed(0)
    first = build_model(spec, hidden=8)
    with pytest.raises(KeyboardInterrupt):
        fit(first, train, val, checkpoint=tmp_path / "job.pt", checkpoint_every=0, on_epoch=killer, **kw)
    torch.manual_seed(0)
    again = build_model(spec, hidden=8)
    # the kill came inside epoch 2's report, before its checkpoint: epoch 1 is what was saved
    assert len(torch.load(tmp_path / "job.pt", weights_only=True)["history"]) == 1
    resumed = fit(again, train, val, checkpoint=tmp_path / "job.pt", **kw)
    assert [h["val"] for h in resumed.history] == pytest.approx([h["val"] for h in reference.history], rel=1e-10)
    assert resumed.kept_epoch == reference.kept_epoch
    for p, q in zip(again.state_dict().values(), whole.state_dict().values()):
        torch.testing.assert_close(p, q, rtol=0, atol=1e-10)


def test_checkpoints_are_throttled_to_checkpoint_every(tmp_path):
    """A save costs ~10 ms, a third of a tiny model's epoch: within checkpoint_every seconds of the
    last save (or the start) no epoch is saved; with 0 every epoch is."""
    model, x, y = _problem()
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    trainer = Trainer(model, opt, epochs=3, checkpoint=tmp_path / "slow.pt", checkpoint_every=3600)
    trainer.run(lambda e: [(x, y)], lambda b: ((model(b[0]) - b[1]) ** 2).mean(), lambda e, s: {"val": float(s[0][0])})
    assert not (tmp_path / "slow.pt").exists()
    _run(*_problem(), epochs=3, checkpoint=tmp_path / "every.pt")
    assert len(torch.load(tmp_path / "every.pt", weights_only=True)["history"]) == 3


def test_a_benchmark_job_runs_on_its_tasks_threads_and_gives_them_back():
    from symbreak.bench import Job, run_one
    from symbreak.tasks import OwnModelsTask

    seen = []

    class Probe(OwnModelsTask):
        name, models, threads = "probe-threads", ("m",), 1

        def run_job(self, job, graphs, progress=None, checkpoint=None, **_):
            seen.append(torch.get_num_threads())
            return {"test": {}}

    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        run_one(Job("probe-threads", "", "m", "mse", 0, 1, 1e-3, 0), Probe(), [], batch_size=1, patience=None)
        assert seen == [1] and torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)
