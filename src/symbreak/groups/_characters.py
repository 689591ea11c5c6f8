r"""Character tables of the finite point groups, with Mulliken's names for the irreps.

The characters are computed, not copied from a book: the irreducible characters of a finite group
are the simultaneous eigenvectors of its class multiplication matrices (Burnside's algorithm, as
made practical by Dixon, *Numer. Math.* 10, 446 (1967)). For class sums
:math:`K_r = \sum_{g \in C_r} g`,

.. math::

    K_r K_s = \sum_t c_{rst} K_t, \qquad
    \omega_i(K_r)\,\omega_i(K_s) = \sum_t c_{rst}\,\omega_i(K_t), \qquad
    \omega_i(K_r) = \frac{|C_r|\,\chi_i(g_r)}{\chi_i(e)},

so the central characters :math:`\omega_i` are the common right eigenvectors of the matrices
:math:`(A_r)_{st} = c_{rst}`. Since :math:`|C_t|\,c_{rst} = |C_s|\,c_{r^*ts}` (:math:`r^*`: the
class of inverses), :math:`D^{-1/2} \sum_r a_r A_r\, D^{1/2}` with :math:`D = \mathrm{diag}\,|C|` is
Hermitian when :math:`a_{r^*} = \bar a_r`; one Hermitian eigendecomposition of such a random
combination separates all the irreps, complex-conjugate pairs included. The normalisation
:math:`\omega_i(e) = 1` and the first orthogonality relation
:math:`\sum_r |C_r|\,|\chi_i(g_r)|^2 = |G|` then give the degree :math:`\chi_i(e)` and the
characters.

The classes and the irreps are then named by the geometry of :class:`PointGroup`'s standard
orientation (see :func:`character_table` for the conventions), the way the chemistry tables of
Cotton (*Chemical Applications of Group Theory*) and Gelessus, Thiel & Weber (*J. Chem. Educ.* 72,
505 (1995); symmetry.constructor.university) name them.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Sequence
from fractions import Fraction

import numpy as np

from .._errors import GroupError
from ._matrices import C2X, C3_111, INVERSION, SIGMA_H, SIGMA_V, SWAP_XY, element_types, rot_z, rotation_about, rotation_axes
from ._pointgroup import _C5, PointGroup

__all__ = ["CharacterTable", "character_table"]

#: Characters closer than this to an integer (real and imaginary parts apart) are snapped onto it.
SNAP_ATOL = 1e-9
#: Largest error accepted in the orthogonality relations of the computed table (in units of |G|).
ORTHOGONALITY_ATOL = 1e-7
#: Tolerance on unit-vector components when reading the geometry of an operation (axis ∥ z, ...).
AXIS_ATOL = 1e-6

_SUPERSCRIPT = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")
_LETTERS = "ABETGH"  # Mulliken letters, in the order rows are listed
_DEGREE_LETTER = {2: "E", 3: "T", 4: "G", 5: "H"}
_CUBIC = ("T", "Td", "Th", "O", "Oh")
_ICOSAHEDRAL = ("I", "Ih")
_D111 = np.ones(3) / math.sqrt(3.0)


# -- the numbers ----------------------------------------------------------------------------------
class _Lookup:
    """Index of a group element from its matrix, without the (k, k) Cayley table.

    Each matrix is keyed by its projection on a fixed generic direction of R⁹; keys of distinct
    elements differ, so a sorted search finds the element, and the Frobenius distance confirms it.
    Memory stays O(k) per call, so axial groups of thousands of elements (D1000h) are handled.
    """

    def __init__(self, ops: np.ndarray):
        self.flat = ops.reshape(len(ops), 9)
        self.w = np.random.default_rng(7).standard_normal(9)
        keys = self.flat @ self.w
        self.order = np.argsort(keys)
        self.sorted_keys = keys[self.order]

    def __call__(self, mats: np.ndarray) -> np.ndarray:
        flat = mats.reshape(-1, 9)
        n = len(self.order)
        pos = np.searchsorted(self.sorted_keys, flat @ self.w)
        # of the two elements whose keys bracket the product's, the one nearer in Frobenius norm
        lo, hi = self.order[np.clip(pos - 1, 0, n - 1)], self.order[np.clip(pos, 0, n - 1)]
        d_lo = ((self.flat[lo] - flat) ** 2).sum(1)
        d_hi = ((self.flat[hi] - flat) ** 2).sum(1)
        idx = np.where(d_lo < d_hi, lo, hi)
        if np.minimum(d_lo, d_hi).max(initial=0.0) > 1e-12:  # pragma: no cover - PointGroup is closed
            raise GroupError("the operations are not closed under multiplication")
        return idx


def _classes(ops: np.ndarray, lookup: _Lookup) -> tuple[np.ndarray, list[np.ndarray]]:
    """Conjugacy classes :math:`\\{h x h^{-1}\\}` (``ops[0]`` is the identity).

    Returns ``class_of`` (k,) int and the members of each class, ordered by smallest member.
    """
    class_of = np.full(len(ops), -1, dtype=np.int64)
    members = []
    for x in range(len(ops)):
        if class_of[x] >= 0:
            continue
        m = np.unique(lookup(ops @ ops[x] @ ops.transpose(0, 2, 1)))
        class_of[m] = len(members)
        members.append(m)
    return class_of, members


def _irreducible_characters(ops: np.ndarray, lookup: _Lookup, class_of: np.ndarray, members: list[np.ndarray]) -> np.ndarray:
    """Burnside–Dixon: the irreducible characters, (n_classes, n_classes) complex, rows = irreps."""
    k = len(ops)
    nc = len(members)
    sizes = np.array([len(m) for m in members], dtype=float)
    inverses = ops.transpose(0, 2, 1)
    # y[x, t] = x⁻¹ z_t; c_rst = #{x ∈ C_r : x⁻¹ z_t ∈ C_s} = #{(x, y) ∈ C_r × C_s : x y = z_t}
    y_class = np.empty((k, nc), dtype=np.int64)
    block = max(1, 250_000 // k)  # products per block: bounded memory for the largest axial groups
    for t0 in range(0, nc, block):
        reps = np.array([m[0] for m in members[t0 : t0 + block]])
        y = np.einsum("xab,tbc->xtac", inverses, ops[reps])
        y_class[:, t0 : t0 + len(reps)] = class_of[lookup(y)].reshape(k, len(reps))
    # Dixon's Hermitian form: |C_t| c_rst = |C_s| c_{r* t s} (r*: the class of inverses), so
    # B_r = D^(-1/2) A_r D^(1/2), D = diag |C|, has B_r^T = B_{r*}; with a_{r*} = conj(a_r) the
    # combination B = Σ_r a_r B_r is Hermitian, and its eigenvectors are D^(-1/2) ω.
    star = class_of[lookup(inverses[[m[0] for m in members]])]
    root = np.sqrt(sizes)
    rng = np.random.default_rng(20240229)
    for _ in range(8):
        u, v = rng.standard_normal(nc), rng.standard_normal(nc)
        a = (u + u[star]) / 2 + 1j * (v - v[star]) / 2
        combo = np.zeros((nc, nc), dtype=complex)
        cols = np.broadcast_to(np.arange(nc), (k, nc))
        np.add.at(combo, (y_class, cols), np.broadcast_to(a[class_of][:, None], (k, nc)))
        herm = combo * root[None, :] / root[:, None]
        _, vectors = np.linalg.eigh((herm + herm.conj().T) / 2)
        omega = vectors * root[:, None]
        omega = omega / omega[0]  # ω(K_e) = 1; row 0 is the identity's class
        degree = np.sqrt(k / (np.abs(omega) ** 2 / sizes[:, None]).sum(axis=0))
        chars = (degree * omega / sizes[:, None]).T
        gram = (chars * sizes) @ chars.conj().T
        if np.abs(degree - np.rint(degree)).max() < 1e-6 and np.abs(gram - k * np.eye(nc)).max() < ORTHOGONALITY_ATOL * k:
            return _snap(chars)
    raise GroupError("could not separate the irreducible characters")  # pragma: no cover - generic a works


def _snap(x: np.ndarray) -> np.ndarray:
    """Put real and imaginary parts that are within :data:`SNAP_ATOL` of an integer onto it."""
    re, im = x.real.copy(), x.imag.copy()
    for part in (re, im):
        near = np.abs(part - np.rint(part)) < SNAP_ATOL
        part[near] = np.rint(part[near]) + 0.0
    return re + 1j * im


# -- the geometry of one operation ----------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class _Op:
    """An orthogonal matrix read as ``det · P`` with P a rotation by 2π·``frac`` (≤ ½) about ``axis``."""

    det: int
    frac: Fraction  # angle of P = det·R over 2π, in [0, 1/2]
    axis: np.ndarray  # unit axis of P, oriented so that P turns by +2π·frac about it (0 for P = E)

    def signed(self, d: np.ndarray) -> Fraction:
        """Angle of P about the direction ``d`` (P's axis is ±d), over 2π, in [0, 1)."""
        if self.frac in (0, Fraction(1, 2)) or float(self.axis @ d) > 0:
            return self.frac
        return 1 - self.frac

    def along(self, d: np.ndarray) -> bool:
        return abs(abs(float(self.axis @ d)) - 1.0) < AXIS_ATOL


def _read_ops(ops: np.ndarray, order: int) -> list[_Op]:
    """Geometry of each of ``ops`` (k, 3, 3), elements of a group of the given order."""
    types = element_types(ops, atol=1e-3, max_order=order)
    axes, _ = rotation_axes(ops)
    return [_Op(int(t[0]), Fraction(int(t[2]), int(t[1])), ax) for t, ax in zip(types, axes)]


def _sup(k: int) -> str:
    return "" if k == 1 else str(k).translate(_SUPERSCRIPT)


def _rotation_label(frac: Fraction, real: bool) -> str:
    """``C_n^k`` for a rotation by 2πk/n; a real class is named by its smaller power."""
    if real:
        frac = min(frac, 1 - frac)
    return f"C{frac.denominator}{_sup(frac.numerator)}"


def _s_exponent(theta: Fraction) -> int:
    # σh·C(2πk/n) = S_n^k for k odd or n even; for n odd and k even it is S_n^(k+n)
    k, n = theta.numerator, theta.denominator
    return k if (n % 2 == 0 or k % 2 == 1) else k + n


def _improper_label(theta: Fraction, real: bool, mirror: str) -> str:
    """Name of σh·C(2πθ): ``σ``-type, ``i``, or ``S_n^k`` (a real class: the smallest exponent)."""
    if theta == 0:
        return mirror
    if theta == Fraction(1, 2):
        return "i"
    options = [theta, 1 - theta] if real else [theta]
    best = min(options, key=_s_exponent)
    return f"S{best.denominator}{_sup(_s_exponent(best))}"


def _theta(op: _Op, d: np.ndarray) -> Fraction:
    """For an improper R = −P: R = σh·C(2πθ) about ``d``, θ in [0, 1)."""
    return (op.signed(d) + Fraction(1, 2)) % 1


# -- naming the classes ---------------------------------------------------------------------------
def _class_names(group: PointGroup, ops: np.ndarray, members: list[np.ndarray], real: list[bool]):
    """Label, sort key and representative index of every class."""
    info = _read_ops(ops, len(ops))
    fam, n = group.family, group.n
    z = np.array([0.0, 0.0, 1.0])
    x_axis = np.array([1.0, 0.0, 0.0])
    polyhedral = fam in _CUBIC or fam in _ICOSAHEDRAL
    d = _D111 if fam in ("T", "Th") else z  # direction that fixes the sense of complex classes
    d2 = fam in ("D", "Dh") and n == 2
    c2z = any(o.det > 0 and o.frac == Fraction(1, 2) and o.along(z) for o in info)

    def rep_key(i: int):
        u = info[i].axis
        if polyhedral:
            return (-round(abs(u @ d), 6), -round(u @ d, 6), -round(abs(u[2]), 6), -round(u[2], 6), -round(abs(u[0]), 6), i)
        return (-round(abs(u[2]), 6), -round(u[2], 6), -round(abs(u[0]), 6), -round(u[0], 6), -round(u[1], 6), i)

    def proper_key(op: _Op, member_ops: list[_Op], is_real: bool):
        """Position of a proper class among the proper ones."""
        if op.frac == 0:
            return (0, 0, 0)
        if polyhedral:
            m = op.frac.denominator
            if fam in _ICOSAHEDRAL:
                return ({5: 1, 3: 3, 2: 4}[m] + (op.frac == Fraction(2, 5)), 0, 0)
            if m == 2:
                return (2 if any(o.along(x_axis) or o.along(z) for o in member_ops) else 4, 0, 0)
            signed = op.signed(d)
            return ({3: 1, 4: 3}[m], min(signed, 1 - signed) if is_real else signed, 0)
        if op.along(z):
            signed = op.signed(z)
            return (0, min(signed, 1 - signed) if is_real else signed, 0)
        if d2:
            return (1, 0 if op.along(np.array([0.0, 1.0, 0.0])) else 1, 0)
        return (1, 0 if any(o.along(x_axis) for o in member_ops) else 1, 0)

    has_i = group.has_inversion
    has_sh = not has_i and fam in ("Ch", "Dh", "Cs")
    labels, keys, reps = [], [], []
    for mem, is_real in zip(members, real):
        rep = min(mem.tolist(), key=rep_key)
        op = info[rep]
        member_ops = [info[i] for i in mem]
        r = ops[rep]
        if op.det > 0:
            key = (0,) + proper_key(op, member_ops, is_real)
            label = _proper_name(op, member_ops, is_real, fam, n, d, d2, c2z, polyhedral)
        else:
            label = _improper_name(op, member_ops, is_real, fam, n, d, d2, polyhedral)
            if has_i or polyhedral:
                key = (1,) + proper_key(_read_ops(-r[None], len(ops))[0], _read_ops(-ops[mem], len(ops)), is_real)
            elif has_sh:
                partner = [SIGMA_H @ ops[i] for i in mem]
                p_ops = _read_ops(np.stack(partner), len(ops))
                key = (1,) + proper_key(min(p_ops, key=lambda o: (-abs(o.axis[2]), -o.axis[2])), p_ops, is_real)
            elif op.along(z):  # S2n and Dnd (n even): rotations and rotoreflections by their angle
                theta = _theta(op, z)
                key = (0, 0, min(theta, 1 - theta) if is_real else theta, 1)
            else:  # vertical mirrors after the rotations: σv (through x) before σd
                key = (0, 2, 0 if any(abs(o.axis[0]) < AXIS_ATOL for o in member_ops) else 1, 0)
        labels.append(label if len(mem) == 1 else f"{len(mem)}{label}")
        keys.append(key)
        reps.append(rep)
    return labels, keys, reps


def _proper_name(op, member_ops, is_real, fam, n, d, d2, c2z, polyhedral) -> str:
    z = np.array([0.0, 0.0, 1.0])
    if op.frac == 0:
        return "E"
    if polyhedral:
        if fam in _CUBIC and op.frac == Fraction(1, 2):
            coordinate = any(abs(o.axis).max() > 1 - AXIS_ATOL for o in member_ops)
            return "C2" if coordinate or fam not in ("O", "Oh") else "C2′"
        return _rotation_label(op.signed(d), is_real)
    if op.along(z):
        label = _rotation_label(op.signed(z), is_real)
        return "C2(z)" if d2 else label
    # a C2 perpendicular to the principal axis
    if d2:
        return "C2(x)" if op.along(np.array([1.0, 0.0, 0.0])) else "C2(y)"
    through_x = any(o.along(np.array([1.0, 0.0, 0.0])) for o in member_ops)
    primed = c2z or not through_x  # a second class of perpendicular C2 exists whenever C2(z) does
    if not primed:
        return "C2"
    return "C2′" if through_x else "C2″"


def _improper_name(op, member_ops, is_real, fam, n, d, d2, polyhedral) -> str:
    z = np.array([0.0, 0.0, 1.0])
    if op.frac == 0:
        return "i"
    if polyhedral:
        if op.frac == Fraction(1, 2):  # a mirror; P's axis is its normal
            if fam in _ICOSAHEDRAL:
                return "σ"
            return "σh" if any(abs(o.axis).max() > 1 - AXIS_ATOL for o in member_ops) else "σd"
        return _improper_label(_theta(op, d), is_real, "σ")
    if op.along(z):
        return _improper_label(_theta(op, z), is_real, "σ(xy)" if d2 else "σh")
    # a vertical mirror; its normal is P's axis, perpendicular to z
    through_x = any(abs(o.axis[0]) < AXIS_ATOL for o in member_ops)
    if fam == "Cv":
        if n == 2:
            return "σv(xz)" if through_x else "σv′(yz)"
        return "σv" if through_x else "σd"
    if fam == "Dh":
        if n == 2:
            return "σ(xz)" if through_x else "σ(yz)"
        return "σv" if through_x else "σd"
    return "σd"


# -- naming the irreps ----------------------------------------------------------------------------
def _principal(group: PointGroup) -> np.ndarray | None:
    """The operation whose character makes A or B (and numbers E1, E2, ...)."""
    fam, n = group.family, group.n
    if fam in ("C", "Cv", "D", "Ch", "Dh") and n >= 2:
        return rot_z(2 * math.pi / n)
    if fam == "S":
        return rot_z(4 * math.pi / n) if (n // 2) % 2 == 1 else rot_z(2 * math.pi / n) @ SIGMA_H
    if fam == "Dd":
        return rot_z(2 * math.pi / n) if n % 2 == 1 else rot_z(math.pi / n) @ SIGMA_H
    if fam in _CUBIC:
        return C3_111
    if fam in _ICOSAHEDRAL:
        return _C5
    return None


def _irrep_names(group: PointGroup, chars: np.ndarray, class_index) -> tuple[list[str], list[tuple]]:
    """Mulliken names of the rows of ``chars`` (n_irreps, n_classes) and their sort keys."""
    fam, n = group.family, group.n
    principal = _principal(group)
    p_cls = None if principal is None else class_index(principal)
    big_n = 0 if principal is None else _order_of(principal)
    number_e = big_n >= 5
    i_cls = class_index(INVERSION) if group.has_inversion else None
    sh_cls = class_index(SIGMA_H) if (i_cls is None and fam in ("Ch", "Dh", "Cs")) else None
    # the class whose character numbers A1/A2 (and T1/T2)
    sub_cls = None
    if fam in ("D", "Dh", "Dd") and not (n == 2 and fam != "Dd"):
        sub_cls = class_index(C2X)
    elif fam == "Cv":
        sub_cls = class_index(SIGMA_V)
    elif fam in ("O", "Oh"):
        sub_cls = class_index(rotation_about(np.array([1.0, 1.0, 0.0]), math.pi))
    elif fam == "Td":
        sub_cls = class_index(SWAP_XY)
    d2_cls = None
    if fam in ("D", "Dh") and n == 2:
        d2_cls = [class_index(np.diag([-1.0, -1.0, 1.0])), class_index(np.diag([-1.0, 1.0, -1.0])), class_index(C2X)]

    names, keys = [], []
    for row in chars:
        dim = int(round(row[0].real))
        prefix, number, letter = "", 0, ""
        c = None if p_cls is None else row[p_cls]
        if dim == 1:
            if c is None or abs(c - 1) < 1e-6:
                letter = "A"
            elif abs(c + 1) < 1e-6:
                letter = "B"
            else:  # one of a complex-conjugate pair: χ(principal) = exp(2πik/N)
                letter = "E"
                k = int(round(np.angle(c) / (2 * math.pi) * big_n)) % big_n
                pair = min(k, big_n - k)
                prefix = "¹" if k == pair else "²"
                number = pair if number_e else 0
            if letter in ("A", "B") and sub_cls is not None:
                number = 1 if row[sub_cls].real > 0 else 2
            if letter in ("A", "B") and d2_cls is not None:  # D2, D2h: B1, B2, B3 by C2(z), C2(y), C2(x)
                plus = [j for j, cl in enumerate(d2_cls) if row[cl].real > 0]
                letter, number = ("A", 0) if len(plus) == 3 else ("B", plus[0] + 1)
        else:
            letter = _DEGREE_LETTER.get(dim, f"[{dim}]")
            if dim == 2 and c is not None and fam not in _CUBIC:
                k = int(round(math.acos(max(-1.0, min(1.0, c.real / 2))) * big_n / (2 * math.pi)))
                number = k if number_e else 0
            if dim == 3 and sub_cls is not None:
                number = 1 if row[sub_cls].real < 0 else 2
            if dim == 3 and fam in _ICOSAHEDRAL:
                number = 1 if c.real > 0 else 2
        suffix, suffix_rank = "", 0
        if i_cls is not None:
            suffix, suffix_rank = ("g", 0) if row[i_cls].real > 0 else ("u", 1)
        elif sh_cls is not None:
            suffix, suffix_rank = ("′", 0) if row[sh_cls].real > 0 else ("″", 1)
        names.append(f"{prefix}{letter}{number or ''}{suffix}")
        keys.append((suffix_rank, _LETTERS.index(letter) if letter in _LETTERS else 9, dim, number, "¹²".find(prefix)))
    return names, keys


def _order_of(m: np.ndarray) -> int:
    p, k = m.copy(), 1
    while np.abs(p - np.eye(3)).max() > 1e-9:
        p, k = p @ m, k + 1
    return k


# -- linear functions (the right-hand column of the chemistry tables) -----------------------------
def _functions(ops: np.ndarray, class_of: np.ndarray, chars: np.ndarray) -> list[str]:
    r"""Which of x, y, z and Rx, Ry, Rz transform as each irrep.

    A function f transforms as :math:`\chi_i` when :math:`f(R\,r) = \chi_i(R) f(r)` (the chemistry
    tables' convention: x + iy belongs to the irrep with :math:`\chi(C_n) = e^{2\pi i/n}`). For
    f(r) = w·r that reads :math:`R^T w = \chi_i(R)\, w`; the projector onto such w is
    :math:`P_i = \frac{d_i}{|G|}\sum_R \chi_i(R)^* R^T`.
    """
    k = len(ops)
    dets = np.linalg.det(ops)
    out = []
    for row in chars:
        per_op = row[class_of]
        dim = int(round(row[0].real))
        parts = []
        for rep, names in ((ops, ("x", "y", "z")), (ops * dets[:, None, None], ("Rx", "Ry", "Rz"))):
            p = dim / k * np.einsum("g,gji->ij", per_op.conj(), rep)
            parts += _describe(p, names, dim)
        out.append(", ".join(parts))
    return out


def _describe(p: np.ndarray, names: tuple[str, str, str], dim: int) -> list[str]:
    rank = int(round(np.trace(p).real))
    if rank == 0:
        return []
    cols = p.T  # P e_j
    inside = [j for j in range(3) if np.abs(cols[j] - np.eye(3)[j]).max() < 1e-6]
    outside = [j for j in range(3) if np.abs(cols[j]).max() < 1e-6]
    if len(inside) + len(outside) == 3:
        if dim == 1:
            return [names[j] for j in inside]
        return ["(" + ", ".join(names[j] for j in inside) + ")"]
    if rank == 1 and dim == 1:  # a complex combination such as x + iy
        j = int(np.argmax(np.abs(cols).max(axis=1)))
        w = cols[j] / cols[j][int(np.argmax(np.abs(cols[j]) > 1e-6))]
        if abs(w[2]) < 1e-6 and abs(abs(w[1]) - 1) < 1e-6 and abs(w[1].real) < 1e-6:
            return [f"{names[0]}{'+' if w[1].imag > 0 else '−'}i{names[1]}"]
    return []


# -- the table ------------------------------------------------------------------------------------
def _normalize_label(label: str) -> str:
    """Accept ASCII spellings: ``C3^2`` → ``C3²``, ``sigma_v`` → ``σv``, ``'`` → ``′``, ``''`` → ``″``."""
    s = label.strip().replace("sigma", "σ").replace("_", "").replace("''", "″").replace("'", "′").replace('"', "″")
    if "^" in s:
        head, _, tail = s.partition("^")
        digits = "".join(ch for ch in tail if ch.isdigit())
        s = head + digits.translate(_SUPERSCRIPT) + tail[len(digits):]
    return s


def _format_number(v: complex) -> str:
    re = 0.0 if abs(v.real) < 5e-4 else v.real
    im = 0.0 if abs(v.imag) < 5e-4 else v.imag

    def real(x: float) -> str:
        if abs(x - round(x)) < 1e-9:
            return str(int(round(x)))
        return f"{x:.3f}".rstrip("0")

    if im == 0:
        return real(re)
    imag = "i" if abs(abs(im) - 1) < 1e-9 else real(abs(im)) + "i"
    if re == 0:
        return ("-" if im < 0 else "") + imag
    return f"{real(re)}{'-' if im < 0 else '+'}{imag}"


@dataclasses.dataclass(frozen=True, eq=False)
class CharacterTable:
    r"""The character table of a finite point group, in :class:`PointGroup`'s standard orientation.

    Attributes
    ----------
    group:
        Schoenflies name, e.g. ``'C3v'``.
    order:
        :math:`|G|`.
    classes:
        Class labels with their size as a prefix, e.g. ``('E', '2C3', '3σv')``.
    class_sizes: (n_classes,) int
    representatives: (n_classes, 3, 3) float
        One operation of each class (the one the label describes), as in ``PointGroup.operations``.
    class_members:
        For each class, the indices of its elements in ``PointGroup(group).operations``.
    irreps:
        Mulliken names, e.g. ``('A1', 'A2', 'E')``.
    characters: (n_irreps, n_classes)
        :math:`\chi_i(C)`; float64 when every irrep is real, complex128 otherwise.
    functions:
        For each irrep, which of x, y, z, Rx, Ry, Rz transform as it (``'z, Rz'``, ``'(x, y)'``,
        ``'x+iy'``), as in the right-hand column of the chemistry tables.
    """

    group: str
    order: int
    classes: tuple[str, ...]
    class_sizes: np.ndarray
    representatives: np.ndarray
    class_members: tuple[tuple[int, ...], ...]
    irreps: tuple[str, ...]
    characters: np.ndarray
    functions: tuple[str, ...]

    # -- descriptors ------------------------------------------------------------------------
    @property
    def dimensions(self) -> np.ndarray:
        """Degree :math:`\\chi_i(E)` of each irrep: (n_irreps,) int."""
        return np.rint(self.characters[:, 0].real).astype(int)

    @property
    def is_real(self) -> bool:
        """False where some irreps come in complex-conjugate pairs (¹E, ²E)."""
        return not np.iscomplexobj(self.characters)

    def irrep_index(self, name: str) -> int:
        """Row of the irrep ``name`` (ASCII accepted: ``"A1'"``, ``"E''"``)."""
        s = _normalize_label(name)
        if s not in self.irreps:
            raise GroupError(f"{name!r} is not an irrep of {self.group}; its irreps are {', '.join(self.irreps)}")
        return self.irreps.index(s)

    def class_index(self, label: str) -> int:
        """Column of a class, by its label with or without the size prefix (``"2C3"``, ``"C3"``, ``"C3^2"``)."""
        s = _normalize_label(label)
        bare = [c.lstrip("0123456789") for c in self.classes]
        if s in self.classes:
            return self.classes.index(s)
        if s in bare:
            return bare.index(s)
        raise GroupError(f"{label!r} is not a class of {self.group}; its classes are {', '.join(self.classes)}")

    def character(self, irrep: str, cls: str) -> float | complex:
        """:math:`\\chi_{irrep}(cls)`, e.g. ``character_table("C3v").character("E", "C3") == -1``."""
        value = self.characters[self.irrep_index(irrep), self.class_index(cls)]
        return complex(value) if np.iscomplexobj(value) else float(value)

    # -- representations --------------------------------------------------------------------
    def characters_of(self, matrices: np.ndarray) -> np.ndarray:
        """Character of a representation given as matrices ``D(g)``, ``(|G|, d, d)``, one per element of
        ``PointGroup(group).operations`` in that order: :math:`\\mathrm{tr}\\,D(g_C)`, (n_classes,)."""
        m = np.asarray(matrices)
        if m.ndim != 3 or m.shape[0] != self.order or m.shape[1] != m.shape[2]:
            raise GroupError(f"matrices must have shape ({self.order}, d, d) for {self.group}, got {m.shape}")
        reps = [members[0] for members in self.class_members]
        return np.trace(m[reps], axis1=1, axis2=2)

    def reduce(self, characters: Sequence[complex] | np.ndarray, *, atol: float = 1e-6) -> np.ndarray:
        r"""Multiplicities of the irreps in a representation with these class characters.

        .. math:: n_i = \frac{1}{|G|} \sum_C |C|\, \chi_i(C)^*\, \chi(C)

        Parameters
        ----------
        characters: (n_classes,) or (m, n_classes)
            :math:`\chi(C)` in the order of :attr:`classes`.

        Returns
        -------
        (n_irreps,) or (m, n_irreps) float
            Integers for a representation; raises :class:`GroupError` where an imaginary part
            exceeds ``atol`` (not the character of a representation).
        """
        chi = np.asarray(characters, dtype=complex)
        if chi.shape[-1] != len(self.classes):
            raise GroupError(f"expected {len(self.classes)} characters (one per class of {self.group}), got shape {chi.shape}")
        n = chi @ (self.class_sizes[:, None] * np.conj(self.characters).T) / self.order
        if np.abs(n.imag).max() > atol:
            raise GroupError(f"the characters {chi.tolist()} reduce to complex multiplicities: not a representation")
        return n.real + 0.0

    def decompose(self, characters: Sequence[complex] | np.ndarray, *, atol: float = 1e-6) -> dict[str, int]:
        """The irreps in a representation with these class characters, with their multiplicities.

        >>> character_table("C2v").decompose([3, -1, 1, 1])  # x, y, z
        {'A1': 1, 'B1': 1, 'B2': 1}

        Raises :class:`GroupError` when the multiplicities are not non-negative integers.
        """
        n = self.reduce(characters, atol=atol)
        if n.ndim != 1:
            raise GroupError("decompose takes the characters of one representation, (n_classes,)")
        if np.abs(n - np.rint(n)).max() > atol or (np.rint(n) < 0).any():
            raise GroupError(f"not the character of a representation of {self.group}: multiplicities {np.round(n, 6).tolist()}")
        return {name: int(m) for name, m in zip(self.irreps, np.rint(n)) if m}

    def product(self, *irreps: str) -> dict[str, int]:
        """Decomposition of the direct product of irreps, e.g. ``product("E", "E")`` in C3v."""
        chi = np.ones(len(self.classes), dtype=complex)
        for name in irreps:
            chi = chi * self.characters[self.irrep_index(name)]
        return self.decompose(chi)

    # -- output -----------------------------------------------------------------------------
    def to_dict(self) -> dict:
        """JSON-ready: names, sizes, representatives, and the characters (imaginary parts apart)."""
        out = {
            "group": self.group,
            "order": self.order,
            "classes": list(self.classes),
            "class_sizes": [int(s) for s in self.class_sizes],
            "representatives": np.round(self.representatives, 12).tolist(),
            "irreps": list(self.irreps),
            "dimensions": [int(d) for d in self.dimensions],
            "characters": np.round(self.characters.real, 12).tolist(),
            "functions": list(self.functions),
        }
        if not self.is_real:
            out["characters_imag"] = np.round(self.characters.imag, 12).tolist()
        return out

    def __str__(self) -> str:
        cells = [[_format_number(complex(v)) for v in row] for row in self.characters]
        widths = [max(len(c), *(len(r[j]) for r in cells)) for j, c in enumerate(self.classes)]
        first = max(len(self.group), *(len(i) for i in self.irreps))
        lines = [f"{self.group:<{first}}  " + "  ".join(f"{c:>{w}}" for c, w in zip(self.classes, widths))]
        for name, row, fn in zip(self.irreps, cells, self.functions):
            line = f"{name:<{first}}  " + "  ".join(f"{v:>{w}}" for v, w in zip(row, widths))
            lines.append((line + "   " + fn) if fn else line)
        if not self.is_real:
            lines.append("¹E, ²E: a complex-conjugate pair; ¹E_k has χ = exp(+2πik/N) on the principal C_N (or S_N)")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"CharacterTable({self.group!r}, irreps={list(self.irreps)})"


def character_table(group: PointGroup | str) -> CharacterTable:
    r"""The character table of a finite point group, computed from its operations.

    Parameters
    ----------
    group:
        A :class:`PointGroup` or a Schoenflies name (``"C2v"``, ``"D6h"``, ``"Ih"``, ...). The
        infinite groups ``C*v``, ``D*h`` and ``Kh`` have no finite table and raise
        :class:`~symbreak.GroupError`.

    Returns
    -------
    CharacterTable
        Classes and irreps named as in the chemistry tables (Cotton; Gelessus, Thiel & Weber),
        rows sorted g before u (′ before ″), then A, B, E, T, G, H.

    Notes
    -----
    The characters are the simultaneous eigenvectors of the class multiplication matrices
    (Burnside–Dixon, see the module docstring), so every finite point group gets its table.
    Conventions, all in :class:`PointGroup`'s standard orientation (principal axis z, the C2′ of
    ``Dn``/``Dnh``/``Dnd`` along x, the σv of ``Cnv`` the xz plane):

    * **Classes.** ``E``, ``C_n^k`` (a class closed under inverses by its smaller power), ``i``,
      ``σh``, ``S_n^k`` for σh·C(2πk/n) (k odd, or k + n for n odd and k even: ``S3⁵``).
      Perpendicular C2: ``C2′`` through x, ``C2″`` the other class; unprimed ``C2`` when the group
      has a single class of them and no C2 along z (D3, D3h, D3d). Vertical mirrors: ``σv``
      contains x (Cnv: the xz plane; Dnh: the C2′ axes), ``σd`` the other class (all of them in
      Dnd and Td). ``D2``/``D2h``: ``C2(z)``, ``C2(y)``, ``C2(x)``, ``σ(xy)``, ``σ(xz)``,
      ``σ(yz)``; ``C2v``: ``σv(xz)``, ``σv′(yz)``. Cubic groups: ``3C2`` about x, y, z, ``6C2′``
      about the face diagonals, ``3σh`` normal to x, y, z, ``6σd`` the diagonal planes.
      Exponents are Unicode superscripts (``C3²``); :meth:`CharacterTable.class_index` also
      reads ``C3^2``.
    * **Complex classes** (Cn, Cnh, S2n, T, Th) take their sense from +z, or from (1, 1, 1) in T
      and Th: ``C3`` turns by +120° about it, and ``S6⁵`` = i·C3 as in Gelessus' Th table.
    * **Irreps** (Mulliken). Degree 1, 2, 3, 4, 5 → A/B, E, T, G, H. A/B: χ = +1/−1 on the
      principal operation: C_n, or S_2n in ``S4``, ``S8``, ``D2d``, ``D4d``, ... (S2n groups and
      Dnd with n even, which have no inversion); all degree-1 irreps of the cubic and icosahedral
      groups are A. Subscript 1/2: χ = +1/−1 on C2′ (Dn, Dnh, Dnd, O, Oh), σv (Cnv: C2v's B1 is
      symmetric under σv(xz), so B1 contains x, as in Cotton), σd (Td). T1/T2: χ(C2′ or σd)
      −1/+1 (T1u is (x, y, z) in Oh, T2 in Td); in I and Ih χ(C5) = (1 + √5)/2 for T1.
      ``D2``/``D2h``: B1, B2, B3 are symmetric under C2(z), C2(y), C2(x). g/u: χ(i) = ±degree;
      ′/″ (groups with σh and no inversion): χ(σh) = ±degree. E_k (when the principal operation
      has order N ≥ 5): χ = 2cos(2πk/N) on it.
    * **Complex irreps.** Irreps with complex characters are listed one by one as the pair
      ``¹E``, ``²E`` (Bilbao's names; Cotton and Gelessus print the pair as one row ``E`` of two
      lines): ``¹E_k`` has χ = exp(+2πik/N) on the principal operation (ε = exp(2πi/3) on C3 in
      C3 and T), ``²E_k`` its complex conjugate. Their sum is the real, reducible 2-dimensional
      representation that tables of "real irreps" call E.
    * :attr:`CharacterTable.functions` uses the chemistry convention f(R r) = χ(R) f(r), so
      x + iy goes with ¹E.

    Examples
    --------
    >>> t = character_table("C2v")
    >>> t.classes
    ('E', 'C2', 'σv(xz)', 'σv′(yz)')
    >>> t.irreps
    ('A1', 'A2', 'B1', 'B2')
    >>> t.characters.astype(int).tolist()
    [[1, 1, 1, 1], [1, 1, -1, -1], [1, -1, 1, -1], [1, -1, -1, 1]]
    >>> t.functions
    ('z', 'Rz', 'x, Ry', 'y, Rx')
    >>> character_table("C3v").product("E", "E")
    {'A1': 1, 'A2': 1, 'E': 1}
    """
    g = group if isinstance(group, PointGroup) else PointGroup(group)
    if not g.is_finite:
        raise GroupError(
            f"{g.name} is an infinite point group: its irreps (Σ+, Σ−, Π, Δ, ...) are infinitely many; "
            "character tables are given for the finite point groups only"
        )
    return _character_table_cached(g.name)


@functools.lru_cache(maxsize=256)
def _character_table_cached(name: str) -> CharacterTable:
    g = PointGroup(name)
    ops = np.asarray(g.operations)
    lookup = _Lookup(ops)
    class_of, members = _classes(ops, lookup)
    chars = _irreducible_characters(ops, lookup, class_of, members)
    inv = lookup(ops.transpose(0, 2, 1))
    real_classes = [int(inv[m[0]]) in set(m.tolist()) for m in members]
    labels, class_keys, reps = _class_names(g, ops, members, real_classes)
    def class_index(matrix: np.ndarray) -> int:
        return int(class_of[lookup(np.asarray(matrix, dtype=float))[0]])

    names, irrep_keys = _irrep_names(g, chars, class_index)
    col = sorted(range(len(members)), key=lambda j: class_keys[j])
    row = sorted(range(len(names)), key=lambda i: irrep_keys[i])
    chars = chars[np.ix_(row, col)]
    functions = _functions(ops, class_of, chars[:, np.argsort(col)])
    if len(set(names)) != len(names) or len(set(labels)) != len(labels):  # pragma: no cover - a naming bug
        raise GroupError(f"ambiguous names in the table of {name}: {names}, {labels}")
    if np.abs(chars.imag).max() < SNAP_ATOL:
        chars = chars.real.copy()
    chars.setflags(write=False)
    sizes = np.array([len(members[j]) for j in col])
    sizes.setflags(write=False)
    representatives = ops[[reps[j] for j in col]]
    representatives.setflags(write=False)
    return CharacterTable(
        group=g.name,
        order=len(ops),
        classes=tuple(labels[j] for j in col),
        class_sizes=sizes,
        representatives=representatives,
        class_members=tuple(tuple(int(i) for i in members[j]) for j in col),
        irreps=tuple(names[i] for i in row),
        characters=chars,
        functions=tuple(functions),
    )
