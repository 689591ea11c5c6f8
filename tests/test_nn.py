"""Relaxed E(3) convolutions: equivariant at init, equivariant exactly to θ's stabilizer after, penalty and interpretation."""

import copy

import numpy as np
import pytest
import torch
from e3nn import o3

from symbreak import PointGroup
from symbreak.models import build_model
from symbreak.nn import RelaxedConvolution, RelaxedNetwork, interpret, relaxation_penalty, relaxed_blocks, relaxed_irreps, sh_projection, stabilizer
from symbreak.rotations import random_rotations
from symbreak.testing import assert_breaks_symmetry, assert_equivariant

PRISM = np.array([[sx * 0.5, sy * 0.5, sz * 2.0] for sx in (1, -1) for sy in (1, -1) for sz in (1, -1)])
CUBE = np.array([[sx, sy, sz] for sx in (1.0, -1.0) for sy in (1.0, -1.0) for sz in (1.0, -1.0)])


# every test in float64 (the conftest fixture): exactness checks need it
pytestmark = pytest.mark.usefixtures("float64")


def _graph(n=6, seed=0):
    g = torch.Generator().manual_seed(seed)
    pos = torch.randn(n, 3, generator=g) * 1.5
    edges = torch.tensor([[j, i] for i in range(n) for j in range(n)]).T  # with self-loops
    return pos, edges


def _deviation(layer, x, pos, edges, g):
    g = torch.tensor(np.array(g))
    lhs = layer(x @ layer.irreps_in.D_from_matrix(g).T, pos @ g.T, edges)
    rhs = layer(x, pos, edges) @ layer.irreps_out.D_from_matrix(g).T
    return float((lhs - rhs).detach().abs().max())


def _layer(**kw):
    return RelaxedConvolution("2x0e+1o+1e+2e", "0e+1o+1e+2o", lmax=2, l_relaxed=4, **kw)


def test_theta_irreps():
    assert str(relaxed_irreps(2, (1,))) == "1x0e+1x1e+1x2e"
    assert relaxed_irreps(4, multiplicity=2).dim == 2 * 2 * 25
    for bad in [dict(l_relaxed=-1), dict(l_relaxed=1, parities=(-1,)), dict(l_relaxed=1, parities=(2,))]:
        with pytest.raises(ValueError):
            relaxed_irreps(**bad)


def test_layer_is_o3_and_permutation_equivariant_at_initialisation():
    layer = _layer()
    assert torch.count_nonzero(layer.theta) == 1 and layer.theta[0] == 1.0
    pos, edges = _graph()
    x = torch.randn(len(pos), layer.irreps_in.dim)
    rots = random_rotations(6, seed=1)
    rots[1::2] *= -1
    for g in rots:
        assert _deviation(layer, x, pos, edges, g) < 1e-10
    perm = torch.randperm(len(pos))
    inv = torch.argsort(perm)
    out = layer(x[perm], pos[perm], inv[edges])
    assert torch.allclose(out, layer(x, pos, edges)[perm], atol=1e-12)


def test_layer_keeps_exactly_the_stabilizer_of_theta():
    layer = _layer()
    with torch.no_grad():
        layer.weights.theta.copy_(sh_projection(PRISM, layer.irreps_theta) / len(PRISM))
    pos, edges = _graph()
    x = torch.randn(len(pos), layer.irreps_in.dim)
    d4h = PointGroup("D4h").operations
    oh = PointGroup("Oh").operations
    others = [g for g in oh if not any(np.allclose(g, h) for h in d4h)]
    assert len(others) == 32
    assert max(_deviation(layer, x, pos, edges, g) for g in d4h) < 1e-10
    assert min(_deviation(layer, x, pos, edges, g) for g in others) > 1e-4


def test_frozen_layer_stays_equivariant_and_gets_no_theta_gradient():
    """After training steps the frozen layer is still O(3)-equivariant (a θ that moved, or a
    frozen flag that only skipped the gradient check, fails), while the relaxed one is not."""
    layer = _layer(relaxed=False)
    pos, edges = _graph()
    x = torch.randn(len(pos), layer.irreps_in.dim)
    target = torch.randn(len(pos), layer.irreps_out.dim)
    opt = torch.optim.Adam(layer.parameters(), lr=0.05)
    for _ in range(3):
        opt.zero_grad()
        (layer(x, pos, edges) - target).pow(2).sum().backward()
        assert layer.theta.grad is None
        opt.step()
    rots = random_rotations(4, seed=2)
    rots[::2] *= -1
    assert max(_deviation(layer, x, pos, edges, g) for g in rots) < 1e-10
    trained = _layer()
    opt = torch.optim.Adam(trained.parameters(), lr=0.05)
    for _ in range(3):
        opt.zero_grad()
        (trained(x, pos, edges) - target).pow(2).sum().backward()
        opt.step()
    assert min(_deviation(trained, x, pos, edges, g) for g in rots) > 1e-4
    relaxed = _layer()
    relaxed(x, pos, edges).pow(2).sum().backward()
    assert relaxed.theta.grad is not None and relaxed.theta.grad[1:].abs().sum() > 0  # symmetry-breaking directions are reachable


