import numpy as np
import pytest

from symbreak import SymbreakError
from symbreak.rotations import act, grid, grid_degree, grid_size, random_rotations

torch = pytest.importorskip("torch", reason="the Wigner-D checks use e3nn (install the 'ml' extra)")
o3 = pytest.importorskip("e3nn.o3")


# every test in float64 (the conftest fixture): exactness checks need it
pytestmark = pytest.mark.usefixtures("float64")


@pytest.mark.parametrize("spec,count", [("1", 1), ("2", 18), ("2i", 36), ("3", 75), ("3i", 150), ("4", 196)])
def test_grid_sizes_weights_orthogonality(spec, count):
    r, w = grid(spec)
    assert r.shape == (count, 3, 3) and w.shape == (count,)
    assert abs(w.sum() - 1) < 1e-14 and (w > 0).all()
    np.testing.assert_allclose(r @ r.transpose(0, 2, 1), np.broadcast_to(np.eye(3), r.shape), atol=1e-13)
    dets = np.linalg.det(r)
    assert np.allclose(np.abs(dets), 1) and ((dets < 0).sum() == (count // 2 if spec.endswith("i") else 0))


def wigner_mean(spec: str, l: int, parity: int) -> float:
    r, w = grid(spec)
    d = o3.Irreps([(1, (l, parity))]).D_from_matrix(torch.as_tensor(r))
    return float(torch.einsum("m,mij->ij", torch.as_tensor(w), d).abs().max())


@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_grid_degree_is_exact_and_tight(n):
    spec = str(n)
    deg = grid_degree(spec)
    assert deg == 2 * n - 2
    for l in range(1, deg + 1):
        assert wigner_mean(spec, l, 1) < 1e-12, l
    assert wigner_mean(spec, deg + 1, 1) > 1e-3  # the claim is tight
    # the improper copies also average every odd-parity irrep, including 0o, to zero
    for l in range(0, deg + 1):
        assert wigner_mean(spec + "i", l, -1) < 1e-12


@pytest.mark.parametrize("bad", ["0", "x", "2j", "", -1])
def test_grid_bad_spec(bad):
    with pytest.raises(SymbreakError):
        grid(bad)


def test_random_rotations_haar_and_seeded():
    a = random_rotations(4000, seed=1)
    assert np.allclose(np.linalg.det(a), 1)
    np.testing.assert_array_equal(a, random_rotations(4000, seed=1))
    # Haar: the mean of D^1 and D^2 vanishes (to sampling error)
    for l in (1, 2):
        d = o3.Irreps(f"{l}e").D_from_matrix(torch.as_tensor(a)).mean(0)
        assert float(d.abs().max()) < 0.05
    b = random_rotations(2000, improper=True, seed=2)
    frac = (np.linalg.det(b) < 0).mean()
    assert 0.45 < frac < 0.55


def test_act_kinds_match_e3nn_irreps():
    rng = np.random.default_rng(0)
    for r in random_rotations(3, improper=True, seed=3):
        v = rng.normal(size=(5, 3))
        t = rng.normal(size=(3, 3))
        det = np.linalg.det(r)
        np.testing.assert_allclose(act(r, v, "1o"), v @ r.T)
        np.testing.assert_allclose(act(r, v, "1e"), det * (v @ r.T))
        np.testing.assert_allclose(act(r, 2.0, "0o"), 2.0 * det)
        np.testing.assert_allclose(act(r, t, "tensors"), r @ t @ r.T)
        # e3nn irreps agree with the named kinds, in float64
        tv = torch.as_tensor(v)
        np.testing.assert_allclose(act(r, tv, "1o").numpy(), act(r, v, "1o"), atol=1e-12)
        np.testing.assert_allclose(act(r, tv, "1e").numpy(), act(r, v, "1e"), atol=1e-12)
        x = torch.as_tensor(rng.normal(size=(4, 1 + 3 + 5)))
        y = act(r, x, "0e + 1o + 2e")
        np.testing.assert_allclose(y[:, 1:4].numpy(), act(r, x[:, 1:4].numpy(), "1o"), atol=1e-12)
    with pytest.raises(ValueError, match="unknown kind"):
        act(np.eye(3), np.zeros(3), "spinor")


def test_grids_too_large_to_build_quickly_are_refused_with_their_size():
    from symbreak import SymbreakError
    from symbreak.rotations import grid

    with pytest.raises(SymbreakError, match="3,842,091 rotations, above the limit of 250,000"):
        grid("99")
    assert grid("40")[0].shape == (40 * 79**2, 3, 3)
    with pytest.raises(SymbreakError, match="MAX_GRID_SIZE"):
        grid("40i")


# -- Lebedev grids ---------------------------------------------------------------------------------

LEBEDEV_SPECS = ["lebedev3", "lebedev5", "lebedev7", "lebedev9", "lebedev13"]  # 11: in the polynomial test


@pytest.mark.parametrize("spec,count", [("lebedev3", 24), ("lebedev3i", 48), ("lebedev5", 84), ("lebedev7i", 416), ("lebedev13", 1036)])
def test_lebedev_grid_sizes_weights_orthogonality(spec, count):
    r, w = grid(spec)
    assert r.shape == (count, 3, 3) and w.shape == (count,) and grid_size(spec) == count
    assert abs(w.sum() - 1) < 1e-14
    np.testing.assert_allclose(r @ r.transpose(0, 2, 1), np.broadcast_to(np.eye(3), r.shape), atol=1e-13)
    dets = np.linalg.det(r)
    assert np.allclose(np.abs(dets), 1) and ((dets < 0).sum() == (count // 2 if spec.endswith("i") else 0))


@pytest.mark.parametrize("spec", LEBEDEV_SPECS)
def test_lebedev_grid_degree_is_exact_and_tight(spec):
    deg = grid_degree(spec)
    assert deg == int(spec.removeprefix("lebedev"))
    for l in range(1, deg + 1):
        assert wigner_mean(spec, l, 1) < 1e-12, l
    assert wigner_mean(spec, deg + 1, 1) > 1e-3
    for l in range(0, deg + 1):
        assert wigner_mean(spec + "i", l, -1) < 1e-12


def test_closed_form_lebedev_rules_match_scipy():
    from symbreak.rotations._grid import _CLOSED_FORM, _lebedev_rule

    integrate = pytest.importorskip("scipy.integrate")
    if not hasattr(integrate, "lebedev_rule"):
        pytest.skip("scipy.integrate.lebedev_rule needs SciPy >= 1.15")
    for degree in _CLOSED_FORM:
        p, w = _lebedev_rule(degree)
        x, v = integrate.lebedev_rule(degree)
        x, v = x.T, v / v.sum()
        i, j = np.lexsort(np.round(p, 9).T), np.lexsort(np.round(x, 9).T)
        np.testing.assert_allclose(p[i], x[j], atol=1e-15)
        np.testing.assert_allclose(w[i], v[j], atol=1e-15)


def random_polynomial(rng, degree):
    """A product of ``degree`` random linear forms tr(A R): a polynomial of total degree ``degree`` in the entries of R."""
    forms = rng.normal(size=(degree, 3, 3))
    return lambda r: np.prod(np.einsum("dij,kji->kd", forms, r), axis=1)


@pytest.mark.parametrize("spec", ["2", "3", "4", "2i", "lebedev3", "lebedev5", "lebedev7", "lebedev9", "lebedev11", "lebedev5i"])
def test_grids_integrate_random_polynomials_to_their_degree_and_no_further(spec, rng):
    """The grid average of a random polynomial of degree d in the entries of R equals its Haar
    average (from Euler "12", exact to degree 22) for every d up to the grid's degree, and not at d + 1
    (over O(3) an odd polynomial averages to zero on every improper grid: there, at the next even d)."""
    improper = spec.endswith("i")
    ref_r, ref_w = grid("12i" if improper else "12")
    r, w = grid(spec)
    deg = grid_degree(spec)
    fails = deg + 2 if improper and deg % 2 == 0 else deg + 1
    for d in range(1, fails + 1):
        errors = []
        for _ in range(3):
            p = random_polynomial(rng, d)
            values = p(ref_r)
            errors.append(abs(w @ p(r) - ref_w @ values) / np.sqrt(ref_w @ values**2))  # relative to the polynomial's RMS
        assert (max(errors) < 1e-12) if d < fails else (max(errors) > 1e-6), (d, errors)


def test_smallest_grid_and_sizes():
    from symbreak.rotations import smallest_grid

    assert [smallest_grid(d) for d in range(9)] == ["1", "2", "2", "lebedev3", "3", "lebedev5", "4", "lebedev7", "lebedev9"]
    assert smallest_grid(4, improper=True) == "3i" and smallest_grid(0, improper=True) == "1i"
    for d in range(0, 30):
        spec = smallest_grid(d)
        assert grid_degree(spec) >= d
        # no grid of either family that is exact to d is smaller
        euler = f"{max(1, (d + 3) // 2)}"
        assert grid_size(spec) <= grid_size(euler)
    with pytest.raises(SymbreakError, match="whole number"):
        smallest_grid(-1)
    import scipy.integrate

    if hasattr(scipy.integrate, "lebedev_rule"):  # without it (SciPy < 1.15), Euler grids above degree 11
        assert smallest_grid(12) == "lebedev13"
    with pytest.MonkeyPatch.context() as mp:
        mp.delattr(scipy.integrate, "lebedev_rule", raising=False)
        assert smallest_grid(11) == "lebedev11" and smallest_grid(12) == "7"
    with pytest.raises(SymbreakError, match="MAX_GRID_SIZE"):
        smallest_grid(200)


@pytest.mark.parametrize("bad", ["lebedev4", "lebedev", "lebedev3j", "lebedev 3", "lebedev0", "leb5"])
def test_lebedev_bad_spec(bad):
    with pytest.raises(SymbreakError, match="grid spec|no Lebedev rule"):
        grid(bad)
    with pytest.raises(SymbreakError, match="MAX_GRID_SIZE"):
        grid("lebedev131")  # 5810 points x 132 turns


def test_grid_table_in_the_module_docstring_is_what_the_code_builds():
    """The size/degree table of ``symbreak.rotations._grid``'s docstring, row by row, against grid_size and smallest_grid."""
    from symbreak.rotations import _grid, smallest_grid

    rows = [line.split() for line in _grid.__doc__.splitlines() if line[:1].isdigit()]
    assert len(rows) >= 12
    for row in rows:
        degree, euler, size = int(row[0]), row[1].strip("`"), int(row[2].replace(",", ""))
        assert grid_degree(euler) >= degree > grid_degree(euler) - 2 and grid_size(euler) == size
        if len(row) == 6:
            lebedev, lsize = row[3].strip("`"), int(row[4].replace(",", ""))
            assert grid_degree(lebedev) >= degree and grid_size(lebedev) == lsize
        assert smallest_grid(degree) == row[-1].strip("`")
