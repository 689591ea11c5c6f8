r"""``water-pet``: Langer, Pozdnyakov & Ceriotti (2024) in kind, as a registered task.

One job runs the whole experiment of :func:`symbreak.md.reproduce_water`: PET and PET-invariant
trained on bulk water, then Table II / Fig. S1 (symmetry error of raw and grid-averaged
predictions), the gas-phase NVE/NVT runs of Fig. 1 and the bulk NVT runs of Figs. 2, 3 and S2.
Its steps keep their results in the job's work folder (``<out>/partial/<job seed>/``: each
finished step's JSON, the trained models' checkpoints, the trajectories' analyses), so an
interrupted run resumes after the last finished step, and training after its last epoch.
``--quick`` (one epoch) runs the quick sizes of :data:`symbreak.md.SETTINGS`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .._errors import SymbreakError

from ._base import OwnModelsTask, register_task

__all__ = ["WaterPET"]


@register_task("water-pet")
class WaterPET(OwnModelsTask):
    """PET on xTB water, then MD with grid, random and MTS averaging (one job: the whole experiment)."""

    description = "PET on xTB water, then MD with grid, random and MTS averaging (Langer, Pozdnyakov & Ceriotti 2024)"
    losses = ("energy+forces",)
    #: the model the MD runs with; its invariant twin ``pet-invariant`` trains beside it
    models = ("pet",)
    epochs = 24
    lr = 1e-3
    folds = 1
    quick = {"folds": 1, "epochs": 1}
    #: the steps' results live in a folder, not one file (see the module docstring)
    checkpoint_suffix = ""

    def check_loss(self, name: str) -> None:
        if name != "energy+forces":
            raise SymbreakError(f"water-pet trains on energies and forces: its loss is 'energy+forces', got {name!r}")

    def check_settings(self, settings: dict[str, Any]) -> None:
        """One job is the whole experiment: several folds would repeat it, and a structure limit or
        kept models do not apply (its models are in the work folder). It trains and runs MD on the
        CPU whatever ``--device`` says, as every task with its own models does."""
        if settings["folds"] != 1:
            raise SymbreakError(f"water-pet is one experiment: --folds must be 1, got {settings['folds']} (use --seed for another run)")
        if settings.get("limit") is not None:
            raise SymbreakError("water-pet reads the whole shipped water set: --limit does not apply")
        if settings.get("save_models"):
            raise SymbreakError("water-pet keeps its trained models in the job's work folder (OUT/partial/<job>/models): --save-models does not apply")

    def dataset(self, subtask: str) -> list:
        """Nothing up front: the job reads the shipped water set itself (:func:`symbreak.labels.load_water`)."""
        return []

    def sizes(self, epochs: int) -> dict[str, Any]:
        """The run's sizes: the quick ones (small PET, picoseconds of MD) for a one-epoch run
        (``--quick``), else the full ones with ``epochs``: ``--epochs`` above 1 runs the full MD."""
        from ..md._paper import SETTINGS

        return dict(SETTINGS["quick"]) if epochs <= SETTINGS["quick"]["epochs"] else {**SETTINGS["full"], "epochs": epochs}

    def _sizes(self, job: Any) -> dict[str, Any]:
        return {**self.sizes(job.epochs), "lr": job.lr}

    def job_settings(self, spec: str | None = None, **_: Any) -> dict[str, Any]:
        from ..md._paper import SETTINGS

        return {"sizes": {k: v for k, v in SETTINGS["full"].items() if k != "epochs"}, "quick_sizes": SETTINGS["quick"]}

    def run_job(self, job: Any, graphs: list, progress: Any = None, checkpoint: Any = None, **_: Any) -> dict[str, Any]:
        import tempfile

        from ..md._paper import reproduce_water

        shown = progress is not None and not getattr(progress, "disable", False)  # the runner's bar, unless --no-progress
        if checkpoint is None:  # no folder to resume from: work in a temporary one
            with tempfile.TemporaryDirectory() as folder:
                return reproduce_water(folder, settings=self._sizes(job), seed=job.seed, progress=shown, plots=False)
        return reproduce_water(Path(checkpoint), settings=self._sizes(job), seed=job.seed, progress=shown, plots=False)

    def report_extras(self, records: list[dict[str, Any]], out: Any) -> dict[str, list]:
        from ..md._paper import format_water, plot_water

        if not records:
            return {"texts": [], "markdown": [], "plots": []}
        result = records[-1]
        text = format_water(result)
        return {"texts": [text], "markdown": [text], "plots": plot_water(result, out)}
