"""``+learned-canon`` (symbreak.models._learned_canon): a learned O(3) frame, exact on structures
without symmetry, a uniform draw from the stabilizer's coset on symmetric ones, and its prior."""

import copy
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from symbreak import SymbreakError, detect_symmetry
from symbreak.metrics import transform_labels
from symbreak.models import build_model, canonicalization_prior, learned_canon_outputs, load_model, save_model
from symbreak.models._inputs import transform_batch
from symbreak.models._learned_canon import DEGENERATE_FRAME, LearnedCanonicalization, gram_schmidt
from symbreak.rotations import act, random_rotations
from symbreak.testing import assert_equivariant, random_symmetric_structure
from symbreak._errors import StructureError

pytestmark = pytest.mark.usefixtures("float64")

#: two molecules without symmetry (C1 at 0.1 Å), as the conformance suite uses
C1 = np.random.default_rng(20261122).normal(size=(9, 3)) * 1.2
C1_Z = [6, 7, 8, 1, 6, 6, 8, 1, 1]


def c1_batch():
    return SimpleNamespace(z=torch.tensor(C1_Z), pos=torch.tensor(C1), batch=torch.tensor([0, 0, 0, 0, 1, 1, 1, 1, 1]))


def one(positions, numbers):
    return SimpleNamespace(z=torch.as_tensor(np.asarray(numbers)), pos=torch.as_tensor(np.asarray(positions, dtype=float)))


def symmetric_structures():
    """The structures of the mechanism comparison: the square (D4h), the prism (D3h), water (C2v), and a C3v."""
    square = np.array([[1.0, 1.0, 0.0], [-1.0, 1.0, 0.0], [-1.0, -1.0, 0.0], [1.0, -1.0, 0.0]])
    t = np.radians([90.0, 210.0, 330.0])
    ring = np.stack([1.2 * np.cos(t), 1.2 * np.sin(t), np.zeros(3)], axis=1)
    prism = np.concatenate([ring + [0, 0, 0.8], ring - [0, 0, 0.8]])
    water = np.array([[0.0, 0.0, 0.12], [0.76, 0.0, -0.47], [-0.76, 0.0, -0.47]])
    c3v, c3v_z = random_symmetric_structure("C3v", n_seeds=1, seed=3)
    return {"D4h": (square, [6] * 4), "D3h": (prism, [6] * 6), "C2v": (water, [8, 1, 1]), "C3v": (c3v + [0.3, -0.2, 0.5], c3v_z)}


def perturbed(spec, seed=0, **options):
    """``spec`` in float64 and evaluation mode, its weights moved away from their initial values (seeded)."""
    torch.manual_seed(seed)
    model = build_model(spec, hidden=16, layers=2, **options).double().eval()
    gen = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for p in model.parameters():
            if p.requires_grad:  # the trainable weights (the conformance suite's rule)
                p.add_(0.1 * torch.randn(p.shape, generator=gen, dtype=p.dtype))
    return model


def elements(n=8, seed=5):
    r = random_rotations(n, seed=seed)
    r[1::2] *= -1.0  # half of them improper
    return r


# --- the frame --------------------------------------------------------------------------------


def test_gram_schmidt_is_o3_equivariant_and_reports_degeneracy():
    v = torch.randn(16, 3, 3)
    frame, ratio = gram_schmidt(v)
    assert torch.allclose(frame.transpose(1, 2) @ frame, torch.eye(3).expand(16, 3, 3), atol=1e-12)
    assert torch.equal(torch.sign(torch.linalg.det(frame)), torch.sign(torch.linalg.det(v)))
    for g in torch.as_tensor(elements()):
        moved, moved_ratio = gram_schmidt(g @ v)
        assert torch.allclose(moved, g @ frame, atol=1e-12) and torch.allclose(moved_ratio, ratio, atol=1e-12)
    flat = v.clone()
    flat[:, :, 2] = flat[:, :, 0] + 2 * flat[:, :, 1]  # dependent columns: ratio 0, frame finite
    frame, ratio = gram_schmidt(flat)
    assert bool(torch.isfinite(frame).all()) and float(ratio.max()) < 1e-6
    assert float(gram_schmidt(torch.zeros(1, 3, 3))[1]) == 0.0


