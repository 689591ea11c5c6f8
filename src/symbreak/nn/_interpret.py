r"""Reading relaxed weights θ: block norms, spherical signals (eq. 8), and the symmetry θ keeps."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from e3nn import o3

from ..groups import PointGroup

__all__ = ["interpret", "ThetaInterpretation", "BlockSummary", "stabilizer", "sh_projection"]


@dataclass(frozen=True)
class BlockSummary:
    """One θ^{l,p} block: its irrep, ℓ2 norm, and the indices (e3nn order within the block) of its non-zero components."""

    irrep: str
    norm: float
    nonzero: tuple[int, ...]


@dataclass(frozen=True)
class ThetaInterpretation:
    r"""What θ says about the symmetry it breaks.

    blocks: per block summaries; kept: name of the largest subgroup of ``group`` leaving θ
    invariant, ``kept_operations`` (k, 3, 3) its elements; scalar_signal / pseudoscalar_signal:
    eq. (8), functions of unit vectors (m, 3) → (m,).
    """

    blocks: tuple[BlockSummary, ...]
    group: str
    kept: str
    kept_operations: np.ndarray
    scalar_signal: Callable[[np.ndarray], np.ndarray]
    pseudoscalar_signal: Callable[[np.ndarray], np.ndarray]

    def nonzero_blocks(self) -> list[str]:
        """Irreps of the blocks with any non-zero component."""
        return [b.irrep for b in self.blocks if b.nonzero]

    def summary(self) -> str:
        """One line: e.g. ``θ keeps D4h of Oh; non-zero: 0e, 2e[2,4], 4e[...]``."""
        parts = [f"{b.irrep}{list(b.nonzero) if b.irrep != '0e' else ''}" for b in self.blocks if b.nonzero]
        return f"θ keeps {self.kept} of {self.group}; non-zero: {', '.join(parts) or 'none'}"


def _as_numpy(theta: torch.Tensor | np.ndarray) -> np.ndarray:
    return theta.detach().cpu().double().numpy() if isinstance(theta, torch.Tensor) else np.asarray(theta, dtype=float)


def _closed_subset(ops: np.ndarray, deviation: np.ndarray) -> np.ndarray:
    """Indices of a subgroup inside the nearly-invariant ``ops``: drop the worst offender until closed."""
    keep = list(np.flatnonzero(deviation >= 0))
    while True:
        mats = ops[keep]
        products = np.einsum("aij,bjk->abik", mats, mats).reshape(-1, 9)
        inside = np.abs(products[:, None, :] - mats.reshape(1, -1, 9)).max(-1).min(-1) < 1e-6
        if inside.all():
            return np.array(keep, dtype=int)
        keep.remove(max(keep, key=lambda i: deviation[i]))


def stabilizer(theta: torch.Tensor | np.ndarray, irreps: o3.Irreps | str, operations: np.ndarray, *, tol: float = 1e-3) -> np.ndarray:
    r"""The largest subgroup of ``operations`` whose elements satisfy :math:`\|D(g)\theta - \theta\| \le` tol: (k, 3, 3).

    Elements within tolerance that do not close into a group (θ at the edge of the tolerance)
    are dropped, worst first, until the kept set is a group.
    """
    irreps = o3.Irreps(irreps)
    th = torch.as_tensor(_as_numpy(theta))
    ops = np.array(operations, dtype=float).reshape(-1, 3, 3)
    deviation = np.array([float((irreps.D_from_matrix(torch.tensor(g)) @ th - th).norm()) for g in ops])
    candidates = np.flatnonzero(deviation <= tol)
    if len(candidates) == 0:
        return np.eye(3)[None]
    return ops[candidates][_closed_subset(ops[candidates], deviation[candidates])]


def _signal(theta: np.ndarray, irreps: o3.Irreps, natural: bool) -> Callable[[np.ndarray], np.ndarray]:
    def f(directions: np.ndarray) -> np.ndarray:
        x = torch.as_tensor(np.asarray(directions, dtype=float)).reshape(-1, 3)
        out = torch.zeros(len(x), dtype=torch.float64)
        for (mul, ir), sl in zip(irreps, irreps.slices()):
            if (ir.p == (-1) ** ir.l) != natural:
                continue
            y = o3.spherical_harmonics(ir.l, x, normalize=True, normalization="component")  # (m, 2l+1)
            out += (y @ torch.as_tensor(theta[sl]).reshape(mul, ir.dim).T).sum(-1)
        return out.numpy()

    return f


def interpret(theta: torch.Tensor | np.ndarray, irreps: o3.Irreps | str, *, group: str | PointGroup = "Oh", atol: float = 1e-3) -> ThetaInterpretation:
    r"""Interpret relaxed weights θ (the paper's §4.2 and Fig. 2).

    Parameters
    ----------
    theta : (irreps.dim,) tensor or array
        The relaxed weights.
    irreps : Irreps or str
        θ's irreps (``layer.irreps_theta``).
    group : str or PointGroup
        The input's point group, in symbreak's standard orientation (e.g. Oh for an
        axis-aligned cube); the result names the largest subgroup of it that θ keeps.
    atol : float
        A component counts as non-zero above this, and g keeps θ when
        :math:`\|D(g)\theta - \theta\| \le \mathrm{atol}`.

    Notes
    -----
    The scalar signal is :math:`f(\hat x) = \sum_{l,\, p = (-1)^l} \theta^{l,p} \cdot Y^l(\hat x)`
    (eq. 8); the pseudoscalar signal sums the blocks of the opposite parity. Multiplicities add up.

    Examples
    --------
    >>> th = np.zeros(12); th[0] = 1.0   # 0e ⊕ 1o ⊕ 1e ⊕ 2e: a pure scalar keeps everything
    >>> interpret(th, "0e+1o+1e+2e", group="Oh").kept
    'Oh'
    """
    irreps = o3.Irreps(irreps)
    th = _as_numpy(theta)
    if th.shape != (irreps.dim,):
        raise ValueError(f"theta has shape {th.shape}, irreps {irreps} need ({irreps.dim},)")
    blocks = []
    for (mul, ir), sl in zip(irreps, irreps.slices()):
        for block in th[sl].reshape(mul, ir.dim):
            blocks.append(BlockSummary(str(ir), float(np.linalg.norm(block)), tuple(int(i) for i in np.flatnonzero(np.abs(block) > atol))))
    g = PointGroup(group) if isinstance(group, str) else group
    kept_ops = stabilizer(th, irreps, g.operations, tol=atol)
    kept = PointGroup.from_operations(kept_ops).name
    return ThetaInterpretation(tuple(blocks), g.name, kept, kept_ops, _signal(th, irreps, True), _signal(th, irreps, False))


def sh_projection(points: np.ndarray | torch.Tensor, irreps: o3.Irreps | str) -> torch.Tensor:
    r"""Spherical-harmonic projection of a point set onto ``irreps``: :math:`\sum_v \|v\|\, Y^{l}(\hat v)` per block.

    Blocks of unnatural parity (0o, 1e, 2o, ...) are 0: no point set has them. points: (n, 3);
    returns (irreps.dim,) in the dtype of ``points`` (float64 for NumPy input).
    """
    irreps = o3.Irreps(irreps)
    pts = torch.as_tensor(np.asarray(points, dtype=float)) if not isinstance(points, torch.Tensor) else points
    r = pts.norm(dim=-1, keepdim=True)
    out = []
    for mul, ir in irreps:
        if ir.p == (-1) ** ir.l:
            y = (r * o3.spherical_harmonics(ir.l, pts, normalize=True, normalization="component")).sum(0)
        else:
            y = pts.new_zeros(ir.dim)
        out.append(y.repeat(mul))
    return torch.cat(out)
