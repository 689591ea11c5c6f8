"""Conformance suite: every registered model, with its +noise and +mlp variants (the metatrain pattern)."""

import io
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from symbreak import PointGroup, SymbreakError
from symbreak.metrics import transform_labels
from symbreak.rotations import random_rotations
from symbreak.models import available_models, build_model, fully_connected_edges, radius_edges, triplets
from symbreak.testing import assert_breaks_symmetry, assert_equivariant
from symbreak.tasks import square_and_rectangles

BASES = available_models()


# every test in float64 (the conftest fixture): exactness checks need it
pytestmark = pytest.mark.usefixtures("float64")


def _two_molecules(seed=0):
    g = torch.Generator().manual_seed(seed)
    z = torch.tensor([8, 1, 1, 6, 6, 1, 7])
    pos = torch.randn(7, 3, generator=g) * 1.2
    batch = torch.tensor([0, 0, 0, 1, 1, 1, 1])
    return z, pos, batch


def _model(spec, **kw):
    torch.manual_seed(0)
    return build_model(spec, hidden=16, **kw).double().eval()


def _fn(model):
    return lambda p, z, b: model(SimpleNamespace(z=z, pos=p, batch=b))


# the declared symmetry, dtypes and checkpoint round trip of every buildable model × variant × input:
# tests/test_conformance.py (symbreak.testing.ModelConformance, generated from the registries)


@pytest.mark.parametrize("spec", ["egnn", "egnn[rbf=16]", "egnn[moves='last']", "egnn[moves='head']", "egnn[moves='head-squared']", "schnet", "painn", "painn-vector", "dimenet++", "e3nn", "sann"])
def test_every_model_reads_invariant_and_vector_inputs(spec):
    """x and vectors reach the output, the declared symmetry holds with vector inputs rotating along,
    and a vector input breaks the molecule's own symmetry (a mirror of water) where x cannot."""
    from symbreak import StructureError

    z, pos, batch = _two_molecules()
    g = torch.Generator().manual_seed(3)
    x, vec = torch.randn(7, 2, generator=g), torch.randn(7, 1, 3, generator=g)
    model = _model(spec, in_features=2, in_vectors=1)
    data = SimpleNamespace(z=z, pos=pos, batch=batch, x=x, vectors=vec)
    out = model(data)
    assert not torch.allclose(out, model(SimpleNamespace(z=z, pos=pos, batch=batch, x=x + 1.0, vectors=vec)))
    assert not torch.allclose(out, model(SimpleNamespace(z=z, pos=pos, batch=batch, x=x, vectors=-vec)))
    if model.symmetry == "relaxed":  # with vector inputs: exact where the structure has no symmetry
        asym = SimpleNamespace(z=z[3:], pos=pos[3:], x=x[3:], vectors=vec[3:])
        assert_equivariant(model, asym, n_rotations=4, atol=1e-8)
    if model.symmetry == "exact":
        assert_equivariant(model, data, n_rotations=4, atol=1e-8)
        water = SimpleNamespace(z=torch.tensor([8, 1, 1]), pos=torch.tensor([[0, 0, 0.12], [0.76, 0, -0.47], [-0.76, 0, -0.47]]), x=torch.ones(3, 2))
        mirror = torch.diag(torch.tensor([-1.0, 1.0, 1.0]))
        water.vectors = torch.zeros(3, 1, 3)
        plain = model(water)
        assert torch.allclose(plain[2], plain[1] @ mirror, atol=1e-10)  # symmetric input, symmetric output
        water.vectors = torch.tensor([1.0, 0.3, 0.2]).expand(3, 1, 3).clone()
        broken = model(water)
        assert float((broken[2] - broken[1] @ mirror).abs().max()) > 1e-6
    with pytest.raises(StructureError, match="data.vectors"):
        model(SimpleNamespace(z=z, pos=pos, batch=batch, x=x))


def test_random_vector_input_is_seeded_breaks_symmetry_and_is_isotropic():
    water = SimpleNamespace(z=torch.tensor([8, 1, 1]), pos=torch.tensor([[0, 0, 0.12], [0.76, 0, -0.47], [-0.76, 0, -0.47]]))
    model = _model("painn+randvec")
    assert model.symmetry == "approximate"
    out = model(water)
    assert torch.equal(out, model(water))  # evaluation: one fixed draw
    assert not torch.equal(out, _model("painn+randvec", seed=1)(water))
    mirror = torch.diag(torch.tensor([-1.0, 1.0, 1.0]))
    assert float((out[2] - out[1] @ mirror).abs().max()) > 1e-4
    # equivariant in distribution: the vector the model sees is isotropic (mean ~0 over draws)
    src = model.source.train()
    draws = torch.cat([src(water)["vectors"][0] for _ in range(2000)])
    assert float(draws.mean(0).norm()) < 0.08 and torch.allclose(draws.norm(dim=-1), torch.ones(2000))


