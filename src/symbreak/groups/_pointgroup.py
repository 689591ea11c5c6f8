"""Point groups as objects: standard orientation, operations, products, names from matrices."""

from __future__ import annotations

import functools
import math

import numpy as np

from .._errors import GroupError
from ._matrices import (
    C2X,
    C2Z,
    C3_111,
    INVERSION,
    SIGMA_H,
    SIGMA_V,
    SWAP_XY,
    closure,
    cross,
    element_types,
    rot_z,
    rotation_about,
    rotation_axes,
)
from ._names import format_name, parse_name

__all__ = ["PointGroup", "identify", "name_and_orient", "DEFAULT_AXIAL_ORDER", "MAX_AXIAL_ORDER"]

#: order m of the finite stand-in for an infinite axial group: ``C*v`` acts as ``C{m}v``, ``D*h`` as ``D{m}h``
DEFAULT_AXIAL_ORDER = 12
#: the largest main-axis order n of an axial group (``C1000``, ``D1000h``: up to 4000 elements) and
#: the largest ``axial_order``; beyond it building and multiplying the elements costs seconds to
#: hours and memory to match, and no molecule needs it
MAX_AXIAL_ORDER = 1000
_PHI = (1.0 + math.sqrt(5.0)) / 2.0
_C5 = rotation_about(np.array([0.0, 1.0, _PHI]), 2 * math.pi / 5)


def _generators(family: str, n: int, axial_order: int) -> list[np.ndarray]:
    """Generators of the group in the standard orientation documented on :class:`PointGroup`."""
    if family in ("C*v", "D*h"):
        return _generators("Cv" if family == "C*v" else "Dh", axial_order, axial_order)
    cn = rot_z(2 * math.pi / n) if n else None
    table = {
        "C": lambda: [cn],
        "Cv": lambda: [cn, SIGMA_V],
        "Ch": lambda: [cn, SIGMA_H],
        "S": lambda: [cn @ SIGMA_H],
        "D": lambda: [cn, C2X],
        "Dh": lambda: [cn, C2X, SIGMA_H],
        "Dd": lambda: [C2X, rot_z(math.pi / n) @ SIGMA_H],
        "Cs": lambda: [SIGMA_H],
        "Ci": lambda: [INVERSION],
        "T": lambda: [C2Z, C2X, C3_111],
        "Td": lambda: [C2Z, C2X, C3_111, SWAP_XY],
        "Th": lambda: [C2Z, C2X, C3_111, INVERSION],
        "O": lambda: [rot_z(math.pi / 2), C3_111],
        "Oh": lambda: [rot_z(math.pi / 2), C3_111, INVERSION],
        "Kh": lambda: [rot_z(math.pi / 2), C3_111, INVERSION],
        "I": lambda: [C2Z, C2X, C3_111, _C5],
        "Ih": lambda: [C2Z, C2X, C3_111, _C5, INVERSION],
    }
    return table[family]()


