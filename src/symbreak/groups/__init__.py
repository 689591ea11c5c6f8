"""Point groups as objects: names, operations, products, normalizers."""

from ._names import format_name, parse_name
from ._pointgroup import DEFAULT_AXIAL_ORDER, PointGroup, identify, name_and_orient

__all__ = ["PointGroup", "identify", "name_and_orient", "parse_name", "format_name", "DEFAULT_AXIAL_ORDER"]
