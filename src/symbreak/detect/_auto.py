"""``tol="auto"``: the tolerance read off the structure's own residual spectrum.

An exactly symmetric structure with noise of size σ keeps its true operations at a residual of a
few σ, and every other candidate operation at the size of its distortion away from symmetry. The
groups found as the tolerance grows form plateaus ``C1 ⊂ G_1 ⊂ G_2 ⊂ …``, each entered at its
largest residual ``r_k``; its ratio is ``r_{k+1} / r_k`` (the last one ends at the largest
usable tolerance, half the smallest interatomic distance). The chosen group is the smallest
non-trivial plateau whose ratio reaches :data:`CLEAR_MARGIN` (a real near-symmetry farther out must
not win over the group the noise left intact); if none does, the one with the largest ratio if that
reaches :data:`MIN_MARGIN` (strong noise squeezes every ratio); otherwise the lowest plateau (C1).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Callable

import numpy as np

from .._errors import SymbreakError

__all__ = ["Plateau", "tolerance_plateaus", "choose_plateau", "auto_symmetry", "CLEAR_MARGIN", "MIN_MARGIN", "FLOOR"]

CLEAR_MARGIN = 2.5
"""Ratio at which the smallest group that stands out is taken without looking further."""

MIN_MARGIN = 1.5
"""Smallest ratio between a rejected and an accepted residual for a non-trivial group to be read.

Both chosen on generated structures of every family to order 8 (seeds 0-2; the benchmark uses
others), counting a noisy structure only when its clean form is farther than 10 times the noise
from a higher symmetry: all right, clean and at 0.01, 0.02 and 0.05 Å noise. Taking the largest
ratio alone misses 1 % at 0.01 and 0.02 Å (a subgroup with a mirror, whose residual sees noise in
one direction only); taking the smallest clear group alone at 2.5 loses 15 % at 0.05 Å."""

FLOOR = 1e-4
"""Smallest tolerance tried (Å): below the precision of most coordinate files."""

_STEP = 1.5  # ladder ratio: a plateau narrower than this can be stepped over, and its gap is below MIN_MARGIN anyway
_EXACT = 1e-9  # residuals below this count as exact: a clean structure's margin stays finite


@dataclasses.dataclass(frozen=True)
class Plateau:
    """One group on the tolerance ladder: found from ``residual`` (Å) up to the next plateau's."""

    point_group: str
    order: int
    residual: float
    symmetry: object  # the Symmetry found on the ladder


def tolerance_plateaus(detect: Callable[[float], object], ceiling: float) -> list[Plateau]:
    """Detect at tolerances ``FLOOR · 1.5^k`` below ``ceiling``; keep each new group once.

    ``detect(tol)`` returns a ``Symmetry``. A tolerance at which detection fails (operations that
    no longer close into a group) ends the ladder.
    """
    out: list[Plateau] = []
    t = FLOOR
    while t < ceiling:
        try:
            s = detect(t)
        except SymbreakError:
            break
        if not out or (s.point_group, s.order) != (out[-1].point_group, out[-1].order):
            out.append(Plateau(s.point_group, s.order, s.max_residual, s))
        t *= _STEP
    return out


def choose_plateau(plateaus: list[Plateau], ceiling: float) -> tuple[int, float, float]:
    """Index of the chosen plateau, a tolerance inside it, and the margin of the choice.

    For a symmetric reading the margin is ``r_next / r_accepted``: how much farther the nearest
    rejected larger symmetry is than the worst accepted operation (exact operations count as
    residual 1e-9 Å). When no group stands out and the lowest plateau is kept, it is
    ``MIN_MARGIN / (best candidate's ratio)``: how clearly the likeliest symmetry fell short. Either
    way, a margin near 1 means the answer could have gone the other way.
    """
    if not plateaus:
        raise SymbreakError("tol='auto': no tolerance below half the smallest interatomic distance could be tried")
    ratios = []
    for k, p in enumerate(plateaus):
        nxt = plateaus[k + 1].residual if k + 1 < len(plateaus) else ceiling
        ratios.append(nxt / max(p.residual, _EXACT))
    tol_in = lambda k: math.sqrt(max(plateaus[k].residual, FLOOR) * (plateaus[k + 1].residual if k + 1 < len(plateaus) else ceiling))  # noqa: E731
    candidates = [k for k, p in enumerate(plateaus) if p.order > 1 or k > 0]
    clear = [k for k in candidates if ratios[k] >= CLEAR_MARGIN]
    if clear:
        return clear[0], tol_in(clear[0]), ratios[clear[0]]
    best = max(candidates, key=lambda k: ratios[k], default=None)
    if best is not None and ratios[best] >= MIN_MARGIN:
        return best, tol_in(best), ratios[best]
    if best is None:  # nothing but the lowest plateau below the ceiling
        return 0, tol_in(0), math.inf
    return 0, tol_in(0), MIN_MARGIN / ratios[best]


def auto_symmetry(detect: Callable[[float], object], min_distance: float):
    """The ``Symmetry`` at the tolerance the structure itself suggests, with ``margin`` set.

    ``detect(tol)`` runs the detection at one tolerance; ``min_distance`` is the smallest
    interatomic distance (Å), whose half bounds every usable tolerance.
    """
    ceiling = 0.49 * min_distance
    plateaus = tolerance_plateaus(detect, ceiling)
    k, tol, margin = choose_plateau(plateaus, ceiling)
    chosen = plateaus[k].symmetry
    try:
        sym = detect(tol)
    except SymbreakError:
        sym = chosen
    if (sym.point_group, sym.order) != (chosen.point_group, chosen.order):  # a plateau the ladder stepped over
        sym = chosen
    return dataclasses.replace(sym, margin=float(margin))
