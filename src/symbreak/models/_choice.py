r"""Inputs that give each structure one element of a per-structure finite set: a symmetry-breaking
set (``+sbs``), an inversion kernel (``+sympe``).

The sets of a batch live stacked, (Σ m_b, ...), with their sizes (B,): computed once per structure
by ``prepare_data`` (PyG concatenates them when batching) or on the fly. Training draws an index
per structure from a seeded CPU generator (moved to the device: no read-back from it); evaluation
takes a fixed index (``element``) or a fixed seeded draw, one per evaluation draw number
(:class:`~symbreak.models._inputs.RandomDraws`: validation and test get different ones);
:meth:`ChoiceInput.choosing` fixes the index for a block of code, so a caller can run every
element (:func:`symbreak.models.sbs_outputs`).
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch
from torch import nn

from ._inputs import RandomDraws, declare_derived

__all__ = ["ChoiceInput", "every_choice"]


class FixedChoice:
    """``with module.choosing(k):`` every structure (or graph) takes element k of its set (modulo
    the set's size) instead of a draw: how a set-valued input's whole law is enumerated. The
    module sets ``self._choice = None`` in its constructor and reads it when it picks."""

    _choice: int | None = None

    @contextlib.contextmanager
    def choosing(self, index: int) -> Iterator[None]:
        """Within the block, every structure gets the element of this index (modulo its set's size)."""
        self._choice = int(index)
        try:
            yield
        finally:
            self._choice = None


class ChoiceInput(FixedChoice, RandomDraws, nn.Module):
    """Base of the inputs that pick one element of a per-structure set (see the module docstring).

    element: the index evaluation uses, or None for a fixed draw seeded by ``seed`` and ``draw``
    (the same on every call, :meth:`~symbreak.models._inputs.RandomDraws.eval_generator`). seed:
    of the training draws.
    """

    #: whether the elements together are the input (a set, a law) whose outputs are scored as a set
    set_valued = True

    #: the batch attributes :meth:`prepare_data` stores (the stacked sets, their sizes): declared
    #: derived from the positions when a subclass is defined (:func:`~symbreak.models._inputs.declare_derived`),
    #: so they are dropped when the positions change
    prepared: tuple[str, str] = ("", "")

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        declare_derived(*(key for key in cls.prepared if key))

    def __init__(self, *, element: int | None = 0, seed: int = 0, tol: float = 0.1) -> None:
        super().__init__()
        self.element, self.seed, self.tol = None if element is None else int(element), int(seed), float(tol)
        self._generator = torch.Generator().manual_seed(self.seed)
        self._choice: int | None = None

    def symmetries(self, data: Any) -> list[Any]:
        """Each structure's symmetry record: the batch's ``sym``, else detected at ``tol`` (NumPy, once
        per structure when the data set is prepared; on the fly for a batch that is not)."""
        from ._inputs import read_inputs

        syms = getattr(data, "sym", None)
        if syms is not None:
            return list(syms) if isinstance(syms, (list, tuple)) else [syms]
        from ..detect import detect_symmetry

        inputs = read_inputs(data)
        pos, z, batch = inputs.pos.detach().cpu().numpy(), inputs.z.cpu().numpy(), inputs.batch.cpu().numpy()
        return [detect_symmetry(pos[batch == b], z[batch == b], tol=self.tol) for b in range(inputs.num_graphs)]

    def elements(self, data: Any) -> list[np.ndarray]:  # pragma: no cover - abstract
        """Each structure's set as an array (m_b, ...) in its frame."""
        raise NotImplementedError

    def stacked(self, data: Any) -> tuple[torch.Tensor, torch.Tensor]:
        """The batch's sets stacked (Σ m_b, ...) and their sizes (B,), on the positions' device: the
        prepared ones when the batch carries them, else computed; an empty set is one zero element."""
        from ._inputs import read_inputs

        ready = [getattr(data, key, None) for key in self.prepared]
        if all(isinstance(t, torch.Tensor) for t in ready):
            return ready[0], ready[1].reshape(-1)
        sets = [s if len(s) else np.zeros((1, *s.shape[1:])) for s in self.elements(data)]
        pos = read_inputs(data).pos
        return torch.as_tensor(np.concatenate(sets), dtype=pos.dtype, device=pos.device), torch.tensor([len(s) for s in sets], device=pos.device)

    def prepare_data(self, data: Any) -> Any:
        """A copy of the structure with its set stored in it, computed once when the data set is built."""
        prepared = copy.copy(data)
        for key in self.prepared:
            if hasattr(prepared, key):
                delattr(prepared, key)
        for key, value in zip(self.prepared, self.stacked(prepared)):
            setattr(prepared, key, value)
        return prepared

    def pick(self, stacked: torch.Tensor, sizes: torch.Tensor, choice: torch.Tensor | list[int] | None = None) -> torch.Tensor:
        """One row of ``stacked`` (Σ m_b, ...) per structure: (B, ...)."""
        sizes = sizes.to(stacked.device)
        if choice is None and self._choice is not None:
            choice = [self._choice] * len(sizes)
        if choice is not None:
            index = torch.as_tensor(choice, device=stacked.device) % sizes
        elif self.training or self.element is None:
            gen = self._generator if self.training else self.eval_generator()
            # drawn on the CPU (where the generator lives) whatever the default device, then moved
            draw = torch.rand(len(sizes), generator=gen, dtype=torch.float64, device="cpu").to(stacked.device)
            index = (draw * sizes).long().clamp_max(sizes - 1)
        else:
            index = torch.full_like(sizes, self.element) % sizes
        start = torch.cumsum(sizes, 0) - sizes
        return stacked[start + index]

    def set_sizes(self, data: Any) -> torch.Tensor:
        """(B,) how many elements each structure's set has."""
        return self.stacked(data)[1]


def every_choice(model: nn.Module, data: Any, kind: type = ChoiceInput) -> list[torch.Tensor]:
    """The model's output for every element of each structure's set: one (m_b, n_b, d) tensor per
    structure. model: a model whose input (``model.source``) is a ``kind``."""
    from ._inputs import read_inputs

    source = getattr(model, "source", None)
    if not isinstance(source, kind):
        raise TypeError(f"needs a model whose input is a {kind.__name__} ('<model>+sbs', '<model>+sympe'), got {type(model).__name__}")
    sizes = source.set_sizes(data)
    batch = read_inputs(data).batch
    runs = []
    for k in range(int(sizes.max())):
        with source.choosing(k):
            runs.append(model(data))
    out = torch.stack(runs)  # (max m, N, d)
    return [out[: int(m), batch == b] for b, m in enumerate(sizes.tolist())]
