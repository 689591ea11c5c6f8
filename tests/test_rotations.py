import numpy as np
import pytest

from symbreak import SymbreakError
from symbreak.rotations import act, grid, grid_degree, random_rotations

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
