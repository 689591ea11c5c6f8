"""Point groups as objects: names, operations, products, normalizers, subgroups."""

from ._characters import CharacterTable, character_table
from ._minimal import MinimalSet, describe_subgroup, generalized_normalizer, kept_subgroup, minimal_sbs
from ._names import format_name, parse_name
from ._pointgroup import DEFAULT_AXIAL_ORDER, PointGroup, identify, name_and_orient
from ._sbs import BreakingSet, sbs_table, symmetry_breaking_set, write_sbs_table
from ._subgroups import Subgroup, are_conjugate_in, complements, conjugacy_classes, normalizer_in, subgroups, subgroups_of_type

__all__ = [
    "PointGroup", "identify", "name_and_orient", "parse_name", "format_name", "DEFAULT_AXIAL_ORDER",
    "Subgroup", "subgroups", "conjugacy_classes", "normalizer_in", "are_conjugate_in", "complements", "subgroups_of_type",
    "BreakingSet", "symmetry_breaking_set", "sbs_table", "write_sbs_table",
    "MinimalSet", "minimal_sbs", "generalized_normalizer", "kept_subgroup", "describe_subgroup",
    "CharacterTable", "character_table",
]  # fmt: skip
