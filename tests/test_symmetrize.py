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


def _crystal(g=np.eye(3)):
    """Three atoms in a small skewed periodic cell, atoms and lattice rows turned by g together."""
    from types import SimpleNamespace

    rng = np.random.default_rng(3)
    cell = np.diag([3.1, 3.4, 3.7]) + 0.2 * rng.normal(size=(3, 3))
    frac = rng.uniform(size=(3, 3))
    return SimpleNamespace(z=torch.tensor([8, 1, 1]), pos=torch.tensor(frac @ cell @ g.T), batch=torch.zeros(3, dtype=torch.long), cell=torch.tensor(cell @ g.T)[None])


class _Energy(torch.nn.Module):
    """An energy model's energies (B,) as its output: an invariant."""

    output_type = "0e"

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, data):
        return self.model.energy_and_forces(data)[0].detach()


def test_average_of_a_periodic_pet_reads_the_cell_and_is_invariant():
    """PET's energy averaged on grid 3i is the weighted sum of the energies of the turned crystal
    (atoms and lattice), and invariant to 2e-11 in float64 where PET alone moves by 1e-3; without
    the cell the average was that of a molecule (−0.50 against −0.26)."""
    from symbreak.models import build_model
    from symbreak.rotations import grid, random_rotations

    torch.manual_seed(0)
    energy = _Energy(build_model("pet", hidden=8, heads=2, layers=1, cutoff=3.0).double().eval())
    rots, w = grid("2")  # the average against a direct sum (on a smaller grid: one model call per rotation)
    direct = sum(wm * energy(_crystal(r)) for r, wm in zip(rots, w))
    torch.testing.assert_close(RotationalAverage(energy, grid="2")(_crystal()), direct, atol=1e-12, rtol=0)
    avg = RotationalAverage(energy, grid="3i")
    assert avg.output_type == "0e"
    base = avg(_crystal())
    for g in random_rotations(2, improper=True, seed=1):
        assert abs(float(energy(_crystal(g)) - energy(_crystal()))) > 1e-4
        assert abs(float(avg(_crystal(g)) - base)) < 1e-9


def test_average_of_an_equivariant_periodic_painn_is_itself():
    """PaiNN is exactly equivariant on a crystal: its average is itself (to 1e-18; without the cell it
    was PaiNN on a molecule, 5e-4 away), and the average's declared output type (PaiNN's 1o) lets
    assert_equivariant check it (as an invariant it failed)."""
    from symbreak.models import build_model

    torch.manual_seed(0)
    painn = build_model("painn", hidden=8, layers=1, cutoff=3.0).double().eval()
    avg = RotationalAverage(painn, grid="3i")
    data = _crystal()
    with torch.no_grad():
        torch.testing.assert_close(avg(data), painn(data), atol=1e-12, rtol=0)
    assert_equivariant(avg, data, n_rotations=2, translation=False, atol=1e-9)  # one proper, one improper element


def test_average_of_an_axial_input_model_over_o3():
    """Pseudovector inputs turn by det(R)·R in the rotated copies: an exactly equivariant e3nn model
    reading them is its own O(3) average, and a relaxed one (θ drawn at random: not equivariant)
    averages to the direct sum over the grid, not to what polar inputs would give."""
    from types import SimpleNamespace

    from symbreak.models import build_model
    from symbreak.rotations import grid

    gen = torch.Generator().manual_seed(2)
    pos, axial = torch.randn(4, 3, dtype=torch.float64, generator=gen), torch.randn(4, 1, 3, dtype=torch.float64, generator=gen)
    data = SimpleNamespace(z=torch.tensor([6, 1, 1, 8]), pos=pos, pseudovectors=axial)
    torch.manual_seed(0)
    exact = build_model("e3nn", hidden=8, layers=1, in_pseudovectors=1).double().eval()
    relaxed = build_model("relaxed-e3nn", hidden=8, layers=1, in_pseudovectors=1).double().eval()
    rots, w = (torch.as_tensor(a) for a in grid("2i"))
    with torch.no_grad():
        for theta in relaxed.net.thetas():
            theta.normal_(generator=gen)
        torch.testing.assert_close(RotationalAverage(exact, grid="2i")(data), exact(data), atol=1e-12, rtol=0)

        def direct(model, sign):  # every rotated copy in one hand-built batch
            c, m = pos.mean(0), len(rots)
            turned = SimpleNamespace(
                z=data.z.repeat(m), pos=((pos - c) @ rots.transpose(1, 2) + c).reshape(-1, 3),
                batch=torch.arange(m).repeat_interleave(4), pseudovectors=(sign[:, None, None, None] * axial @ rots.transpose(1, 2)[:, None]).reshape(-1, 1, 3),
            )  # fmt: skip
            out = model(turned).reshape(m, 4, 3) @ rots  # ρ(R)⁻¹ v = Rᵀ v, rows
            return torch.einsum("m,mnd->nd", w, out)

        avg = RotationalAverage(relaxed, grid="2i")(data)
        torch.testing.assert_close(avg, direct(relaxed, torch.linalg.det(rots)), atol=1e-12, rtol=0)
        assert (avg - direct(relaxed, torch.ones(len(rots)))).abs().max() > 1e-3  # turned as polar vectors: another average
        assert (avg - relaxed(data)).abs().max() > 1e-2  # θ breaks the symmetry: averaging changes the output


