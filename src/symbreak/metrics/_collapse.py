r"""Collapse: a prediction with fewer distinct vectors than its target.

The paper's one-sided Chamfer distance :math:`\sum_{p \in P} \min_{t \in T} \|p - t\|^2` is 0 when
every atom predicts the *same* target vector; trained models find that minimum. Counting the
distinct vectors of a prediction and of its target exposes it, whatever the score says.
"""

from __future__ import annotations

import numpy as np
import torch

__all__ = ["distinct_vectors", "is_collapsed"]


def distinct_vectors(x: torch.Tensor | np.ndarray, tol: float) -> int:
    r"""Number of distinct rows of ``x`` (n, d): connected components of the graph :math:`\|x_i - x_j\| \le` ``tol``.

    >>> distinct_vectors(np.array([[0.0, 0], [0, 1e-4], [1, 0]]), 1e-3)
    2
    """
    from scipy.sparse.csgraph import connected_components

    if not tol >= 0.0:
        raise ValueError(f"tol must be a non-negative distance, got {tol}")
    a = x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)
    if a.ndim != 2 or len(a) == 0:
        raise ValueError(f"need an (n, d) array with n ≥ 1, got shape {a.shape}")
    close = np.linalg.norm(a[:, None] - a[None], axis=-1) <= tol
    return int(connected_components(close, directed=False)[0])


def is_collapsed(pred: torch.Tensor | np.ndarray, target: torch.Tensor | np.ndarray, *, rel_tol: float = 0.1) -> bool:
    r"""Whether ``pred`` (n, d) has fewer distinct vectors than ``target`` (n, d).

    Vectors closer than ``rel_tol`` times the root-mean-square norm of the target count as one, in
    both sets (a zero target is never collapsed upon).

    >>> y = np.array([[0.0, 0.5, 0], [0.4, -0.2, 0], [-0.4, -0.2, 0]])
    >>> is_collapsed(np.repeat(y[:1], 3, 0), y), is_collapsed(y[[1, 0, 2]], y)
    (True, False)
    """
    t = target.detach().cpu().numpy() if isinstance(target, torch.Tensor) else np.asarray(target)
    scale = float(np.sqrt(np.mean(np.sum(t**2, axis=-1))))
    if scale == 0.0:
        return False
    tol = rel_tol * scale
    return distinct_vectors(pred, tol) < distinct_vectors(t, tol)
