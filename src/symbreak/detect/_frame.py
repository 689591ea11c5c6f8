r"""The canonical frame: an orientation that depends only on the structure as a typed point set.

Candidate frames are built so that the *set* of candidates turns with the structure: rotating or
reflecting the input by ``g`` maps every candidate ``F`` to ``g F``, and permuting atoms changes
nothing. The candidates come from the structure's own symmetry elements where they pin the
orientation down, and from atoms where they do not:

* groups with a finite normalizer ``N`` in O(3) (``Cnv``, ``Dn``, ``Dnh``, ``Dnd``, cubic,
  icosahedral): the frames ``Q M`` for ``M ∈ N``, where ``Q`` maps the standard orientation onto
  the structure's symmetry elements (any valid ``Q`` gives the same set);
* groups with one axis and a continuous normalizer (``Cn``, ``Cnh``, ``S2n``, ``Cs`` and the linear
  groups): both senses of the axis, the direction to each atom farthest from the axis, both
  handednesses;
* ``C1`` and ``Ci``: the atoms farthest from the centre, then the atoms farthest from that line.

Among the candidates the frame whose canonical positions have the lexicographically largest
fingerprint (per-type moments of degree 1 and 2 and sums of Gaussians at fixed asymmetric probe
points, compared column by column in order of decreasing spread over the candidates) wins. Two candidates
with equal fingerprints give the same typed point set exactly when they differ by a symmetry
operation, so which of them is taken does not matter: the canonical positions are identical for
every rotation, reflection, translation and permutation of the input.
"""

from __future__ import annotations

import numpy as np

from ..groups import PointGroup
from ..groups._matrices import cross

__all__ = ["canonical_frame"]

# Fixed probe points with no symmetry: sums of Gaussians centred on them separate any two
# different point sets, where low-order moments cannot (for T, the first moment that tells two
# candidate frames apart has degree 6; for I, degree 15).
_PROBES = np.random.default_rng(1234567).uniform(-1.0, 1.0, size=(24, 3))
_PROBE_WIDTH2 = 0.35**2