@pytest.mark.parametrize("name", BASES)
def test_molecules_in_a_batch_do_not_interact(name):
    z, pos, batch = _two_molecules()
    model = _model(name)
    both = model(SimpleNamespace(z=z, pos=pos, batch=batch))
    first = model(SimpleNamespace(z=z[:3], pos=pos[:3], batch=batch[:3]))
    moved = pos.clone()
    moved[3:] += 0.3  # reshaping molecule 1 must not change molecule 0
    assert torch.allclose(both[:3], first, atol=1e-10)
    assert torch.allclose(model(SimpleNamespace(z=z, pos=moved, batch=batch))[:3], first, atol=1e-10)


MLP_BASES = [b for b in BASES if b != "sann"]


@pytest.mark.parametrize("name", MLP_BASES)
def test_mlp_variant_breaks_rotations_but_keeps_permutations(name):
    """Symmetry-breaking means neither equivariant nor invariant: an invariant output (a head that
    reads only canonical coordinates, the old ``sann+mlp``) passes "not equivariant" but fails here."""
    z, pos, batch = _two_molecules()
    f = _fn(_model(name + "+mlp"))
    assert_equivariant(f, pos, z, batch, output="1o", per_atom=True, group=np.eye(3)[None], translation=False, atol=1e-10)
    with pytest.raises(AssertionError, match="not equivariant"):
        assert_equivariant(f, pos, z, batch, output="1o", n_rotations=2, atol=1e-4)
    with pytest.raises(AssertionError, match="not equivariant"):  # "0e": the output would be unchanged by rotations
        assert_equivariant(f, pos, z, batch, output="0e", n_rotations=2, translation=False, atol=1e-4)


def test_sann_refuses_mlp_with_a_clear_error():
    with pytest.raises(SymbreakError, match="canonical frame.*rotation-invariant"):
        build_model("sann+mlp")


def test_sann_reads_the_tolerance_it_is_given():
    # a water that is C2v at 0.2 Å and only Cs at 0.1 Å: SANN's classes follow its tol
    pos = np.array([[0.0, 0.0, 0.0], [0.96, 0.0, 0.0], [-0.24, 0.93 + 0.15, 0.0]])
    coarse, fine = _model("sann", tol=0.2), _model("sann", tol=0.1)
    z = np.array([8, 1, 1])
    assert coarse.graphs(pos, z).point_group == "C2v" and fine.graphs(pos, z).point_group == "Cs"


@pytest.mark.parametrize("name", BASES)
def test_equivariant_models_keep_the_square_symmetry_and_mlp_breaks_it(name):
    # Curie's principle: an equivariant model's output on the D4h square is D4h-symmetric
    square = torch.tensor(square_and_rectangles()[0])
    z, batch = torch.full((4,), 6), torch.zeros(4, dtype=torch.long)
    from symbreak import detect_symmetry

    sym = detect_symmetry(square.numpy(), [6] * 4)
    if not _model(name).equivariant:
        pytest.skip(f"{name} is designed to break the input's symmetry")
    for spec, symmetric in ((name, True), (name + "+mlp", False)):
        out = _model(spec)(SimpleNamespace(z=z, pos=square, batch=batch)).detach()
        images = transform_labels(out, sym.operations, sym.permutations, "vectors")
        assert (float((images - out).abs().max()) < 1e-9) == symmetric, spec


def test_noise_variant_is_seeded_and_vanishes_at_zero_sigma():
    z, pos, batch = _two_molecules()
    data = SimpleNamespace(z=z, pos=pos, batch=batch)
    base = _model("egnn")(data)
    assert torch.allclose(_model("egnn+noise", sigma=0.0)(data), base)
    noisy = _model("egnn+noise", sigma=0.05, seed=3)
    a, b = noisy(data), noisy(data)
    assert torch.equal(a, b)  # evaluation: one fixed draw
    assert not torch.allclose(a, base, atol=1e-6)
    noisy.train()
    assert not torch.equal(noisy(data), noisy(data))  # training: fresh noise
    with pytest.raises(ValueError, match="sigma"):
        build_model("egnn+noise", sigma=-1.0)


