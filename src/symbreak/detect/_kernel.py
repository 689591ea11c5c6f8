r"""Inversion kernels of O(3) on point clouds: every transformation that brings a structure to its canonical pose.

With the canonical frame F of :attr:`Symmetry.frame` (columns: canonical axes) the canonical pose
is :math:`c(x) = F^\top (x - \bar x)`. The transformations g with :math:`g (x - \bar x) = c(x)`
(atoms relabelled) form the coset

.. math:: K(x) = \{ F^\top h : h \in \mathrm{Stab}(x) \},

one element per symmetry operation h of the structure. Lawrence et al. (SymPE, ICLR 2025) sample
:math:`\tilde g` uniformly from it: the law of the draw is equivariant, :math:`K(gx) = K(x)\,g^{-1}`,
so for a fixed vector v in the canonical frame the encoding :math:`\tilde g^{-1} v` of ``gx`` is
distributed as g times that of x, while a single draw breaks the structure's symmetry.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._errors import SymbreakError

__all__ = ["inversion_kernel", "sample_inversion_kernel"]


def _frame_and_stabilizer(sym: Any, proper: bool) -> tuple[np.ndarray, np.ndarray]:
    frame = getattr(sym, "frame", None)
    if frame is None:
        raise SymbreakError("an inversion kernel needs the structure's canonical frame: give a symbreak.Symmetry (detect_symmetry)")
    ops = np.asarray(sym.operations, dtype=float)
    if proper:
        ops = ops[np.linalg.det(ops) > 0]
    return np.asarray(frame, dtype=float), ops


def inversion_kernel(sym: Any, *, proper: bool = False) -> np.ndarray:
    """Every element of the coset :math:`K(x) = F^\\top \\mathrm{Stab}(x)`: ``(|G|, 3, 3)``.

    sym: the structure's :class:`~symbreak.Symmetry`; proper: only the stabilizer's rotations
    (a model equivariant to rotations only). Each g maps ``sym.positions - sym.center`` onto
    ``sym.canonical_positions`` up to a relabelling of the atoms.
    """
    frame, ops = _frame_and_stabilizer(sym, proper)
    return np.einsum("ji,gjk->gik", frame, ops)


def sample_inversion_kernel(sym: Any, size: int = 1, *, seed: int | np.random.Generator | None = 0, proper: bool = False) -> np.ndarray:
    """``size`` draws, uniform and independent, from :func:`inversion_kernel`: (size, 3, 3). Seeded."""
    if size < 1:
        raise ValueError(f"size must be ≥ 1, got {size}")
    kernel = inversion_kernel(sym, proper=proper)
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    return kernel[rng.integers(len(kernel), size=size)]
