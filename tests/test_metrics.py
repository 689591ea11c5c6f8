import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="metrics need torch (install the 'ml' extra)")

from symbreak import detect_symmetry  # noqa: E402
from symbreak.metrics import chamfer_distance, emd, sbcd, symmetry_breaking_measure, transform_labels  # noqa: E402
from symbreak.rotations import random_rotations  # noqa: E402
from symbreak.testing import random_symmetric_structure  # noqa: E402

SQUARE = np.array([[1.0, 1, 0], [-1, 1, 0], [-1, -1, 0], [1, -1, 0]])


def t64(a):
    return torch.tensor(np.array(a), dtype=torch.float64)


def test_chamfer_values_and_invariances():
    rng = np.random.default_rng(0)
    x, y = t64(rng.normal(size=(7, 3))), t64(rng.normal(size=(5, 3)))
    direct = sum(min(float(((xi - yj) ** 2).sum()) for yj in y) for xi in x)
    assert abs(float(chamfer_distance(x, y)) - direct) < 1e-12
    assert float(chamfer_distance(x, x[torch.randperm(7)])) < 1e-12
    sym = float(chamfer_distance(x, y, symmetric=True))
    assert abs(sym - float(chamfer_distance(x, y)) - float(chamfer_distance(y, x))) < 1e-12
    for r in random_rotations(3, improper=True, seed=1):  # O(3)-invariant, float64
        r = t64(r)
        assert abs(float(chamfer_distance(x @ r.T, y @ r.T)) - float(chamfer_distance(x, y))) < 1e-10
    batch = chamfer_distance(torch.stack([x, x + 1]), torch.stack([y, y]))
    assert batch.shape == (2,) and abs(float(batch[0]) - direct) < 1e-12
    with pytest.raises(ValueError, match="shapes"):
        chamfer_distance(x, y[:, :2])


def test_emd_finds_the_matching():
    rng = np.random.default_rng(1)
    x = t64(rng.normal(size=(6, 3)))
    assert float(emd(x, x[torch.randperm(6)])) < 1e-12
    y = x + t64([0.1, 0.0, 0.0])
    assert abs(float(emd(x, y[torch.randperm(6)])) - 0.1) < 1e-12
    x.requires_grad_(True)
    emd(x, y).backward()
    assert torch.isfinite(x.grad).all()


def test_sbm_forgives_the_other_rectangle():
    """A square stretched along x or along y: both are valid; SBM scores either as perfect."""
    sym = detect_symmetry(SQUARE)
    assert sym.point_group == "D4h"
    along_x = t64(SQUARE * [1.2, 0.8, 1])
    along_y = t64(SQUARE * [0.8, 1.2, 1])
    assert float(chamfer_distance(along_x, along_y)) > 0.1
    assert float(symmetry_breaking_measure(along_x, along_y, sym, kind="positions")) < 1e-12
    assert float(sbcd(along_x, along_y, sym, kind="positions")) < 1e-12


def test_sbm_equals_plain_metric_without_symmetry_and_for_symmetric_targets():
    rng = np.random.default_rng(2)
    pos, z = random_symmetric_structure("C1", seed=0)
    sym = detect_symmetry(pos, z)
    p, t = t64(rng.normal(size=pos.shape)), t64(rng.normal(size=pos.shape))
    for metric in ("chamfer", "mse"):
        plain = chamfer_distance(p, t) if metric == "chamfer" else ((p - t) ** 2).mean()
        assert abs(float(symmetry_breaking_measure(p, t, sym, metric=metric)) - float(plain)) < 1e-12
    # a target that keeps the whole group (here: the centred positions themselves)
    pos, z = random_symmetric_structure("D3h", seed=1)
    sym = detect_symmetry(pos, z)
    t = t64(pos - sym.center)
    p = t64(rng.normal(size=pos.shape))
    assert abs(float(symmetry_breaking_measure(p, t, sym, metric="mse", kind="positions")) - float(((p - t) ** 2).mean())) < 1e-12


def test_sbm_is_invariant_under_the_group_and_differentiable():
    rng = np.random.default_rng(3)
    pos, z = random_symmetric_structure("C3v", seed=2)
    sym = detect_symmetry(pos, z)
    y = t64(rng.normal(size=pos.shape))
    images = transform_labels(y, sym.operations, sym.permutations, "vectors")
    assert images.shape == (6, len(pos), 3)
    p = t64(rng.normal(size=pos.shape)).requires_grad_(True)
    base = symmetry_breaking_measure(p, y, sym, metric="mse")
    for img in images:  # replacing the target by any of its images changes nothing
        assert abs(float(symmetry_breaking_measure(p, img, sym, metric="mse").detach()) - float(base.detach())) < 1e-12
    base.backward()
    assert p.grad is not None and float(p.grad.abs().sum()) > 0