def test_noise_breaks_symmetry_in_proportion_to_sigma():
    """The equivariance error of +noise is linear in σ (the noise is fixed in the lab frame, so
    f(Rx + ε) − R f(x + ε) ≈ J (ε − Rε)); a wrong scale (σ², 1, or noise not applied) fails."""
    z, pos, batch = _two_molecules()
    rot = torch.tensor(random_rotations(1, improper=True, seed=5)[0])

    def error(sigma):
        f = _fn(_model("painn+noise", sigma=sigma))
        return float((f(pos @ rot.T, z, batch) - f(pos, z, batch) @ rot.T).abs().max())

    small, large = error(1e-5), error(1e-4)
    assert 1e-9 < small and large / small == pytest.approx(10.0, rel=0.05)
    assert error(0.0) < 1e-10


@pytest.mark.parametrize("spec", BASES + [b + "+mlp" for b in MLP_BASES])
def test_gradients_and_state_dict_round_trip(spec):
    z, pos, batch = _two_molecules()
    data = SimpleNamespace(z=z, pos=pos, batch=batch)
    model = _model(spec).train()
    out = model(data)
    (out**2).sum().backward()
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    assert grads and all(torch.isfinite(g).all() for g in grads)
    assert sum(bool(g.abs().sum() > 0) for g in grads) >= 0.7 * len(list(model.parameters()))
    buf = io.BytesIO()
    torch.save(model.state_dict(), buf)
    buf.seek(0)
    fresh = build_model(spec, hidden=16).double().eval()
    fresh.load_state_dict(torch.load(buf, weights_only=True))
    model.eval()
    assert torch.allclose(fresh(data), model(data))


def test_registry_errors_are_clear():
    with pytest.raises(SymbreakError, match="unknown model 'gnn'"):
        build_model("gnn")
    with pytest.raises(SymbreakError, match="unknown variant 'foo'"):
        build_model("egnn+foo")
    with pytest.raises(SymbreakError, match="takes no option"):
        build_model("egnn", sigma=0.1)
    assert type(build_model("dimenet+mlp").model).__name__ == "DimeNetPlusPlus"


def test_options_ride_in_the_spec():
    from symbreak.models import parse_spec, split_specs

    model = build_model("sann[layers=3, num_radial=6, tol=0.2]")
    assert len(model.layers) == 3 and len(model.basis.rbf.freq) == 6 and model.tol == 0.2
    assert build_model("egnn+noise[sigma=0.01]").sigma == 0.01
    assert parse_spec("dimenet+mlp") == ("dimenet+mlp", {})
    assert split_specs("egnn, sann[layers=3,num_radial=6],painn+mlp") == ["egnn", "sann[layers=3,num_radial=6]", "painn+mlp"]
    for bad, message in [("sann[layers]", "expected key=value"), ("sann[layers=three]", "not a number"), ("sann[[", "malformed model spec"), ("sann[depth=3]", "takes no option")]:
        with pytest.raises(SymbreakError, match=message):
            build_model(bad)
    with pytest.raises(SymbreakError, match="both in the spec"):
        build_model("sann[layers=3]", layers=2)


def test_graphs_match_brute_force(rng):
    pos = torch.tensor(rng.normal(size=(9, 3)) * 2)
    batch = torch.tensor([0] * 4 + [1] * 5)
    edges = radius_edges(pos, batch, 2.5)
    expect = {(j, i) for i in range(9) for j in range(9) if i != j and batch[i] == batch[j] and float((pos[i] - pos[j]).norm()) < 2.5}
    assert set(map(tuple, edges.T.tolist())) == expect
    full = fully_connected_edges(batch)
    assert full.shape[1] == 4 * 3 + 5 * 4
    kj, ji, (i, j, k) = triplets(full, 9)
    brute = {(a, b) for a in range(full.shape[1]) for b in range(full.shape[1]) if full[1, a] == full[0, b] and full[0, a] != full[1, b]}
    assert set(zip(kj.tolist(), ji.tolist())) == brute
    assert torch.equal(full[1, kj], j) and torch.equal(full[0, kj], k) and torch.equal(full[1, ji], i)
    with pytest.raises(ValueError, match="cutoff"):
        radius_edges(pos, batch, 0.0)


def test_assert_breaks_symmetry_on_a_model():
    # EGNN+MLP on the square: permutations of the square's own D4h are not kept, yet an
    # equivariant EGNN keeps all of them
    square = torch.tensor(square_and_rectangles()[0])
    z, batch = torch.full((4,), 6), torch.zeros(4, dtype=torch.long)
    f = _fn(_model("egnn"))
    assert_breaks_symmetry(lambda p: f(p, z, batch), square, output="1o", kept=PointGroup("D4h").operations, atol=1e-9)
    g = _fn(_model("egnn+mlp"))
    assert_breaks_symmetry(lambda p: g(p, z, batch), square, output="1o", broken=PointGroup("D4h").operations[1:], atol=1e-6)


