"""``sbs-examples``: the data of Xie & Smidt's three examples, Curie on the crystal, the axial set, set measures."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from symbreak import StructureError, detect_symmetry  # noqa: E402
from symbreak.metrics import set_breaking_measures, transform_labels  # noqa: E402
from symbreak.models import build_model, sbs_outputs, transform_batch  # noqa: E402
from symbreak.rotations import random_rotations  # noqa: E402
from symbreak.tasks import get_task, sbs_example  # noqa: E402


def _kept(ex):
    s = ex["symmetry"]
    u = torch.as_tensor(ex["displacement"])
    images = transform_labels(u, s.operations, s.permutations, "vectors")
    return int(((images - u).abs().amax(dim=(1, 2)) < 1e-9).sum())


@pytest.mark.parametrize("name, group, order, kept", [("prism", "D3h", 12, 2), ("batio3", "Oh", 48, 8), ("octagon", "D8h", 32, 16)])
def test_each_example_breaks_its_input_exactly_to_the_stated_group(name, group, order, kept):
    ex = sbs_example(name)
    assert ex["symmetry"].point_group == group and len(ex["symmetry"].operations) == order
    assert _kept(ex) == kept  # Cs (2), C4v (8), C8h (16) of the input's operations keep the target
    if ex["cell"] is None:
        assert detect_symmetry(ex["positions"] + ex["displacement"], ex["z"]).point_group == {"prism": "Cs", "octagon": "C8h"}[name]
    else:  # BaTiO3: the atom map of every operation is a permutation, modulo the lattice
        perms = ex["symmetry"].permutations
        assert all(sorted(p) == list(range(5)) for p in perms)


def _graph(name, dtype=torch.float64):
    g = get_task("sbs-examples").dataset(name)[0]
    ex = sbs_example(name)  # exact positions: the graph's are in the default dtype
    g.pos, g.y = torch.as_tensor(ex["positions"], dtype=dtype), torch.as_tensor(ex["displacement"], dtype=dtype)
    if ex["cell"] is not None:
        g.cell = torch.as_tensor(ex["cell"], dtype=dtype)[None]
    return g


def test_curie_on_the_cubic_crystal_and_the_set_breaks_it():
    """Without a breaker an equivariant model predicts exactly no displacement for cubic BaTiO3 (every
    site keeps Oh or D4h); with one element of ±x, ±y, ±z every displacement lies along it."""
    torch.manual_seed(0)
    g = _graph("batio3")
    plain = build_model("painn", hidden=16).double().eval()(g).detach()
    assert plain.abs().max() < 1e-10
    outputs = sbs_outputs(build_model("painn+sbs", hidden=16).double().eval(), g)[0].detach()  # (6, 5, 3)
    assert outputs.shape == (6, 5, 3) and outputs.abs().max() > 1e-4
    axes = torch.as_tensor(np.concatenate([np.eye(3), -np.eye(3)]))
    for out in outputs:  # each output is parallel to one of the six axes: C4v about it
        along = (out @ axes.T).abs().sum(0).argmax()
        np.testing.assert_allclose(torch.linalg.cross(out, axes[along].expand_as(out)).numpy(), 0.0, atol=1e-10)


def test_periodic_examples_only_for_models_that_read_cells():
    task = get_task("sbs-examples")
    assert task.applies("batio3", "painn+sbs") and task.applies("batio3", "egnn")
    assert not task.applies("batio3", "sann") and not task.applies("batio3", "e3nn+sbs") and task.applies("prism", "sann")
    with pytest.raises(StructureError, match="cannot read a periodic structure"):
        build_model("e3nn", hidden=8).double()(_graph("batio3"))


def test_the_axial_set_is_equivariant_and_reaches_the_chiral_target_where_vectors_break_more():
    """The octagon's ideal set is ±z as pseudovectors: under a reflection it turns by det·R, so the set of
    outputs of e3nn+sbs-axial turns with the structure under all of O(3), and each output keeps C8h."""
    torch.manual_seed(0)
    model = build_model("e3nn+sbs-axial", hidden=8).double().eval()
    g = _graph("octagon")
    base = sbs_outputs(model, g)[0].detach().numpy()
    assert base.shape == (2, 16, 3) and np.abs(base).max() > 1e-4
    rng = np.random.default_rng(0)
    for rot in random_rotations(3, improper=True, seed=2):
        perm = rng.permutation(16)
        moved = g.clone()
        moved.pos = torch.as_tensor(g.pos.numpy() @ rot.T)[perm]
        moved.z = g.z[perm]
        moved.sym = detect_symmetry(moved.pos.numpy(), moved.z.numpy())
        turned = sbs_outputs(model, moved)[0].detach().numpy()
        expected = (base @ rot.T)[:, perm]
        d = np.abs(turned[:, None] - expected[None]).max(axis=(2, 3))
        assert d.min(axis=1).max() < 1e-7 and d.min(axis=0).max() < 1e-7  # the detected frames are good to ~1e-9 Å
    s = g.sym
    for out in torch.as_tensor(base):
        images = transform_labels(out, s.operations, s.permutations, "vectors")
        assert int(((images - out).abs().amax(dim=(1, 2)) < 1e-7).sum()) == 16  # exactly C8h (e3nn in float64: ~1e-9)
    with pytest.raises(Exception, match="pseudovector"):
        build_model("painn+sbs-axial")


def test_pseudovector_inputs_turn_with_the_determinant():
    torch.manual_seed(1)
    model = build_model("e3nn", hidden=8, in_pseudovectors=1).double().eval()
    g = _graph("prism")
    g.pseudovectors = torch.randn(6, 1, 3, dtype=torch.float64)
    out = model(g).detach()
    for rot in random_rotations(2, improper=True, seed=3):
        moved = transform_batch(g, rot)
        assert torch.allclose(moved.pseudovectors, g.pseudovectors @ torch.as_tensor(rot).T * np.sign(np.linalg.det(rot)))
        np.testing.assert_allclose(model(moved).detach().numpy(), out.numpy() @ rot.T, atol=1e-9)


def test_set_measures():
    ex = sbs_example("prism")
    s = ex["symmetry"]
    y = torch.as_tensor(ex["displacement"])
    images = transform_labels(y, s.operations, s.permutations, "vectors")
    distinct = torch.unique(images.round(decimals=9), dim=0)
    assert len(distinct) == 6  # |D3h| / |Cs|
    every = set_breaking_measures(distinct, y, s.operations, s.permutations)
    assert every["fit"] < 1e-18 and every["cover"] < 1e-18
    one = set_breaking_measures(distinct[:1].repeat(6, 1, 1), y, s.operations, s.permutations)
    assert one["fit"] < 1e-18 and one["cover"] > 1e-3  # valid answers, but only one of the six
    wrong = set_breaking_measures(torch.cat([distinct[:1], distinct[:1] + 1.0]), y, s.operations, s.permutations)
    assert wrong["best"] < 1e-18 < wrong["fit"]  # the best of the set is right, the average is not
    with pytest.raises(ValueError, match="outputs must be"):
        set_breaking_measures(y, y, s.operations, s.permutations)