def test_transform_labels_kinds():
    sym = detect_symmetry(SQUARE)
    y = t64(np.tile([0.0, 0.0, 1.0], (4, 1)))
    vec = transform_labels(y, sym.operations, sym.permutations, "vectors")
    pv = transform_labels(y, sym.operations, sym.permutations, "pseudovectors")
    dets = torch.as_tensor(np.linalg.det(sym.operations))
    torch.testing.assert_close(pv, vec * dets[:, None, None])
    # the permutation carries atom i's label to atom perm[g, i]
    g = 1
    r, perm = t64(sym.operations[g]), sym.permutations[g]
    yr = t64(np.random.default_rng(4).normal(size=(4, 3)))
    moved = transform_labels(yr, sym.operations, sym.permutations, "vectors")[g]
    for i in range(4):
        torch.testing.assert_close(moved[perm[i]], r @ yr[i])


def test_sbm_over_a_batch_of_molecules():
    mols = [random_symmetric_structure(g, seed=5) for g in ("C2v", "D3h", "C1")]
    syms = [detect_symmetry(p, z) for p, z in mols]
    rng = np.random.default_rng(5)
    preds = [t64(rng.normal(size=p.shape)) for p, _ in mols]
    targets = [t64(rng.normal(size=p.shape)) for p, _ in mols]
    each = [float(sbcd(p, t, s)) for p, t, s in zip(preds, targets, syms)]
    assert abs(float(sbcd(preds, targets, syms)) - np.mean(each)) < 1e-12
    with pytest.raises(ValueError, match="as many"):
        sbcd(preds[:2], targets, syms)
    # the same as a PyG-style batch: concatenated atoms and a batch vector
    batch = torch.cat([torch.full((len(p),), k) for k, p in enumerate(preds)])
    together = sbcd(torch.cat(preds), torch.cat(targets), syms, batch=batch)
    assert abs(float(together) - np.mean(each)) < 1e-12
    with pytest.raises(ValueError, match="batch describes"):
        sbcd(torch.cat(preds), torch.cat(targets), syms[:2], batch=batch)


# --- collapse: the paper's one-sided Chamfer is 0 when every atom predicts one target vector ---


def _water():
    from symbreak.labels import load_water_modes

    w = load_water_modes()
    return w, detect_symmetry(w.positions - w.positions.mean(0), w.numbers)


@pytest.mark.parametrize(("mode", "atom", "sign"), [("symmetric", 0, 1.0), ("asymmetric", 0, -1.0), ("bend", 0, 1.0), ("bend", 1, 1.0)])
def test_collapsed_water_predictions_score_zero_sbcd_but_not_zero_sbmse(mode, atom, sign):
    """The audit's cases: EGNN/PaiNN predicting the oxygen's vector at every atom (symmetric
    stretch), SANN predicting minus it (asymmetric stretch), and the bend, open to the same."""
    from symbreak.metrics import is_collapsed, sbmse

    w, sym = _water()
    y = t64(w.mode(mode))
    images = transform_labels(y, sym.operations, sym.permutations, "vectors")
    target_vector = (sign * images[:, atom]).unique(dim=0)  # a vector some image of the label holds
    pred = target_vector[:1].expand(3, 3)
    assert float(sbcd(pred, y, sym)) < 1e-20  # the paper's measure is fooled ...
    assert is_collapsed(pred, y)  # ... the collapse check is not ...
    zero = float(sbmse(torch.zeros_like(y), y, sym))
    assert float(sbmse(pred, y, sym)) > 0.1 * zero  # ... nor the atom-matched verdict measure
    assert float(symmetry_breaking_measure(pred, y, sym, metric="cd2")) > 0.1  # the two-sided one sees the missing vectors
    assert not is_collapsed(images[3], y) and float(sbmse(images[3], y, sym)) < 1e-24  # a true image scores 0


def test_sbmse_is_zero_only_on_an_image_of_the_target():
    from symbreak.metrics import sbmse

    sym = detect_symmetry(SQUARE, [6] * 4)
    rng = np.random.default_rng(2)
    y = t64(rng.normal(size=(4, 3)))
    images = transform_labels(y, sym.operations, sym.permutations, "vectors")
    assert all(float(sbmse(img, y, sym)) < 1e-24 for img in images)
    # any prediction other than an image scores its squared distance to the nearest image
    pred = y + 0.01
    direct = min(float(((pred - img) ** 2).mean()) for img in images)
    assert float(sbmse(pred, y, sym)) == pytest.approx(direct, rel=1e-12)
    # SB-MSE ≥ SBCD/(3n) for every prediction: matching atoms can only cost more than the nearest target
    for _ in range(5):
        p = t64(rng.normal(size=(4, 3)))
        assert float(sbmse(p, y, sym)) * 12 >= float(sbcd(p, y, sym)) - 1e-12