@pytest.mark.parametrize("spec", ["egnn+learned-canon", "painn+learned-canon"])
def test_exactly_o3_equivariant_without_symmetry(spec):
    """On structures without symmetry: R(gx) = g R(x) and f(gx) = g f(x) for random rotations and
    reflections, a translation and a permutation of the atoms, in float64."""
    model, data = perturbed(spec), c1_batch()
    with torch.no_grad():
        frame, learned = model.source.frames(data)
        base = model(data)
    assert bool(learned.all())  # the network's own frames, not the fallback
    worst_frame = worst_out = 0.0
    for k, g in enumerate(elements()):
        perm = torch.cat([torch.randperm(4, generator=torch.Generator().manual_seed(k)), 4 + torch.randperm(5, generator=torch.Generator().manual_seed(k))])
        moved = transform_batch(data, g, translation=torch.tensor([0.3, -1.0, 2.0]), permutation=perm)
        with torch.no_grad():
            frame_g, _ = model.source.frames(moved)
            out_g = model(moved)
        gt = torch.as_tensor(g)
        worst_frame = max(worst_frame, float((frame_g - gt @ frame).abs().max()))
        worst_out = max(worst_out, float((out_g - act(gt, base, "1o")[perm]).abs().max()))
    assert worst_frame < 1e-10 and worst_out < 1e-10 * max(1.0, float(base.abs().max())), (worst_frame, worst_out)
    assert_equivariant(model, data, atol=1e-9)  # the shipped assertion, its own random elements


def test_a_reflection_flips_the_frame_handedness():
    model, data = perturbed("egnn+learned-canon"), c1_batch()
    mirror = np.diag([1.0, 1.0, -1.0])
    with torch.no_grad():
        det = torch.linalg.det(model.source.frames(data)[0])
        det_mirrored = torch.linalg.det(model.source.frames(transform_batch(data, mirror))[0])
    assert torch.allclose(det_mirrored, -det, atol=1e-12) and torch.allclose(det.abs(), torch.ones(2))


# --- symmetric structures ---------------------------------------------------------------------


@pytest.mark.parametrize("group", ["D4h", "D3h", "C2v", "C3v"])
def test_breaks_the_symmetry_of_a_symmetric_structure(group):
    """One output keeps none of the structure's symmetry; the frames over the kernel draws are the
    coset G·R, one each; the outputs over the draws are the orbit G·f(x), one each (uniform law)."""
    positions, numbers = symmetric_structures()[group]
    sym = detect_symmetry(positions, numbers)
    assert sym.point_group == group
    model, data = perturbed("egnn+learned-canon"), one(positions, numbers)
    with torch.no_grad():
        out = model(data)
        (outs,) = learned_canon_outputs(model, data)
        frames = []
        for k in range(len(sym.operations)):
            with model.source.choosing(k):
                frame, learned = model.source.frames(data)
            assert bool(learned.all())
            frames.append(frame[0])
    ops = torch.as_tensor(np.array(sym.operations))
    # broken: some operation of the group moves the output (the backbone may keep a subgroup: EGNN's
    # output on a planar structure stays in its plane, so it keeps that mirror whatever its input)
    images = transform_labels(out, sym.operations, sym.permutations, "1o")
    deviation = (images - out).abs().amax((1, 2))
    assert float(deviation.max()) > 1e-2 * float(out.abs().max()), deviation
    # the frames: R_k = h_k R_0, every h of the group once
    used = [int(torch.argmin((ops @ frames[0] - f).abs().amax((1, 2)))) for f in frames]
    assert sorted(used) == list(range(len(ops)))
    assert all(float((ops[h] @ frames[0] - f).abs().max()) < 1e-9 for h, f in zip(used, frames))
    # the outputs: draw k gives h_k·f_0, so the outputs over the draws are the orbit G·f_0, uniformly
    orbit = transform_labels(outs[0], sym.operations, sym.permutations, "1o")
    assert all(float((orbit[h] - o).abs().max()) < 1e-9 for h, o in zip(used, outs))