def test_wrappers_carry_the_output_type_of_what_they_wrap():
    """equivariance_error reads ``output_type``: for egnn+mlp on NH3, averaged on 3i, the error of
    the vector output is 1.7e-7, where reading it as invariant gave 1.2e-2. (egnn+mlp reads
    lab-frame positions, so it is not translation-invariant: its average is equivariant about the
    centroid, where the copies turn, not about the origin, where assert_equivariant turns it.)"""
    from types import SimpleNamespace

    from symbreak.models import build_model

    torch.manual_seed(0)
    model = build_model("egnn+mlp", hidden=16).double().eval()
    nh3 = torch.tensor([[0.0, 0.0, 0.38], [0.94, 0.0, 0.0], [-0.47, 0.81, 0.0], [-0.47, -0.81, 0.0]], dtype=torch.float64)
    nh3 = nh3 + 0.05 * torch.randn(4, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    data = SimpleNamespace(z=torch.tensor([7, 1, 1, 1]), pos=nh3, batch=torch.zeros(4, dtype=torch.long))
    avg = RotationalAverage(model, grid="3i")
    assert avg.output_type == RandomRotation(model).output_type == "1o"
    assert RotationalAverage(model, output="1e").output_type == RandomRotation(model, output="1e").output_type == "1e"
    assert RotationalAverage(lambda p: p.sum(), grid="1").output_type == "0e"  # a plain function: invariant unless told
    raw = equivariance_error(model, data, rotations=4, reference_grid="1")
    err = equivariance_error(avg, data, rotations=4, reference_grid="1")
    assert raw.relative_max > 0.1 and err.max < 1e-6 and err.scale > 1e-3


@pytest.mark.usefixtures("float64")  # e3nn builds its Wigner-D matrices in the default dtype
def test_one_plain_tensor_action_shared_by_averaging_errors_and_assertions():
    """act_about is the plain-tensor group action: rotate_inputs (averaging, equivariance_error) is it
    on positions about the centroid and agrees with rotated_copies of the same structure as a batch
    (the batch action, act_on_fields); rotate_back undoes it for every kind (positions about the
    centre, pseudovectors by det(R)·R); one element and a stack of M give the same; and
    assert_equivariant's deviation measures exactly |f(g·x) − ρ(g)f(x)| with it, for improper g too."""
    from types import SimpleNamespace

    from symbreak.rotations import random_rotations
    from symbreak.symmetrize._average import act_about, rotate_back, rotate_inputs, rotated_copies
    from symbreak.testing._equivariance import _deviation

    gen = torch.Generator().manual_seed(4)
    x = torch.randn(5, 3, dtype=torch.float64, generator=gen) + 3.0
    r = torch.as_tensor(random_rotations(4, improper=True, seed=6))
    assert {float(d) for d in torch.linalg.det(r).round()} == {-1.0, 1.0}
    c = x.mean(0, keepdim=True)
    copies = rotate_inputs(r, x)
    batch = rotated_copies(r, SimpleNamespace(z=torch.ones(5, dtype=torch.long), pos=x))
    torch.testing.assert_close(copies.reshape(-1, 3), batch.pos, atol=1e-14, rtol=0)
    for m, g in enumerate(r):
        torch.testing.assert_close(copies[m], (x - c) @ g.T + c, atol=1e-14, rtol=0)
        torch.testing.assert_close(act_about(g, x, "positions", c), copies[m], atol=1e-14, rtol=0)
        torch.testing.assert_close(act_about(g, x, "1e", c), torch.linalg.det(g) * x @ g.T, atol=1e-14, rtol=0)  # no centre: not a point
    for kind in ("positions", "1o", "1e", "0o", "tensors", "1x0e+1x1o+1x2e"):
        dim = {"positions": 3, "1o": 3, "1e": 3, "0o": 1, "tensors": 9}.get(kind, 9)
        data = torch.randn(4, 5, dim, dtype=torch.float64, generator=gen)
        torch.testing.assert_close(rotate_back(r, act_about(r, data, kind, c), kind, c), data, atol=1e-12, rtol=0)
    cube = lambda p: (p - p.mean(-2, keepdim=True)) ** 3  # noqa: E731  a non-equivariant vector field
    for g in r:
        expected = float((cube(act_about(g, x, "positions", c)) - (cube(x) @ g.T)).abs().max())
        assert _deviation(cube, g.numpy(), x, (), "1o") == expected > 1e-3
        assert _deviation(lambda p: p, g.numpy(), x, (), "positions") < 1e-14