def _sann_fn(model, z):
    return lambda p: model(SimpleNamespace(z=z, pos=p, batch=torch.zeros(len(z), dtype=torch.long)))


#: SANN as given, and its ablations: no canonical coordinates; EGNN's kind of readout; the layer's mean
#: instead of attention; summed messages; no class structure (messages by distance, the frame kept)
SANN_ABLATIONS = [{}, {"coords": False}, {"readout": "relative"}, {"readout": "egnn"}, {"readout": "egnn-local"}, {"readout": "egnn-every"}, {"mix": "sum"}, {"aggregate": "sum"}, {"classes": False}, {"stages": "one"}, {"stages": "one", "classes": False},
                  {"readout_depth": 4}, {"readout": "egnn-local", "readout_depth": 4},
                  {"readout": "egnn", "pair_distance": "squared"}, {"readout": "egnn", "readout_depth": 4, "pair_distance": "squared"},
                  {"stages": "one", "classes": False, "readout": "egnn", "readout_depth": 4, "pair_distance": "squared"}]


@pytest.mark.parametrize("options", SANN_ABLATIONS, ids=lambda o: ",".join(f"{k}={v}" for k, v in o.items()) or "default")
@pytest.mark.parametrize("group", ["C2v", "D4h", "Td", "C3v"])
def test_sann_is_relaxed_equivariant(group, options):
    # f(g·x) = g·σ·f(x) for some σ in Sym(x): the SBM of f(g·x) against g·f(x) over Sym(x) is 0
    from symbreak import detect_symmetry
    from symbreak.metrics import symmetry_breaking_measure
    from symbreak.testing import random_symmetric_structure

    pos, numbers = random_symmetric_structure(group, seed=3)
    pos = torch.tensor(pos - pos.mean(0))
    z = torch.as_tensor(numbers)
    model = _model("sann", **options)
    f = _sann_fn(model, z)
    out = f(pos).detach()
    rots = random_rotations(4, seed=5)
    rots[1::2] *= -1
    for g in rots:
        g = torch.tensor(g)
        moved = f(pos @ g.T).detach()
        sym = detect_symmetry((pos @ g.T).numpy(), numbers)
        assert float(symmetry_breaking_measure(moved, out @ g.T, sym, metric="mse")) < 1e-16
    # and it does break the symmetry: the output on a symmetric input is not symmetric
    sym = detect_symmetry(pos.numpy(), numbers)
    images = transform_labels(out, sym.operations, sym.permutations, "vectors")
    # relative to the output's size, far above float64 round-off: an untrained deep EGNN-like readout
    # breaks the symmetry only weakly at its start (its weights vary little across the frame-bound features)
    assert float(out.abs().max()) > 0 and float((images - out).abs().amax(dim=(1, 2)).max()) > 1e-6 * float(out.abs().max())


@pytest.mark.parametrize("group", ["C2v", "D4h", "Td", "C3v"])
def test_sann_is_relaxed_equivariant_on_noisy_near_symmetric_molecules(group):
    """0.01 Å of noise: the group is still detected (tol 0.1 Å), and f(g·x) = g·σ·f(x) must hold
    with σ from the *detected* group, exactly: a frame built from noisy data must not drift."""
    from symbreak import detect_symmetry
    from symbreak.metrics import symmetry_breaking_measure
    from symbreak.testing import random_symmetric_structure

    pos, numbers = random_symmetric_structure(group, seed=3)
    pos = pos + np.random.default_rng(1).normal(scale=0.01, size=pos.shape)
    pos = torch.tensor(pos - pos.mean(0))
    assert detect_symmetry(pos.numpy(), numbers).point_group == group
    f = _sann_fn(_model("sann"), torch.as_tensor(numbers))
    out = f(pos).detach()
    rots = random_rotations(4, seed=6)
    rots[::2] *= -1
    for g in (torch.tensor(r) for r in rots):
        sym = detect_symmetry((pos @ g.T).numpy(), numbers)
        assert float(symmetry_breaking_measure(f(pos @ g.T).detach(), out @ g.T, sym, metric="mse")) < 1e-16


