"""The exception hierarchy: every error symbreak raises on bad input is a ``ValueError``."""

from __future__ import annotations

__all__ = ["SymbreakError", "StructureError", "ToleranceError", "GroupError", "FileFormatError"]


class SymbreakError(ValueError):
    """Base class of all errors symbreak raises at its public boundary."""


class StructureError(SymbreakError):
    """Positions or atom types that do not describe a structure (empty, NaN, shapes, coincident atoms)."""


class ToleranceError(SymbreakError):
    """A tolerance that makes no sense (negative, NaN, or too large for the structure)."""


class GroupError(SymbreakError):
    """An unknown point-group name, or matrices that do not form a point group."""


class FileFormatError(SymbreakError):
    """A file that cannot be read as a structure."""
