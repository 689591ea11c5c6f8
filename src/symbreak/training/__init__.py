r"""Training: one epoch policy (:class:`Trainer`: which epoch to keep, when to stop, schedules,
clipping, checkpoint and resume) over one loop (:func:`train_epochs`); :func:`fit` (per-atom
models, validated) and :func:`fit_energy` (energies and forces) say only what they train;
:func:`evaluate`, and the batches they read (:func:`collate`).

The benchmarks (``symbreak.bench``) and the relaxed networks' experiments (``symbreak.tasks``)
both train through here.
"""

from ._data import batches, collate
from ._energy import EnergyData, energy_errors, fit_energy, predict_energy
from ._fit import SCHEDULES, FitResult, ZeroModel, evaluate, evaluate_set, fit, init_distributed
from ._loop import train_epochs
from ._trainer import TrainResult, Trainer

__all__ = ["Trainer", "TrainResult", "train_epochs", "fit", "evaluate", "evaluate_set", "init_distributed", "collate", "batches", "FitResult", "ZeroModel", "SCHEDULES", "EnergyData", "fit_energy", "predict_energy", "energy_errors"]
