"""
Run a benchmark grid on Ray, and a hyper-parameter search with Optuna
=====================================================================

:func:`symbreak.bench.run_benchmark` runs a task's grid of jobs (sub-task × model × loss × fold) and
streams each finished job to ``OUT/results.jsonl``; a rerun skips every finished job. The ``engine``
says where jobs run: ``"local"`` (this process, one after another) or ``"ray"`` (each job a Ray task,
on a local cluster of ``workers`` CPUs or a running one at ``address``), with the same records either
way. :func:`symbreak.bench.run_search` drives an Optuna study over the same jobs and chooses on the
validation measure only. Both need the ``scale`` extra (``pip install -e '.[scale]'``). The
command-line equivalents are ``symbreak bench TASK --engine ray --workers 2`` and
``symbreak search TASK --model M --space FILE``.

Everything here is ``--quick``-sized: SANN's square task (a D4h square and two opposite stretches), a
few epochs, so that the page builds in a minute; a real grid is the same call with the task's defaults.
"""

import importlib.util
import tempfile
import time
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import torch

from symbreak.bench import run_benchmark, run_search, write_outputs
from symbreak.tasks import get_task

torch.set_num_threads(1)
print("ray:", importlib.util.find_spec("ray") is not None, " optuna:", importlib.util.find_spec("optuna") is not None)
workdir = tempfile.TemporaryDirectory()
out = Path(workdir.name)

# %%
# A grid on the local engine
# --------------------------
# Two models, the atom-matched SB-MSE loss, two folds (on this synthetic task folds differ by seed
# only), 20 epochs: PaiNN, exactly equivariant, and SANN, which breaks the square's symmetry.
# Every job is seeded from its own description, so the same call gives the same numbers.

task = get_task("square-ssb")
print(task.description)
grid = dict(models=["painn", "sann"], losses=["sbmse"], folds=2, epochs=20, lr=3e-3, progress=False, device="cpu")
start = time.perf_counter()
local = run_benchmark("square-ssb", out=out / "local", **grid)
print(f"local engine: {local.ran} jobs in {time.perf_counter() - start:.1f} s")
for r in local.records:
    test, zero = r["test"]["sbmse"], r["zero"]["sbmse"]
    print(f"  {r['model']:6s} fold {r['fold']}  test SB-MSE {test:.4f}  (predicting zero {zero:.4f})  {r['seconds']:.1f} s")

# %%
# Interrupted runs resume: the same call again finds every job's record in ``results.jsonl`` and runs
# nothing.

again = run_benchmark("square-ssb", out=out / "local", **grid)
print(f"rerun: {again.ran} jobs run, {again.skipped} skipped")

# %%
# The same grid on Ray
# --------------------
# ``engine="ray"`` starts a local Ray cluster of ``workers`` CPUs (or joins one at ``address``), sends
# each job as a task asking for one CPU, writes the records from the driver as they finish, and shuts
# the cluster down. Starting Ray takes seconds, so on two cores it pays only for grids of many jobs;
# on a cluster, the grid takes as long as its longest job once there are as many workers as jobs.

start = time.perf_counter()
on_ray = run_benchmark("square-ssb", out=out / "ray", engine="ray", workers=2, **grid)
print(f"ray engine: {on_ray.ran} jobs in {time.perf_counter() - start:.1f} s (Ray's start-up included)")
same = {r["key"]: r["test"]["sbmse"] for r in local.records} == {r["key"]: r["test"]["sbmse"] for r in on_ray.records}
print("the Ray records hold the local engine's numbers:", same)

# %%
# The report: the task's table in the paper's layout (our mean ± std over folds beside the paper's
# values), and its verdicts against predicting zero and the Curie bound. Cells this grid did not run
# stay empty.

report = write_outputs(local.task, local.records, local.out, local.settings)
print(report["texts"][-1])

# %%
# A search with Optuna
# --------------------
# A search space maps model options (and ``lr``, ``epochs``) to lists of choices (a full grid) or
# ranges ``{"low": a, "high": b, "log": true}`` (Optuna's seeded TPE sampler for ``trials`` trials).
# Each trial is an ordinary benchmark job of the spec it builds (``sann[layers=2]``), on the
# same engine and records; its value is the **validation** measure of the kept epoch, never the test
# set. (On this synthetic task validation and test are the training structures themselves, as in the
# paper; on a real data set, such as ``dipoles``, they are held out.) The study lives in
# ``OUT/study.db``, so a search resumes too; ``compare_default`` also runs the model as given.

space = {"layers": [1, 2], "lr": [1e-3, 3e-3]}
search = run_search("square-ssb", model="sann", space=space, loss="sbmse", folds=1, epochs=20, out=out / "search", progress=False)
print(search.format())

# %%
# The figure: the grid's test error per model and fold against predicting zero, and the search's
# trials (validation is what chooses).

fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 3.8), gridspec_kw={"width_ratios": [1, 1.4]})
models = grid["models"]
for k, m in enumerate(models):
    values = [r["test"]["sbmse"] for r in local.records if r["model"] == m]
    ax1.scatter([k] * len(values), values, color="#1f5fa8", zorder=2)
zero = np.mean([r["zero"]["sbmse"] for r in local.records])
ax1.axhline(zero, ls="--", color="gray", label="predicting zero")
ax1.set_xticks(range(len(models)), models)
ax1.set_yscale("log")
ax1.set_ylabel("test SB-MSE")
ax1.set_title("square → rectangle, 2 folds × 20 epochs")
ax1.legend(fontsize=8)
trials = sorted(search.trials, key=lambda t: t["val"])
ax2.barh([f"{t['spec']} lr={t['lr']:g}" for t in trials][::-1], [t["val"] for t in trials][::-1], color="#c0504d")
ax2.set_xscale("log")
ax2.set_xlabel("validation SB-MSE (what chooses)")
ax2.set_title("Optuna: SANN's depth × learning rate")
fig.tight_layout()
workdir.cleanup()
plt.show()