def _reference_elements(family: str, n: int, axial_order: int) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Two elements whose axes pin down the standard orientation (principal, secondary)."""
    if family in ("C*v", "D*h"):
        n = axial_order
    if family in ("C", "Ch", "D", "Dh", "Dd", "Cv", "C*v", "D*h") and n >= 2:
        principal = rot_z(2 * math.pi / n)
    elif family == "S":
        principal = rot_z(2 * math.pi / n) @ SIGMA_H
    elif family == "Cs":
        principal = SIGMA_H
    elif family in ("T", "Td", "Th", "I", "Ih"):
        principal = C2Z
    elif family in ("O", "Oh"):
        principal = rot_z(math.pi / 2)
    else:  # C1, Ci, Kh
        return None, None
    if family in ("Cv", "C*v"):
        return principal, SIGMA_V
    if family in ("D", "Dh", "Dd", "D*h", "T", "Td", "Th", "I", "Ih"):
        return principal, C2X
    if family in ("O", "Oh"):
        return principal, C3_111.T @ rot_z(math.pi / 2) @ C3_111  # C4 about x
    return principal, None


def _sort_key_order(ops: np.ndarray) -> np.ndarray:
    types = element_types(ops, atol=1e-3)
    # identity first, then proper before improper, then by order and angle
    keys = [(int(t[0] < 0), int(t[1]), int(t[2]), tuple(np.round(o, 8).ravel())) for t, o in zip(types, ops)]
    return np.array(sorted(range(len(ops)), key=lambda i: keys[i]))


@functools.lru_cache(maxsize=512)
def _standard_operations(family: str, n: int, axial_order: int) -> np.ndarray:
    ops = closure(_generators(family, n, axial_order))
    ops = ops[_sort_key_order(ops)]
    ops.setflags(write=False)
    return ops


class PointGroup:
    r"""A crystallographic or non-crystallographic point group in its standard orientation.

    Parameters
    ----------
    name:
        Schoenflies symbol: ``C1 Cs Ci Cn Cnv Cnh Dn Dnh Dnd Sn`` (n even; odd n is read as Cnh),
        ``T Td Th O Oh I Ih`` and the infinite ``C*v``, ``D*h``, ``Kh``. Aliases such as ``C1h``,
        ``S2`` or ``D1h`` are normalised.
    axial_order:
        For the infinite groups only: ``C*v`` and ``D*h`` are represented by their finite subgroups
        ``C{m}v`` and ``D{m}h`` with ``m = axial_order``; ``Kh`` by ``Oh``.

    Notes
    -----
    Standard orientation (operations act on column vectors, ``x' = R @ x``):

    * axial groups: principal axis +z; a C2 axis of ``Dn``/``Dnh``/``Dnd`` along +x; the mirror
      of ``Cnv`` is the xz plane; the mirror of ``Cs`` is the xy plane; the S2n of ``Dnd``
      bisects its C2 axes;
    * ``T``, ``Td``, ``Th``, ``O``, ``Oh``: C2 (or C4) axes along x, y, z and a C3 along (1, 1, 1);
      the mirrors of ``Td`` are the planes x = ±y, ...;
    * ``I``, ``Ih``: C2 axes along x, y, z, a C3 along (1, 1, 1), a C5 along (0, 1, φ) — the
      orientation of the icosahedron with vertices at cyclic permutations of (0, ±1, ±φ).

    Operations are sorted: identity first, then proper rotations, then improper ones.

    Examples
    --------
    >>> g = PointGroup("D6h")
    >>> g.order, g.operations.shape
    (24, (24, 3, 3))
    >>> PointGroup.from_operations(PointGroup("Td").operations).name
    'Td'
    """

    __slots__ = ("_family", "_n", "_axial_order", "__dict__")

    def __init__(self, name: str, *, axial_order: int = DEFAULT_AXIAL_ORDER):
        family, n = parse_name(name)
        if n > MAX_AXIAL_ORDER:
            raise GroupError(f"point group {name!r}: the main axis order {n} exceeds the limit of {MAX_AXIAL_ORDER} (MAX_AXIAL_ORDER)")
        if isinstance(axial_order, bool) or not isinstance(axial_order, (int, np.integer)) or axial_order < 2:
            raise GroupError(f"axial_order must be an integer >= 2, got {axial_order!r}")
        if axial_order > MAX_AXIAL_ORDER:
            raise GroupError(f"axial_order = {axial_order} exceeds the limit of {MAX_AXIAL_ORDER} (MAX_AXIAL_ORDER)")
        self._family = family
        self._n = n
        self._axial_order = int(axial_order)

    @classmethod
    def _from_family(cls, family: str, n: int, axial_order: int = DEFAULT_AXIAL_ORDER) -> "PointGroup":
        return cls(format_name(family, n), axial_order=axial_order)

    # -- descriptors ------------------------------------------------------------------------
    @property
    def name(self) -> str:
        """The normalised Schoenflies symbol, e.g. ``'D6h'``."""
        return format_name(self._family, self._n)

    @property
    def family(self) -> str:
        """The family: ``'C'``, ``'Cv'``, ``'Ch'``, ``'S'``, ``'D'``, ``'Dh'``, ``'Dd'``, or the name itself."""
        return self._family

    @property
    def n(self) -> int:
        """The subscript n of an axial group (0 for the others)."""
        return self._n

    @property
    def is_finite(self) -> bool:
        """False for ``C*v``, ``D*h`` and ``Kh``."""
        return self._family not in ("C*v", "D*h", "Kh")

    @property
    def axial_order(self) -> int:
        """Order m of the finite subgroup representing an infinite group (``C{m}v``/``D{m}h``)."""
        return self._axial_order

    @property
    def order(self) -> float:
        """Number of elements; ``math.inf`` for the infinite groups."""
        return len(self.operations) if self.is_finite else math.inf

    @property
    def operations(self) -> np.ndarray:
        """All elements as orthogonal matrices, (k, 3, 3) float64, read-only.

        For the infinite groups: the elements of the finite subgroup described at ``axial_order``.
        """
        return _standard_operations(self._family, self._n, self._axial_order)

    @property
    def is_proper(self) -> bool:
        """True if every element is a rotation (the group is chiral)."""
        return bool(np.all(np.linalg.det(self.operations) > 0))

    @property
    def has_inversion(self) -> bool:
        """True if −I is an element."""
        return bool(np.any(np.all(np.abs(self.operations + np.eye(3)) < 1e-9, axis=(1, 2))))

    # -- group structure --------------------------------------------------------------------
    @functools.cached_property
    def cayley_table(self) -> np.ndarray:
        """``table[i, j] = k`` with ``ops[i] @ ops[j] == ops[k]``: (k, k) int.

        Each product is matched to its nearest element: O(k² log k) time, in blocks of bounded memory.
        """
        ops = self.operations
        _, table = _nearest_products(ops, ops, distances=False)
        table = table.reshape(len(ops), len(ops))
        table.setflags(write=False)
        return table

    def multiply(self, i: int, j: int) -> int:
        """Index of ``operations[i] @ operations[j]``."""
        return int(self.cayley_table[i, j])

    def inverse(self, i: int) -> int:
        """Index of the inverse of ``operations[i]``."""
        return int(np.flatnonzero(self.cayley_table[i] == 0)[0])

    def index(self, matrix: np.ndarray, *, atol: float = 1e-6) -> int:
        """Index of ``matrix`` among the operations; raises :class:`GroupError` if absent."""
        d = np.linalg.norm(self.operations - np.asarray(matrix, dtype=float), axis=(1, 2))
        i = int(np.argmin(d))
        if d[i] > atol:
            raise GroupError(f"matrix is not an element of {self.name} (closest at distance {d[i]:.3g})")
        return i

    def normalizer(self) -> "PointGroup | None":
        """The normalizer of the group in O(3), in the same orientation; None where it is infinite.

        ``Cnv``, ``Dn``, ``Dnh``, ``Dnd`` → ``D2nh`` (``D2``, ``D2h`` → ``Oh``); cubic groups →
        ``Oh``; icosahedral → ``Ih``. Cyclic-type groups (``Cn``, ``Cnh``, ``S2n``, ``Cs``, ``Ci``,
        ``C1``) commute with every rotation about their axis, so their normalizer is infinite.
        Raises :class:`GroupError` where D2nh's n would exceed :data:`MAX_AXIAL_ORDER`.
        """
        f, n = self._family, self._n
        if f in ("T", "Td", "Th", "O", "Oh") or (f in ("D", "Dh") and n == 2):
            return PointGroup("Oh")
        if f in ("I", "Ih"):
            return PointGroup("Ih")
        if f in ("Cv", "D", "Dh", "Dd"):
            if 2 * n > MAX_AXIAL_ORDER:
                raise GroupError(f"the normalizer of {self.name} in O(3) is D{2 * n}h, {8 * n} elements: its main axis "
                                 f"order {2 * n} exceeds the limit of {MAX_AXIAL_ORDER} (MAX_AXIAL_ORDER)")  # fmt: skip
            return PointGroup(f"D{2 * n}h")
        return None

    @classmethod
    def from_operations(cls, operations: np.ndarray, *, atol: float = 1e-6) -> "PointGroup":
        """Name the point group formed by ``operations`` (k, 3, 3), in any orientation.

        Raises :class:`GroupError` if the matrices are not orthogonal or not closed under products.
        """
        return identify(operations, atol=atol)[0]

    # -- dunder -----------------------------------------------------------------------------
    def __eq__(self, other: object) -> bool:
        if isinstance(other, str):
            try:
                other = PointGroup(other, axial_order=self._axial_order)
            except GroupError:
                return False
        if not isinstance(other, PointGroup):
            return NotImplemented
        same = (self._family, self._n) == (other._family, other._n)
        return same and (self.is_finite or self._axial_order == other._axial_order)

    def __hash__(self) -> int:
        return hash((self._family, self._n))

    def __repr__(self) -> str:
        return f"PointGroup({self.name!r})"

    def __str__(self) -> str:
        return self.name

    def __len__(self) -> int:
        return len(self.operations)


# -- naming a set of matrices ---------------------------------------------------------------------
#: products held in memory at once by :func:`_nearest_products` (9 float64 each: about 75 MB)
_PRODUCT_BLOCK = 1 << 20
#: the grid on which matrix entries are rounded to look products up by key (as :func:`closure` does)
_KEY_GRID = 1e6
_KEY_WEIGHTS = np.random.default_rng(20240229).integers(1, 2**62, size=9, dtype=np.int64)


def _nearest_products(ops: np.ndarray, among: np.ndarray, *, distances: bool = True) -> tuple[np.ndarray | None, np.ndarray]:
    """For every product ``ops[i] @ ops[j]`` (row-major over i, j): the Frobenius distance to the
    nearest matrix of ``among`` (None unless ``distances``) and its index, both (k*k,).

    Products whose entries, rounded to 1e-6, equal those of an element of ``among`` are looked up
    by a 64-bit hash of that key (exact groups: all of them); the others are matched by a dense
    comparison (few) or a k-d tree. Time O(k² log k), memory bounded by blocks of
    :data:`_PRODUCT_BLOCK` products.
    """
    k = len(ops)
    flat = among.reshape(len(among), 9)
    keys = np.rint(flat * _KEY_GRID).astype(np.int64)
    hashes = keys @ _KEY_WEIGHTS  # wraps around: a random 64-bit hash of the key
    order = np.argsort(hashes, kind="stable")
    sorted_hashes = hashes[order]
    tree = None
    dist, idx = (np.empty(k * k) if distances else None), np.empty(k * k, dtype=np.intp)
    rows = max(1, _PRODUCT_BLOCK // max(k, len(among)))
    for s in range(0, k, rows):
        prod = np.matmul(ops[s : s + rows, None], ops[None]).reshape(-1, 9)
        h = np.rint(prod * _KEY_GRID).astype(np.int64) @ _KEY_WEIGHTS
        pos = np.minimum(np.searchsorted(sorted_hashes, h), len(order) - 1)
        i = order[pos]
        miss = sorted_hashes[pos] != h
        if miss.any():
            if len(among) * int(miss.sum()) <= _PRODUCT_BLOCK:
                p = prod[miss]
                d2 = (p**2).sum(1)[:, None] - 2 * p @ flat.T + (flat**2).sum(1)[None]
                i[miss] = np.argmin(d2, axis=1)
            else:
                if tree is None:
                    from scipy.spatial import cKDTree

                    tree = cKDTree(flat)
                i[miss] = tree.query(prod[miss])[1]
        if dist is not None:
            dist[s * k : s * k + len(prod)] = np.sqrt(((prod - flat[i]) ** 2).sum(1))
        idx[s * k : s * k + len(prod)] = i
    return dist, idx


def _classify_rotations(h: int, n: int) -> tuple[str, int]:
    """Family of a rotation group from its order ``h`` and its largest element order ``n``."""
    if h == n:
        return "C", n
    if h == 2 * n:
        return "D", n
    poly = {12: "T", 24: "O", 60: "I"}.get(h)
    if poly is None:
        raise GroupError(f"the {h} proper rotations do not form a point group")
    return poly, 0


def _name_from_types(types: np.ndarray, has_inversion: bool) -> tuple[str, int]:
    proper = types[:, 0] > 0
    return name_from_counts(len(types), int(proper.sum()), int(types[proper, 1].max()), int(types[:, 1].max()), has_inversion)


def name_from_counts(k: int, h: int, h_n: int, k_n: int, has_inversion: bool) -> tuple[str, int]:
    """(family, n) of a point group of order ``k`` with ``h`` proper rotations, the largest order
    ``h_n`` among them, and the largest order ``k_n`` among the proper parts det(R)·R of all."""
    h_family, h_n = _classify_rotations(h, h_n)
    if h == k:
        return h_family, h_n
    if 2 * h != k:
        raise GroupError("the proper rotations are not half of the group: not a point group")
    if has_inversion:
        if h_family == "C":
            if h_n == 1:
                return "Ci", 0
            return ("Ch", h_n) if h_n % 2 == 0 else ("S", 2 * h_n)
        if h_family == "D":
            return ("Dh", h_n) if h_n % 2 == 0 else ("Dd", h_n)
        return h_family + "h", 0
    k_family, k_n = _classify_rotations(k, k_n)
    if k_family == "C":
        if h_n == 1:
            return "Cs", 0
        return ("Ch", h_n) if h_n % 2 == 1 else ("S", 2 * h_n)
    if k_family == "D" and h_family == "C":
        return "Cv", h_n
    if k_family == "D" and h_family == "D":
        return ("Dh", h_n) if h_n % 2 == 1 else ("Dd", h_n)
    if k_family == "O" and h_family == "T":
        return "Td", 0
    raise GroupError("the matrices do not form a point group")


def group_name(operations: np.ndarray) -> str:
    """The Schoenflies name of matrices known to form a point group (k, 3, 3), from their
    element types alone: :func:`identify`'s name without its checks or orientation (cheap for
    large groups)."""
    ops = np.asarray(operations, dtype=float)
    if len(ops) == 1:
        return "C1"
    types = element_types(ops, atol=1e-3, max_order=len(ops))
    has_inv = bool(((types[:, 0] < 0) & (types[:, 1] == 1)).any())
    return format_name(*_name_from_types(types, has_inv))


def _frame(u: np.ndarray, v: np.ndarray | None) -> np.ndarray:
    """Right-handed orthonormal frame (columns) with first column ∥ u and second in span(u, v)."""
    if v is None:
        v = np.eye(3)[int(np.argmin(np.abs(u)))]
    return _frames_batch(u[None], v[None])[0]


def _match_sets(a: np.ndarray, b: np.ndarray, atol: float) -> np.ndarray | None:
    """Index map ``idx`` with ``a[i] ≈ b[idx[i]]`` (Frobenius < atol), or None if not a bijection."""
    fa, fb = a.reshape(len(a), 9), b.reshape(len(b), 9)
    d2 = ((fa[:, None, :] - fb[None, :, :]) ** 2).sum(-1)
    idx = np.argmin(d2, axis=1)
    if d2[np.arange(len(a)), idx].max() > atol * atol:
        return None
    if len(a) > 1 and not (np.bincount(idx, minlength=len(b)) == 1).all():
        return None
    return idx


def _orientation_data(group: PointGroup):
    """Per-group constants for :func:`_orientation` (cached: they depend only on the group)."""
    return _orientation_data_cached(group.family, group.n, group.axial_order)


@functools.lru_cache(maxsize=512)
def _orientation_data_cached(family: str, n: int, axial_order: int):
    group = PointGroup._from_family(family, n, axial_order)
    first, second = _reference_elements(group.family, group.n, group.axial_order)
    gens = np.stack(_generators(group.family, group.n, group.axial_order))
    if first is None:
        return None, None, None, None, gens
    refs = np.stack([first] if second is None else [first, second])
    ref_types = element_types(refs, atol=1e-6, max_order=len(group.operations))
    axes, _ = rotation_axes(refs)
    f_std = _frame(axes[0], None if second is None else axes[1])
    cos_std = None if second is None else float(axes[0] @ axes[1])
    return ref_types, f_std, cos_std, len(refs), gens


def _frames_batch(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Right-handed frames (columns) with first column ∥ u[i], second in span(u[i], v[i]): (P, 3, 3)."""
    e1 = u / np.sqrt((u * u).sum(1))[:, None]
    w = v - (v * e1).sum(1)[:, None] * e1
    e2 = w / np.sqrt((w * w).sum(1))[:, None]
    return np.stack([e1, e2, cross(e1, e2)], axis=-1)