def test_the_law_of_the_frame_turns_with_the_structure():
    """The set of frames over the draws of gx is g times the set of x (K(gx) = K(x) g⁻¹)."""
    positions, numbers = symmetric_structures()["D3h"]
    model, data = perturbed("painn+learned-canon"), one(positions, numbers)

    def frame_set(batch):
        size = int(model.source.set_sizes(batch)[0])
        out = []
        for k in range(size):
            with model.source.choosing(k), torch.no_grad():
                out.append(model.source.frames(batch)[0][0])
        return torch.stack(out)

    base = frame_set(data)
    for g in elements(4, seed=9):
        moved = frame_set(transform_batch(data, g))
        expected = torch.as_tensor(g) @ base
        d = (moved[:, None] - expected[None]).abs().amax((2, 3))
        assert float(d.amin(1).max()) < 1e-8 and float(d.amin(0).max()) < 1e-8


def test_training_draws_cover_the_kernel_and_evaluation_is_fixed():
    positions, numbers = symmetric_structures()["C2v"]
    model = perturbed("egnn+learned-canon")
    data = model.prepare_data(one(positions, numbers))  # the kernel computed once, stored in the batch
    model.train()
    with torch.no_grad():
        frames = {tuple(np.round(model.source.frames(data)[0].numpy().ravel(), 8)) for _ in range(30)}
    assert len(frames) == 4  # the |C2v| frames of the coset, all of them drawn
    model.eval()
    with torch.no_grad():
        assert torch.equal(model(data), model(data))


@pytest.mark.parametrize("name", ["atom", "co2"])
def test_linear_molecules_and_atoms_get_a_frame(name):
    """The pair (structure, drawn frame) has no symmetry left, even where the structure alone leaves
    too little to span space (a line, a point)."""
    positions = np.zeros((1, 3)) if name == "atom" else np.array([[0.0, 0, -1.16], [0, 0, 0], [0, 0, 1.16]])
    numbers = [6] if name == "atom" else [8, 6, 8]
    model = perturbed("egnn+learned-canon")
    with torch.no_grad():
        frame, learned = model.source.frames(one(positions, numbers))
        out = model(one(positions, numbers))
    assert bool(learned.all()) and torch.allclose(frame[0].T @ frame[0], torch.eye(3), atol=1e-12)
    assert bool(torch.isfinite(out).all())


def test_degenerate_predictions_fall_back_to_the_kernel_frame():
    """A network whose three vectors are dependent gives the drawn kernel element's frame, F for a structure without symmetry."""
    model, data = perturbed("egnn+learned-canon"), c1_batch()
    phi_x = model.source.network.phi_x[-1]
    with torch.no_grad():
        phi_x.weight[1:] = phi_x.weight[:1]  # every column the same vector
        phi_x.bias[1:] = phi_x.bias[:1]
        frame, learned = model.source.frames(data)
    assert not bool(learned.any())
    kernel, _ = model.source.stacked(data)
    assert torch.allclose(frame, kernel.transpose(1, 2), atol=1e-12)
    assert DEGENERATE_FRAME > 0


# --- the prior --------------------------------------------------------------------------------


def test_prior_is_zero_at_the_identity_and_positive_elsewhere():
    model, data = perturbed("egnn+learned-canon"), c1_batch()
    with torch.no_grad():
        frame, _ = model.source.frames(data)
    # each molecule turned into its own canonical pose: R(R^T x) = R^T R(x) = I
    pos = torch.cat([data.pos[:4] @ frame[0], data.pos[4:] @ frame[1]])
    canonical = SimpleNamespace(z=data.z, pos=pos, batch=data.batch)
    model(canonical)
    assert float(model.source.prior_loss()) < 1e-20
    model(data)
    prior = float(model.source.prior_loss())
    expected = float(((frame - torch.eye(3)) ** 2).sum((1, 2)).mean())
    assert prior > 1.0 and abs(prior - expected) < 1e-12
    # an improper frame is at least 4 from the identity (its trace is at most 1)
    source = LearnedCanonicalization()
    source._frames = (torch.diag(torch.tensor([1.0, 1.0, -1.0]))[None], torch.tensor([True]))
    assert float(source.prior_loss()) == 4.0
    source._frames = (-torch.eye(3)[None], torch.tensor([True]))
    assert float(source.prior_loss()) == 12.0
    source._frames = (-torch.eye(3)[None], torch.tensor([False]))  # a fallback frame does not count
    assert float(source.prior_loss()) == 0.0


