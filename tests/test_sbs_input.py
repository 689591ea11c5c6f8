"""``+sbs``: symmetry-breaking sets as a model input — equivariant as a set, and it gets past Curie."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from symbreak import detect_symmetry  # noqa: E402
from symbreak.models import build_model  # noqa: E402
from symbreak.models._sbs_input import structure_sbs  # noqa: E402
from symbreak.rotations import random_rotations  # noqa: E402


def prism():
    """A triangular prism (D3h): two triangles of radius 1.2 Å at z = ±0.8 Å."""
    t = np.radians([0.0, 120.0, 240.0])
    ring = np.stack([1.2 * np.cos(t), 1.2 * np.sin(t), np.zeros(3)], axis=1)
    return np.concatenate([ring + [0, 0, 0.8], ring - [0, 0, 0.8]]), np.full(6, 6)


def same_set(a, b):
    d = np.linalg.norm(a[:, None] - b[None], axis=-1)
    return len(a) == len(b) and d.min(axis=1).max() < 1e-8


def test_the_set_turns_with_the_structure():
    x, z = prism()
    sym = detect_symmetry(x, z)
    assert sym.point_group == "D3h"
    base = structure_sbs(sym, "Cs")
    assert len(base) == 6
    rng = np.random.default_rng(0)
    for rot in random_rotations(4, improper=True, seed=1):
        perm = rng.permutation(6)
        turned = detect_symmetry((x @ rot.T + 0.3)[perm], z[perm])
        assert same_set(structure_sbs(turned, "Cs"), base @ rot.T)  # B(gx) = g B(x)


def fit(spec, steps=250, seed=0):
    """Train on one prism whose target — the same in-plane displacement for every atom — keeps only Cs of D3h;
    the loss is the SB-MSE: min over the structure's group of the mean squared error."""
    x, z = prism()
    sym = detect_symmetry(x, z)
    y = np.tile(structure_sbs(sym, "Cs")[0], (6, 1))
    targets = torch.as_tensor(np.einsum("gij,gnj->gni", sym.operations, y[sym.permutations]))  # every image g·y
    data = SimpleNamespace(z=torch.as_tensor(z), pos=torch.as_tensor(x), batch=torch.zeros(6, dtype=torch.long), sym=[sym])
    torch.manual_seed(seed)
    model = build_model(spec, hidden=32, target="Cs").double() if "+sbs" in spec else build_model(spec, hidden=32).double()
    opt = torch.optim.Adam(model.parameters(), lr=5e-3)
    for _ in range(steps):
        opt.zero_grad()
        loss = ((model(data)[None] - targets) ** 2).sum(-1).mean(-1).min()
        loss.backward()
        opt.step()
    model.eval()
    with torch.no_grad():
        return float(((model(data)[None] - targets) ** 2).sum(-1).mean(-1).min())


def test_an_equivariant_model_reaches_the_broken_target_only_with_the_set():
    without = fit("painn")
    with_sbs = fit("painn+sbs")
    assert without > 0.9  # Curie: a D3h-symmetric output cannot be a uniform in-plane shift (|y|² = 1)
    assert with_sbs < 0.05 * without


def _prism_graph(rot=np.eye(3), perm=None, shift=0.0):
    from symbreak.tasks import make_graph

    x, z = prism()
    perm = np.arange(6) if perm is None else perm
    x = (x @ rot.T + shift)[perm]
    graph = make_graph(z[perm], x, np.zeros((6, 3)), detect_symmetry(x, z[perm]))
    graph.pos = torch.as_tensor(x)  # float64: the check is to 1e-9
    return graph


@pytest.mark.parametrize("spec", ["painn+sbs", "egnn+sbs"])
def test_the_set_of_outputs_is_equivariant_and_each_output_keeps_only_its_stabilizer(spec):
    """Xie & Smidt's equivariance: {f(gx, b) : b ∈ B(gx)} = g·{f(x, b) : b ∈ B(x)} for g in O(3)
    (atoms permuted too), while each single output is C_s-symmetric but not D3h-symmetric."""
    from symbreak.models import sbs_outputs

    torch.manual_seed(0)
    model = build_model(spec, hidden=16, target="Cs").double().eval()
    base = sbs_outputs(model, _prism_graph())[0].detach().numpy()  # (6 elements, 6 atoms, 3)
    assert base.shape == (6, 6, 3)
    rng = np.random.default_rng(2)
    for rot in random_rotations(3, improper=True, seed=5):
        perm = rng.permutation(6)
        turned = sbs_outputs(model, _prism_graph(rot, perm, shift=0.7))[0].detach().numpy()
        expected = (base @ rot.T)[:, perm]
        # the same set: every turned output matches one expected output, to float64 rounding
        d = np.abs(turned[:, None] - expected[None]).max(axis=(2, 3))
        assert d.min(axis=1).max() < 1e-9 and d.min(axis=0).max() < 1e-9
    sym = detect_symmetry(*prism())
    images = np.einsum("gij,kgnj->kgni", sym.operations, base[:, sym.permutations])  # g·f(x, b), atoms relabelled
    kept = np.abs(images - base[:, None]).max(axis=(2, 3)) < 1e-9  # (element, g): does g keep the output?
    assert (kept.sum(axis=1) == 2).all()  # exactly E and σh: Cs, as the set was built for
    assert np.abs(base).max() > 1e-3


def test_prepared_sets_batch_and_give_the_same_outputs():
    from torch_geometric.data import Batch

    torch.manual_seed(0)
    model = build_model("painn+sbs", hidden=16, target="Cs").double().eval()
    rot = random_rotations(1, improper=True, seed=3)[0]
    graphs = [_prism_graph(), _prism_graph(rot)]
    prepared = [model.prepare_data(g) for g in graphs]
    assert prepared[0].sbs_set.shape == (6, 3) and not hasattr(graphs[0], "sbs_set")  # the caller's graph is left alone
    raw, ready = Batch.from_data_list(graphs), Batch.from_data_list(prepared)
    assert ready.sbs_size.tolist() == [6, 6]
    np.testing.assert_allclose(model(ready).detach().numpy(), model(raw).detach().numpy(), atol=1e-12)
    model.train()
    first = model.source(ready)["vectors"]
    model.source._generator.manual_seed(0)
    again = model.source(ready)["vectors"]
    model.source._generator.manual_seed(0)
    assert torch.equal(model.source(ready)["vectors"], again)  # seeded draws
    assert first.shape == (12, 1, 3)
