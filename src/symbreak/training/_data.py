r"""Batches for training: PyG collation plus the symmetries as tensors, in torch DataLoader's seeded order."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

__all__ = ["collate", "batches"]


def collate(graphs: list[Any]) -> Any:
    """PyG's batch of ``graphs``, plus every element of their symmetry groups as tensors (``sym_ops``
    (T, 3, 3), ``sym_perms`` (T, N), ``sym_owner`` (T,), see :func:`symbreak.metrics.pad_symmetries`) when they carry ``sym``: the NumPy work of the symmetry-breaking losses
    happens here, in the data pipeline, and the batch moves to any device with them."""
    from torch_geometric.data import Batch

    from ..metrics import pad_symmetries

    with torch.device("cpu"):  # the data pipeline runs on the CPU whatever the default device; fit() moves batches
        batch = Batch.from_data_list(graphs)
    if all(getattr(g, "sym", None) is not None for g in graphs):
        ops, perms, owner = pad_symmetries([g.sym for g in graphs], [g.num_nodes for g in graphs])
        batch.sym_ops, batch.sym_perms, batch.sym_owner = (torch.as_tensor(x, device="cpu") for x in (ops, perms, owner))
        batch.sym_max_order = int(np.bincount(owner).max())  # known here, so the loss need not ask the device
    return batch


class _Batches:
    """Batches of ``graphs`` in torch DataLoader's seeded order, without its machinery.

    Each pass with ``shuffle`` makes the draws a ``DataLoader(shuffle=True, generator=gen)`` makes
    (a base seed, a permutation, and a second one its sampler draws and discards), so the batches — and every published number trained on
    them — stay the same; drawn on the CPU whatever the default device.
    """

    def __init__(self, graphs: Sequence[Any], batch_size: int, shuffle: bool, seed: int, shard: tuple[int, int] | None = None) -> None:
        self.graphs, self.batch_size, self.shuffle = list(graphs), batch_size, shuffle
        self.generator = torch.Generator(device="cpu").manual_seed(seed)
        self.rank, self.world = shard or (0, 1)
        if not 0 <= self.rank < self.world:
            raise ValueError(f"shard (rank, world) needs 0 ≤ rank < world, got {shard}")

    def __len__(self) -> int:
        return -(-len(self.graphs) // self.batch_size)

    def __iter__(self) -> Any:
        n = len(self.graphs)
        order = range(n)
        if self.shuffle:
            torch.empty((), dtype=torch.int64, device="cpu").random_(generator=self.generator)  # DataLoader's base-seed draw
            order = torch.randperm(n, generator=self.generator, device="cpu").tolist()
            torch.randperm(n, generator=self.generator, device="cpu")  # RandomSampler's draw for its (empty) remainder
        order = list(order)
        for start in range(0, n, self.batch_size):
            members = order[start : start + self.batch_size]
            # data-parallel: every process draws the same global batch and keeps its contiguous share
            share = -(-len(members) // self.world)
            yield collate([self.graphs[i] for i in members[self.rank * share : (self.rank + 1) * share]])


def batches(graphs: Sequence[Any], batch_size: int, shuffle: bool, seed: int, shard: tuple[int, int] | None = None) -> Any:
    """An iterable of collated batches of ``graphs`` (each pass reshuffled when ``shuffle``, seeded), with a length.

    shard: (rank, world) for data-parallel training: every process draws the same global batches of
    ``batch_size`` and keeps the rank-th of ``world`` contiguous shares of each.
    """
    return _Batches(graphs, batch_size, shuffle, seed, shard)

