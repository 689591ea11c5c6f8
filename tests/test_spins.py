"""The dipolar spin clusters (symbreak.labels._spins) and the spin-ground-states task."""

import numpy as np
import pytest
import torch

from symbreak import StructureError, SymbreakError
from symbreak.labels._spins import dipolar_coupling, ground_states, spin_cluster, spin_energy


def _random_o3(rng: np.random.Generator) -> np.ndarray:
    q, r = np.linalg.qr(rng.normal(size=(3, 3)))
    q = q * np.sign(np.diag(r))
    return q if np.linalg.det(q) < 0 else -q  # an improper element: a reflection is part of the test


@pytest.mark.parametrize("exchange", [0.0, 0.7])
def test_energy_invariant_under_o3_permutation_and_flip(rng, exchange):
    x = rng.normal(size=(7, 3)) * 2.0
    m = rng.normal(size=(7, 3))
    m /= np.linalg.norm(m, axis=1, keepdims=True)
    e = spin_energy(x, m, exchange=exchange)
    rot, perm = _random_o3(rng), rng.permutation(7)
    assert np.linalg.det(rot) < 0
    assert spin_energy(x[perm] @ rot.T, m[perm] @ rot.T, exchange=exchange) == pytest.approx(e, abs=1e-9)
    assert spin_energy(x, -m, exchange=exchange) == pytest.approx(e, abs=1e-12)  # even in μ: the flip is a symmetry
    # the coupling is symmetric and O(3)-covariant block by block
    a = dipolar_coupling(x, exchange=exchange)
    assert np.allclose(a, a.T, atol=1e-12)


def test_energy_of_two_dipoles():
    x = np.array([[0.0, 0, 0], [0, 0, 2.0]])
    along = np.array([[0.0, 0, 1], [0, 0, 1]])
    side = np.array([[1.0, 0, 0], [1, 0, 0]])
    assert spin_energy(x, along) == pytest.approx(-2 / 8, abs=1e-15)  # head to tail: (1 − 3)/r³
    assert spin_energy(x, side) == pytest.approx(1 / 8, abs=1e-15)  # side by side, parallel: +1/r³


def test_square_vortex_is_the_ground_state_and_one_orbit():
    x = spin_cluster("square")
    a = np.linalg.norm(x[0] - x[1])
    gs = ground_states(x, starts=24, seed=3)
    # 4 edges head-to-tail at 90°: −3/2 a⁻³ each; 2 diagonals antiparallel and ⟂ to the bond: −1/(a√2)³ each
    assert gs.energy == pytest.approx((-6.0 - 1 / np.sqrt(2)) / a**3, abs=1e-9)
    assert (gs.point_group, gs.stabilizer, len(gs.orbit), len(gs.found)) == ("D4h", "C4h", 2, 2)
    assert gs.flip_in_orbit and gs.hessian_min > 0.1
    for state in gs.orbit:  # tangential, in plane, one sense of circulation each
        assert np.allclose((state * x).sum(1), 0, atol=1e-6) and np.allclose(state[:, 2], 0, atol=1e-6)
        assert abs(abs(np.cross(x, state)[:, 2].sum()) - 4 * np.linalg.norm(x[0])) < 1e-6
    assert np.allclose(gs.orbit[0], -gs.orbit[1], atol=1e-6)
    assert spin_energy(x, gs.orbit[1]) == pytest.approx(gs.energy, abs=1e-12)


