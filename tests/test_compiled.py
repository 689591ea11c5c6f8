"""The compiled detection core (``_ccore.c``) against the NumPy path it replaces on molecules."""

import numpy as np
import pytest
from ase.collections import g2
from conftest import all_group_names
from hypothesis import given, settings
from hypothesis import strategies as st

from symbreak import detect_symmetry
from symbreak.detect import _compiled, _detect
from symbreak.testing import random_symmetric_structure, random_transform

pytestmark = pytest.mark.skipif(
    not _compiled.compiled(), reason="the compiled core was not built (no C compiler at install time): the NumPy path runs alone"
)


def both(pos, z, tol):
    fast = detect_symmetry(pos, z, tol=tol)
    with pytest.MonkeyPatch.context() as m:
        m.setattr(_detect, "CORE", None)
        slow = detect_symmetry(pos, z, tol=tol)
    return fast, slow


def operation_set(sym):
    return {(p.tobytes(), int(round(np.linalg.det(r)))) for r, p in zip(sym.operations, sym.permutations)}


def assert_same(fast, slow):
    assert fast.point_group == slow.point_group
    assert fast.order == slow.order
    assert operation_set(fast) == operation_set(slow)
    np.testing.assert_allclose(np.sort(fast.residuals), np.sort(slow.residuals), atol=1e-9)
    # the same standard orientation (ties between equivalent ones go by the order of the operations)
    np.testing.assert_allclose(fast.orientation, slow.orientation, atol=1e-8)
    np.testing.assert_allclose(fast.canonical_positions, slow.canonical_positions, atol=1e-8)


@pytest.mark.parametrize("name", all_group_names(8))
@settings(max_examples=2, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), noise=st.sampled_from([0.0, 0.005, 0.02]), tol=st.sampled_from([0.01, 0.05, 0.1]))
def test_core_finds_the_numpy_operations(name, seed, noise, tol):
    pos, z = random_symmetric_structure(name, seed=seed, n_seeds=2, min_distance=1.0)
    x, z2, *_ = random_transform(pos, z, seed=seed + 1, noise=noise)
    if 2 * tol >= np.min(np.linalg.norm(x[:, None] - x[None], axis=-1) + 1e9 * np.eye(len(x))):
        return
    assert_same(*both(x, z2, tol))


def test_core_on_every_g2_molecule():
    for name in g2.names:
        for tol in (0.01, 0.1):
            fast, slow = both(g2[name].positions, g2[name].numbers, tol)
            assert_same(fast, slow)


def test_core_distances_match_numpy():
    rng = np.random.default_rng(0)
    pos = rng.normal(size=(40, 3))
    dmin, i, j, dist = _compiled.distances(pos)
    ref = np.linalg.norm(pos[:, None] - pos[None], axis=-1)
    np.testing.assert_allclose(dist, ref, atol=1e-14)
    masked = ref + np.diag(np.full(40, np.inf))
    assert dmin == pytest.approx(masked.min()) and {i, j} == set(np.unravel_index(np.argmin(masked), masked.shape))


def test_operations_are_oriented_on_first_use_only():
    sym = detect_symmetry(g2["CH4"].positions, g2["CH4"].numbers)
    assert "_standard" not in sym.__dict__  # naming the group did not orient it
    assert sym.point_group == "Td" and sym.order == 24
    assert sym.operations.shape == (24, 3, 3) and "_standard" in sym.__dict__