def _fingerprints(x: np.ndarray, onehot: np.ndarray, frames: np.ndarray) -> np.ndarray:
    """Per-type invariant features of the canonical positions, per candidate frame: (C, F).

    First moments of degree 1 and 2 (robust to noise, decide most cases), then per-type sums of
    Gaussians at fixed asymmetric probe points (decide the rest).
    """
    scale = float(np.sqrt((x * x).sum(1).max())) or 1.0
    n = len(x)
    out = []
    step = max(1, 2_000_000 // (n * (12 + len(_PROBES))))  # a few candidates at a time: memory O(n)
    for start in range(0, len(frames), step):
        p1 = np.einsum("ni,cij->cnj", x / scale, frames[start : start + step])  # (C, n, 3)
        c = p1.shape[0]
        p2 = (p1[..., :, None] * p1[..., None, :]).reshape(c, n, 9)
        d2 = ((p1[:, :, None, :] - _PROBES[None, None]) ** 2).sum(-1)  # (C, n, P)
        feats = np.concatenate([p1, p2, np.exp(-d2 / _PROBE_WIDTH2)], axis=-1)
        out.append(np.einsum("cnm,nt->cmt", feats, onehot).reshape(c, -1))
    return np.concatenate(out)


def _select(feats: np.ndarray, eps: float = 1e-8, sortable: int | None = None) -> int | None:
    """Index of the lexicographic maximum, treating differences below ``eps`` as ties.

    The first ``sortable`` columns (all by default) are compared in order of decreasing spread
    over the candidates (rounded, so that copies of one structure order them alike), not in their
    fixed order: on a nearly symmetric structure the fixed first column may tell the candidates
    apart only by noise (the first moment of an atom near the centre), and then a 0.001 Å
    perturbation flips the frame. Deciding on the column where the candidates differ most keeps
    the canonical form of 412 of the 440 symmetry-breaking dipole structures within 0.02 Å under
    0.001 Å noise, against 378 in fixed order.

    For every pair the first column where they differ by more than ``eps`` decides; the first
    candidate that no other beats wins (candidates tied on every column are equivalent). None when
    every candidate is beaten: differences at the level of the structure's own asymmetry made the
    comparisons circular, and the caller decides on the symmetrized structure instead.
    """
    if len(feats) == 1:
        return 0
    k = feats.shape[1] if sortable is None else sortable
    spread = np.round(feats[:, :k].max(axis=0) - feats[:, :k].min(axis=0), 6)
    feats = np.concatenate([feats[:, :k][:, np.argsort(-spread, kind="stable")], feats[:, k:]], axis=1)
    diff = feats[:, None, :] - feats[None, :, :]
    differs = np.abs(diff) > eps
    first = np.argmax(differs, axis=2)
    decided = np.take_along_axis(diff, first[..., None], axis=2)[..., 0]
    beats = differs.any(axis=2) & (decided > 0)  # beats[i, j]: i is larger than j
    unbeaten = np.flatnonzero(~beats.any(axis=0))
    return int(unbeaten[0]) if len(unbeaten) else None


def _filtered(feats: np.ndarray, eps: float = 1e-8) -> int:
    """The lexicographic maximum by successive filtering (never circular): keep the candidates
    within ``eps`` of the best in each column, in order of decreasing spread."""
    spread = np.round(feats.max(axis=0) - feats.min(axis=0), 6)
    alive = np.arange(len(feats))
    for col in np.argsort(-spread, kind="stable"):
        values = feats[alive, col]
        alive = alive[values >= values.max() - eps]
        if len(alive) == 1:
            break
    return int(alive[0])


def _window(values: np.ndarray, tol: float) -> np.ndarray:
    return np.flatnonzero(values >= values.max() - tol)


def _axial_frames(x: np.ndarray, axis: np.ndarray, tol: float) -> np.ndarray:
    """Frames with z = ±axis and x towards an atom farthest from the axis: (C, 3, 3)."""
    perp_vec = x - np.outer(x @ axis, axis)
    perp = np.linalg.norm(perp_vec, axis=1)
    if perp.max() <= 1e-9 * (np.linalg.norm(x, axis=1).max() + 1.0):
        e1s = np.eye(3)[[int(np.argmin(np.abs(axis)))]]
        e1s = e1s - np.outer(e1s @ axis, axis)
    else:
        e1s = perp_vec[_window(perp, tol)]
    e1s = e1s / np.linalg.norm(e1s, axis=1, keepdims=True)
    frames = []
    for s in (1.0, -1.0):
        e3 = s * axis
        e2s = cross(np.broadcast_to(e3, e1s.shape), e1s)
        frames.append(np.stack([e1s, e2s, np.broadcast_to(e3, e1s.shape)], axis=-1))
        frames.append(np.stack([e1s, -e2s, np.broadcast_to(e3, e1s.shape)], axis=-1))
    return np.concatenate(frames)


def _atom_frames(x: np.ndarray, tol: float) -> np.ndarray:
    """Frames with x towards an atom farthest from the centre, y towards one farthest from that line."""
    r = np.linalg.norm(x, axis=1)
    frames = []
    for a in _window(r, tol):
        e1 = x[a] / r[a]
        perp_vec = x - np.outer(x @ e1, e1)
        perp = np.linalg.norm(perp_vec, axis=1)
        e2s = perp_vec[_window(perp, tol)]
        e2s = e2s / np.linalg.norm(e2s, axis=1, keepdims=True)
        e1s = np.broadcast_to(e1, e2s.shape)
        e3s = cross(e1s, e2s)
        frames.append(np.stack([e1s, e2s, e3s], axis=-1))
        frames.append(np.stack([e1s, e2s, -e3s], axis=-1))
    return np.concatenate(frames)


def canonical_frame(
    x: np.ndarray,
    types: np.ndarray,
    group: PointGroup,
    orientation: np.ndarray,
    *,
    tol: float,
    proper: bool = False,
    symmetrized: np.ndarray | None = None,
) -> np.ndarray:
    """The canonical frame (3, 3) of the centred structure ``x`` (n, 3) with symmetry ``group``.

    ``orientation`` maps the group's standard orientation onto the structure's symmetry elements.
    The columns of the frame are the canonical axes: canonical positions are ``x @ frame``.
    With ``proper=True`` only rotations are used (det = +1), so enantiomers stay distinct.
    ``symmetrized``: the centred, exactly symmetric structure (the group average of ``x``). When
    ``x``'s own tiny asymmetry makes the comparison of candidates circular (trimethylamine in G2,
    C3v to 1e-6 Å, took an arbitrary candidate and gave canonical forms 1.5 Å apart), the choice is
    made on it, where candidates related by the group tie exactly.
    """
    if group.family == "Kh":
        return np.eye(3)
    normalizer = group.normalizer()
    if normalizer is not None:
        # All of N, not one frame per coset G·M: for a structure that is only nearly symmetric,
        # Q·g·M and Q·M differ slightly, and which of them a copy would get depends on which Q
        # (among Q·G) was found. The set Q·N is the same for every such Q.
        frames = orientation @ normalizer.operations
    elif group.name in ("C1", "Ci"):
        frames = _atom_frames(x, tol)
    else:
        frames = _axial_frames(x, orientation[:, 2], tol)
    if proper:
        frames = frames[np.linalg.det(frames) > 0]
    _, codes = np.unique(types, return_inverse=True)
    onehot = np.eye(codes.max() + 1)[codes]
    # With symmetry, candidates differ by (nearly) broken operations and the column that separates
    # them most is the robust one to decide on; C1/Ci candidates are unrelated atom frames, where
    # the fixed order (first moments first) proved steadier under noise.
    sortable = 0 if group.name in ("C1", "Ci") else None
    chosen = _select(_fingerprints(x, onehot, frames), sortable=sortable)
    if chosen is None:
        exact = _fingerprints(x if symmetrized is None else symmetrized, onehot, frames)
        chosen = _select(exact, sortable=sortable)
        if chosen is None:
            chosen = _filtered(exact)
    return frames[chosen].copy()
