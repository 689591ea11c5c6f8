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
fingerprint (per-type moments of degree 1 to 4, compared with a tolerance) wins. Two candidates
with equal fingerprints give the same typed point set exactly when they differ by a symmetry
operation, so which of them is taken does not matter: the canonical positions are identical for
every rotation, reflection, translation and permutation of the input.
"""

from __future__ import annotations

import numpy as np

from ..groups import PointGroup

__all__ = ["canonical_frame"]

_EXPONENTS = np.array(
    [(a, b, d - a - b) for d in range(1, 5) for a in range(d, -1, -1) for b in range(d - a, -1, -1)],
    dtype=np.int64,
)
_DEGREE = _EXPONENTS.sum(axis=1)


def _fingerprints(x: np.ndarray, types: np.ndarray, frames: np.ndarray) -> np.ndarray:
    """Per-type moments of the canonical positions for each candidate frame: (C, n_features)."""
    scale = float(np.linalg.norm(x, axis=1).max()) or 1.0
    p = np.einsum("ni,cij->cnj", x / scale, frames)  # (C, n, 3)
    powers = [np.ones_like(p[..., 0])]
    mono = np.empty(p.shape[:2] + (len(_EXPONENTS),))
    pw = [[powers[0]] + [None] * 4 for _ in range(3)]
    for ax in range(3):
        for e in range(1, 5):
            pw[ax][e] = pw[ax][e - 1] * p[..., ax]
    for m, (ea, eb, ec) in enumerate(_EXPONENTS):
        mono[..., m] = pw[0][ea] * pw[1][eb] * pw[2][ec]
    _, codes = np.unique(types, return_inverse=True)
    onehot = np.eye(codes.max() + 1)[codes]  # (n, T)
    feats = np.einsum("cnm,nt->cmt", mono, onehot)  # (C, M, T): degree-major, then type
    return feats.reshape(len(frames), -1)


def _select(feats: np.ndarray, eps: float = 1e-8) -> int:
    """Index of the lexicographic maximum, treating differences below ``eps`` as ties."""
    alive = np.arange(len(feats))
    for col in range(feats.shape[1]):
        v = feats[alive, col]
        alive = alive[v >= v.max() - eps]
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
        e2s = np.cross(e3, e1s)
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
        e3s = np.cross(e1s, e2s)
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
) -> np.ndarray:
    """The canonical frame (3, 3) of the centred structure ``x`` (n, 3) with symmetry ``group``.

    ``orientation`` maps the group's standard orientation onto the structure's symmetry elements.
    The columns of the frame are the canonical axes: canonical positions are ``x @ frame``.
    With ``proper=True`` only rotations are used (det = +1), so enantiomers stay distinct.
    """
    if group.family == "Kh":
        return np.eye(3)
    normalizer = group.normalizer()
    if normalizer is not None:
        frames = orientation @ normalizer.operations
    elif group.family in ("C1", "Ci"):
        frames = _atom_frames(x, tol)
    else:
        frames = _axial_frames(x, orientation[:, 2], tol)
    if proper:
        frames = frames[np.linalg.det(frames) > 0]
    return frames[_select(_fingerprints(x, types, frames))].copy()
