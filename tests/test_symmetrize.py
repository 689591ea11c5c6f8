import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="averaging needs torch (install the 'ml' extra)")

from symbreak.rotations import grid_degree  # noqa: E402
from symbreak.symmetrize import RandomRotation, RotationalAverage, equivariance_error  # noqa: E402
from symbreak.testing import assert_breaks_symmetry, assert_equivariant  # noqa: E402


class SquareMLP(torch.nn.Module):
    """A non-equivariant per-atom MLP with x² activation: output polynomial of degree 2 in x."""

    def __init__(self, out: int, seed: int = 0):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        self.w1 = torch.nn.Parameter(torch.randn(3, 16, generator=g, dtype=torch.float64))
        self.b1 = torch.nn.Parameter(torch.randn(16, generator=g, dtype=torch.float64))
        self.w2 = torch.nn.Parameter(torch.randn(16, out, generator=g, dtype=torch.float64) / 4)

    def per_atom(self, x):
        c = x - x.mean(dim=-2, keepdim=True)
        return ((c @ self.w1 + self.b1) ** 2) @ self.w2

    def forward(self, x):  # batched (M, n, 3) -> (M,) energy
        return self.per_atom(x).sum(dim=(-2, -1))


@pytest.fixture
def x():
    return torch.as_tensor(np.random.default_rng(0).normal(size=(5, 3)))


def unbatched(model):
    return lambda pos, *f: model(pos[None], *[a[None] for a in f])[0]


def test_averaging_makes_a_degree_2_model_exactly_invariant(x):
    energy = SquareMLP(1)
    assert grid_degree("2") == 2
    with pytest.raises(AssertionError, match="not equivariant"):
        assert_equivariant(unbatched(energy), x, output="0e")
    assert_equivariant(RotationalAverage(energy, grid="2", output="0e"), x, output="0e", atol=1e-10)
    # a grid below the model's degree is not enough
    with pytest.raises(AssertionError):
        assert_equivariant(RotationalAverage(energy, grid="1", output="0e"), x, output="0e", atol=1e-10)


def test_vector_outputs_need_one_degree_more(x):
    vec = SquareMLP(3)
    per_atom = lambda pos: vec.per_atom(pos)  # noqa: E731  (M, n, 3) vectors
    avg = RotationalAverage(per_atom, grid="3i", output="1o")  # degree 4 ≥ 2 + 1
    assert_equivariant(avg, x, output="1o", per_atom=True, atol=1e-10)
    err = equivariance_error(per_atom, x, output="1o", rotations=16)
    assert err.mean > 1e-2 and err.relative_max > 1e-2 and err.symmetry > 1e-2
    err_avg = equivariance_error(avg, x, output="1o", rotations=16, reference_grid="4i")
    assert err_avg.max < 1e-10 and err_avg.symmetry < 1e-10


def test_forces_of_averaged_energy_are_averaged_forces(x):
    energy = SquareMLP(1, seed=3)

    def forces(pos):  # batched (M, n, 3) -> (M, n, 3)
        pos = pos.detach().requires_grad_(True)
        (grad,) = torch.autograd.grad(energy(pos).sum(), pos)
        return -grad

    xr = x.clone().requires_grad_(True)
    e = RotationalAverage(energy, grid="2i", output="0e")(xr)
    (grad,) = torch.autograd.grad(e, xr)
    f_avg = RotationalAverage(forces, grid="2i", output="1o")(x)
    torch.testing.assert_close(-grad, f_avg, atol=1e-12, rtol=0)


def test_random_rotation_is_seeded_and_exact_for_equivariant_models(x):
    def radial(pos):  # invariant: sum of squared distances to the centroid
        return ((pos - pos.mean(dim=-2, keepdim=True)) ** 2).sum(dim=(-2, -1))

    rr = RandomRotation(radial, seed=5)
    assert abs(float(rr(x)) - float(radial(x[None])[0])) < 1e-12
    mlp = SquareMLP(1).requires_grad_(False)
    a = [float(RandomRotation(mlp, seed=7)(x)) for _ in range(2)]
    b = RandomRotation(mlp, seed=7)
    assert a[0] == a[1] == float(b(x)) and float(b(x)) != a[0]  # seeded, and fresh per call
    err = equivariance_error(radial, x, output="0e", rotations="2i")
    assert err.max < 1e-12 and err.scale > 0


def test_assert_breaks_symmetry_both_ways(x):
    """A field along z breaks O(3) down to C∞v: kept C4v, broken by the inversion and C2 about x."""
    field = torch.tensor([0.0, 0.0, 1.0], dtype=torch.float64)

    def f(pos):
        return ((pos - pos.mean(0)) @ field).pow(3).sum()

    assert_breaks_symmetry(f, x, output="0e", kept="C4v", broken=np.stack([-np.eye(3), np.diag([1.0, -1, -1])]))
    with pytest.raises(AssertionError, match="still a symmetry"):
        assert_breaks_symmetry(f, x, output="0e", broken="C4v")
    with pytest.raises(AssertionError, match="not equivariant"):
        assert_breaks_symmetry(f, x, output="0e", kept="Oh")


def test_assert_equivariant_checks_permutations(x):
    def good(pos):
        return pos - pos.mean(0)

    def bad(pos):  # depends on atom order
        return (pos - pos.mean(0)) * torch.arange(len(pos), dtype=pos.dtype)[:, None]

    assert_equivariant(good, x, output="1o", per_atom=True)
    with pytest.raises(AssertionError, match="permutation"):
        assert_equivariant(bad, x, output="1o", per_atom=True)


def test_positions_outputs_turn_about_the_centre_the_input_turned_about():
    """An identity map of positions, far from the origin: averaging gives it back, the error is
    zero, the assertion passes, in tensor and batch form (back-rotating about the origin was off by
    the centre's distance)."""
    from types import SimpleNamespace

    import torch

    from symbreak.symmetrize import RotationalAverage, equivariance_error
    from symbreak.testing import assert_equivariant

    x = torch.randn(6, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(0)) + 5.0

    class Identity(torch.nn.Module):
        output_type = "positions"

        def forward(self, data):
            return data.pos * 1.0

    data = SimpleNamespace(z=torch.ones(6, dtype=torch.long), pos=x, batch=torch.tensor([0, 0, 0, 1, 1, 1]))
    assert torch.allclose(RotationalAverage(lambda p: p, "2i", output="positions")(x), x, atol=1e-12)
    assert torch.allclose(RotationalAverage(Identity(), "2i")(data), x, atol=1e-12)
    assert equivariance_error(Identity(), data, rotations=4, reference_grid="2i").mean < 1e-12
    assert_equivariant(lambda p: p, x, output="positions", atol=1e-12)
    assert_equivariant(Identity(), data, atol=1e-12)
    with pytest.raises(AssertionError, match="not equivariant \\(positions\\)"):  # centred coordinates are vectors, not positions
        assert_equivariant(lambda p: p - p.mean(0), x, output="positions", atol=1e-12)
    with pytest.raises(AssertionError, match="not translation equivariant"):  # the identity element passes; a translation does not
        assert_equivariant(lambda p: p - p.mean(0), x, output="positions", group=np.eye(3)[None], atol=1e-12)
