"""Trials 1 and 26 of docs/results/search-dipoles.md: their SB-MSE per structure.

Trains both jobs again (fold 0 of ``dft-by-molecule``, seed 0, SB-MSE, 40 epochs, on the CPU: the
search's jobs, same keys), keeping the trained models in OUT, and writes every validation and test
structure's SB-MSE of each model to ``per-structure.json`` beside this file, with a summary.

    .venv/bin/python results/search/dipoles-sann-rerun/per_structure.py [OUT]
"""

import json
import sys
import tempfile
from pathlib import Path

import numpy as np

from symbreak.bench import plan_jobs, run_benchmark
from symbreak.models import load_model
from symbreak.tasks import get_task
from symbreak.training import evaluate

SPECS = ("sann[layers=3, num_radial=6, num_spherical=3]", "sann[layers=2, num_radial=4, num_spherical=3]")  # trials 1 and 26
SETTINGS = dict(losses=["sbmse"], subtasks=["dft-by-molecule"], folds=1, epochs=40, seed=0)

out = Path(sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp())
result = run_benchmark("dipoles", models=list(SPECS), **SETTINGS, out=out, progress=False, device="cpu", save_models=True)
task = get_task("dipoles")
graphs = task.dataset("dft-by-molecule")
_, val, test = task.splits(graphs, "dft-by-molecule", 1, 0)[0]
jobs = plan_jobs(task, models=SPECS, **SETTINGS, lr=task.lr, batch_size=task.batch_size, patience=task.patience)
per: dict = {"val_structures": [int(i) for i in val], "test_structures": [int(i) for i in test], "models": {}}
for job in jobs:
    record = next(r for r in result.records if r["key"] == job.key())
    model = load_model(out / "models" / f"{job.run_seed()}.pt")
    prepare = getattr(model, "prepare_data", lambda g: g)
    per["models"][job.model] = {
        name: [evaluate(model, [prepare(graphs[i])], task.predict, task.kind, ["sbmse"])["sbmse"] for i in idx] for name, idx in (("val", val), ("test", test))
    }
    per["models"][job.model]["record"] = {"val": record["val"], "test": record["test"]["sbmse"], "parameters": record["parameters"]}
summary = {}
for name in ("val", "test"):
    x, y = (np.array(per["models"][s][name]) for s in SPECS)
    d = np.abs(x - y)
    summary[name] = {
        "structures": len(x), "means": [float(x.mean()), float(y.mean())], "median_abs_difference": float(np.median(d)), "max_abs_difference": float(d.max()),
        "median_relative_difference": float(np.median(d / np.maximum(x, y))), "equal_to_4_digits": int(np.sum(np.isclose(x, y, rtol=5e-5, atol=0))),
        "correlation": float(np.corrcoef(x, y)[0, 1]),
    }  # fmt: skip
per["summary"] = summary
(Path(__file__).parent / "per-structure.json").write_text(json.dumps(per, indent=1) + "\n")
print(json.dumps(summary, indent=1))