@pytest.mark.parametrize(("name", "positions", "numbers", "flip"), [
    ("HCN", [[0, 0, -1.065], [0, 0, 0.0], [0, 0, 1.153]], [1, 6, 7], None),
    ("CO2", [[0, 0, -1.16], [0, 0, 0.0], [0, 0, 1.16]], [8, 6, 8], [2, 1, 0]),
])  # fmt: skip
def test_sann_is_relaxed_equivariant_on_linear_molecules(name, positions, numbers, flip):
    """C∞v and D∞h are infinite: f(g·x) = g·σ·f(x) with σ any rotation about the axis (and, for
    D∞h, the flip). The Gram matrix f_i·f_j and the axial components f_i·u fix the output up to
    exactly those, so they must agree (for D∞h, possibly with the atoms reversed and u → −u)."""
    pos = torch.tensor(positions, dtype=torch.float64)
    f = _sann_fn(_model("sann"), torch.tensor(numbers))
    out, axis = f(pos).detach(), torch.tensor([0.0, 0.0, 1.0], dtype=torch.float64)
    rots = random_rotations(4, seed=7)
    rots[1::2] *= -1
    for g in (torch.tensor(r) for r in rots):
        moved = f(pos @ g.T).detach()
        gram, axial = moved @ moved.T, moved @ (g @ axis)
        same = torch.allclose(gram, out @ out.T, atol=1e-10) and torch.allclose(axial, out @ axis, atol=1e-10)
        if not same and flip is not None:
            same = torch.allclose(gram, (out @ out.T)[flip][:, flip], atol=1e-10) and torch.allclose(axial, -(out @ axis)[flip], atol=1e-10)
        assert same, f"{name}: SANN's output on a rotated copy is not the rotated output up to the axial group"
    assert float(out[:, :2].norm()) > 1e-3  # and it breaks the axial symmetry: the output is not along the axis


@pytest.mark.parametrize("options", SANN_ABLATIONS, ids=lambda o: ",".join(f"{k}={v}" for k, v in o.items()) or "default")
def test_sann_is_exactly_equivariant_without_symmetry(options):
    from symbreak import detect_symmetry

    z = torch.tensor([6, 7, 8, 1, 1])
    pos = torch.tensor([[0.0, 0.0, 0.0], [1.4, 0.1, 0.0], [-0.5, 1.3, 0.2], [-0.4, -0.8, 0.9], [0.3, -0.5, -1.0]])
    assert detect_symmetry(pos.numpy(), z.numpy()).point_group == "C1"
    assert_equivariant(_sann_fn(_model("sann", **options), z), pos, output="1o", n_rotations=6, atol=1e-9)


def test_sann_without_coords_reads_geometry_through_edges_only():
    model = _model("sann", coords=False)
    assert model.coords is None and _model("sann").coords is not None
    with pytest.raises(SymbreakError, match="coords must be True or False"):
        _model("sann", coords=1)
    with pytest.raises(SymbreakError, match="readout must be 'frame', 'relative', 'egnn', 'egnn-local' or 'egnn-every'"):
        _model("sann", readout="lab")
    for name, bad in (("mix", "max"), ("aggregate", "max"), ("classes", 1), ("stages", 2), ("pair_distance", "cubed")):
        with pytest.raises(SymbreakError, match=f"SANN: {name} must be"):
            _model("sann", **{name: bad})


def test_egnn_reads_distances_through_bessel_functions_when_asked():
    from symbreak.models import model_config

    assert _model("egnn").rbf is None and _model("egnn", rbf=16).rbf.freq.shape == (16,)
    assert "rbf" not in model_config("egnn")  # the paper's EGNN keeps its job keys
    for bad in (-1, 2.5, True):
        with pytest.raises(SymbreakError, match="rbf must be"):
            _model("egnn", rbf=bad)
    with pytest.raises(SymbreakError, match="moves must be 'every', 'last', 'head' or 'head-squared'"):
        _model("egnn", moves="first")


def test_sann_without_classes_passes_messages_by_distance_in_the_same_frame():
    from symbreak.models._sann import symmetry_graphs
    from symbreak.testing import random_symmetric_structure

    pos, numbers = random_symmetric_structure("D4h", seed=3)
    full, plain = symmetry_graphs(pos, numbers), symmetry_graphs(pos, numbers, classes=False)
    n = len(numbers)
    assert np.array_equal(full.frame, plain.frame) and full.point_group == plain.point_group == "D4h"
    assert len(set(full.orbit.tolist())) < n and sorted(plain.orbit.tolist()) == list(range(n))
    assert np.array_equal(plain.within, np.stack([np.arange(n)] * 2)) and np.array_equal(plain.representative, np.arange(n))
    assert plain.across.shape[1] > full.across.shape[1]  # every pair within the cutoff, not only representatives


