"""Shipped helpers for testing symmetry code: random symmetric structures and transforms."""

from .._lazy import lazy_exports
from ._equivariance import assert_breaks_symmetry, assert_equivariant, assert_relaxed_equivariant
from ._structures import assert_same_point_set, random_symmetric_structure, random_transform

# the conformance base classes import pytest: loaded on first use, so `import symbreak.testing` needs no pytest
_EXPORTS = {"ModelConformance": "_conformance", "InputConformance": "_conformance", "ModelFlags": "_conformance", "conformance_specs": "_conformance", "refused_specs": "_conformance"}
__getattr__, _lazy_dir = lazy_exports(__name__, _EXPORTS)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_lazy_dir()))


__all__ = [
    "random_symmetric_structure",
    "random_transform",
    "assert_same_point_set",
    "assert_equivariant",
    "assert_breaks_symmetry",
    "assert_relaxed_equivariant",
    "ModelConformance",
    "InputConformance",
    "ModelFlags",
    "conformance_specs",
    "refused_specs",
]
