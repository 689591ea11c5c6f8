"""``detect_symmetry``: point group, operations, orbits, canonical frame of a structure."""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

import numpy as np

from .._errors import GroupError, StructureError, SymbreakError
from ..groups import DEFAULT_AXIAL_ORDER, PointGroup, name_and_orient
from ..groups._pointgroup import MAX_AXIAL_ORDER, _frame, _min_separation, _orientation, name_from_counts
from ._compiled import CORE, LINEAR, MAX_ATOMS as MAX_CORE_ATOMS, OPEN_BASE, detect_core
from ._frame import canonical_frame
from ._operations import close_operations, find_operations, max_displacement
from ._validate import as_structure, check_tolerance

__all__ = ["Symmetry", "Symmetrized", "detect_symmetry", "detect_many", "symmetrize", "DEFAULT_TOL"]

DEFAULT_TOL = 0.1
"""Default tolerance in Å: the largest displacement of an atom under an accepted operation."""



def _readonly(a: np.ndarray) -> np.ndarray:
    a = np.ascontiguousarray(a)
    a.setflags(write=False)
    return a


@dataclasses.dataclass(frozen=True, eq=False)
class Symmetry:
    r"""The symmetry of one structure, as found by :func:`detect_symmetry`. Immutable.

    Attributes
    ----------
    point_group: str
        Schoenflies name, e.g. ``'C2v'``; ``'C*v'``/``'D*h'`` for linear structures, ``'Kh'`` for one atom.
    group: PointGroup
        The group as an object (its operations in the standard orientation).
    operations: (k, 3, 3)
        Every element, exactly orthogonal, acting on positions about ``center``:
        ``operations[g] @ (positions[i] - center) ≈ positions[permutations[g, i]] - center``.
        For ``C*v``/``D*h`` the finite subgroup ``C{m}v``/``D{m}h`` about the molecular axis, with
        ``m = axial_order``; for ``Kh`` the 48 operations of ``Oh``.
    permutations: (k, n) int
        Atom ``i`` is carried onto atom ``permutations[g, i]`` by operation ``g``.
    residuals: (k,)
        Largest displacement (Å) of an atom under each exact operation.
    orbits: tuple of (m,) int arrays
        Symmetry-equivalence classes of atoms, ordered by their smallest index.
    asymmetric_unit: (n_orbits,) int
        One representative (the smallest index) per orbit.
    center: (3,)
        Centroid of the positions; every operation fixes it.
    orientation: (3, 3)
        Rotation ``Q`` mapping the standard orientation onto the structure's symmetry elements:
        ``operations == Q @ group.operations @ Q.T`` up to ordering. It, ``operations``,
        ``permutations`` and ``residuals`` are computed on first use (naming the group does not
        need them); where the operations found at a tolerance on the edge cannot be oriented as the
        named group, that first use raises :class:`~symbreak.GroupError`.
    frame: (3, 3)
        Orthogonal canonical frame, columns are the canonical axes.
    canonical_positions: (n, 3)
        ``(positions - center) @ frame``: the same typed point set for every rotation, reflection,
        translation and permutation of the input (only rotations with ``proper=True``).
    tol: float
        The tolerance (Å) the operations were accepted at (chosen by the structure with ``tol="auto"``).
    margin: float or None
        Only with ``tol="auto"``: how clearly the answer stood out. For a symmetric reading, the
        residual of the nearest rejected larger symmetry over the largest accepted residual; for a
        reading of no symmetry, how far the likeliest symmetry fell short of the 1.5 needed (inf:
        nothing came close). Near 1, the answer could have gone the other way: distrust it.
    symmetrized_positions: (n, 3)
        The group average :math:`\bar x_i = c + \frac{1}{|G|}\sum_g R_g^\top (x_{\pi_g(i)} - c)`:
        exactly symmetric and the closest such structure to the input for these operations.
    """

    point_group: str
    group: PointGroup
    center: np.ndarray
    positions: np.ndarray
    numbers: np.ndarray
    tol: float
    proper: bool
    margin: float | None = None
    # The operations as found (k, 3, 3), with their permutations (k, n), and (q, index) once the
    # standard orientation is known. Orienting costs more than finding the group on a molecule, so
    # it waits for the first use of operations, permutations, residuals or orientation.
    _found_operations: np.ndarray | None = dataclasses.field(default=None, repr=False)
    _found_permutations: np.ndarray | None = dataclasses.field(default=None, repr=False)
    _found_types: np.ndarray | None = dataclasses.field(default=None, repr=False)
    _oriented: Any = dataclasses.field(default=None, repr=False)  # (q, index), or a function giving (q, ops, perms)

    @functools.cached_property
    def _standard(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if callable(self._oriented):
            q, ops, perms = self._oriented()
        else:
            q, idx = self._oriented if self._oriented is not None else orient(self._found_operations, self._found_types, self.group)
            ops, perms = q @ self.group.operations @ q.T, np.asarray(self._found_permutations)[idx]
        return _readonly(q), _readonly(ops), _readonly(perms.astype(np.int64))

    @property
    def orientation(self) -> np.ndarray:
        return self._standard[0]

    @property
    def operations(self) -> np.ndarray:
        return self._standard[1]

    @property
    def permutations(self) -> np.ndarray:
        return self._standard[2]

    @functools.cached_property
    def residuals(self) -> np.ndarray:
        if self.order == 1:
            return _readonly(np.zeros(1))
        return _readonly(max_displacement(self.positions - self.center, self.operations, self.permutations))

    # Orbits, the symmetrized structure and the canonical frame are computed on first use: a caller
    # who wants the group alone (most of QM9 is C1) does not pay for the frame search.
    @functools.cached_property
    def orbits(self) -> tuple:
        return tuple(_readonly(o) for o in _orbits(self.permutations)[0])

    @functools.cached_property
    def asymmetric_unit(self) -> np.ndarray:
        return _readonly(np.array([int(o[0]) for o in self.orbits], dtype=np.int64))

    @functools.cached_property
    def symmetrized_positions(self) -> np.ndarray:
        x = self.positions - self.center
        return _readonly(self.center + np.einsum("kji,knj->ni", self.operations, x[self.permutations]) / len(self.operations))

    @functools.cached_property
    def frame(self) -> np.ndarray:
        return _readonly(
            canonical_frame(
                self.positions - self.center, self.numbers, self.group, self.orientation,
                tol=self.tol, proper=self.proper, symmetrized=self.symmetrized_positions - self.center,
            )
        )

    @functools.cached_property
    def canonical_positions(self) -> np.ndarray:
        return _readonly((self.positions - self.center) @ self.frame)

    @property
    def order(self) -> int:
        """Number of returned operations (for the infinite groups: of the finite subgroup)."""
        return int(len(self.group.operations))

    @property
    def rotational_symmetry_number(self) -> int:
        r"""σ, the number of proper rotations of the point group, as rotational partition functions
        and entropies use it: :math:`q_{rot} \propto 1/\sigma`. ``C*v`` (and a lone atom) give 1,
        ``D*h`` gives 2; H2O 2, NH3 3, CH4 12, benzene 12, C60 60."""
        if self.point_group == "Kh" or self.point_group == "C*v":
            return 1
        if self.point_group == "D*h":
            return 2
        return int(np.count_nonzero(np.linalg.det(self.group.operations) > 0))

    def symmetrize(self, group: "str | PointGroup | None" = None) -> "Symmetrized":
        r"""The closest structure with exactly the symmetry ``group``, a subgroup of this one.

        Each atom is replaced by the average of its images under the subgroup H,
        :math:`\bar x_i = c + \frac{1}{|H|}\sum_{h \in H} R_h^\top (x_{\pi_h(i)} - c)`: the
        orthogonal projection of the coordinates onto the H-symmetric ones, for these symmetry
        elements. When the structure holds several subgroups of that type (the two mirrors of C2v,
        the three C2v of D2h), the one needing the smallest displacement is taken.

        group:
            A Schoenflies name or :class:`PointGroup` (None: the whole detected group). For a
            linear structure ``C*v``/``D*h`` stand for their finite subgroups of order
            ``axial_order``.

        Raises :class:`~symbreak.GroupError`, naming the subgroups there are, when ``group`` is not one.

        Examples
        --------
        >>> import numpy as np
        >>> water = np.array([[0.0, 0.0, 0.12], [0.0, 0.76, -0.47], [0.0, -0.75, -0.47]])
        >>> s = detect_symmetry(water, [8, 1, 1]).symmetrize("C2v")
        >>> bonds = np.linalg.norm(s.positions[1:] - s.positions[0], axis=1)
        >>> s.point_group, round(s.rms_displacement, 4), bool(np.isclose(bonds[0], bonds[1]))
        ('C2v', 0.0021, True)
        """
        from ..groups._subgroups import subgroups_of_type

        m = self.group.axial_order
        parent = self.group if self.group.is_finite else PointGroup(self.point_group.replace("*", str(m)))
        if self.point_group == "Kh":
            parent = PointGroup("Oh")
        if group is None:
            choices = [tuple(range(self.order))]
            name = self.point_group
        else:
            target = group if isinstance(group, PointGroup) else PointGroup(str(group), axial_order=m)
            if not target.is_finite:
                target = PointGroup(target.name.replace("*", str(m)))
            name, found = subgroups_of_type(parent, target)
            choices = [tuple(sorted(c)) for c in found]
        x = self.positions - self.center
        best = None
        for idx in choices:
            ops, perms = self.operations[list(idx)], self.permutations[list(idx)]
            avg = np.einsum("kji,knj->ni", ops, x[perms]) / len(idx)
            rms = float(np.sqrt(((avg - x) ** 2).sum(1).mean()))
            if best is None or rms < best[0] - 1e-12:
                best = (rms, avg, ops, perms)
        rms, avg, ops, perms = best
        return Symmetrized(
            positions=_readonly(self.center + avg), numbers=self.numbers, point_group=name if group is not None else self.point_group,
            rms_displacement=rms, max_displacement=float(np.sqrt(((avg - x) ** 2).sum(1).max())),
            operations=_readonly(ops), permutations=_readonly(perms), choices=len(choices),
        )

    @property
    def max_residual(self) -> float:
        """Largest displacement (Å) of an atom under any returned operation."""
        return float(self.residuals.max())

    def orbit_of(self, atom: int) -> np.ndarray:
        """The orbit containing ``atom``."""
        return self.orbits[self._orbit_index[atom]]

    @property
    def _orbit_index(self) -> np.ndarray:
        idx = np.empty(len(self.numbers), dtype=np.int64)
        for k, orb in enumerate(self.orbits):
            idx[orb] = k
        return idx

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable summary, with operations and permutations."""
        return {
            "point_group": self.point_group,
            "order": self.order,
            "is_finite": self.group.is_finite,
            "tol": self.tol,
            "margin": self.margin if self.margin is None or np.isfinite(self.margin) else None,
            "max_residual": self.max_residual,
            "rotational_symmetry_number": self.rotational_symmetry_number,
            "center": self.center.tolist(),
            "frame": self.frame.tolist(),
            "orbits": [o.tolist() for o in self.orbits],
            "asymmetric_unit": self.asymmetric_unit.tolist(),
            "numbers": self.numbers.tolist(),
            "operations": self.operations.tolist(),
            "permutations": self.permutations.tolist(),
            "canonical_positions": self.canonical_positions.tolist(),
        }

    def __repr__(self) -> str:
        margin = "" if self.margin is None else f", tol={self.tol:.2g}, margin={self.margin:.3g}"
        return (
            f"Symmetry(point_group={self.point_group!r}, order={self.order}, n_atoms={len(self.numbers)}, "
            f"n_orbits={len(self.orbits)}, max_residual={self.max_residual:.2g}{margin})"
        )


def orient(operations: np.ndarray, types: np.ndarray, group: PointGroup) -> tuple[np.ndarray, np.ndarray]:
    """Rotation Q and index with ``Q @ group.operations[i] @ Q.T ≈ operations[index[i]]``."""
    return _orientation(operations, types, group, atol=0.5 * _min_separation(group))


@dataclasses.dataclass(frozen=True)
class Symmetrized:
    """A structure made exactly symmetric by :meth:`Symmetry.symmetrize`.

    positions: (n, 3) Å, the symmetrized coordinates (same centre, same atom order);
    numbers: (n,); point_group: the subgroup imposed (its Schoenflies name);
    rms_displacement, max_displacement: how far the atoms moved (Å), root mean square and largest;
    operations: ``(|H|, 3, 3)`` and permutations: ``(|H|, n)``, the subgroup's elements about the centre;
    choices: how many subgroups of that type the structure had (the closest one was taken).
    """

    positions: np.ndarray
    numbers: np.ndarray
    point_group: str
    rms_displacement: float
    max_displacement: float
    operations: np.ndarray
    permutations: np.ndarray
    choices: int


def symmetrize(positions: Any, numbers: Any = None, *, group: "str | PointGroup | None" = None, tol: float | str = DEFAULT_TOL) -> Symmetrized:
    """Detect the symmetry at ``tol`` (Å, or ``"auto"``) and make the structure exactly symmetric
    under ``group`` (a subgroup of the detected one; None: all of it). See :meth:`Symmetry.symmetrize`.

    Examples
    --------
    >>> from ase.build import molecule
    >>> ch4 = molecule("CH4")
    >>> noisy = ch4.positions + [[0, 0, 0], [0.02, 0, 0], [0, 0, 0], [0, 0, 0], [0, 0, 0]]
    >>> s = symmetrize(noisy, ch4.numbers, group="C3v")
    >>> s.point_group, s.choices, detect_symmetry(s.positions, ch4.numbers, tol=1e-6).point_group
    ('C3v', 4, 'C3v')
    """
    return detect_symmetry(positions, numbers, tol=tol).symmetrize(group)


def _axis_frame(axis: np.ndarray) -> np.ndarray:
    """A rotation whose third column is ``axis`` (the standard orientation's z sent onto it)."""
    # second column from the coordinate axis least along it, compared to 1e-8 so that rounding
    # noise does not pick between two equally good ones
    f = _frame(axis, np.eye(3)[int(np.argmin(np.round(np.abs(axis), 8)))])  # columns: axis, e2, e3
    return np.stack([f[:, 1], f[:, 2], f[:, 0]], axis=1)


def _match_inversion(x: np.ndarray, types: np.ndarray, tol: float) -> np.ndarray | None:
    d = np.linalg.norm(-x[:, None, :] - x[None, :, :], axis=-1)
    d[types[:, None] != types[None, :]] = np.inf
    perm = np.argmin(d, axis=1)
    if d[np.arange(len(x)), perm].max() > tol or len(np.unique(perm)) != len(x):
        return None
    return perm


def _linear(x: np.ndarray, types: np.ndarray, axis: np.ndarray, tol: float, axial_order: int):
    """The group of a linear structure, and a function giving its (orientation, operations, permutations)."""
    inv = _match_inversion(x, types, tol)
    group = _group("D*h" if inv is not None else "C*v", 0, axial_order)
    # the line's direction has no sign; fix one (largest component positive) so that the
    # orientation does not depend on the eigen-solver that found it
    axis = axis if axis[int(np.argmax(np.abs(axis)))] > 0 else -axis
    return group, functools.partial(_linear_standard, group, axis, inv, len(x))  # a partial pickles, a closure does not


def _linear_standard(group: PointGroup, axis: np.ndarray, inv: np.ndarray | None, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    q = _axis_frame(axis)
    ops = q @ group.operations @ q.T
    perms = np.tile(np.arange(n), (len(ops), 1))
    if inv is not None:
        perms[np.einsum("i,kij,j->k", axis, ops, axis) < 0] = inv
    return q, ops, perms


def _orbits(perms: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
    # The orbit of i is {perms[g, i]}; its smallest element labels it for every member.
    rep = perms.min(axis=0)
    reps = np.unique(rep)
    return [np.flatnonzero(rep == r) for r in reps], reps


#: largest structure the no-symmetry shortcut is tried on (it pays off for molecules: at 100 atoms
#: it saves 8 %, at 300 it costs 4× the search)
_SHORTCUT_ATOMS = 64


def _only_identity(x: np.ndarray, nums: np.ndarray, tol: float, dist: np.ndarray | None, normal: np.ndarray) -> bool:
    """True when no operation but the identity can be accepted, decided without searching.

    An accepted operation moves every atom by at most ``tol`` onto an atom of its type, so it maps
    atom i to an atom j whose distances to the others, type by type and sorted, are within
    2 ``tol`` of i's (and whose distance from the centre is within ``tol``, which is checked first). When no two atoms of a
    type are that alike, it fixes every atom; an orthogonal map that moves no atom of a non-linear
    structure by more than ``tol`` is then the identity, or the mirror through its plane when the
    structure is planar within ``tol``. Most molecules (86 % of QM9 is C1) end here. ``normal``:
    the direction of least spread (the normal of the best plane).
    """
    n = len(nums)
    if dist is None or n > _SHORTCUT_ATOMS:  # the comparison costs n³: for large structures the search is cheaper
        return False
    r = np.sqrt((x * x).sum(1))
    # candidate partners first (same type, radii within tol), then their distances type by type
    i, j = np.nonzero((nums[:, None] == nums[None, :]) & (np.abs(r[:, None] - r[None, :]) <= tol))
    i, j = i[i < j], j[i < j]
    if len(i):
        offsets = (nums - nums.min()) * (4.0 * float(dist.max()) + 1.0)  # one offset per type, equal for all rows
        blocks = np.sort(dist + offsets[None, :], axis=1)
        if (np.abs(blocks[i] - blocks[j]).max(1) <= 2.0 * tol).any():
            return False
    return n > 2 and bool(2.0 * np.abs(x @ normal).max() > tol)  # the mirror through the best plane moves an atom by more than tol


def detect_symmetry(
    positions: Any,
    numbers: Any = None,
    *,
    tol: float | str = DEFAULT_TOL,
    proper: bool = False,
    axial_order: int = DEFAULT_AXIAL_ORDER,
) -> Symmetry:
    r"""Find the point group, every operation, the orbits and the canonical frame of a structure.

    Parameters
    ----------
    positions: (n, 3) float, Å — or an ASE ``Atoms`` (then ``numbers`` must be omitted)
    numbers: (n,)
        Atomic numbers, any integer type labels, or element symbols; None treats all points as one
        type (a point cloud). Only atoms of equal type are ever mapped onto each other.
    tol:
        Tolerance in Å: an operation :math:`(R, \pi)` is accepted when every atom lands within
        ``tol`` of its partner, :math:`\max_i |R(x_i - c) - (x_{\pi(i)} - c)| \le` ``tol``, with
        :math:`R` the best (Procrustes) fit for that atom map. The default 0.1 Å finds the exact
        group of structures with Gaussian noise of 0.01 Å per coordinate; use about 3–5 times the
        noise per atom you expect (e.g. 0.2–0.3 Å for force-field geometries, 1e-3 Å to see only
        exact symmetry). It must be below half the smallest interatomic distance, and the atoms
        must be farther apart than their coordinates' float precision resolves.
        ``"auto"``: the structure chooses (:mod:`symbreak.detect._auto` states the rule). The
        detection runs on a ladder of tolerances from 1e-4 Å (×1.5 a step) to 0.49 of the median
        nearest-neighbour distance, matching atoms one to one. Groups every structure of that shape
        has (three atoms share a plane) are the floor, never the evidence; a group that holds
        exactly and constrains the coordinates means they are clean, and a larger group is then a
        distortion (CH3O stays Cs); otherwise the first clearly separated group wins, raised to a
        larger clearly separated one when its residual is within the noise or the file's rounding
        (noisy water is C2v, ASE's C60 is Ih). ``Symmetry.margin`` says how clearly the answer
        stood out: distrust one below 2. ``Symmetry.tol`` is then a tolerance inside the chosen
        plateau (it can exceed half the smallest distance). Costs about 15 detections.
    proper:
        If True the canonical frame is a rotation (det +1): canonical positions are invariant under
        rotations only, and enantiomers keep distinct canonical forms.
    axial_order:
        Order m of the finite subgroup ``C{m}v``/``D{m}h`` returned for linear structures.

    Returns
    -------
    Symmetry

    Examples
    --------
    >>> import numpy as np
    >>> water = np.array([[0.0, 0.0, 0.1173], [0.0, 0.7572, -0.4692], [0.0, -0.7572, -0.4692]])
    >>> sym = detect_symmetry(water, [8, 1, 1])
    >>> sym.point_group, sym.order, [o.tolist() for o in sym.orbits]
    ('C2v', 4, [[0], [1, 2]])
    """
    pos, nums = as_structure(positions, numbers)
    if not isinstance(axial_order, (int, np.integer)) or isinstance(axial_order, bool) or not 2 <= axial_order <= MAX_AXIAL_ORDER:
        raise SymbreakError(f"axial_order must be an integer from 2 to {MAX_AXIAL_ORDER}, got {axial_order!r}")
    if isinstance(tol, str) and tol.strip().lower() == "auto":
        return _detect_auto(pos, nums, proper=proper, axial_order=axial_order)
    tol, dmin, dist = check_tolerance(tol, pos)
    return _detect(pos, nums, tol, dmin, dist, proper=proper, axial_order=axial_order)


def _detect_auto(pos: np.ndarray, nums: np.ndarray, *, proper: bool, axial_order: int) -> Symmetry:
    """``tol="auto"``: the ladder of :mod:`._auto`, run past half the smallest distance where the
    atoms' matching stays one to one (noise of large clusters pushes residuals there)."""
    from ._auto import auto_symmetry
    from ._validate import check_distinct, min_distance

    dmin, i, j, dist = min_distance(pos)
    if len(pos) == 1:
        return _detect(pos, nums, DEFAULT_TOL, dmin, dist, proper=proper, axial_order=axial_order)
    check_distinct(pos, dmin, i, j)
    return auto_symmetry(lambda t: _detect(pos, nums, t, dmin, dist, proper=proper, axial_order=axial_order), dmin, _typical_distance(pos, dist))


def _typical_distance(pos: np.ndarray, dist: np.ndarray | None) -> float:
    """Median nearest-neighbour distance (Å)."""
    if dist is None:
        from scipy.spatial import cKDTree

        return float(np.median(cKDTree(pos).query(pos, k=2)[0][:, 1]))
    return float(np.median(np.partition(dist, 1, axis=1)[:, 1]))


def _detect(
    pos: np.ndarray, nums: np.ndarray, tol: float, dmin: float, dist: np.ndarray | None, *, proper: bool, axial_order: int
) -> Symmetry:
    """:func:`detect_symmetry` on validated input at one tolerance (Å)."""
    center = pos.mean(axis=0)
    x = pos - center
    n = len(pos)
    oriented, types, ops, perms = None, None, None, None
    if n == 1:
        group = _group("Kh", 0, axial_order)
        ops = group.operations
        perms = np.zeros((len(ops), 1), dtype=np.int64)
        oriented = (np.eye(3), np.arange(len(ops)))
    else:
        status = None
        if CORE is not None and dist is not None and n <= MAX_CORE_ATOMS:
            status, axis, ops, perms, dets, _, types, summary = detect_core(x, nums, tol, dmin, dist, n <= _SHORTCUT_ATOMS)
            if status == LINEAR:
                group, oriented = _linear(x, nums, axis.copy(), tol, axial_order)
            elif status == 0:
                group, ops, perms = _group("C", 1, axial_order), _IDENTITY, np.arange(n)[None]
                oriented = _UNORIENTED
            elif status > 0:
                h, h_n, k_n, inv, bad = summary.tolist()
                if bad:
                    raise GroupError("an operation has no finite order within the group")
                group = _group(*name_from_counts(len(ops), h, h_n, k_n, bool(inv)), axial_order)
                if len(group.operations) != len(ops):
                    raise GroupError(f"{len(ops)} operations classified as {group.name} of order {group.order}: not a group")
            elif status <= OPEN_BASE:  # at the edge of the tolerance: close them on permutations
                ops, perms = close_operations(x, list(perms), [int(d) for d in dets], tol * (1.0 + 1e-9) + 1e-12)
                group, q, idx = name_and_orient(ops, axial_order=axial_order)
                oriented = (q, idx)
            else:
                status = None  # more operations than a molecule can have: the NumPy path decides
        if status is None:
            _, _, vt = np.linalg.svd(x, full_matrices=False)
            axis = vt[0]
            off_axis = np.linalg.norm(x - np.outer(x @ axis, axis), axis=1).max()
            if off_axis <= tol:
                group, oriented = _linear(x, nums, axis, tol, axial_order)
            elif _only_identity(x, nums, tol, dist, vt[-1]):
                group, ops, perms = _group("C", 1, axial_order), _IDENTITY, np.arange(n)[None]
                oriented = _UNORIENTED
            else:
                ops, perms = find_operations(x, nums, tol, dmin, dist)
                group, q, idx = name_and_orient(ops, axial_order=axial_order)
                oriented = (q, idx)

    return Symmetry(
        point_group=group.name,
        group=group,
        center=_readonly(center),
        positions=_readonly(pos),
        numbers=_readonly(nums),
        tol=tol,
        proper=bool(proper),
        _found_operations=ops,
        _found_permutations=perms,
        _found_types=types,
        _oriented=oriented,
    )


_IDENTITY = _readonly(np.eye(3)[None])
_UNORIENTED = (_readonly(np.eye(3)), np.zeros(1, dtype=np.int64))


@functools.lru_cache(maxsize=1024)
def _group(family: str, n: int, axial_order: int) -> PointGroup:
    return PointGroup._from_family(family, n, axial_order)


def _detect_one(args: tuple) -> Symmetry:
    positions, numbers, kwargs = args
    return detect_symmetry(positions, numbers, **kwargs)


def detect_many(structures: Any, *, n_jobs: int = 1, chunksize: int = 64, **kwargs: Any) -> list[Symmetry]:
    """:func:`detect_symmetry` of many structures, in ``n_jobs`` processes (-1: one per CPU).

    structures: ASE ``Atoms`` or ``(positions, numbers)`` pairs; ``kwargs`` go to
    :func:`detect_symmetry` (``tol``, ``proper``, ...). The results come back in input order; an
    error names the structure it came from.
    """
    import os

    items = []
    for i, s in enumerate(structures):
        if hasattr(s, "get_positions"):
            from ._crystal import is_periodic

            if is_periodic(s):
                raise StructureError(f"structure {i} is periodic: use symbreak.detect.detect_crystal")
            items.append((s.get_positions(), s.numbers, kwargs))
        else:
            positions, numbers = s
            items.append((positions, numbers, kwargs))
    jobs = (os.cpu_count() or 1) if n_jobs == -1 else int(n_jobs)
    if jobs < 1:
        raise SymbreakError(f"n_jobs must be >= 1 or -1, got {n_jobs}")
    if jobs == 1 or len(items) < 2:
        out = []
        for i, item in enumerate(items):
            try:
                out.append(_detect_one(item))
            except SymbreakError as exc:
                raise type(exc)(f"structure {i}: {exc}") from None
        return out
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(max_workers=jobs) as pool:
        try:
            return list(pool.map(_detect_one, items, chunksize=chunksize))
        except SymbreakError as exc:  # which structure: rerun serially to name it
            for i, item in enumerate(items):
                try:
                    _detect_one(item)
                except SymbreakError as inner:
                    raise type(inner)(f"structure {i}: {inner}") from None
            raise exc
