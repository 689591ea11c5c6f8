r"""The symmetry-breaking measure (SANN paper, eq. 3): a loss that does not punish a valid choice."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

from ..rotations import act_batch
from ._distances import chamfer_distance, emd

__all__ = ["symmetry_breaking_measure", "sbcd", "sbmse", "transform_labels", "METRICS", "pad_symmetries", "padded_measure"]


def _mse(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return ((x - y) ** 2).mean(dim=(-2, -1))


def _two_sided(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return chamfer_distance(x, y, symmetric=True)


#: name → m(x (..., n, d), y (..., n, d)) -> (...). "chamfer"/"cd" is the paper's one-sided Chamfer
#: distance, which every atom predicting one target vector minimises (collapse); "cd2" adds the
#: reverse term and "mse" matches atoms, so neither can be gamed that way.
METRICS: dict[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] = {
    "chamfer": chamfer_distance,
    "cd": chamfer_distance,
    "cd2": _two_sided,
    "emd": emd,
    "mse": _mse,
}


def transform_labels(target: torch.Tensor, operations: Any, permutations: Any, kind: str) -> torch.Tensor:
    r"""Every image :math:`g \cdot y` of per-atom labels under a group: (k, n, d).

    Operation g (matrix :math:`R_g`, atom map :math:`\pi_g`) carries the label of atom i, acted on
    as ``kind`` demands (see :func:`symbreak.rotations.act`), to atom :math:`\pi_g(i)`:
    :math:`(g \cdot y)_{\pi_g(i)} = R_g \cdot y_i`. Positions must be given relative to the centre
    the operations fix.

    target: (n, d); operations: (k, 3, 3); permutations: (k, n).
    """
    # copies: a Symmetry's arrays are read-only, which torch cannot share
    ops = torch.tensor(np.array(operations), dtype=target.dtype, device=target.device)
    perms = torch.tensor(np.array(permutations), dtype=torch.long, device=target.device)
    k, n = perms.shape
    if target.shape[0] != n:
        raise ValueError(f"target has {target.shape[0]} atoms but the permutations act on {n}")
    moved = act_batch(ops, target.expand((k,) + tuple(target.shape)), kind)  # (k, n, d)
    out = torch.empty_like(moved)
    out.scatter_(1, perms[:, :, None].expand_as(moved), moved)
    return out


def symmetry_breaking_measure(
    pred: torch.Tensor | Sequence[torch.Tensor],
    target: torch.Tensor | Sequence[torch.Tensor],
    symmetry: Any,
    *,
    metric: str | Callable[[torch.Tensor, torch.Tensor], torch.Tensor] = "chamfer",
    kind: str = "vectors",
    batch: torch.Tensor | None = None,
) -> torch.Tensor:
    r"""Symmetry-breaking measure :math:`\mathrm{SBM} = \frac1K \sum_k \min_{g \in \mathrm{Sym}(x_k)} m(f(x_k), g \cdot y_k)`.

    A prediction is scored against the closest of the target's images under the input's own
    symmetry group, so a model that picks another, equally valid symmetry-broken answer (the other
    rectangle a square can relax to) is not punished. ``sbcd`` is this with the Chamfer distance.

    Parameters
    ----------
    pred, target:
        One molecule's per-atom predictions and labels, (n, d); or sequences of them (one per
        molecule, sizes and groups may differ), averaged over molecules; or, with ``batch``, a
        PyG-style concatenation (N, d) of all molecules' atoms.
    symmetry:
        A :class:`~symbreak.Symmetry` (or a sequence, one per molecule), or any object with
        ``operations (k, 3, 3)`` and ``permutations (k, n)``.
    metric:
        ``"chamfer"``/``"cd"`` (one-sided, the paper's), ``"cd2"`` (two-sided), ``"emd"``,
        ``"mse"`` (atom-matched: with ``"mse"`` this is SB-MSE), or a callable ``m(x (..., n, d), y (..., n, d)) -> (...)``.
    kind:
        How g acts on the labels: ``"vectors"`` (1o), ``"positions"`` (about the molecule's centre:
        pass centred positions), ``"pseudovectors"`` (1e), ``"scalars"``, ``"tensors"`` (flattened
        3×3), or an e3nn Irreps string.
    batch: (N,) long, optional
        PyG's batch vector: molecule index of each row of ``pred``/``target`` (sorted), with
        ``symmetry`` a sequence of one symmetry per molecule.

    Returns
    -------
    Scalar tensor, differentiable in ``pred``. All group elements of a molecule are evaluated in one
    batched metric call.

    Notes
    -----
    It equals the plain metric when the input has no symmetry (only the identity) and when the
    target keeps every symmetry of the input (all images coincide).
    """
    fn = METRICS[metric] if isinstance(metric, str) else metric
    if batch is not None:
        counts = torch.bincount(batch, minlength=len(symmetry)).tolist()
        if len(counts) != len(symmetry) or sum(counts) != len(pred) or len(target) != len(pred):
            raise ValueError(f"batch describes {len(counts)} molecules / {sum(counts)} atoms; got {len(symmetry)} symmetries and {len(pred)} rows")
        if pred.shape != target.shape:
            raise ValueError(f"prediction {tuple(pred.shape)} and target {tuple(target.shape)} differ in shape")
        if isinstance(metric, str) and metric in _PADDED:
            ops, perms, owner = (torch.as_tensor(a, device=pred.device) for a in pad_symmetries(list(symmetry), counts))
            return padded_measure(pred, target, batch, ops, perms, owner, metric, kind)
        order = torch.argsort(batch, stable=True)  # molecule by molecule, each in its atoms' order
        pred, target = list(torch.split(pred[order], counts)), list(torch.split(target[order], counts))
    elif isinstance(pred, torch.Tensor):
        pred, target, symmetry = [pred], [target], [symmetry]
    if not (len(pred) == len(target) == len(symmetry)) or len(pred) == 0:
        raise ValueError(f"need as many predictions, targets and symmetries (got {len(pred)}, {len(target)}, {len(symmetry)})")
    values = []
    for p, t, s in zip(pred, target, symmetry):
        if p.shape != t.shape:
            raise ValueError(f"prediction {tuple(p.shape)} and target {tuple(t.shape)} differ in shape")
        images = transform_labels(t, s.operations, s.permutations, kind)  # (k, n, d)
        values.append(fn(p.expand_as(images), images).min())
    return torch.stack(values).mean()


_PADDED = ("chamfer", "cd", "cd2", "mse")


def pad_symmetries(symmetry: Sequence[Any], counts: Sequence[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every group element of a batch's molecules, one row each: operations (T, 3, 3), permutations
    (T, N) padded to the largest atom count N (padding atoms stay in place), and the molecule each
    belongs to (T,), T = Σ|G_m|.

    Built once per batch in the data pipeline (NumPy), so the loss itself is tensor code on the
    batch's device (:func:`padded_measure`). Elements are listed, not padded to the largest group:
    one Oh molecule in a batch does not make every water molecule carry 48 images.
    """
    n = max(counts)
    ops, perms, owner = [], [], []
    for i, (sym, size) in enumerate(zip(symmetry, counts)):
        o, p = np.asarray(sym.operations, dtype=float), np.asarray(sym.permutations)
        if p.shape[1] != size:
            raise ValueError(f"molecule {i} has {size} atoms but its permutations act on {p.shape[1]}")
        padded = np.tile(np.arange(n), (len(o), 1))
        padded[:, :size] = p
        ops.append(o)
        perms.append(padded)
        owner.append(np.full(len(o), i))
    return np.concatenate(ops), np.concatenate(perms), np.concatenate(owner)


def padded_measure(
    pred: torch.Tensor, target: torch.Tensor, batch: torch.Tensor, operations: torch.Tensor, permutations: torch.Tensor, owner: torch.Tensor, metric: str, kind: str,
    max_order: int | None = None,
) -> torch.Tensor:
    """The SBM of a whole batch in one set of tensor operations: every (molecule, group element)
    image at once, molecules padded to the largest atom count N; no Python loop over molecules or
    group elements, no NumPy. Equal to the per-molecule loop to rounding (bench/averaging.py).

    pred, target: (N_atoms, d); batch: (N_atoms,); operations (T, 3, 3), permutations
    (T, N) and owner (T,) from :func:`pad_symmetries`; metric one of "chamfer"/"cd", "cd2", "mse".
    max_order: the largest group order in the batch, if known on the host (saves a device sync).
    """
    dev, dt = pred.device, pred.dtype
    n = permutations.shape[1]
    counts = torch.bincount(batch)
    m = len(counts)
    owner = owner.to(device=dev, dtype=torch.long)
    # each atom's index inside its molecule, in the order the molecule's atoms appear (a stable
    # sort keeps PyG's sorted batches as they are and makes an unsorted one mean the same)
    order = torch.argsort(batch, stable=True)
    local = torch.empty_like(batch).index_put_((order,), torch.arange(len(batch), device=dev) - (torch.cumsum(counts, 0) - counts)[batch[order]])
    atoms = torch.arange(n, device=dev)[None, :] < counts[:, None]  # (M, N)
    d = pred.shape[-1]
    padded_pred = pred.new_zeros((m, n, d)).index_put((batch, local), pred)
    padded_target = target.new_zeros((m, n, d)).index_put((batch, local), target)
    perms_t = permutations.to(device=dev, dtype=torch.long)
    moved = act_batch(operations.to(device=dev, dtype=dt), padded_target[owner], kind)  # (T, N, d)
    images = torch.empty_like(moved).scatter_(1, perms_t[:, :, None].expand_as(moved), moved)
    p = padded_pred[owner]  # (T, N, d)
    mask = atoms[owner]  # (T, N)
    if metric == "mse":
        err = ((p - images) ** 2).sum(-1).masked_fill(~mask, 0.0).sum(-1)
        values = err / (counts.to(dt)[owner] * d)
    else:
        d2 = ((p * p).sum(-1)[:, :, None] + (images * images).sum(-1)[:, None, :] - 2.0 * p @ images.transpose(-1, -2)).clamp_min(0.0)
        big = torch.finfo(dt).max
        values = d2.masked_fill(~mask[:, None, :], big).min(-1).values.masked_fill(~mask, 0.0).sum(-1)
        if metric == "cd2":
            values = values + d2.masked_fill(~mask[:, :, None], big).min(-2).values.masked_fill(~mask, 0.0).sum(-1)
    # the minimum over each molecule's images: a (M, K) table, K its largest group, padded with +inf
    start = torch.cumsum(torch.bincount(owner, minlength=m), 0) - torch.bincount(owner, minlength=m)
    slot = torch.arange(len(owner), device=dev) - start[owner]
    width = int(slot.max()) + 1 if max_order is None else int(max_order)
    table = values.new_full((m, width), float("inf")).index_put((owner, slot), values)
    return table.min(dim=1).values.mean()


def sbcd(pred: Any, target: Any, symmetry: Any, *, kind: str = "vectors", batch: torch.Tensor | None = None) -> torch.Tensor:
    """The symmetry-breaking Chamfer distance: :func:`symmetry_breaking_measure` with ``metric="chamfer"``."""
    return symmetry_breaking_measure(pred, target, symmetry, metric="chamfer", kind=kind, batch=batch)


def sbmse(pred: Any, target: Any, symmetry: Any, *, kind: str = "vectors", batch: torch.Tensor | None = None) -> torch.Tensor:
    r"""The atom-matched symmetry-breaking error :math:`\min_{g \in \mathrm{Sym}(x)} \frac{1}{nd} \sum_i \|f(x)_i - (g \cdot y)_i\|^2`.

    Unlike the one-sided Chamfer distance it is 0 only when the prediction *is* one of the
    target's images, so a collapsed prediction (every atom predicting one vector) cannot score 0.
    """
    return symmetry_breaking_measure(pred, target, symmetry, metric="mse", kind=kind, batch=batch)