def test_sann_reads_invariant_dataset_features():
    from symbreak import StructureError

    z = torch.tensor([6, 7, 8, 1, 1])
    pos = torch.tensor([[0.0, 0.0, 0.0], [1.4, 0.1, 0.0], [-0.5, 1.3, 0.2], [-0.4, -0.8, 0.9], [0.3, -0.5, -1.0]])
    x = torch.randn(5, 2, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    model = _model("sann", in_features=2)
    run = lambda p, feats, perm=slice(None): model(SimpleNamespace(z=z[perm], pos=p, x=feats[perm]))  # noqa: E731
    out = run(pos, x)
    assert not torch.allclose(out, run(pos, x + 0.5))  # the features reach the output
    # invariant features keep SANN's exact equivariance on an asymmetric molecule, permutations included
    perm = torch.tensor([3, 0, 4, 2, 1])
    for g in (torch.tensor(r) for r in random_rotations(3, improper=True, seed=2)):
        torch.testing.assert_close(run(pos[perm] @ g.T, x, perm), out[perm] @ g.T, atol=1e-9, rtol=0)
    with pytest.raises(StructureError, match=r"give data.x of shape \(5, 2\)"):
        model(SimpleNamespace(z=z, pos=pos))
    with pytest.raises(StructureError, match=r"reads 2 channel\(s\) of data.x, got 1"):
        model(SimpleNamespace(z=z, pos=pos, x=x[:, :1]))
    with pytest.raises(StructureError, match="NaN"):
        model(SimpleNamespace(z=z, pos=pos, x=torch.full_like(x, float("nan"))))


def test_sann_graphs():
    from symbreak.models import symmetry_graphs
    from symbreak.labels import load_water_modes

    w = load_water_modes()
    g = symmetry_graphs(w.positions, w.numbers)
    assert g.point_group == "C2v" and sorted(np.bincount(g.orbit).tolist()) == [1, 2]
    assert g.within.shape[1] == 1 + 4  # O's self-loop; the two hydrogens pairwise with self-loops
    assert g.across.shape[1] == 4  # two representatives, all ordered pairs
    np.testing.assert_allclose(g.canonical @ g.frame.T, w.positions - w.positions.mean(0), atol=1e-9)


@pytest.mark.parametrize("spec", ["egnn", "schnet+mlp", "sann"])
def test_bad_input_is_a_clear_error(spec):
    from symbreak import StructureError

    model = _model(spec)
    z, pos, batch = _two_molecules()
    bad = pos.clone()
    bad[2, 1] = float("nan")
    with pytest.raises(StructureError, match="NaN"):
        model(SimpleNamespace(z=z, pos=bad, batch=batch))
    with pytest.raises(StructureError, match="one entry per atom"):
        model(SimpleNamespace(z=z[:-1], pos=pos, batch=batch))
    with pytest.raises(StructureError, match="N ≥ 1"):
        model(SimpleNamespace(z=z[:0], pos=pos[:0], batch=batch[:0]))


@pytest.mark.parametrize("spec", ["egnn", "painn+noise", "sann[layers=1]", "painn+randvec+mlp"])  # every spec: tests/test_conformance.py
def test_checkpoints_rebuild_the_model_with_its_options(spec, tmp_path):
    from symbreak.models import load_model, save_model

    z, pos, batch = _two_molecules()
    data = SimpleNamespace(z=z, pos=pos, batch=batch)
    model = _model(spec, **({"sigma": 0.05} if "noise" in spec else {}))
    with torch.no_grad():  # weights that differ from a fresh build's
        for p in model.parameters():
            p.add_(0.01 * torch.randn_like(p))
    path = save_model(model, tmp_path / "m.pt", extra={"val": 0.5})
    raw = torch.load(path, weights_only=True)  # plain data: no pickled code
    assert raw["spec"] == spec and raw["dtype"] == "float64" and raw["extra"] == {"val": 0.5}
    assert {"symbreak", "torch", "e3nn"} <= set(raw["versions"]) and raw["conventions"]["length"] == "Å"
    loaded = load_model(path)
    assert not loaded.training and loaded.checkpoint["options"] == model.build_options
    assert torch.equal(loaded(data), model(data))


def test_bad_checkpoints_are_clear_errors(tmp_path):
    from fractions import Fraction

    from symbreak.models import load_model, save_model

    with pytest.raises(SymbreakError, match="no checkpoint"):
        load_model(tmp_path / "missing.pt")
    (tmp_path / "junk.pt").write_text("not a checkpoint")
    with pytest.raises(SymbreakError, match="not a readable checkpoint"):
        load_model(tmp_path / "junk.pt")
    torch.save({"a": 1}, tmp_path / "other.pt")
    with pytest.raises(SymbreakError, match="not a symbreak model checkpoint"):
        load_model(tmp_path / "other.pt")
    with pytest.raises(SymbreakError, match="made by build_model"):
        save_model(torch.nn.Linear(2, 2), tmp_path / "x.pt")
    with pytest.raises(SymbreakError, match="not plain data"):
        save_model(build_model("egnn+noise", sigma=Fraction(1, 10)), tmp_path / "x.pt")
    model = build_model("egnn+noise", sigma=np.float64(0.05))  # a NumPy scalar is saved as a number
    assert load_model(save_model(model, tmp_path / "y.pt")).sigma == 0.05


def test_sann_prepared_graphs_give_the_answer_detection_gives():
    """prepare_data (once per structure, when the data set is built) and detection on first sight
    (a batch without it) must agree, for symmetric molecules and one without symmetry, batched."""
    from symbreak.training import collate
    from symbreak.testing import random_symmetric_structure

    model = _model("sann")
    graphs = []
    for group in ("C2v", "D3h", "C1"):
        pos, numbers = random_symmetric_structure(group, seed=4) if group != "C1" else (np.random.default_rng(2).normal(size=(5, 3)), np.array([6, 7, 8, 1, 1]))
        graphs.append(SimpleNamespace(z=torch.as_tensor(numbers), pos=torch.tensor(pos)))
    from torch_geometric.data import Data

    graphs = [Data(z=g.z, pos=g.pos) for g in graphs]
    plain = collate(graphs)
    prepared = collate([model.prepare_data(g) for g in graphs])
    assert prepared.sann_within_index.shape[1] > 0 and not hasattr(plain, "sann_frame")
    assert torch.equal(model(prepared), model(plain))
    # stale graphs are dropped when positions move (the +noise variant): the answer follows the positions
    from symbreak.models import with_positions

    moved = with_positions(prepared, prepared.pos + 0.05)
    assert getattr(moved, "sann_frame", None) is None


def test_wrappers_registries_graphs_and_transforms_keep_their_promises():
    import subprocess
    import sys

    from symbreak.models import radius_edges, transform_batch

    # a wrapper is permutation-equivariant only if what it wraps is
    assert _model("egnn+noise+randvec").permutation_equivariant is False
    assert _model("egnn+randvec").permutation_equivariant is True
    # the order of variants and inputs in a spec does not matter
    assert type(build_model("painn+randvec+mlp")).__name__ == "WithInputs"
    # `name in MODELS` imports nothing
    code = "import sys\nfrom symbreak.models import MODELS\nassert 'sann' in MODELS\nprint('e3nn' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "False"
    # one large molecule among small ones: the whole-batch matrix, with the same edges in the same order
    gen = torch.Generator().manual_seed(0)
    batch = torch.cat([torch.zeros(40, dtype=torch.long), torch.arange(1, 21).repeat_interleave(2)])
    pos = torch.randn(len(batch), 3, generator=gen) * 2
    edges = radius_edges(pos, batch, 3.0)
    brute = [(j, i) for i in range(len(batch)) for j in range(len(batch)) if i != j and batch[i] == batch[j] and (pos[i] - pos[j]).norm() < 3.0]
    assert [tuple(e) for e in edges.T.tolist()] == brute
    # transforms drop stale symmetry records, permute per-atom labels, mix dtypes
    data = SimpleNamespace(z=torch.tensor([8, 1, 1]), pos=torch.randn(3, 3), y=torch.arange(9.0).reshape(3, 3), sym=["x"], sym_ops=torch.eye(3)[None],
                           vectors=torch.randn(3, 1, 3, dtype=torch.float32))  # fmt: skip
    moved = transform_batch(data, torch.eye(3, dtype=torch.float64), permutation=torch.tensor([2, 0, 1]))
    assert moved.sym is None and moved.sym_ops is None and torch.equal(moved.y, data.y[[2, 0, 1]])
    assert moved.vectors.dtype == torch.float32
    out = _model("egnn", in_vectors=1).float()(SimpleNamespace(z=data.z, pos=data.pos.float(), vectors=data.vectors.double()))
    assert out.dtype == torch.float32


def test_radius_graph_of_a_large_molecule_comes_from_a_tree_with_the_same_edges(monkeypatch):
    import symbreak.models._graph as graph

    gen = torch.Generator().manual_seed(0)
    batch = torch.cat([torch.zeros(120, dtype=torch.long), torch.ones(80, dtype=torch.long)])
    pos = torch.rand(200, 3, generator=gen) * 8
    dense = [graph.radius_edges(pos, batch, 2.5, self_loops=loops) for loops in (False, True)]
    monkeypatch.setattr(graph, "_TREE_ATOMS", 50)  # the molecules above count as large
    tree = [graph.radius_edges(pos, batch, 2.5, self_loops=loops) for loops in (False, True)]
    assert all(torch.equal(a, b) for a, b in zip(dense, tree))


@pytest.mark.parametrize("name", ["painn", "egnn", "pet", "pet-invariant"])
def test_periodic_models_see_the_crystal_not_the_cell(name):
    """A crystal read through ``data.cell``: the same atoms in a 2×1×1 supercell give the same
    per-atom outputs, and turning atoms and lattice together by a random O(3) element turns them
    (for the models that declare exact equivariance; PET's is approximate by design)."""
    torch.manual_seed(0)
    rng = np.random.default_rng(3)
    cell = np.diag([3.1, 3.4, 3.7]) + 0.2 * rng.normal(size=(3, 3))
    frac = rng.uniform(size=(3, 3))
    z = torch.tensor([8, 1, 1])
    model = build_model(name, hidden=16, cutoff=3.0).double().eval()

    def run(cell, frac, z, rot=np.eye(3)):
        pos = frac @ cell @ rot.T
        data = SimpleNamespace(z=z, pos=torch.tensor(pos), batch=torch.zeros(len(z), dtype=torch.long), cell=torch.tensor(cell @ rot.T)[None])
        return model(data).detach().numpy()

    base = run(cell, frac, z)
    super_frac = np.concatenate([frac * [0.5, 1, 1], frac * [0.5, 1, 1] + [0.5, 0, 0]])
    twice = run(cell * np.array([[2.0], [1.0], [1.0]]), super_frac, z.repeat(2))
    np.testing.assert_allclose(twice[:3], base, atol=1e-8)
    np.testing.assert_allclose(twice[3:], base, atol=1e-8)
    rot = random_rotations(1, improper=True, seed=4)[0]
    turned = run(cell, frac, z, rot)
    if getattr(model, "symmetry", "exact") == "approximate":
        assert np.abs(turned - base @ rot.T).max() > 1e-4
    else:
        np.testing.assert_allclose(turned, base @ rot.T, atol=1e-8)
    # the lattice is what makes it a crystal: the same atoms as a molecule give something else
    molecule = model(SimpleNamespace(z=z, pos=torch.tensor(frac @ cell), batch=torch.zeros(3, dtype=torch.long))).detach().numpy()
    assert np.abs(molecule - base).max() > 1e-3


@pytest.mark.parametrize("spec, base, option", [
    ("sann", {}, {"mix": "sum"}), ("sann", {}, {"aggregate": "sum"}), ("sann", {}, {"stages": "one"}), ("sann", {}, {"classes": False}),
    ("sann", {"readout": "egnn"}, {"pair_distance": "squared"}), ("sann", {"readout": "egnn"}, {"readout_depth": 3}),
    ("sann", {"readout": "egnn", "cutoff": 2.0}, {"readout": "egnn-local"}),
    ("egnn", {}, {"rbf": 8}), ("egnn", {}, {"moves": "last"}), ("egnn", {"moves": "head"}, {"moves": "head-squared"}),
])  # fmt: skip
def test_every_ablation_option_changes_the_model(spec, base, option):
    """An ablation option is part of the job key, so it must change what the model computes: with
    the same seed, the model with and without it give different outputs on one molecule."""
    z = torch.tensor([6, 7, 8, 1, 1, 1])
    pos = torch.tensor([[0.0, 0.0, 0.0], [1.4, 0.1, 0.0], [-0.5, 1.3, 0.2], [-0.4, -0.8, 0.9], [0.3, -0.5, -1.0], [2.0, 0.9, 0.4]], dtype=torch.float64)
    if option.get("classes") is False:  # classes change the graphs only on a symmetric molecule
        from symbreak.testing import random_symmetric_structure

        p, numbers = random_symmetric_structure("D4h", seed=3)
        z, pos = torch.as_tensor(numbers), torch.tensor(p - p.mean(0))
    data = SimpleNamespace(z=z, pos=pos, batch=torch.zeros(len(z), dtype=torch.long))
    plain, changed = (_model(spec, **kw)(data).detach() for kw in (base, {**base, **option}))
    assert not torch.allclose(plain, changed, rtol=1e-6, atol=1e-12)


def test_options_that_would_not_change_the_model_are_refused():
    with pytest.raises(SymbreakError, match="pair_distance applies to the pair readouts"):
        _model("sann", pair_distance="squared")
    with pytest.raises(SymbreakError, match="readout_depth applies to its readout head"):
        _model("egnn", readout_depth=4)