def _orientation(ops: np.ndarray, types: np.ndarray, group: PointGroup, atol: float) -> tuple[np.ndarray, np.ndarray]:
    """Rotation Q and index map with ``Q @ std[i] @ Q.T ≈ ops[idx[i]]`` for every standard element.

    Every candidate Q (reference axes of the standard group sent onto same-type axes of ``ops``) is
    scored by how far its images of the generators fall from ``ops``; the best one wins. Taking the
    first acceptable one is not enough: for I, the orientation turned by 90° about a shared C2
    axis matches every element within half the group's spacing.
    """
    std = group.operations
    ref_types, f_std, cos_std, n_refs, gens = _orientation_data(group)
    flat_ops = ops.reshape(len(ops), 9)

    if ref_types is None:
        qs = np.eye(3)[None]
    else:
        needed = (types[:, None, :] == ref_types[None, :, :]).all(axis=2).any(axis=1)
        all_axes, all_ambiguous = np.zeros((len(ops), 3)), np.zeros(len(ops), dtype=bool)
        all_axes[needed], all_ambiguous[needed] = rotation_axes(ops[needed])  # one call for both references

        def candidates(t_ref: np.ndarray) -> np.ndarray:
            mask = (types == t_ref).all(axis=1)
            axes, ambiguous = all_axes[mask], all_ambiguous[mask]
            return np.concatenate([axes, -axes[ambiguous]])

        firsts = candidates(ref_types[0])
        if n_refs == 2:
            seconds = candidates(ref_types[1])
            ia, ib = np.nonzero(np.abs(firsts @ seconds.T - cos_std) <= 0.05)
            u, v = firsts[ia], seconds[ib]
        else:
            u = firsts
            v = np.eye(3)[np.argmin(np.abs(u), axis=1)]
        if len(u) == 0:
            raise GroupError(f"could not orient the operations as {group.name}")
        qs = _frames_batch(u, v) @ f_std.T
    images = np.einsum("pij,gjk,plk->pgil", qs, gens, qs).reshape(len(qs), len(gens), 9)
    d2 = ((images[:, :, None, :] - flat_ops[None, None]) ** 2).sum(-1)  # (P, G, k)
    err = d2.min(axis=2).max(axis=1)
    # Candidates that match equally well (an exactly symmetric structure: errors at rounding level)
    # differ by an element of the group's normalizer: take the first of them, so that the choice
    # follows the order of the operations, not their last bits.
    best = int(np.flatnonzero(err <= err.min() + 1e-12 * max(1.0, atol * atol))[0])
    idx = _match_sets(qs[best] @ std @ qs[best].T, ops, atol) if err[best] <= atol * atol else None
    if idx is None:
        raise GroupError(f"could not orient the operations as {group.name}")
    # One group-averaging step, Q ← polar(Σ_g R_g Q S_gᵀ), removes the error Q inherits from the
    # particular axes it was built from (to first order, in every direction that is not a symmetry
    # of the group's representation). Q then depends on the operations only, not on which
    # equivalent axes were picked, which keeps canonical frames exact for nearly symmetric inputs.
    u, _, vt = np.linalg.svd(np.einsum("gij,jk,glk->il", ops[idx], qs[best], std))
    q = u @ vt
    if np.linalg.det(q) < 0:
        q = -q  # −Q conjugates like Q; keep Q a rotation
    return q, idx


