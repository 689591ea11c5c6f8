r"""Finding every symmetry operation of a centred, non-linear structure.

Every operation :math:`(R, \pi)` of the structure maps a chosen atom ``a`` onto an atom ``a'`` of
the same type at the same distance from the centre, and a second atom ``b`` (not collinear with
``a``) onto an atom ``b'`` with :math:`|a' - b'| \approx |a - b|`. Two non-collinear vectors fix
an orthogonal matrix up to its determinant, so enumerating the compatible pairs ``(a', b')`` and
both determinants yields a candidate set that contains every operation: the search is complete by
construction, not by guessing axes. Each candidate is matched atom by atom, refined by orthogonal
Procrustes with its determinant fixed, re-matched, and accepted when no atom moves more than
``tol``. The accepted set is closed under composition (exactly, on permutations).
"""

from __future__ import annotations

import numpy as np

from ..groups._matrices import cross

__all__ = ["find_operations", "close_operations", "procrustes", "max_displacement"]

_DENSE_LIMIT = 200_000  # above K·n·n entries a k-d tree beats dense distances
_SPARSE_ATOMS = 2000  # above this many atoms no (n, n) array is built (memory O(n), not O(n²))


def procrustes(x: np.ndarray, perms: np.ndarray, dets: np.ndarray) -> np.ndarray:
    r"""Best orthogonal :math:`R_k` with :math:`\det R_k = d_k` mapping ``x[i]`` onto ``x[perms[k, i]]``.

    x: (n, 3) centred positions; perms: (K, n); dets: (K,) of ±1. Returns (K, 3, 3).
    """
    h = np.einsum("kni,nj->kij", x[perms], x)
    u, _, vt = np.linalg.svd(h)
    s = dets * np.sign(np.linalg.det(u) * np.linalg.det(vt))
    u = u.copy()
    u[:, :, 2] *= s[:, None]
    return u @ vt


def max_displacement(x: np.ndarray, rots: np.ndarray, perms: np.ndarray) -> np.ndarray:
    """Largest ``|R x_i − x_{π(i)}|`` over atoms, per operation: (K,)."""
    return np.linalg.norm(np.einsum("kij,nj->kni", rots, x) - x[perms], axis=-1).max(axis=1)


