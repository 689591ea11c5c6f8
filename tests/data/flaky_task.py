"""A plugin task for the engine tests: cheap jobs, one of which kills its own worker on its first try."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from symbreak.tasks import OwnModelsTask, TableSpec, register_task


@register_task("flaky")
class Flaky(OwnModelsTask):
    """Six jobs (3 models × 2 folds) that return numbers from their seed; model "dies" exits its process on the first try."""

    description = "engine test: jobs that sleep, and one that kills its worker once"
    losses = ("mse",)
    models = ("a", "b", "dies")
    folds = 2
    epochs = 1
    lr = 1.0
    tables = (TableSpec("Flaky", rows=models, columns=(("Value", "", "mse"),)),)

    def dataset(self, subtask: str) -> list:
        return [None]

    def run_job(self, job: Any, graphs: list, progress: Any = None, checkpoint: Any = None, **_: Any) -> dict[str, Any]:
        marks = Path(checkpoint).parent  # OUT/partial: where a job may keep state, shared by the workers of this machine
        marks.mkdir(parents=True, exist_ok=True)
        time.sleep(float(os.environ.get("FLAKY_SLEEP", "0")))
        if job.model == "dies":
            mark = marks / f"died-{job.fold}"
            if not mark.exists():
                mark.write_text("once")
                os._exit(1)  # the worker process dies mid-job, as a lost node would
        value = (job.run_seed() % 1000) / 1000.0
        return {"test": {"mse": value}, "val": value}


@register_task("opposite")
class Opposite(OwnModelsTask):
    """Validation and test disagree on purpose: validation is best at lr = 1e-2, test is best far from it."""

    description = "search test: validation and test point opposite ways"
    losses = ("mse",)
    models = ("m",)
    folds = 1
    epochs = 1
    lr = 1e-3
    tables = (TableSpec("Opposite", rows=models, columns=(("Value", "", "mse"),)),)

    def dataset(self, subtask: str) -> list:
        return [None]

    def run_job(self, job: Any, graphs: list, progress: Any = None, checkpoint: Any = None, **_: Any) -> dict[str, Any]:
        import math

        val = abs(math.log10(job.lr) + 2.0)
        return {"test": {"mse": 10.0 - val}, "val": val}
