r"""``tol="auto"``: the tolerance read off the structure's own residual spectrum.

An exactly symmetric structure with noise of size σ keeps its true operations at a residual of a
few σ, and every other candidate operation at the size of its distortion away from symmetry. The
groups found as the tolerance grows form plateaus ``G_0 ⊂ G_1 ⊂ G_2 ⊂ …``, each entered at its
largest residual ``r_k``; its ratio is ``r_{k+1} / r_k`` (the last one ends at the ceiling, the
largest tolerance at which atoms are still matched one to one). A plateau is *clear* when its
ratio reaches :data:`CLEAR_MARGIN`.

Three facts shape the rule:

1. Some groups hold by construction: any three points lie in a mirror plane, any two on a line.
   Such a group imposes no condition on the coordinates (:func:`constraints` counts them, ν = 0),
   so its exactness says nothing about noise. The largest of them is the floor of the answer and
   never the evidence for it: a noisy water molecule keeps its exact plane, and is still C2v.
2. A group that imposes conditions (ν > 0) and holds to :data:`EXACT` Å says the coordinates are
   clean (symmetrized by whoever wrote them). A larger group at a larger residual is then a real
   distortion, not noise: an exactly D2h rectangle 0.03 Å from a square stays D2h, the
   Jahn-Teller radical CH3O stays Cs.
3. Otherwise the residuals carry noise, and a higher symmetry that holds clearly wins over a
   subgroup that holds more tightly, as long as the structure can justify its tolerance: its
   residual is within :data:`NOISE_RATIO` of the subgroup's (the same noise seen through more
   operations), or below :data:`SCALE_FRACTION` of the smallest interatomic distance (a
   coordinate file's rounding), or the subgroup imposes fewer than :data:`NOISE_CONSTRAINTS`
   conditions (a plane through four atoms fits any noise to a fraction of it). ASE's C60 holds Ci
   to 3e-4 Å, C2h to 3e-3 Å and Ih to 8e-3 Å: it is Ih.

A clear linear plateau wins over everything below it (the planes through a near-line fit it to
second order). Otherwise the chosen group is the first clear plateau above the floor, raised to
each larger clear plateau that the previous one justifies; with no clear plateau, a structure of
at least :data:`WEAK_ATOMS` atoms takes the one with the largest ratio if that reaches
:data:`MIN_MARGIN` (strong noise squeezes every ratio of a large cluster); anything else is the
floor.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Callable

import numpy as np

from .._errors import SymbreakError

__all__ = [
    "Plateau", "tolerance_plateaus", "choose_plateau", "auto_symmetry", "constraints",
    "CLEAR_MARGIN", "MIN_MARGIN", "NOISE_RATIO", "SCALE_FRACTION", "NOISE_CONSTRAINTS", "WEAK_ATOMS", "EXACT", "FLOOR", "CEILING",
]  # fmt: skip

CLEAR_MARGIN = 2.0
"""Ratio ``r_next / r`` at which a plateau counts as clear.