def identify(
    operations: np.ndarray, *, atol: float = 1e-6, axial_order: int = DEFAULT_AXIAL_ORDER
) -> tuple[PointGroup, np.ndarray, np.ndarray]:
    """Name a finite group of orthogonal matrices and find its orientation.

    Parameters
    ----------
    operations: (k, 3, 3)
        The matrices; noise up to ``atol`` (Frobenius norm) is accepted.

    Returns
    -------
    group, orientation, index
        ``orientation`` Q (3, 3) is a rotation with ``Q @ group.operations[i] @ Q.T ≈
        operations[index[i]]``.
    """
    ops = np.asarray(operations, dtype=float)
    if ops.ndim != 3 or ops.shape[1:] != (3, 3) or len(ops) == 0:
        raise GroupError(f"operations must have shape (k, 3, 3) with k >= 1, got {ops.shape}")
    if not np.all(np.isfinite(ops)):
        raise GroupError("operations contain NaN or inf")
    gram = np.einsum("kji,kjl->kil", ops, ops)
    bad = np.linalg.norm(gram - np.eye(3), axis=(1, 2))
    if bad.max() > max(atol, 1e-9) * 3:
        raise GroupError(f"operation {int(np.argmax(bad))} is not orthogonal (|RᵀR − I| = {bad.max():.3g})")
    dmin, _ = _nearest_products(ops, ops)
    if dmin.max() > max(atol, 1e-9) * 10:
        raise GroupError("the operations are not closed under multiplication: not a group")
    return name_and_orient(ops, type_atol=min(0.3, max(atol * 10, 1e-6)), match_atol=max(atol * 10, 1e-6),
                           axial_order=axial_order)


