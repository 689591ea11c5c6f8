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
TORCHRUN = ["-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"]


def _python(args):
    """Run ``python *args``; on failure, report everything the processes wrote (under torchrun, a
    child's own error comes before the launcher's summary, which alone fills the last 2000 characters)."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, *args], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"exit status {done.returncode}\n--- stderr ---\n{done.stderr}\n--- stdout (end) ---\n{done.stdout[-2000:]}"
    return done


def _run(args, out):
    _python([*args, SCRIPT, str(out)])
    return json.loads(Path(out).read_text())


def test_two_processes_follow_one_with_the_same_global_batch(tmp_path):
    one = _run([], tmp_path / "one.json")
    two = _run(TORCHRUN, tmp_path / "two.json")
    assert (one["world"], two["world"]) == (1, 2)
    assert two["val"] == pytest.approx(one["val"], rel=1e-5)
    assert two["train"] == pytest.approx(one["train"], rel=1e-5)  # the epoch loss summed over both processes' shares
    assert one["val"][-1] < 0.5 * one["val"][0]  # it did train


EXIT_AFTER_A_COLLECTIVE = """
import atexit, os

def gloo_threads_left():  # registered before init_distributed registers its teardown, so it runs after it
    names = [open(f"/proc/self/task/{task}/comm").read().strip() for task in os.listdir("/proc/self/task")]
    left = sorted(name for name in names if "gloo" in name)
    os.write(1, f"rank {os.environ['RANK']}: gloo threads at exit: {left}\\n".encode())  # one write: the ranks share the pipe

atexit.register(gloo_threads_left)

import torch
from symbreak.training import init_distributed

init_distributed("gloo")

def train():  # as in fit, the DistributedDataParallel wrapper is gone once training returns
    net = torch.nn.parallel.DistributedDataParallel(torch.nn.Linear(3, 1))
    net(torch.ones(2, 3)).sum().backward()
    torch.distributed.all_reduce(torch.ones(1))  # then exit at once: gloo's worker thread may still hold this tensor

train()
"""


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="reads the threads from /proc")
def test_the_process_group_is_torn_down_before_the_interpreter(tmp_path):
    """Left to interpreter shutdown, a gloo worker thread that still holds a collective's tensor
    needs the GIL to let go of it and aborts the process (SIGABRT, now and then): init_distributed's
    teardown joins those threads first, even after DistributedDataParallel has used the group."""
    script = tmp_path / "exit_after_a_collective.py"
    script.write_text(EXIT_AFTER_A_COLLECTIVE)
    done = _python([*TORCHRUN, str(script)])
    assert done.stdout.count("gloo threads at exit: []") == 2, done.stdout


def test_a_batch_that_does_not_split_is_refused(monkeypatch):
    from symbreak.training import _fit

    monkeypatch.setattr(_fit, "_world", lambda: (0, 2))
    with pytest.raises(ValueError, match="divisible"):
        _fit.fit(None, [], [], predict=None, loss="mse", kind="vectors", epochs=1, lr=1e-3, batch_size=3)
