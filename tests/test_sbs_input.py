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


# --- keep: one class of K per structure (water, C2v → the Cs of its molecular plane) ---


def _water(rot=np.eye(3), perm=None, shift=0.0):
    """The h2o-modes water molecule (C2v), turned, shifted and relabelled, with its asymmetric stretch (float64)."""
    from symbreak.labels import load_water_modes
    from symbreak.tasks import make_graph

    w = load_water_modes()
    perm = np.arange(3) if perm is None else perm
    x = (w.positions @ rot.T + shift)[perm]
    y = (w.mode("asymmetric") @ rot.T)[perm]
    graph = make_graph(w.numbers[perm], x, y, detect_symmetry(x, w.numbers[perm]))
    graph.pos, graph.y = torch.as_tensor(x), torch.as_tensor(y)
    return graph


def _plane_normal(x):
    n = np.cross(x[1] - x[0], x[2] - x[0])
    return n / np.linalg.norm(n)


def test_keep_atoms_gives_water_only_the_vectors_of_its_molecular_plane():
    graph = _water()
    sym, x = graph.sym, graph.pos.numpy()
    normal, axis = _plane_normal(x), x[0] - x[1:].mean(axis=0)
    mixed = structure_sbs(sym, "Cs")  # the N-closed set: two in the plane, two along its normal
    assert len(mixed) == 4 and sorted(np.round(np.abs(mixed @ normal), 9).tolist()) == [0.0, 0.0, 1.0, 1.0]
    kept = structure_sbs(sym, "Cs", keep="atoms")
    assert len(kept) == 2 and np.abs(kept @ normal).max() < 1e-9 and np.abs(kept @ axis).max() < 1e-9  # ±(in plane, ⟂ C2)
    mirror = np.eye(3) - 2 * np.outer(normal, normal)  # the molecular plane
    for v in kept:  # each element's stabilizer in G is exactly {E, σ(molecular plane)}
        stab = np.asarray(sym.operations)[np.linalg.norm(np.asarray(sym.operations) @ v - v, axis=1) < 1e-8]
        assert len(stab) == 2 and np.abs(stab - mirror).max(axis=(1, 2)).min() < 1e-8
    # names are read in the canonical frame, where water lies in the xz plane
    assert same_set(structure_sbs(sym, "Cs", keep="xz"), kept)
    assert np.abs(np.abs(structure_sbs(sym, "Cs", keep="yz") @ normal) - 1).max() < 1e-9


def test_the_model_draws_only_elements_of_the_chosen_class():
    from torch_geometric.data import Batch

    model = build_model("painn+sbs", hidden=8, target="Cs", keep="atoms").double()
    rots = random_rotations(3, improper=True, seed=4)
    graphs = [_water(r) for r in rots]
    batch = Batch.from_data_list([model.prepare_data(g) for g in graphs])
    assert batch.sbs_size.tolist() == [2, 2, 2]
    normals = torch.as_tensor(np.stack([_plane_normal(g.pos.numpy()) for g in graphs]))
    model.train()
    drawn = torch.stack([model.source(batch)["vectors"][:, 0] for _ in range(40)])  # (draws, atoms, 3)
    assert (drawn * normals[batch.batch]).sum(-1).abs().max() < 1e-9  # never the other mirror's normal
    default = build_model("painn+sbs", hidden=8, target="Cs").double().train()
    ready = Batch.from_data_list([default.prepare_data(g) for g in graphs])
    drawn = torch.stack([default.source(ready)["vectors"][:, 0] for _ in range(40)])
    assert (drawn * normals[ready.batch]).sum(-1).abs().max() > 0.999  # the N-closed set does draw them


@pytest.mark.parametrize("keep", ["atoms", "xz"])
def test_a_kept_set_and_its_outputs_turn_with_the_molecule(keep):
    """{f(gx, b) : b ∈ B(gx)} = g·{f(x, b) : b ∈ B(x)} for g in O(3), atoms permuted (float64), and
    each output keeps exactly the molecular mirror of C2v."""
    from symbreak.models import sbs_outputs

    torch.manual_seed(0)
    model = build_model("painn+sbs", hidden=16, target="Cs", keep=keep).double().eval()
    graph = _water()
    base_set = structure_sbs(graph.sym, "Cs", keep=keep)
    base = sbs_outputs(model, graph)[0].detach().numpy()  # (2 elements, 3 atoms, 3)
    assert base.shape == (2, 3, 3) and np.abs(base).max() > 1e-3
    rng = np.random.default_rng(7)
    for rot in random_rotations(4, improper=True, seed=11):
        perm = rng.permutation(3)
        turned = _water(rot, perm, shift=0.4)
        assert same_set(structure_sbs(turned.sym, "Cs", keep=keep), base_set @ rot.T)  # B(gx) = g B(x)
        out = sbs_outputs(model, turned)[0].detach().numpy()
        expected = (base @ rot.T)[:, perm]
        d = np.abs(out[:, None] - expected[None]).max(axis=(2, 3))
        assert d.min(axis=1).max() < 1e-6 and d.min(axis=0).max() < 1e-6
    sym = graph.sym
    images = np.einsum("gij,kgnj->kgni", sym.operations, base[:, sym.permutations])
    kept = np.abs(images - base[:, None]).max(axis=(2, 3)) < 1e-9  # (element, g)
    mirror = np.eye(3) - 2 * np.outer(_plane_normal(graph.pos.numpy()), _plane_normal(graph.pos.numpy()))
    for row in kept:
        assert row.sum() == 2 and np.abs(np.asarray(sym.operations)[row] - mirror).max(axis=(1, 2)).min() < 1e-9