def test_octahedron_orbit_and_cube_refused():
    gs = ground_states(spin_cluster("octahedron"), starts=32, seed=1)
    assert (gs.point_group, gs.stabilizer, len(gs.orbit), len(gs.found)) == ("Oh", "S6", 8, 8)
    # the cube's ground state is a continuous family (Schönke & Fonseca 2015): no finite orbit, refused
    with pytest.raises(SymbreakError, match="not one Oh orbit|flat direction"):
        ground_states(spin_cluster("cube"), starts=32, seed=1)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: spin_energy(np.zeros((0, 3)), np.zeros((0, 3))), "n ≥ 2"),
        (lambda: spin_energy(np.array([[0.0, 0, 0], [np.nan, 0, 0]]), np.ones((2, 3))), "NaN"),
        (lambda: spin_energy(np.eye(3), np.ones((2, 3))), "moments must be"),
        (lambda: spin_energy(np.eye(3), np.full((3, 3), np.inf)), "NaN or infinity"),
        (lambda: spin_energy(np.zeros((2, 3)), np.ones((2, 3))), "coincide"),
        (lambda: ground_states(np.eye(3), starts=0), "starts"),
        (lambda: spin_cluster("dodecahedron"), "unknown spin cluster"),
    ],
)
def test_hostile_input(call, match):
    with pytest.raises((StructureError, SymbreakError), match=match):
        call()


def test_unknown_subtask():
    from symbreak.tasks._spins import SpinGroundStates

    with pytest.raises(SymbreakError, match="unknown spin-ground-states sub-task"):
        SpinGroundStates().dataset("cube")


def _square_graph():
    from symbreak.tasks._spins import SpinGroundStates

    return SpinGroundStates().dataset("square")[0]


def test_model_without_breaker_keeps_the_group(float64):
    """Curie: an equivariant model's output on the square keeps D4h, so it holds nothing of the vortex (whose G-average is 0)."""
    from symbreak.metrics import transform_labels
    from symbreak.models import build_model

    graph = _square_graph()
    out = build_model("egnn").eval()(graph).detach()
    images = transform_labels(out, graph.sym.operations, graph.sym.permutations, "vectors")
    assert float((images - out).abs().max()) < 1e-9
    # a D4h-symmetric field on the square is radial (the site keeps C2v): no tangential part, so nothing of either vortex
    tangential = torch.linalg.cross(graph.pos, out)[:, 2]
    assert float(tangential.abs().max()) < 1e-9
    assert float((out * graph.y).sum().abs()) < 1e-9


def test_noise_draws_are_a_set(float64):
    from symbreak.models import build_model
    from symbreak.training._draws import set_outputs

    graph = _square_graph()
    out = set_outputs(build_model("egnn+noise", sigma=0.1), graph, lambda m, b: m(b), draws=5)
    assert out.shape == (5, 4, 3)
    assert float((out[1:] - out[0]).abs().max()) > 1e-6  # five draws, not one answer repeated
    with pytest.raises(ValueError, match="draws"):
        set_outputs(build_model("egnn+noise", sigma=0.1), graph, lambda m, b: m(b), draws=0)


def test_sbs_set_covers_both_vortices_after_short_training():
    """The ideal axial set (±z) on the square: a short training brings the set cover far below the Curie bound,
    and the two outputs are the two distinct vortices, not one repeated."""
    from symbreak.labels._spins import spin_cluster
    from symbreak.metrics import set_breaking_measures
    from symbreak.models import build_model
    from symbreak.tasks._spins import SpinGroundStates, _matches, spin_ground_state
    from symbreak.training import fit
    from symbreak.training._draws import set_outputs

    torch.manual_seed(0)  # float32: the training is the point here, not round-off
    task = SpinGroundStates()
    graph = task.dataset("square")[0]
    bound = task.curie_bound("square", "sbmse")
    model = build_model("e3nn+sbs-axial")
    graph = model.prepare_data(graph)
    fit(model, [graph], [graph], predict=task.predict, loss="sbmse", kind="vectors", epochs=300, lr=3e-3, select="last", seed=0)
    out = set_outputs(model, graph, task.predict)
    got = set_breaking_measures(out, graph.y, graph.sym.operations, graph.sym.permutations)
    assert out.shape == (2, 4, 3)
    assert got["cover"] < 0.1 * bound, (got, bound)
    hit, distinct = _matches(out.numpy(), spin_ground_state("square")["ground"].orbit)
    assert (hit, distinct) == (2, 2)
    # the outputs are ground states of the Hamiltonian, not only close to the label
    e0 = spin_ground_state("square")["ground"].energy
    for o in out.numpy():
        unit = o / np.linalg.norm(o, axis=1, keepdims=True)
        assert spin_energy(spin_cluster("square"), unit) == pytest.approx(e0, abs=1e-2)


