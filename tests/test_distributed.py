"""Data-parallel ``fit``: two processes under torchrun (gloo, CPU) give the validation curve of one
process with the same global batch."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")

SCRIPT = str(Path(__file__).parent / "data" / "ddp_fit.py")


def _run(args, out):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, *args, SCRIPT, str(out)], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(Path(out).read_text())


def test_two_processes_follow_one_with_the_same_global_batch(tmp_path):
    one = _run([], tmp_path / "one.json")
    two = _run(["-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"], tmp_path / "two.json")
    assert (one["world"], two["world"]) == (1, 2)
    assert two["val"] == pytest.approx(one["val"], rel=1e-5)
    assert two["train"] == pytest.approx(one["train"], rel=1e-5)  # the epoch loss summed over both processes' shares
    assert one["val"][-1] < 0.5 * one["val"][0]  # it did train


def test_a_batch_that_does_not_split_is_refused(monkeypatch):
    from symbreak.training import _fit

    monkeypatch.setattr(_fit, "_world", lambda: (0, 2))
    with pytest.raises(ValueError, match="divisible"):
        _fit.fit(None, [], [], predict=None, loss="mse", kind="vectors", epochs=1, lr=1e-3, batch_size=3)
