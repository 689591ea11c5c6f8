r"""Set-valued outputs (a symmetry-breaking set fed element by element) against the target's images.

A model fed every element b of an equivariant symmetry-breaking set returns a *set*
:math:`\{f(x, b)\}_b`; the right answer is also a set, the images :math:`\{g \cdot y\}_{g \in G}`
of the target under the input's group. With :math:`d_{bg} = m(f(x, b), g \cdot y)` for a metric m
(the atom-matched MSE by default), two numbers say how well one set matches the other:

* ``fit`` :math:`= \frac1{|B|} \sum_b \min_g d_{bg}`: each output is a valid answer (the
  symmetry-breaking measure, averaged over the set);
* ``cover`` :math:`= \frac1{|G|} \sum_g \min_b d_{bg}`: every valid answer is produced by some
  element (what an equivariant set buys over a single symmetry-breaking input);
* ``best`` :math:`= \min_{b, g} d_{bg}`: the best of the set's outputs (for a random breaker such as
  SymPE, "best of the draws"; ``fit`` is then the expected error of one draw).
"""

from __future__ import annotations

from typing import Any

import torch

from ._sbm import METRICS, transform_labels

__all__ = ["set_breaking_measures"]


def set_breaking_measures(outputs: torch.Tensor, target: torch.Tensor, operations: Any, permutations: Any, *, kind: str = "vectors", metric: str = "mse") -> dict[str, float]:
    """``fit``, ``cover`` and ``best`` (see the module docstring) of one structure's set of outputs.

    outputs: (m, n, d), one prediction per set element; target: (n, d); operations (k, 3, 3) and
    permutations (k, n): the input's group, as in :func:`transform_labels`.
    """
    if outputs.ndim != 3 or outputs.shape[1:] != target.shape:
        raise ValueError(f"outputs must be (m, {', '.join(map(str, target.shape))}), got {tuple(outputs.shape)}")
    if metric not in METRICS:
        raise ValueError(f"unknown metric {metric!r}; choose from {', '.join(sorted(METRICS))}")
    images = transform_labels(target.to(outputs.dtype), operations, permutations, kind)  # (k, n, d)
    m, k = len(outputs), len(images)
    d = METRICS[metric](outputs[:, None].expand(m, k, *target.shape), images[None].expand(m, k, *target.shape))  # (m, k)
    return {"fit": float(d.min(dim=1).values.mean()), "cover": float(d.min(dim=0).values.mean()), "best": float(d.min())}