def _train_on_water(keep, steps=150):
    """PaiNN+sbs on two turned water molecules, SB-MSE against the asymmetric stretch (min over C2v's
    images); returns the SB-MSE of every element's output, per molecule."""
    from torch_geometric.data import Batch

    from symbreak.models import sbs_outputs

    graphs = [_water(r) for r in random_rotations(2, seed=0)]
    torch.manual_seed(0)
    model = build_model("painn+sbs", hidden=32, target="Cs", keep=keep).double()
    batch = Batch.from_data_list([model.prepare_data(g) for g in graphs])
    images = [torch.as_tensor(np.einsum("gij,gnj->gni", g.sym.operations, g.y.numpy()[np.asarray(g.sym.permutations)])) for g in graphs]

    def sbmse(out, b):
        return ((out[None] - images[b]) ** 2).mean((-1, -2)).min()

    opt = torch.optim.Adam(model.parameters(), lr=5e-3)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny tensors: one thread is fastest, and many times faster on a busy machine
    try:
        for _ in range(steps):
            opt.zero_grad()
            out = model(batch)
            loss = sum(sbmse(out[batch.batch == b], b) for b in range(2)) / 2
            loss.backward()
            opt.step()
    finally:
        torch.set_num_threads(threads)
    model.eval()
    with torch.no_grad():
        return [[float(sbmse(o, b)) for o in outs] for b, outs in enumerate(sbs_outputs(model, batch))]


def test_the_water_asymmetric_stretch_is_learned_with_the_molecular_plane_class():
    """The N-closed set's elements along the plane normal keep the other mirror, under which the stretch
    is odd: those outputs stay at the Curie bound |y|²/9 = 1/9. Keeping the molecular plane, every element learns it."""
    mixed = _train_on_water(None)
    for errors in mixed:
        assert len(errors) == 4 and sorted(errors)[-2] > 1 / 9 - 1e-6 and sorted(errors)[0] < 0.01
    kept = _train_on_water("atoms")
    assert all(len(errors) == 2 and max(errors) < 0.01 for errors in kept)


def test_keep_is_checked_and_left_out_of_the_job_key():
    from symbreak import SymbreakError
    from symbreak.models import model_config

    with pytest.raises(SymbreakError, match="'q' is neither 'atoms' nor"):
        build_model("painn+sbs", keep="q")
    assert "keep" not in model_config("painn+sbs[target='Cs']")  # the records of every earlier +sbs run keep their keys
    assert model_config("painn+sbs[target='Cs', keep='atoms']")["keep"] == "atoms"
    # CH2F2-like (C2v): each mirror holds the carbon and two atoms, so 'atoms' picks neither
    x = np.array([[0.0, 0.0, 0.0], [0.9, 0.0, 0.6], [-0.9, 0.0, 0.6], [0.0, 1.1, -0.7], [0.0, -1.1, -0.7]])
    sym = detect_symmetry(x, np.array([6, 1, 1, 9, 9]))
    assert sym.point_group == "C2v"
    with pytest.raises(SymbreakError, match="2 classes of Cs in C2v leave 3 atoms in place each"):
        structure_sbs(sym, "Cs", keep="atoms")


def test_keep_atoms_reads_periodic_symmetry_records():
    """A periodic structure's symmetry record (from make_graph, no detected group object) picks its class too."""
    import torch

    from symbreak.models import build_model
    from symbreak.tasks import make_graph, sbs_example

    ex = sbs_example("batio3")
    torch.manual_seed(0)
    model = build_model("painn+sbs[target='C4v', keep='atoms']", hidden=8)
    graph = make_graph(ex["z"], ex["positions"], ex["displacement"], ex["symmetry"], cell=torch.tensor(ex["cell"], dtype=torch.float32)[None])
    out = model(model.prepare_data(graph))
    assert out.shape == (len(ex["z"]), 3) and torch.isfinite(out).all()
