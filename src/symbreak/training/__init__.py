r"""Training: one epoch policy (:class:`Trainer`: which epoch to keep, when to stop, schedules,
clipping, checkpoint and resume) over one loop (:func:`train_epochs`); :func:`fit` (per-atom
models, validated) and :func:`fit_energy` (energies and forces) say only what they train;
:func:`evaluate`, a model's whole set of outputs scored as a set (:func:`evaluate_draws`: a
symmetry-breaking set's elements, or fixed draws of input noise), and the batches they read
(:func:`collate`).

The benchmarks (``symbreak.bench``) and the relaxed networks' experiments (``symbreak.tasks``)
both train through here.
"""

from ._data import batches, collate
from ._draws import evaluate_draws, evaluate_set, set_outputs
from ._energy import EnergyData, energy_errors, fit_energy, predict_energy
from ._fit import SCHEDULES, FitResult, ZeroModel, evaluate, fit, init_distributed
from ._loop import train_epochs
from ._trainer import TrainResult, Trainer

__all__ = ["Trainer", "TrainResult", "train_epochs", "fit", "evaluate", "evaluate_set", "evaluate_draws", "set_outputs", "init_distributed", "collate", "batches", "FitResult", "ZeroModel", "SCHEDULES", "EnergyData", "fit_energy", "predict_energy", "energy_errors"]