def test_prior_gradient_flows_and_training_on_it_lowers_it():
    model = perturbed("egnn+learned-canon").train()
    data = model.prepare_data(c1_batch())
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    values = []
    for _ in range(40):
        opt.zero_grad()
        model(data)
        prior = canonicalization_prior(model, weight=1.0)
        prior.backward()
        values.append(float(prior))
        opt.step()
    grads = [p.grad for p in model.source.network.parameters() if p.grad is not None]
    assert grads and any(float(g.abs().max()) > 0 for g in grads)
    assert values[-1] < 0.5 * values[0], values[::8]
    # the model's own weight, and a model without the input: a zero scalar
    model(data)
    assert torch.allclose(canonicalization_prior(model), model.source.prior_weight * model.source.prior_loss())
    zero = canonicalization_prior(build_model("egnn"))
    assert zero.shape == () and float(zero) == 0.0


def test_copies_do_not_carry_the_last_pass():
    model = perturbed("egnn+learned-canon").train()
    model(c1_batch())  # a training pass: the frames hold their autograd graph
    assert model.source._frames is not None
    clone = copy.deepcopy(model)
    assert clone.source._frames is None and float(clone.source.prior_loss()) == 0.0


# --- checkpoints, options, periodic cells, the registry ------------------------------------------


def test_checkpoint_round_trip(tmp_path):
    positions, numbers = symmetric_structures()["D3h"]
    model = perturbed("egnn+learned-canon[frame_hidden=8, prior_weight=0.5]")
    path = save_model(model, tmp_path / "m.pt")
    loaded = load_model(path)
    assert loaded.source.prior_weight == 0.5 and loaded.spec == model.spec
    for data in (c1_batch(), one(positions, numbers)):
        with torch.no_grad():
            assert torch.equal(loaded(data), model(data))


def test_options_are_checked():
    with pytest.raises(SymbreakError, match="frame_hidden"):
        build_model("egnn+learned-canon", frame_hidden=0)
    with pytest.raises(SymbreakError, match="prior_weight"):
        build_model("egnn+learned-canon[prior_weight=-1]")
    with pytest.raises(SymbreakError, match="frame_cutoff"):
        build_model("egnn+learned-canon", frame_cutoff=0.0)
    assert build_model("egnn+canon").source.__class__.__name__ == "CanonicalFrameInput"  # "canon" is still canon
    assert build_model("painn+learned-canon").model.in_vectors == 3


def test_periodic_cell():
    """The frame network reads the cell through its periodic graph; a crystal must bring its point group."""
    from symbreak.tasks import get_task
    from torch_geometric.data import Batch

    (graph,) = get_task("sbs-examples").dataset("batio3")
    model = perturbed("egnn+learned-canon")
    batch = Batch.from_data_list([model.prepare_data(graph.clone())])
    with torch.no_grad():
        frame, learned = model.source.frames(batch)
        out = model(batch)
    assert bool(learned.all()) and bool(torch.isfinite(out).all())
    bare = SimpleNamespace(z=graph.z, pos=graph.pos.double(), cell=graph.cell.double().reshape(1, 3, 3))
    with pytest.raises(StructureError, match="data.sym"):
        model(bare)


def test_the_conformance_suite_picks_it_up():
    from symbreak.testing import conformance_specs, refused_specs

    specs = conformance_specs(variants=[], inputs=["learned-canon"])
    assert {"egnn+learned-canon", "painn+learned-canon", "schnet+learned-canon", "e3nn+learned-canon", "sann+learned-canon"} <= set(specs)
    assert "cannot read vector inputs" in refused_specs(variants=[], inputs=["learned-canon"])["pet+learned-canon"]