def name_and_orient(
    ops: np.ndarray, *, type_atol: float = 0.3, match_atol: float | None = None,
    axial_order: int = DEFAULT_AXIAL_ORDER,
) -> tuple[PointGroup, np.ndarray, np.ndarray]:
    """:func:`identify` for matrices already known to form a group (closure is not re-checked).

    ``match_atol`` defaults to half the smallest distance between two elements of the named
    group, the loosest threshold at which matching elements is still unambiguous.
    """
    k = len(ops)
    types = element_types(ops, atol=type_atol)
    if (types[:, 1] == 0).any():
        raise GroupError("an operation has no finite order within the group")
    has_inv = bool(((types[:, 0] < 0) & (types[:, 1] == 1)).any())
    family, n = _name_from_types(types, has_inv)
    group = PointGroup._from_family(family, n, axial_order)
    if len(group.operations) != k:
        raise GroupError(f"{k} operations classified as {group.name} of order {group.order}: not a group")
    if match_atol is None:
        match_atol = 0.5 * _min_separation(group)
    q, idx = _orientation(ops, types, group, atol=match_atol)
    return group, q, idx


def _min_separation(group: PointGroup) -> float:
    return _min_separation_cached(group.family, group.n, group.axial_order)


@functools.lru_cache(maxsize=512)
def _min_separation_cached(family: str, n: int, axial_order: int) -> float:
    from scipy.spatial import cKDTree

    ops = _standard_operations(family, n, axial_order)
    if len(ops) == 1:
        return 1.0
    flat = ops.reshape(len(ops), 9)
    d, _ = cKDTree(flat).query(flat, k=2)  # the nearest other element (the first is itself)
    return float(d[:, 1].min())