def _nearest(images: np.ndarray, x: np.ndarray, types: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For images (K, n, 3) of atoms, the nearest atom of the same type and its distance: (K, n) each."""
    k, n, _ = images.shape
    if k * n * n <= _DENSE_LIMIT:
        penalty = np.where(types[:, None] == types[None, :], 0.0, np.inf)
        d2 = ((images[:, :, None, :] - x[None, None, :, :]) ** 2).sum(-1) + penalty
        idx = np.argmin(d2, axis=2)
        return idx, np.sqrt(np.take_along_axis(d2, idx[:, :, None], 2)[..., 0])
    from scipy.spatial import cKDTree

    # A fourth coordinate far apart per type keeps every match within its own type.
    _, codes = np.unique(types, return_inverse=True)
    big = 1e3 * (np.abs(x).max() + 1.0)
    tree = cKDTree(np.column_stack([x, codes * big]))
    idx, dist = np.empty((k, n), dtype=np.int64), np.empty((k, n))
    step = max(1, 500_000 // n)  # a few candidates at a time: the query's arrays stay O(n)
    for start in range(0, k, step):
        chunk = images[start : start + step]
        d, i = tree.query(np.column_stack([chunk.reshape(-1, 3), np.tile(codes * big, len(chunk))]))
        idx[start : start + step], dist[start : start + step] = i.reshape(len(chunk), n), d.reshape(len(chunk), n)
    return idx, dist


def _frames(u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Right-handed orthonormal frames (columns) from vector pairs (K, 3); also a validity mask."""
    e1 = u / np.linalg.norm(u, axis=-1, keepdims=True)
    w = v - (v * e1).sum(-1, keepdims=True) * e1
    nw = np.linalg.norm(w, axis=-1, keepdims=True)
    ok = nw[:, 0] > 1e-12
    e2 = w / np.where(nw > 1e-12, nw, 1.0)
    return np.stack([e1, e2, cross(e1, e2)], axis=-1), ok


def _base_pair(x: np.ndarray, r: np.ndarray, compat: np.ndarray, dist: np.ndarray, tol2: float) -> tuple[int, int]:
    """Pick atoms ``a`` and ``b`` that make few candidates and a well-conditioned frame."""
    far = r >= 0.5 * r.max()
    count = compat.sum(axis=1)
    # fewest compatible partners first, then farthest from the centre (better-conditioned rotation);
    # distances compared to 1e-8 Å, so that equivalent atoms tie and the first index wins on any
    # machine (the compiled core chooses the same atoms)
    a = int(np.lexsort((-np.round(r, 8), np.where(far, count, np.iinfo(np.int64).max)))[0])
    ua = x[a] / r[a]
    perp = np.linalg.norm(x - np.outer(x @ ua, ua), axis=1)
    wide = perp >= 0.5 * perp.max()
    partners = (compat & (np.abs(dist[a][None, :] - dist[a][:, None]) <= 2 * tol2)).sum(axis=1)
    b = int(np.lexsort((-np.round(perp, 8), np.where(wide, partners, np.iinfo(np.int64).max)))[0])
    return a, b


def _compatible_counts(types: np.ndarray, r: np.ndarray, tol2: float) -> np.ndarray:
    """For each atom, how many atoms of its type lie within ``tol2`` of its distance from the centre (itself included)."""
    counts = np.empty(len(r), dtype=np.int64)
    for t in np.unique(types):
        idx = np.flatnonzero(types == t)
        rs = np.sort(r[idx])
        counts[idx] = np.searchsorted(rs, r[idx] + tol2, side="right") - np.searchsorted(rs, r[idx] - tol2, side="left")
    return counts


def _candidate_pairs_sparse(x: np.ndarray, types: np.ndarray, r: np.ndarray, tol2: float) -> tuple[np.ndarray, np.ndarray, int, int]:
    """:func:`_base_pair` and the candidate images (a', b') without any (n, n) array: memory O(n).

    The same choice as the dense path, counted with sorted radii and k-d trees: atom ``a`` with the
    fewest partners among the far ones, ``b`` with the fewest (type, radius, distance-to-a)
    partners among those far from a's line; then every a' of a's type and radius, and every b' of
    b's type and radius at distance |a − b| from a' (within 2 tol).
    """
    from scipy.spatial import cKDTree

    far = r >= 0.5 * r.max()
    count = _compatible_counts(types, r, tol2)
    a = int(np.lexsort((-np.round(r, 8), np.where(far, count, np.iinfo(np.int64).max)))[0])
    ua = x[a] / r[a]
    perp = np.linalg.norm(x - np.outer(x @ ua, ua), axis=1)
    wide = perp >= 0.5 * perp.max()
    dist_a = np.linalg.norm(x - x[a], axis=1)
    partners = np.empty(len(x), dtype=np.int64)
    scaled = np.column_stack([r / tol2, dist_a / (2 * tol2)])
    for t in np.unique(types):  # |r_j − r_k| ≤ tol and |d(a, j) − d(a, k)| ≤ 2 tol: a Chebyshev ball of radius 1
        idx = np.flatnonzero(types == t)
        partners[idx] = cKDTree(scaled[idx]).query_ball_point(scaled[idx], r=1.0, p=np.inf, return_length=True)
    b = int(np.lexsort((-np.round(perp, 8), np.where(wide, partners, np.iinfo(np.int64).max)))[0])
    d_ab = dist_a[b]
    a_img = np.flatnonzero((types == types[a]) & (np.abs(r - r[a]) <= tol2))
    b_ok = (types == types[b]) & (np.abs(r - r[b]) <= tol2)
    tree = cKDTree(x)
    ia, ib = [], []
    for ap, near in zip(a_img, tree.query_ball_point(x[a_img], d_ab + 2 * tol2)):
        near = np.asarray(near, dtype=np.int64)
        near = near[b_ok[near] & (np.abs(np.linalg.norm(x[near] - x[ap], axis=1) - d_ab) <= 2 * tol2)]
        ia.append(np.full(len(near), ap))
        ib.append(np.sort(near))
    return np.concatenate(ia).astype(np.int64), np.concatenate(ib).astype(np.int64), a, b


def _closure(perms: list[np.ndarray], dets: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """Close a set of (permutation, det) pairs under composition: ``(p1∘p2)[i] = p1[p2[i]]``."""
    elements = {(p.tobytes(), d): (p, d) for p, d in zip(perms, dets)}
    gens = list(elements.values())
    frontier = list(elements.values())
    while frontier:
        new = []
        for p1, d1 in frontier:
            for p2, d2 in gens:
                p = p1[p2]
                key = (p.tobytes(), d1 * d2)
                if key not in elements:
                    elements[key] = (p, d1 * d2)
                    new.append((p, d1 * d2))
        frontier = new
    vals = list(elements.values())
    return np.stack([p for p, _ in vals]), np.array([d for _, d in vals], dtype=np.int64)


_WEIGHTS = np.random.default_rng(0).integers(1, 2**62, size=4096, dtype=np.int64)


def _hash_weights(n: int) -> np.ndarray:
    global _WEIGHTS
    if n > len(_WEIGHTS):
        _WEIGHTS = np.random.default_rng(0).integers(1, 2**62, size=2 * n, dtype=np.int64)
    return _WEIGHTS[:n]


def _is_closed(perms: np.ndarray, dets: np.ndarray) -> bool:
    """Whether every product of two (permutation, det) pairs is in the set (hashed, vectorised)."""
    weights = _hash_weights(perms.shape[1])
    keys = (perms @ weights) * 2 + (dets > 0)
    # products[i, j] = perms[i][perms[j]], a few rows i at a time: memory K·n per step, not K²·n
    step = max(1, 2_000_000 // max(perms.size, 1))
    for start in range(0, len(perms), step):
        products = perms[start : start + step][:, perms]
        pkeys = (products @ weights) * 2 + (np.multiply.outer(dets[start : start + step], dets) > 0)
        if not np.isin(pkeys, keys).all():
            return False
    return True


def find_operations(
    x: np.ndarray, types: np.ndarray, tol: float, dmin: float, dist: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """All operations of the centred, non-linear structure ``x`` (n, 3) within ``tol``.

    ``dist`` (n, n) is the interatomic distance matrix if the caller has it. Returns
    ``(rotations (k, 3, 3), permutations (k, n))`` fitted by Procrustes; the identity is included
    and the set is closed under composition.
    """
    n = len(x)
    tol2 = tol * (1.0 + 1e-9) + 1e-12
    r = np.sqrt((x * x).sum(1))
    if n > _SPARSE_ATOMS:
        ia, ib, a, b = _candidate_pairs_sparse(x, types, r, tol2)
    else:
        if dist is None:
            dist = np.sqrt(((x[:, None, :] - x[None, :, :]) ** 2).sum(-1))
        compat = (types[:, None] == types[None, :]) & (np.abs(r[:, None] - r[None, :]) <= tol2)
        a, b = _base_pair(x, r, compat, dist, tol2)
        a_img = np.flatnonzero(compat[a])
        ia, ib = np.nonzero(compat[b][None, :] & (np.abs(dist[a_img] - dist[a, b]) <= 2 * tol2))
        ia = a_img[ia]
    f_ref, _ = _frames(x[a][None], x[b][None])
    f_img, ok = _frames(x[ia], x[ib])
    f_img = f_img[ok]
    flip = np.diag([1.0, 1.0, -1.0])
    # R maps the (a, b) frame onto the (a', b') frame, with either handedness.
    rots = np.concatenate([f_img @ f_ref[0].T, f_img @ flip @ f_ref[0].T])
    dets = np.concatenate([np.ones(len(f_img)), -np.ones(len(f_img))]).astype(np.int64)

    # a first guess may miss by up to half the smallest distance; tol="auto" may ask for more
    reach = max(dmin / 2, tol2)
    perm, d = _nearest(np.einsum("kij,nj->kni", rots, x), x, types)
    good = (d.max(axis=1) < reach) & (np.sort(perm, axis=1) == np.arange(n)).all(axis=1)
    perm, dets = perm[good], dets[good]
    rots = procrustes(x, perm, dets)
    disp = max_displacement(x, rots, perm)
    retry = disp > tol2
    if retry.any():
        # one ICP step for candidates whose first match came from a poorly conditioned guess
        p2, d2 = _nearest(np.einsum("kij,nj->kni", rots[retry], x), x, types)
        ok2 = (d2.max(axis=1) < reach) & (np.sort(p2, axis=1) == np.arange(n)).all(axis=1)
        idx = np.flatnonzero(retry)[ok2]
        if len(idx):
            perm[idx] = p2[ok2]
            rots[idx] = procrustes(x, perm[idx], dets[idx])
            disp[idx] = max_displacement(x, rots[idx], perm[idx])
    keep = disp <= tol2
    # Two candidates can land on the same operation (the ICP step above can move one onto
    # another): an operation is its (permutation, det), so keep the first of each.
    keys = np.concatenate([perm, dets[:, None]], axis=1)
    first = np.sort(np.unique(keys[keep], axis=0, return_index=True)[1])
    keep = np.flatnonzero(keep)[first]
    rots, perm, dets = rots[keep], perm[keep], dets[keep]
    if _is_closed(perm, dets):
        return rots, perm

    return close_operations(x, list(perm), [int(v) for v in dets], tol2)


def close_operations(x: np.ndarray, perms: list[np.ndarray], dets: list[int], tol: float) -> tuple[np.ndarray, np.ndarray]:
    """Operations that do not close (the tolerance at the edge): close them exactly on
    permutations, refit each by Procrustes, and drop the worst generator while a product moves an
    atom by more than ``tol`` Å. Returns ``(rotations (k, 3, 3), permutations (k, n))``."""
    perms_found, dets_found = list(perms), list(dets)
    cperms, cdets = _closure(perms_found, dets_found)
    while True:
        crots = procrustes(x, cperms, cdets)
        cdisp = max_displacement(x, crots, cperms)
        if (cdisp <= tol).all():
            return crots, cperms
        gens = np.stack(perms_found)
        gen_disp = max_displacement(x, procrustes(x, gens, np.array(dets_found)), gens)
        worst = int(np.argmax(gen_disp))
        if gen_disp[worst] == 0:
            return crots[cdisp <= tol], cperms[cdisp <= tol]
        del perms_found[worst], dets_found[worst]
        cperms, cdets = _closure(perms_found, dets_found)
