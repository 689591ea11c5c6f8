"""Parsing and normalising Schoenflies names.

A name is parsed into a ``(family, n)`` pair. Families:

``C`` (Cn), ``Cv`` (Cnv), ``Ch`` (Cnh), ``S`` (S2n, stored with its subscript), ``D`` (Dn),
``Dh`` (Dnh), ``Dd`` (Dnd), ``Cs``, ``Ci``, ``T``, ``Td``, ``Th``, ``O``, ``Oh``, ``I``, ``Ih``,
and the infinite ``C*v``, ``D*h`` (linear) and ``Kh`` (a point). ``n`` is 0 where it does not apply.
"""

from __future__ import annotations

import re

from .._errors import GroupError

__all__ = ["parse_name", "format_name"]

_AXIAL = re.compile(r"^([CDS])(\d+|\*|∞|inf)([vhdi]?)$")
_FIXED = {"Cs", "Ci", "T", "Td", "Th", "O", "Oh", "I", "Ih", "Kh"}


def parse_name(name: str) -> tuple[str, int]:
    """Parse a Schoenflies symbol into its normalised ``(family, n)``.

    Aliases are normalised: ``C1h``, ``C1v``, ``S1`` → ``Cs``; ``S2`` → ``Ci``; ``S(odd n)`` →
    ``Cnh``; ``D1`` → ``C2``; ``D1h`` → ``C2v``; ``D1d`` → ``C2h``; ``Cinfv``/``C∞v`` → ``C*v``.

    >>> parse_name("D6h")
    ('Dh', 6)
    >>> parse_name("S3")
    ('Ch', 3)
    """
    if not isinstance(name, str):
        raise GroupError(f"a point-group name must be a string, got {type(name).__name__}")
    s = name.strip()
    if s in _FIXED:
        return s, 0
    m = _AXIAL.match(s)
    if m is None:
        raise GroupError(
            f"unknown point group {name!r}: expected a Schoenflies symbol such as C1, Cs, Ci, C3v, "
            "C2h, S4, D3d, D6h, T, Td, Th, O, Oh, I, Ih, C*v, D*h or Kh"
        )
    letter, sub, suffix = m.groups()
    if sub in ("*", "∞", "inf"):
        if (letter, suffix) == ("C", "v"):
            return "C*v", 0
        if (letter, suffix) == ("D", "h"):
            return "D*h", 0
        raise GroupError(f"unknown point group {name!r}: the infinite point groups are C*v, D*h and Kh")
    n = int(sub)
    if n < 1:
        raise GroupError(f"unknown point group {name!r}: the order of the axis must be at least 1")
    if letter == "S":
        if suffix:
            raise GroupError(f"unknown point group {name!r}: Sn takes no suffix")
        if n == 1:
            return "Cs", 0
        if n == 2:
            return "Ci", 0
        if n % 2 == 1:
            return "Ch", n
        return "S", n
    if letter == "C":
        if suffix == "":
            return "C", n
        if suffix == "i" or suffix == "d":
            raise GroupError(f"unknown point group {name!r}")
        if n == 1:
            return "Cs", 0
        return ("Cv" if suffix == "v" else "Ch"), n
    # letter == "D"
    if suffix == "i":
        raise GroupError(f"unknown point group {name!r}")
    if n == 1:
        return {"": ("C", 2), "h": ("Cv", 2), "d": ("Ch", 2)}[suffix]
    return {"": "D", "h": "Dh", "d": "Dd"}[suffix], n


def format_name(family: str, n: int) -> str:
    """The Schoenflies symbol of ``(family, n)``: the inverse of :func:`parse_name`.

    >>> format_name("Dd", 3)
    'D3d'
    """
    if family in _FIXED or family in ("C*v", "D*h"):
        return family
    if family == "C":
        return f"C{n}"
    if family == "S":
        return f"S{n}"
    return f"{family[0]}{n}{family[1:]}"
