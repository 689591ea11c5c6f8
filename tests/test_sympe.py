"""SymPE: inversion kernels of O(3) (exact coset, uniform, equivariant in distribution) and the +sympe input."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

torch = pytest.importorskip("torch")

from symbreak import SymbreakError, detect_symmetry  # noqa: E402
from symbreak.detect import inversion_kernel, sample_inversion_kernel  # noqa: E402
from symbreak.metrics import transform_labels  # noqa: E402
from symbreak.models import build_model, sympe_outputs  # noqa: E402
from symbreak.rotations import random_rotations  # noqa: E402
from symbreak.tasks import make_graph  # noqa: E402


def ammonia():
    t = np.radians([0.0, 120.0, 240.0])
    h = np.stack([0.94 * np.cos(t), 0.94 * np.sin(t), np.zeros(3)], 1)
    return np.concatenate([[[0.0, 0.0, 0.38]], h]), np.array([7, 1, 1, 1])


def prism():
    t = np.radians([0.0, 120.0, 240.0])
    ring = np.stack([1.2 * np.cos(t), 1.2 * np.sin(t), np.zeros(3)], axis=1)
    return np.concatenate([ring + [0, 0, 0.8], ring - [0, 0, 0.8]]), np.full(6, 6)


def same_matrices(a, b, tol=1e-8):
    d = np.linalg.norm(a[:, None] - b[None], axis=(2, 3))
    return len(a) == len(b) and d.min(axis=1).max() < tol and d.min(axis=0).max() < tol


def test_every_kernel_element_brings_the_structure_to_its_canonical_pose():
    for x, z in (ammonia(), prism()):
        s = detect_symmetry(x, z)
        kernel = inversion_kernel(s)
        assert len(kernel) == s.order
        for g in kernel:
            moved = (x - s.center) @ g.T
            assert np.linalg.norm(moved[:, None] - s.canonical_positions[None], axis=-1).min(axis=1).max() < 1e-9
        assert (np.linalg.det(inversion_kernel(s, proper=True)) * np.linalg.det(s.frame) > 0).all()


def test_the_kernel_is_equivariant_K_of_gx_is_K_of_x_times_g_inverse():
    x, z = prism()
    base = inversion_kernel(detect_symmetry(x, z))
    rng = np.random.default_rng(0)
    for g in random_rotations(4, improper=True, seed=3):
        perm = rng.permutation(6)
        moved = detect_symmetry((x @ g.T + [0.3, -1.0, 2.0])[perm], z[perm])
        assert same_matrices(inversion_kernel(moved), base @ g.T)


def test_draws_are_uniform_over_the_coset_and_seeded():
    s = detect_symmetry(*prism())
    kernel = inversion_kernel(s)
    draws = sample_inversion_kernel(s, 6000, seed=1)
    which = np.linalg.norm(draws[:, None] - kernel[None], axis=(2, 3)).argmin(axis=1)
    counts = np.bincount(which, minlength=len(kernel))
    assert stats.chisquare(counts).pvalue > 1e-3  # 12 cells, 500 expected in each
    np.testing.assert_array_equal(draws, sample_inversion_kernel(s, 6000, seed=1))
    # a draw that always picked one element, or half of them, fails the same test
    assert stats.chisquare(np.bincount(which % 6, minlength=12)).pvalue < 1e-6
    with pytest.raises(ValueError):
        sample_inversion_kernel(s, 0)
    with pytest.raises(SymbreakError, match="canonical frame"):
        inversion_kernel(type("Bare", (), {"operations": s.operations})())


def _prism_graph(rot=np.eye(3), perm=None):
    x, z = prism()
    perm = np.arange(6) if perm is None else perm
    x = (x @ rot.T)[perm]
    g = make_graph(z[perm], x, np.zeros((6, 3)), detect_symmetry(x, z[perm]))
    g.pos = torch.as_tensor(x)
    return g


def test_sympe_is_equivariant_in_distribution_and_one_draw_breaks_everything():
    torch.manual_seed(0)
    model = build_model("painn+sympe", hidden=16).double().eval()
    base = sympe_outputs(model, _prism_graph())[0].detach().numpy()  # (12 draws, 6 atoms, 3)
    assert base.shape == (12, 6, 3)
    rng = np.random.default_rng(1)
    for rot in random_rotations(3, improper=True, seed=4):
        perm = rng.permutation(6)
        turned = sympe_outputs(model, _prism_graph(rot, perm))[0].detach().numpy()
        expected = (base @ rot.T)[:, perm]
        d = np.abs(turned[:, None] - expected[None]).max(axis=(2, 3))
        assert d.min(axis=1).max() < 1e-9 and d.min(axis=0).max() < 1e-9  # the same support, each draw as likely
    s = detect_symmetry(*prism())
    for out in torch.as_tensor(base):  # a single draw keeps nothing of D3h: generic v has a trivial stabilizer
        images = transform_labels(out, s.operations, s.permutations, "vectors")
        assert int(((images - out).abs().amax(dim=(1, 2)) < 1e-9).sum()) == 1
    mean = torch.as_tensor(base).mean(0)  # while the law keeps all of it: the mean output is D3h-symmetric
    images = transform_labels(mean, s.operations, s.permutations, "vectors")
    assert (images - mean).abs().max() < 1e-9


def test_sympe_draws_are_seeded_and_prepared_sets_match():
    model = build_model("egnn+sympe", hidden=16, seed=3).double()
    g = _prism_graph()
    ready = model.prepare_data(g)
    assert ready.sympe_kernel.shape == (12, 3, 3) and int(ready.sympe_size) == 12
    model.eval()
    np.testing.assert_allclose(model(ready).detach().numpy(), model(g).detach().numpy(), atol=1e-12)
    assert torch.equal(model(ready), model(ready))  # evaluation: one fixed draw
    model.train()
    model.source._generator.manual_seed(5)
    a = model.source(ready)["vectors"]
    model.source._generator.manual_seed(5)
    assert torch.equal(a, model.source(ready)["vectors"])


def test_canonical_input_is_one_fixed_kernel_element_in_training_too():
    model = build_model("painn+canon", hidden=16).double()
    g = _prism_graph()
    model.train()
    first = model.source(g)["vectors"]
    assert torch.equal(first, model.source(g)["vectors"])  # no draw: the same encoding every call
    frame = torch.as_tensor(np.array(detect_symmetry(*prism()).frame))
    assert torch.allclose(first[0, 0], frame @ model.source.v[0].to(frame.dtype), atol=1e-12)  # F v