This and the constants below were chosen together by ``python bench/autotol.py --tune`` on tuning
draws (G2 molecules with noise draws 0-1, generated structures of seeds 0-2, noise 0 to 0.05 Å):
the choice matches or beats the best fixed tolerance at every noise level there, and the values
sit inside the range of the grid that does so (CLEAR 2.0; NOISE_RATIO 6-10; SCALE_FRACTION
0.01-0.04; WEAK_ATOMS 12-24). The README reports held-out draws."""

MIN_MARGIN = 1.5
"""Smallest ratio between a rejected and an accepted residual for a non-trivial group to be read
when no plateau is clear."""

NOISE_RATIO = 10.0
"""A larger clear group replaces a smaller one when its residual is at most this many times the
smaller one's: under Gaussian noise the worst residual of a group and of its subgroups differ by a
factor of 2-3 in the median (more operations see more of the same noise; NH3 at 0.01 Å: 2.4,
95th percentile 6.6)."""

SCALE_FRACTION = 0.02
"""... or when its residual is below this fraction of the smallest interatomic distance (a file's
rounding, not a distortion a chemist would name)."""

CEILING = 0.49
"""The ladder ends at this fraction of the median nearest-neighbour distance."""

NOISE_CONSTRAINTS = 3
"""A group imposing fewer conditions (ν, :func:`constraints`) than this says too little about the
noise to hold a larger group back: one plane through four atoms fits any noise to a fraction."""

WEAK_ATOMS = 12
"""Structures of at least this many atoms may be read from a weak plateau (ratio between
:data:`MIN_MARGIN` and :data:`CLEAR_MARGIN`): the worst residual over many atoms is what squeezes
every ratio under strong noise. A smaller structure with no clear plateau reads as its floor."""

EXACT = 1e-5
"""Residual (Å) below which an operation holds exactly (coordinates written to six decimals)."""

FLOOR = 1e-4
"""Smallest tolerance tried (Å): below the precision of most coordinate files."""

_STEP = 1.5  # ladder ratio: a plateau narrower than this can be stepped over, and its gap is below MIN_MARGIN anyway
_TINY = 1e-9  # residuals below this count as this: a clean structure's margin stays finite


@dataclasses.dataclass(frozen=True)
class Plateau:
    """One group on the tolerance ladder: found from ``residual`` (Å) up to the next plateau's.

    ``constraints`` is ν of :func:`constraints`: 0 for a group every such structure has.
    """

    point_group: str
    order: int
    residual: float
    symmetry: object  # the Symmetry found on the ladder
    constraints: int = 1


def _orientation_freedom(sym) -> int:
    """Degrees of freedom of the placement of the group's elements (3 minus its normalizer's dimension)."""
    family, name = sym.group.family, sym.point_group
    if name in ("C1", "Ci", "Kh"):
        return 0  # no direction singled out: the normalizer is all of O(3)
    if family in ("C", "Ch", "S", "Cs", "C*v", "D*h"):
        return 2  # one axis (or plane normal): rotations about it keep the group
    return 3


def constraints(sym) -> int:
    r"""ν: how many independent conditions the group imposes on the 3n coordinates.

    The symmetric structures with the group's orbit types form a manifold of dimension
    :math:`D = \dim V^G + 3 - t_G + o_G`: the fixed subspace
    :math:`\dim V^G = \frac{1}{|G|}\sum_g \operatorname{tr}(R_g)\,\mathrm{fix}(\pi_g)` of the atoms
    about the centre, translations (less the :math:`t_G = \frac{1}{|G|}\sum_g \operatorname{tr}R_g`
    of them already in :math:`V^G`), and the :math:`o_G` degrees of freedom of the placement of the
    symmetry elements. :math:`\nu = 3n - D`; ν = 0 means every structure of that shape has the group
    (three atoms are always coplanar), and under noise σ the squared distance to the nearest
    symmetric structure is about :math:`\nu \sigma^2`.
    """
    n = len(sym.numbers)
    if n == 1:
        return 0
    tr = np.trace(sym.operations, axis1=1, axis2=2)
    fixed = (sym.permutations == np.arange(n)).sum(axis=1)
    dim_v = int(round(float((tr * fixed).sum()) / len(tr)))
    t = int(round(float(tr.sum()) / len(tr)))
    return 3 * n - (dim_v + 3 - t + _orientation_freedom(sym))


def tolerance_plateaus(detect: Callable[[float], object], ceiling: float) -> list[Plateau]:
    """Detect at tolerances ``FLOOR · 1.5^k`` below ``ceiling``; keep each new group once.

    ``detect(tol)`` returns a ``Symmetry``. A tolerance at which detection fails (operations that
    do not close into a group, between two plateaus) is skipped.
    """
    out: list[Plateau] = []
    t = FLOOR
    while t < ceiling:
        try:
            s = detect(t)
            if not out or (s.point_group, s.order) != (out[-1].point_group, out[-1].order):
                # the residuals need the group's orientation, which can fail where detection did not
                out.append(Plateau(s.point_group, s.order, s.max_residual, s, constraints(s)))
        except SymbreakError:
            pass  # a rung where the operations do not close into a group: the next one may
        t *= _STEP
    return out


def choose_plateau(
    plateaus: list[Plateau], ceiling: float, min_distance: float = math.inf, atoms: int | None = None
) -> tuple[int, float, float]:
    """Index of the chosen plateau, a tolerance inside it, and the margin of the choice.

    For a symmetric reading the margin is ``r_next / r_chosen``: how much farther the nearest
    rejected larger symmetry is than the worst accepted operation (residuals below 1e-9 Å count as
    1e-9). When no group stands out and the floor is kept, it is ``MIN_MARGIN / (best candidate's
    ratio)``: how clearly the likeliest symmetry fell short. Either way, a margin near 1 means the
    answer could have gone the other way. ``min_distance`` (Å) scales :data:`SCALE_FRACTION`;
    ``atoms`` (default: read from the plateaus) decides whether a weak reading is allowed
    (:data:`WEAK_ATOMS`).
    """
    if not plateaus:
        raise SymbreakError("tol='auto': no tolerance below half the smallest interatomic distance could be tried")
    if atoms is None:
        atoms = len(getattr(plateaus[0].symmetry, "numbers", ()))
    res = [max(p.residual, _TINY) for p in plateaus]
    ratios = [(res[k + 1] if k + 1 < len(plateaus) else ceiling) / res[k] for k in range(len(plateaus))]

    def tol_in(k: int) -> float:
        upper = plateaus[k + 1].residual if k + 1 < len(plateaus) else ceiling
        return math.sqrt(max(plateaus[k].residual, FLOOR) * upper)

    # the floor: the largest group that holds by construction (its plateaus come first on the ladder;
    # none when the structure is exactly symmetric at the first tolerance tried: -1)
    base = max((k for k, p in enumerate(plateaus) if p.constraints <= 0), default=-1)
    above = list(range(base + 1, len(plateaus)))
    base = max(base, 0)
    clear = [k for k in above if ratios[k] >= CLEAR_MARGIN]
    # a clearly linear structure is linear: planes through a near-line fit far tighter than the line
    # (four atoms near a line lie in a plane to second order in their offsets), even exactly
    linear = [k for k in clear if "*" in plateaus[k].point_group]
    if linear:
        return linear[-1], tol_in(linear[-1]), ratios[linear[-1]]
    exact = [k for k in above if plateaus[k].residual <= EXACT]
    if exact:  # clean coordinates: the largest exact group, a larger one is a distortion
        k = exact[-1]
        return k, tol_in(k), ratios[k]
    if clear:
        k = clear[0]
        for j in clear[1:]:
            # j's residual is the same noise seen through more operations, or a file's rounding; a
            # group of few conditions (a plane through four atoms: one) fits noise too well to say
            if res[j] <= NOISE_RATIO * res[k] or res[j] <= SCALE_FRACTION * min_distance or plateaus[k].constraints < NOISE_CONSTRAINTS:
                k = j
        return k, tol_in(k), ratios[k]
    best = max(above, key=lambda k: ratios[k], default=None)
    if best is None:  # nothing above the floor below the ceiling
        return base, tol_in(base), math.inf
    if ratios[best] >= MIN_MARGIN and atoms >= WEAK_ATOMS:
        return best, tol_in(best), ratios[best]
    return base, tol_in(base), MIN_MARGIN / ratios[best]


def auto_symmetry(detect: Callable[[float], object], min_distance: float, typical_distance: float | None = None):
    """The ``Symmetry`` at the tolerance the structure itself suggests, with ``margin`` set.

    ``detect(tol)`` runs the detection at one tolerance, matching atoms one to one;
    ``min_distance`` is the smallest interatomic distance (Å) and ``typical_distance`` the median
    nearest-neighbour distance. The ladder runs to :data:`CEILING` times the typical one: noise of
    0.05 Å moves the worst atom of a 300-atom cluster by 0.3 Å, past half the smallest distance,
    yet its partner is still the nearest atom of most.
    """
    ceiling = CEILING * max(min_distance, typical_distance or 0.0)
    plateaus = tolerance_plateaus(detect, ceiling)
    k, tol, margin = choose_plateau(plateaus, ceiling, min_distance)
    chosen = plateaus[k].symmetry
    try:
        sym = detect(tol)
    except SymbreakError:
        sym = chosen
    if (sym.point_group, sym.order) != (chosen.point_group, chosen.order):  # a plateau the ladder stepped over
        sym = chosen
    return dataclasses.replace(sym, margin=float(margin))