def test_task_is_registered_and_quick_is_small():
    import symbreak.tasks._spins  # noqa: F401 - registers the task until the registry lists it
    from symbreak.tasks import get_task

    task = get_task("spin-ground-states")
    assert task.subtasks == ("square", "bipyramid", "octahedron") and task.kind == "vectors" and task.select == "last"
    assert task.quick["folds"] == 1 and len(task.quick["models"]) == 4
    graph = task.dataset("octahedron")[0]
    assert graph.sbs_target == "S6" and graph.sym.point_group == "Oh" and tuple(graph.y.shape) == (6, 3)
    assert torch.allclose(graph.y.norm(dim=1), torch.ones(6, dtype=graph.y.dtype), atol=1e-6)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: spin_energy(spin_cluster("square"), "abc"), "moments must be an array of real numbers"),
        (lambda: spin_energy(spin_cluster("square"), np.ones((4, 3)) + 1j), "real numbers"),  # never the real part silently
        (lambda: spin_energy(spin_cluster("square"), [[1, 0, 0], [1, 0]]), "real numbers"),
        (lambda: spin_energy(spin_cluster("square"), np.ones((4, 3)), exchange=None), "exchange must be a finite"),
        (lambda: spin_energy(spin_cluster("square", bond=1e100), np.ones((4, 3))), "lose all precision"),
        (lambda: ground_states("nonsense"), "positions must be"),
        (lambda: ground_states(spin_cluster("square"), starts=float("nan")), "starts must be an integer"),
        (lambda: ground_states(spin_cluster("square"), starts=2.7), "starts must be an integer"),
        (lambda: ground_states(spin_cluster("square"), starts=4, seed=-1), "seed must be an integer"),
        (lambda: ground_states(spin_cluster("square"), starts=4, energy_tol=float("inf")), "energy_tol"),
        (lambda: ground_states(spin_cluster("square"), starts=4, energy_tol=-1.0), "energy_tol"),
        (lambda: spin_cluster("square", bond="2"), "bond must be"),
        (lambda: spin_cluster("square", bond=None), "bond must be"),
    ],
)
def test_more_hostile_input_gets_one_line_errors(call, match):
    with pytest.raises(SymbreakError, match=match):
        call()


def test_ground_states_do_not_depend_on_the_cluster_size():
    """A cluster drawn 50 times larger has the same ground states (E ∝ 1/r³): the bipyramid at a 100 Å bond
    was refused as a "flat direction" when the Hessian test was absolute."""
    small, large = (ground_states(spin_cluster("bipyramid", bond=b), starts=16) for b in (2.0, 100.0))
    assert (large.point_group, large.stabilizer, len(large.orbit)) == (small.point_group, small.stabilizer, len(small.orbit)) == ("D3h", "C1", 12)
    assert large.energy == pytest.approx(small.energy * (2.0 / 100.0) ** 3, rel=1e-8)
    np.testing.assert_allclose(large.state, small.state, atol=1e-6)


def test_every_record_counts_the_ground_states_its_set_reproduces(tmp_path):
    """Through the benchmark (fit_registered → the task's score_trained): a +noise record's set is
    its 32 fixed draws, a set's record its elements, and both count the ground states they hit."""
    from symbreak.bench import run_benchmark

    result = run_benchmark("spin-ground-states", models=["egnn+noise", "e3nn+sbs-axial"], subtasks=["square"], folds=1, epochs=2, sigmas=[0.1],
                           out=tmp_path, progress=False)  # fmt: skip
    tests = {r["model"]: r["test"] for r in result.records}
    assert tests["egnn+noise"]["set_size"] == 32 and tests["e3nn+sbs-axial"]["set_size"] == 2
    for t in tests.values():
        assert t["orbit_size"] == 2 and 0 <= t["states_hit"] <= 2 and 1 <= t["set_distinct"] <= t["set_size"]