def test_distinct_vectors_and_collapse_checks():
    from symbreak.metrics import distinct_vectors, is_collapsed

    y = t64([[0.0, 0.5, 0], [0.4, -0.2, 0], [-0.4, -0.2, 0]])
    assert distinct_vectors(y, 1e-3) == 3 and distinct_vectors(y[[0, 0, 1]], 1e-3) == 2
    assert is_collapsed(y[[1, 1, 2]], y) and not is_collapsed(y + 1e-3, y)  # nearly right is not collapsed
    assert not is_collapsed(torch.zeros(3, 3), torch.zeros(3, 3))
    with pytest.raises(ValueError, match="tol"):
        distinct_vectors(y, -1.0)
    with pytest.raises(ValueError, match="n ≥ 1"):
        distinct_vectors(y[:0], 0.1)


@pytest.mark.parametrize("kind", ["vectors", "pseudovectors", "positions"])
@pytest.mark.parametrize("metric", ["chamfer", "cd2", "mse"])
def test_padded_batch_measure_equals_the_per_molecule_loop(kind, metric):
    """A batch of molecules with different sizes and groups (C1 to Oh) in one padded computation:
    value and gradient equal the per-molecule loop. A padded atom or group element that leaked
    into a minimum or a mean (the plausible bugs) changes the value."""
    rng = np.random.default_rng(4)
    syms, preds, targets = [], [], []
    for name in ("C2v", "D4h", "C1", "Oh", "Cs"):
        pos, num = random_symmetric_structure(name, seed=int(rng.integers(100)))
        syms.append(detect_symmetry(pos - pos.mean(0), num))
        preds.append(t64(rng.normal(size=pos.shape)))
        targets.append(t64(rng.normal(size=pos.shape)))
    batch = torch.cat([torch.full((len(p),), i) for i, p in enumerate(preds)])
    pred = torch.cat(preds).requires_grad_(True)
    padded = symmetry_breaking_measure(pred, torch.cat(targets), syms, metric=metric, kind=kind, batch=batch)
    loop = symmetry_breaking_measure(list(torch.split(pred, [len(p) for p in preds])), targets, syms, metric=metric, kind=kind)
    (g_padded,), (g_loop,) = torch.autograd.grad(padded, pred), torch.autograd.grad(loop, pred)
    assert float(padded) == pytest.approx(float(loop), rel=1e-12)
    torch.testing.assert_close(g_padded, g_loop, atol=1e-12, rtol=0)


def test_batch_losses_do_not_depend_on_how_the_batch_is_ordered():
    """Molecules interleaved in the batch (each keeping its atoms' order) are the same molecules:
    the same SBCD/SB-MSE/EMD as the sorted batch and as the per-molecule mean."""
    import torch

    structures = [random_symmetric_structure(g, seed=1) for g in ("C2v", "D3h")]
    syms = [detect_symmetry(p, z) for p, z in structures]
    gen = torch.Generator().manual_seed(0)
    pred = [torch.randn(len(z), 3, generator=gen, dtype=torch.float64) for _, z in structures]
    target = [torch.randn(len(z), 3, generator=gen, dtype=torch.float64) for _, z in structures]
    batch = torch.cat([torch.full((len(z),), i) for i, (_, z) in enumerate(structures)])
    slots = torch.randperm(len(batch), generator=gen)
    place = torch.empty_like(slots)
    for i in range(len(structures)):  # molecule i's atoms go to its slots in increasing order
        idx = (batch == i).nonzero().flatten()
        place[idx] = torch.sort(slots[idx]).values
    def interleave(x):
        out = torch.empty_like(x)
        out[place] = x
        return out
    assert bool((interleave(batch)[1:] < interleave(batch)[:-1]).any())  # really unsorted
    for metric in ("chamfer", "mse", "emd"):
        sorted_value = symmetry_breaking_measure(torch.cat(pred), torch.cat(target), syms, metric=metric, batch=batch)
        mixed = symmetry_breaking_measure(interleave(torch.cat(pred)), interleave(torch.cat(target)), syms, metric=metric, batch=interleave(batch))
        per_molecule = torch.stack([symmetry_breaking_measure(p, t, s, metric=metric) for p, t, s in zip(pred, target, syms)]).mean()
        assert float(sorted_value) == pytest.approx(float(per_molecule), rel=1e-10)
        assert float(mixed) == pytest.approx(float(sorted_value), rel=1e-10)
