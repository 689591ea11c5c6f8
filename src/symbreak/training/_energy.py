r"""Energy-and-force training of an energy model (PET, PET-invariant, SchNet...), with rotational augmentation.

Loss per batch, on standardised units:
:math:`\mathcal L = w_E\,\overline{((E - \hat E)/(n\,s))^2} + w_F\,\overline{|\mathbf F - \hat{\mathbf F}|^2/s^2}`,
with :math:`s` the force scale of the training set and :math:`n` the atoms per structure. With
``rotate=True`` every structure gets a new Haar-random O(3) element per epoch (positions, cell and
forces turned together, energies unchanged), which is how PET learns approximate invariance. With
``penalty > 0`` the variance of the predicted energy over two random orientations of each batch
is added (a symmetry-breaking penalty). Every epoch ends with a checkpoint (``weights_only``
loadable); a rerun resumes from it; the kept model is the one with the lowest validation error.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import torch

from .._errors import SymbreakError
from ._trainer import Trainer

__all__ = ["EnergyData", "fit_energy", "predict_energy", "energy_errors"]


@dataclasses.dataclass
class EnergyData:
    """Structures with energy and force labels: all with the same atoms (a simulation box).

    numbers (n,); positions (F, n, 3) Å; cells (F, 3, 3) Å (zeros: not periodic); energy (F,) eV;
    forces (F, n, 3) eV/Å.
    """

    numbers: np.ndarray
    positions: np.ndarray
    cells: np.ndarray
    energy: np.ndarray
    forces: np.ndarray

    def __post_init__(self) -> None:
        f, n = self.positions.shape[:2]
        if self.positions.shape != (f, n, 3) or self.forces.shape != (f, n, 3) or self.energy.shape != (f,) or self.cells.shape != (f, 3, 3) or self.numbers.shape != (n,):
            raise SymbreakError("EnergyData: positions and forces (F, n, 3), energy (F,), cells (F, 3, 3), numbers (n,) must agree")

    def __len__(self) -> int:
        return len(self.energy)

    def subset(self, index: np.ndarray) -> "EnergyData":
        return EnergyData(self.numbers, self.positions[index], self.cells[index], self.energy[index], self.forces[index])


#: how the labels of an energy batch transform under g ∈ O(3), beside its inputs
#: (:data:`~symbreak.models._inputs.FIELDS`): (representation, one row per atom). Energies are
#: invariant, forces turn as the positions do (polar vectors, ``1o``).
LABELS: dict[str, tuple[str, bool]] = {"energy": ("0e", False), "forces": ("1o", True)}


def _turn(batch: SimpleNamespace, rotations: torch.Tensor) -> SimpleNamespace:
    r"""The batch acted on about the origin: every input field (:data:`~symbreak.models._inputs.FIELDS`)
    and label (:data:`LABELS`) by its representation, :math:`x \to R x`, :math:`\mathbf F \to R \mathbf F`,
    :math:`E \to E`, lattice rows :math:`L \to L R^\top`.

    rotations: (3, 3), one element for the whole batch; or (B, 3, 3), one per structure (each
    per-atom field by its structure's element). ``cell``: (B, 3, 3).
    """
    from ..models._inputs import FIELDS
    from ..rotations import act, act_batch

    out = SimpleNamespace(**vars(batch))
    for key, (kind, atomic) in {**FIELDS, **LABELS}.items():
        value = getattr(batch, key, None)
        if value is None:
            continue
        r = rotations.to(device=value.device, dtype=value.dtype if value.is_floating_point() else rotations.dtype)
        if r.ndim == 2:
            setattr(out, key, act(r, value, kind))
        else:
            setattr(out, key, act_batch(r[batch.batch] if atomic else r, value, kind))
    return out


def _batch(data: EnergyData, index: np.ndarray, rotations: np.ndarray | None, dtype: torch.dtype, device: str) -> SimpleNamespace:
    """Structures ``index`` as one batch (``energy`` (B,), ``forces`` (B n, 3) beside the inputs), each
    turned by its element of ``rotations`` (B, 3, 3) if given (:func:`_turn`, in float64), then cast to ``dtype``."""
    b, n = len(index), len(data.numbers)
    t = lambda a: torch.as_tensor(np.ascontiguousarray(a), dtype=torch.float64)  # noqa: E731
    batch = SimpleNamespace(
        z=torch.as_tensor(np.tile(data.numbers, b)), pos=t(data.positions[index].reshape(-1, 3)), batch=torch.arange(b).repeat_interleave(n),
        cell=t(data.cells[index]), energy=t(data.energy[index]), forces=t(data.forces[index].reshape(-1, 3)), num_graphs=b, atoms=n,
    )  # fmt: skip
    if rotations is not None:
        batch = _turn(batch, t(rotations))
    for key, value in vars(batch).items():
        if isinstance(value, torch.Tensor):
            setattr(batch, key, value.to(device=device, dtype=dtype) if value.is_floating_point() else value.to(device))
    return batch


def predict_energy(model: Any, data: EnergyData, *, rotations: np.ndarray | None = None, batch_size: int = 16, device: str = "cpu") -> tuple[np.ndarray, np.ndarray]:
    """Energies (F,) and forces (F, n, 3) of every structure (turned by ``rotations`` (F, 3, 3) if given, in the turned frame)."""
    dtype = next(model.parameters()).dtype
    model.eval()
    es, fs = [], []
    for start in range(0, len(data), batch_size):
        idx = np.arange(start, min(start + batch_size, len(data)))
        b = _batch(data, idx, None if rotations is None else rotations[idx], dtype, device)
        e, f = model.energy_and_forces(b, create_graph=False)
        es.append(e.detach().cpu().numpy())
        fs.append(f.detach().cpu().numpy().reshape(len(idx), -1, 3))
    return np.concatenate(es), np.concatenate(fs)


def energy_errors(model: Any, data: EnergyData, **kw: Any) -> dict[str, float]:
    """MAE and RMSE of energies (meV per structure and per atom) and forces (meV/Å)."""
    e, f = predict_energy(model, data, **kw)
    de, df = e - data.energy, f - data.forces
    n = len(data.numbers)
    return {
        "energy_mae_meV": float(1e3 * np.abs(de).mean()), "energy_rmse_meV": float(1e3 * np.sqrt((de**2).mean())),
        "energy_mae_meV_per_atom": float(1e3 * np.abs(de).mean() / n),
        "forces_mae_meV_A": float(1e3 * np.abs(df).mean()), "forces_rmse_meV_A": float(1e3 * np.sqrt((df**2).mean())),
    }  # fmt: skip


def _set_references(model: Any, train: EnergyData) -> None:
    """Per-element energy shifts by least squares on composition, and the force scale."""
    z = np.unique(train.numbers)
    counts = np.array([(train.numbers == t).sum() for t in z], dtype=float)
    per_atom = train.energy.mean() / counts.sum()
    shift = torch.zeros_like(model.energy_shift)
    shift[torch.as_tensor(z)] = float(per_atom)  # one box composition: only the mean per atom is determined
    model.energy_shift.copy_(shift)
    model.energy_scale.fill_(float(np.sqrt((train.forces**2).mean())))


def fit_energy(
    model: Any, train: EnergyData, val: EnergyData, *, epochs: int = 30, lr: float = 1e-3, batch_size: int = 8, energy_weight: float = 1.0,
    force_weight: float = 10.0, rotate: bool = True, penalty: float = 0.0, seed: int = 0, checkpoint: str | Path | None = None,
    device: str = "cpu", progress: bool = False,
) -> dict[str, Any]:  # fmt: skip
    """Train ``model`` (an energy model with ``energy_shift``/``energy_scale`` buffers) in place.

    Returns the history (per epoch, numbered from 0: training loss, validation energy and force
    MAE, seconds) and the best epoch (from 0); the model ends with the best epoch's weights
    (selected on validation ``energy MAE per atom / 1 meV + force MAE / 10 meV/Å``), under
    :class:`~symbreak.training.Trainer`'s policy with a cosine schedule. checkpoint: a file the
    state is saved to after every epoch; a rerun with the same file resumes from it.
    """
    from ..rotations import random_rotations

    if not getattr(model, "gradient_output", False):
        raise SymbreakError(f"{type(model).__name__} is not an energy model (gradient_output is False)")
    if not (hasattr(model, "energy_shift") and hasattr(model, "energy_scale")):
        raise SymbreakError(f"{type(model).__name__} has no energy_shift/energy_scale buffers to fit the energy reference and force scale into (PET has them)")
    torch.manual_seed(seed)
    dtype = next(model.parameters()).dtype
    model.to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-5)
    ckpt = Path(checkpoint) if checkpoint else None
    if ckpt is None or not ckpt.exists():  # a resumed run reads them back with the weights
        _set_references(model, train)
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=epochs, desc=type(model).__name__)
    t0 = time.perf_counter()

    def evaluate_epoch(epoch: int, steps: list) -> dict[str, float]:
        nonlocal t0
        err = energy_errors(model, val, device=device)
        train_loss = float(sum(float(v) * n for v, n in steps) / max(sum(n for _, n in steps), 1))
        row = {"epoch": epoch - 1, "train_loss": train_loss, **{f"val_{k}": v for k, v in err.items()}, "seconds": time.perf_counter() - t0}
        t0 = time.perf_counter()
        return {**row, "score": _score(row)}  # what the trainer selects on; dropped from the history returned

    def report(epoch: int, row: dict[str, float]) -> None:
        if bar is not None:
            bar.n = epoch
            bar.set_postfix(val_F=f"{row['val_forces_mae_meV_A']:.0f} meV/Å", val_E=f"{row['val_energy_mae_meV_per_atom']:.2f} meV/atom")

    trainer = Trainer(
        model, opt, epochs=epochs, monitor="score", schedule="cosine", checkpoint=ckpt, checkpoint_every=0, on_epoch=report,
        extra_state=(lambda: {"torch_rng": torch.get_rng_state()}, lambda s: torch.set_rng_state(s["torch_rng"])),
    )  # fmt: skip
    n_atoms = len(train.numbers)

    def batches(epoch: int):
        rng = np.random.default_rng([seed, epoch])
        order = rng.permutation(len(train))
        rots = random_rotations(len(train), improper=True, seed=rng) if rotate else None
        model.train()
        for b in range(0, len(order), batch_size):
            idx = order[b : b + batch_size]
            yield _batch(train, idx, None if rots is None else rots[idx], dtype, device)

    def loss_fn(batch: SimpleNamespace) -> torch.Tensor:
        scale = float(model.energy_scale)
        e, f = model.energy_and_forces(batch, create_graph=True)
        loss = energy_weight * (((e - batch.energy) / (n_atoms * scale)) ** 2).mean() + force_weight * (((f - batch.forces) / scale) ** 2).sum(-1).mean()
        if penalty > 0:
            rot = torch.as_tensor(random_rotations(1, improper=True, seed=int(torch.randint(1 << 30, ()))), dtype=dtype, device=device)[0]
            turned = _turn(batch, rot)  # the whole batch by one element: inputs and labels by their representations
            e2, _ = model.energy_and_forces(turned, create_graph=True)
            loss = loss + penalty * (((e - e2) / (n_atoms * scale)) ** 2).mean()
        return loss

    result = trainer.run(batches, loss_fn, evaluate_epoch)
    if bar is not None:
        bar.close()
    history = [{k: v for k, v in row.items() if k != "score"} for row in result.history]
    return {"history": history, "best_epoch": result.best_epoch - 1 if result.best_epoch else None}


def _score(row: dict[str, float]) -> float:
    """The validation score :func:`fit_energy` keeps the best epoch by: energy MAE per atom / 1 meV + force MAE / 10 meV/Å."""
    return row["val_energy_mae_meV_per_atom"] + row["val_forces_mae_meV_A"] / 10.0
