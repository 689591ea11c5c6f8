r"""One descriptor of how data transforms under O(3): :class:`Rep`.

Models (``output_type``), losses (``kind``), averaging and the testing kit all take a ``Rep`` or
its text. The text is an e3nn ``Irreps`` string (``"1o"``, ``"0e+1o+2e"``, ``"2x1o"``) or one of
the named kinds, each of which is an irreps string too, except two:

================== ========== =====================================================
name               irreps     note
================== ========== =====================================================
``scalars``        ``0e``
``pseudoscalars``  ``0o``
``vectors``        ``1o``
``pseudovectors``  ``1e``
``positions``      ``1o``     and translated by a translation (``translates``)
``tensors``        (9,)       a 3×3 Cartesian tensor, flattened: :math:`R T R^\top`
================== ========== =====================================================

Parsing needs no e3nn; acting on degrees above 1 uses e3nn's Wigner-D matrices.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from .._errors import SymbreakError

__all__ = ["Rep"]

_NAMED = {"scalars": "0e", "pseudoscalars": "0o", "vectors": "1o", "pseudovectors": "1e", "positions": "1o"}
_TERM = re.compile(r"^(?:(\d+)\s*x\s*)?(\d+)([eoy])$")


@dataclass(frozen=True)
class Rep:
    """A representation of O(3): parse with ``Rep("0e+1o")`` (or ``Rep.parse``), print with ``str``.

    >>> Rep("2x1o+0e").dim, Rep("positions").translates, str(Rep("vectors"))
    (7, True, 'vectors')
    """

    text: str

    def __post_init__(self) -> None:
        text = self.text.text if isinstance(self.text, Rep) else str(self.text).strip()
        object.__setattr__(self, "text", text)
        self.terms  # noqa: B018 - parse now: a malformed text fails where it is written

    @classmethod
    def parse(cls, rep: "str | Rep") -> "Rep":
        """``rep`` as a :class:`Rep` (a Rep passes through)."""
        return rep if isinstance(rep, Rep) else cls(rep)

    @property
    def terms(self) -> tuple[tuple[int, int, int], ...]:
        """(multiplicity, degree l, parity ±1) of each irreducible term; () for ``tensors``."""
        if self.text == "tensors":
            return ()
        irreps = _NAMED.get(self.text, self.text)
        out = []
        for term in filter(None, (t.strip() for t in irreps.split("+"))):
            m = _TERM.match(term)
            if m is None:
                raise SymbreakError(f"malformed representation {self.text!r}: expected e.g. '1o', '0e+1o+2e', '2x1o', or one of {', '.join([*_NAMED, 'tensors'])}")
            mul, l, p = int(m.group(1) or 1), int(m.group(2)), m.group(3)
            parity = {"e": 1, "o": -1, "y": (-1) ** l}[p]
            out.append((mul, l, parity))
        if not out:
            raise SymbreakError(f"empty representation {self.text!r}")
        return tuple(out)

    @property
    def dim(self) -> int:
        """Length of the last axis of data of this representation."""
        return 9 if self.text == "tensors" else sum(mul * (2 * l + 1) for mul, l, _ in self.terms)

    @property
    def translates(self) -> bool:
        """Positions: a translation of the input moves them too."""
        return self.text == "positions"

    @property
    def invariant(self) -> bool:
        """Every term is a true scalar (0e): rotations and reflections leave it alone."""
        return self.text != "tensors" and all(l == 0 and p == 1 for _, l, p in self.terms)

    @property
    def kind(self) -> str:
        """The text :func:`~symbreak.rotations.act` and :func:`~symbreak.rotations.act_batch` read."""
        return self.text

    def act(self, rotation: Any, data: Any) -> Any:
        """``rotation`` (3, 3) acting on ``data`` (..., dim) (positions: about the origin)."""
        from ._act import act

        return act(rotation, data, self.text)

    def act_batch(self, rotations: Any, data: Any) -> Any:
        """Each of ``rotations`` (M, 3, 3) acting on its slice of torch ``data`` (M, ..., dim)."""
        from ._act import act_batch

        return act_batch(rotations, data, self.text)

    def __str__(self) -> str:
        return self.text
