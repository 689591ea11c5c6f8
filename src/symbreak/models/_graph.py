r"""Graphs in plain torch: fully connected and radius graphs, DimeNet triplets.

No torch-cluster / torch-sparse: PyPI serves them only as source here, and these graphs are small.
Edges follow PyG's ``source_to_target`` flow: ``edge_index[0]`` is the sender j, ``edge_index[1]``
the receiver i, and a message :math:`m_{j \to i}` uses :math:`\mathbf r_{ij} = \mathbf x_j - \mathbf x_i`.
"""

from __future__ import annotations

import torch

__all__ = ["fully_connected_edges", "radius_edges", "periodic_radius_edges", "structure_edges", "triplets", "edge_vectors"]


def _blocks(batch: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Molecules as blocks padded to the largest: (first atom of each (B,), atom count (B,), valid pairs (B, n, n)).

    Pairs are formed inside molecules only, so memory grows with B·n², not with N² of the whole
    batch (a batch of many rotated copies would not fit otherwise). ``batch`` must be sorted.
    """
    counts = torch.bincount(batch)
    ptr = torch.cumsum(counts, 0) - counts
    n = int(counts.max())
    local = torch.arange(n, device=batch.device)
    valid = local[None, :] < counts[:, None]
    return ptr, counts, valid[:, :, None] & valid[:, None, :]


#: molecules larger than this get their radius graph from a k-d tree (memory O(E), not O(n²));
#: it runs on the CPU, so a GPU batch pays one round trip
_TREE_ATOMS = 4096


def _largest_molecule(batch: torch.Tensor) -> int:
    return int(torch.bincount(batch).max()) if len(batch) else 0


def _tree_pairs(pos: torch.Tensor, batch: torch.Tensor, cutoff: float, self_loops: bool) -> torch.Tensor:
    """Same-molecule pairs within ``cutoff`` from a k-d tree, in the order of the dense scan
    (receiver, then sender): the edges the dense path would give, without an (n, n) matrix."""
    import numpy as np
    from scipy.spatial import cKDTree

    x = pos.detach().cpu().double().numpy()
    b = batch.cpu().numpy()
    pairs = cKDTree(x).query_pairs(cutoff, output_type="ndarray")
    pairs = pairs[b[pairs[:, 0]] == b[pairs[:, 1]]]
    both = np.concatenate([pairs, pairs[:, ::-1]]) if len(pairs) else np.zeros((0, 2), dtype=np.int64)
    if self_loops:
        both = np.concatenate([both, np.repeat(np.arange(len(x))[:, None], 2, axis=1)])
    receiver, sender = both[:, 0], both[:, 1]
    keep = np.lexsort((sender, receiver))
    edge = np.stack([sender[keep], receiver[keep]])
    return torch.as_tensor(edge, dtype=torch.long, device=pos.device)


def _dense_is_smaller(batch: torch.Tensor) -> bool:
    """Per-molecule blocks cost B·n_max² pairs, the whole batch N²: one large molecule among small
    ones makes the blocks the bigger of the two."""
    counts = torch.bincount(batch)
    return len(counts) * int(counts.max()) ** 2 > len(batch) ** 2


def _dense_pairs(batch: torch.Tensor, close: torch.Tensor | None, self_loops: bool) -> torch.Tensor:
    """edge_index of same-molecule pairs from the whole batch's (N, N) matrix, in the blocks' order."""
    mask = batch[:, None] == batch[None, :]
    if close is not None:
        mask = mask & close
    if not self_loops:
        mask.fill_diagonal_(False)
    receiver, sender = mask.nonzero(as_tuple=True)
    return torch.stack([sender, receiver])


def _sorted(batch: torch.Tensor) -> tuple[torch.Tensor | None, torch.Tensor]:
    """(order, sorted batch); order None when it is sorted already (PyG's batches: the common case)."""
    if len(batch) < 2 or not bool((batch[1:] < batch[:-1]).any()):
        return None, batch
    order = torch.argsort(batch, stable=True)
    return order, batch[order]


def _unsort(order: torch.Tensor | None, edge_index: torch.Tensor) -> torch.Tensor:
    return edge_index if order is None else order[edge_index]


def _pairs(ptr: torch.Tensor, mask: torch.Tensor, self_loops: bool) -> torch.Tensor:
    """edge_index (2, E) of the pairs in ``mask`` (B, n, n), indexed (molecule, receiver, sender),
    in the order of a row-major scan of the whole batch's (receiver, sender) matrix."""
    if not self_loops:
        mask = mask & ~torch.eye(mask.shape[-1], dtype=torch.bool, device=mask.device)[None]
    mol, receiver, sender = mask.nonzero(as_tuple=True)
    return torch.stack([ptr[mol] + sender, ptr[mol] + receiver])


def fully_connected_edges(batch: torch.Tensor, *, self_loops: bool = False) -> torch.Tensor:
    r"""All ordered pairs (j, i) of atoms in the same molecule.

    batch: (N,) long, molecule index of each atom (sorted). Returns edge_index: (2, E) long.

    >>> fully_connected_edges(torch.tensor([0, 0, 1])).tolist()
    [[1, 0], [0, 1]]
    """
    order, batch = _sorted(batch)
    if _dense_is_smaller(batch):
        return _unsort(order, _dense_pairs(batch, None, self_loops))
    ptr, _, valid = _blocks(batch)
    return _unsort(order, _pairs(ptr, valid, self_loops))


def radius_edges(pos: torch.Tensor, batch: torch.Tensor, cutoff: float, *, self_loops: bool = False) -> torch.Tensor:
    r"""Pairs (j, i) in the same molecule with :math:`\|\mathbf x_j - \mathbf x_i\| < r_c`.

    pos: (N, 3); batch: (N,) sorted; cutoff in Å. Returns (2, E). Dense per molecule,
    O(B·n²): meant for molecules, not for periodic crystals.
    """
    if cutoff <= 0:
        raise ValueError(f"cutoff must be positive, got {cutoff}")
    order, batch = _sorted(batch)
    if order is not None:
        pos = pos[order]
    if _largest_molecule(batch) > _TREE_ATOMS:
        return _unsort(order, _tree_pairs(pos, batch, cutoff, self_loops))
    if _dense_is_smaller(batch):
        return _unsort(order, _dense_pairs(batch, torch.cdist(pos.detach(), pos.detach()) < cutoff, self_loops))
    ptr, counts, valid = _blocks(batch)
    n = valid.shape[-1]
    index = (ptr[:, None] + torch.arange(n, device=pos.device)[None, :]).clamp_max(len(pos) - 1)  # (B, n); padding reads a real atom, masked below
    padded = pos.detach()[index]  # (B, n, 3)
    close = torch.cdist(padded, padded) < cutoff
    return _unsort(order, _pairs(ptr, valid & close, self_loops))


def periodic_radius_edges(pos: torch.Tensor, batch: torch.Tensor, cutoff: float, cell: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Radius graph with periodic images: pairs (j, i) and shifts :math:`\mathbf s` (E, 3) with
    :math:`\|\mathbf x_j + \mathbf s - \mathbf x_i\| < r_c`, :math:`\mathbf s = \mathbf n \cdot \mathrm{cell}`.

    cell: (B, 3, 3), rows the lattice vectors (ASE's convention); a structure whose cell is all
    zeros (or ``cell=None``) is not periodic. Every image within the cutoff counts, so an atom can
    see several images of the same neighbour, and itself, when the cell is small. The shifts do
    not depend on positions: gradients with respect to ``pos`` are the forces.
    """
    if cutoff <= 0:
        raise ValueError(f"cutoff must be positive, got {cutoff}")
    if cell is None or not bool((cell.abs().sum((1, 2)) > 0).any()):
        edge = radius_edges(pos, batch, cutoff)
        return edge, pos.new_zeros((edge.shape[1], 3))
    senders, receivers, shifts = [], [], []
    counts = torch.bincount(batch, minlength=len(cell))
    ptr = torch.cumsum(counts, 0) - counts
    x_all = pos.detach()
    for b in range(len(cell)):
        x = x_all[ptr[b] : ptr[b] + counts[b]]
        c = cell[b].to(x.dtype)
        offset = torch.zeros_like(x)
        if float(c.abs().sum()) == 0.0:
            images = x.new_zeros((1, 3))
        else:
            # wrap into the cell first (atoms of an MD run drift out of it); the offsets go into the shifts
            frac = x @ torch.linalg.inv(c)
            offset = -torch.floor(frac) @ c
            x = x + offset
            # widths of the cell between opposite faces: how many images the cutoff reaches
            normals = torch.linalg.inv(c).T
            width = 1.0 / normals.norm(dim=1)
            reach = [int(torch.ceil(cutoff / w)) for w in width]
            grid = torch.cartesian_prod(*[torch.arange(-r, r + 1, device=x.device, dtype=x.dtype) for r in reach])
            images = grid @ c
        d = (x[None, :, None, :] + images[:, None, None, :] - x[None, None, :, :]).norm(dim=-1)  # (S, j, i)
        close = d < cutoff
        zero = (images.abs().sum(1) == 0).nonzero()
        if len(zero):
            close[zero[0, 0]].fill_diagonal_(False)
        s, j, i = close.nonzero(as_tuple=True)
        order = torch.argsort(i * len(x) + j, stable=True)  # receiver-major, like radius_edges
        senders.append(j[order] + ptr[b])
        receivers.append(i[order] + ptr[b])
        shifts.append(images[s[order]] + offset[j[order]] - offset[i[order]])
    return torch.stack([torch.cat(senders), torch.cat(receivers)]), torch.cat(shifts).to(pos.dtype)


def structure_edges(pos: torch.Tensor, batch: torch.Tensor, cutoff: float, data: object = None) -> tuple[torch.Tensor, torch.Tensor]:
    r"""The radius graph of a batch, periodic where the batch carries a cell: edges (2, E) and the
    shift (E, 3) to add to each sender, so :math:`\mathbf r_{ij} = \mathbf x_j + \mathbf s - \mathbf x_i`.

    data: the batch; its ``cell`` ((B, 3, 3) or (3B, 3), rows the lattice vectors, zeros for a
    molecule) makes the graph periodic. Without one the shifts are zero and the edges are
    :func:`radius_edges`.
    """
    cell = getattr(data, "cell", None)
    if cell is None:
        edge = radius_edges(pos, batch, cutoff)
        return edge, pos.new_zeros((edge.shape[1], 3))
    return periodic_radius_edges(pos, batch, cutoff, cell.to(pos.device).reshape(-1, 3, 3))


def edge_vectors(pos: torch.Tensor, edge_index: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Edge vectors :math:`\mathbf r_{ij} = \mathbf x_j - \mathbf x_i` (E, 3) and lengths (E,)."""
    vec = pos[edge_index[0]] - pos[edge_index[1]]
    return vec, vec.norm(dim=-1)


def triplets(edge_index: torch.Tensor, num_nodes: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    r"""DimeNet's triplets: pairs of edges :math:`k \to j` and :math:`j \to i` with :math:`k \ne i`.

    Returns ``(idx_kj, idx_ji, (i, j, k))``: indices into the edges of the incoming edge k→j and
    the outgoing edge j→i of every triplet, and the three atom indices (each (T,)).

    >>> e = torch.tensor([[0, 1, 1, 2], [1, 0, 2, 1]])  # a path 0-1-2, both directions
    >>> kj, ji, _ = triplets(e, 3)
    >>> sorted(zip(kj.tolist(), ji.tolist()))  # 0→1→2 and 2→1→0
    [(0, 2), (3, 1)]
    """
    sender, receiver = edge_index
    order = torch.argsort(receiver, stable=True)
    counts = torch.bincount(receiver, minlength=num_nodes)
    ptr = torch.cumsum(counts, 0) - counts  # first incoming edge of each node, in `order`
    # for every edge j→i, every edge k→j entering its sender j
    n_in = counts[sender]
    idx_ji = torch.repeat_interleave(torch.arange(len(sender), device=sender.device), n_in)
    start = torch.repeat_interleave(ptr[sender], n_in)
    local = torch.arange(len(idx_ji), device=sender.device) - torch.repeat_interleave(torch.cumsum(n_in, 0) - n_in, n_in)
    idx_kj = order[start + local]
    i, j, k = receiver[idx_ji], sender[idx_ji], sender[idx_kj]
    keep = k != i
    return idx_kj[keep], idx_ji[keep], (i[keep], j[keep], k[keep])