def test_relaxation_penalty_finds_every_relaxed_block_through_wrappers():
    net = RelaxedNetwork("0e", "4x0e+2x1o+2x1e", "1o", layers=2, l_relaxed=2)
    # the paper's eq. 9 includes 0e: at initialisation (θ = 0e = 1 in both layers) the penalty is 2
    assert float(relaxation_penalty(net)) == pytest.approx(2.0, rel=1e-12)
    assert float(relaxation_penalty(net, scalar=False)) == 0.0  # nothing is broken yet
    with torch.no_grad():
        for th in net.thetas():
            th[1:] = torch.arange(1, len(th))  # non-zero in every non-scalar block
    expect = sum(float(block.norm()) for th in net.thetas() for block in _blocks(th, net.convs[0].irreps_theta))
    wrapped = torch.nn.Sequential(torch.nn.ModuleDict({"body": net}), torch.nn.Identity())
    for model in (net, wrapped, copy.deepcopy(wrapped)):
        assert float(relaxation_penalty(model, lam=0.5)) == pytest.approx(0.5 * expect, rel=1e-12)
    relaxation_penalty(net).backward()
    assert all(th.grad is not None and th.grad[0] == 1 and th.grad[1:].abs().sum() > 0 for th in net.thetas())
    assert len(list(relaxed_blocks(wrapped))) == 2 * len(net.convs[0].irreps_theta)
    with pytest.raises(ValueError, match="no relaxed weights"):
        relaxation_penalty(torch.nn.Linear(2, 2))


def _blocks(theta, irreps):
    return [theta[sl] for sl in o3.Irreps(irreps).slices()]


def test_interpret_names_what_theta_keeps():
    irreps = relaxed_irreps(4)
    prism = interpret(sh_projection(PRISM, irreps) / 8, irreps)
    assert prism.kept == "D4h" and set(prism.nonzero_blocks()) == {"0e", "2e", "4e"}
    assert "θ keeps D4h of Oh" in prism.summary()
    cube = interpret(sh_projection(CUBE, irreps) / 8, irreps)
    assert cube.kept == "Oh" and set(cube.nonzero_blocks()) == {"0e", "4e"}  # the cubic harmonic
    rng = np.random.default_rng(0)
    blob = interpret(sh_projection(CUBE + rng.normal(scale=0.3, size=CUBE.shape), irreps), irreps)
    assert blob.kept == "C1"
    # a pseudovector along z: C4h of Oh (rotations about z and the horizontal mirror)
    th = np.zeros(irreps.dim)
    th[0] = 1.0
    th[irreps.slices()[2]] = [0.0, 0.0, 1.0]
    assert interpret(th, irreps).kept == "C4h"
    assert len(stabilizer(th, irreps, PointGroup("Oh").operations)) == 8


def test_spherical_signals_follow_eq_8():
    irreps = relaxed_irreps(3)
    th = sh_projection(PRISM, irreps).numpy()
    it = interpret(th, irreps)
    dirs = random_rotations(5, seed=2)[:, :, 2]  # random unit vectors
    y = o3.spherical_harmonics(o3.Irreps.spherical_harmonics(3), torch.tensor(dirs), normalize=True, normalization="component")
    natural = np.concatenate([th[sl] for (_, ir), sl in zip(irreps, irreps.slices()) if ir.p == (-1) ** ir.l])
    np.testing.assert_allclose(it.scalar_signal(dirs), y.numpy() @ natural, atol=1e-10)
    np.testing.assert_allclose(it.pseudoscalar_signal(dirs), 0.0, atol=1e-12)
    th2 = np.zeros(irreps.dim)
    th2[1] = 2.0  # 0o
    np.testing.assert_allclose(interpret(th2, irreps).pseudoscalar_signal(dirs), 2.0, atol=1e-12)
    # the scalar signal of a prism's θ is symmetric under the prism's D4h
    for g in PointGroup("D4h").operations:
        np.testing.assert_allclose(it.scalar_signal(dirs @ g.T), it.scalar_signal(dirs), atol=1e-9)


def test_relaxed_model_breaks_exactly_to_theta_stabilizer():
    model = build_model("relaxed-e3nn", hidden=8).double().eval()
    pos = torch.randn(5, 3)
    z = torch.tensor([6, 1, 1, 8, 1])
    f = lambda p: model(type("D", (), {"z": z, "pos": p, "batch": None})())  # noqa: E731
    assert_equivariant(f, pos, output="1o", n_rotations=4, translation=True, atol=1e-9)
    with torch.no_grad():
        for th in model.net.thetas():
            th.copy_(sh_projection(PRISM, model.net.convs[0].irreps_theta) / 8)
    d4h = PointGroup("D4h").operations
    others = [g for g in PointGroup("Oh").operations if not any(np.allclose(g, h) for h in d4h)]
    assert_breaks_symmetry(f, pos, output="1o", kept=d4h, broken=np.array(others), atol=1e-8)
    e3nn = build_model("e3nn", hidden=8).double().eval()
    assert not any(p.requires_grad for n, p in e3nn.named_parameters() if n.endswith("theta"))
