"""Golden numbers of short benchmark jobs: the reproducibility guard of refactors.

Every per-atom task's default models train 3 epochs on a few structures through the same
``run_one`` the benchmark uses; the test measures they reach are stored in ``golden.json``.
``tests/test_golden.py`` reruns them and asks for the same numbers (rtol 1e-6): a change that
moves them (parameter creation order, a reordered sum, another seed) would change every
published page, so it must be deliberate (regenerate with ``python tests/golden/make_golden.py``).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).parent

#: (task, subtask, loss, structures kept, models)
CASES = (
    ("square-ssb", "", "sbcd", None, ("egnn", "egnn+mlp", "painn", "sann", "schnet+mlp", "egnn+noise")),
    ("h2o-modes", "asymmetric", "sbmse", None, ("sann", "dimenet+mlp", "painn+mlp", "egnn")),
    ("dipoles", "dft", "sbcd", 24, ("schnet", "egnn+mlp", "sann[layers=3]")),
)
#: tasks that train with their own loop (the relaxed networks): (task, subtask, model, epochs)
RUN_JOB_CASES = (("shape-deformation", "prism", "relaxed-e3nn", 40), ("charged-particle", "", "relaxed-e3nn", 30))


def golden_jobs() -> list[tuple[str, dict]]:
    """(name, record's test measures) of every golden job."""
    from symbreak.bench import Job, run_one
    from symbreak.bench._runner import job_settings
    from symbreak.tasks import get_task

    out = []
    for task_name, subtask, loss, keep, models in CASES:
        task = get_task(task_name)
        graphs = task.dataset(subtask)
        if keep is not None:
            graphs = graphs[:keep]
        for spec in models:
            settings = job_settings(task, spec, batch_size=task.batch_size, patience=None)
            sigma = 0.01 if "+noise" in spec else None
            job = Job(task_name, subtask, spec, loss, 0, 3, 1e-3, 0, sigma, None, settings)
            record = run_one(job, task, graphs, batch_size=task.batch_size, patience=None)
            out.append((f"{task_name}/{subtask}/{spec}/{loss}", {**record["test"], "val": record["val"]}))
    for task_name, subtask, spec, epochs in RUN_JOB_CASES:
        task = get_task(task_name)
        settings = job_settings(task, spec, batch_size=task.batch_size, patience=None)
        job = Job(task_name, subtask, spec, task.losses[0], 0, epochs, task.lr, 0, None, None, settings)
        record = run_one(job, task, task.dataset(subtask), batch_size=task.batch_size, patience=None)
        theta = [float(sum(abs(v) for v in t)) for t in record.get("theta", [])]
        out.append((f"{task_name}/{subtask}/{spec}", {**record["test"], **{f"theta{k}": v for k, v in enumerate(theta)}}))
    return out


if __name__ == "__main__":
    sys.path.insert(0, str(HERE.parent.parent / "src"))
    result = dict(golden_jobs())
    (HERE / "golden.json").write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1))
