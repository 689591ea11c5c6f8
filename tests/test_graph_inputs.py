"""Graph networks behind the registry (``"graphnet[+randvec|+sympe|+canon]"``): the names and
meanings of the point-cloud inputs, one registry in two domains, separate validation/test draws,
and the old breaker names' records read under the new names."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import networkx as nx
import numpy as np
import pytest
from scipy import stats

torch = pytest.importorskip("torch")

from symbreak import SymbreakError  # noqa: E402
from symbreak.graphs import LEGACY_NAMES, ColoredGraph, GraphModel, NodeBreaker, canonical_form, collate_graphs, graph_kernel  # noqa: E402
from symbreak.models import INPUTS, ModelSpec, available_models, build_model, model_config, register_input  # noqa: E402
from symbreak.models._inputs import DERIVED, RandomDraws, declare_derived, set_eval_draw, with_positions  # noqa: E402
from symbreak.models._registry import GRAPH_INPUTS  # noqa: E402
from symbreak.training._fit import TEST_DRAW, VALIDATION_DRAW  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
#: a uniform draw is rejected below this χ² p-value (as tests/test_draws.py)
P_MIN = 1e-3


def colored(g, *, colors=None, edge_colors=None) -> ColoredGraph:
    g = nx.convert_node_labels_to_integers(g)
    return ColoredGraph.make(g.number_of_nodes(), list(g.edges()), colors, edge_colors)


def petersen() -> ColoredGraph:
    return colored(nx.petersen_graph())  # vertex-transitive, |Aut| = 120


def cycle6() -> ColoredGraph:
    return colored(nx.cycle_graph(6))  # |Aut| = 12


def test_the_registry_lists_the_graph_models_and_inputs_under_the_point_cloud_names():
    assert available_models("graph") == ["graphnet"] and "graphnet" not in available_models()
    assert sorted(GRAPH_INPUTS) == ["canon", "randvec", "sympe"]
    assert set(GRAPH_INPUTS) <= set(INPUTS)  # no new name: each means what it means for point clouds
    spec = ModelSpec.parse("GraphNet+SymPE[dim=8, max_nodes=10]")
    assert (spec.domain, spec.name, spec.variants, str(spec)) == ("graph", "graphnet", ("sympe",), "graphnet+sympe[dim=8, max_nodes=10]")
    assert ModelSpec.parse("egnn+sympe").domain == "points"
    assert model_config("graphnet+canon")["max_nodes"] == 64 and model_config("graphnet")["dim"] == 16
    model = build_model("graphnet+randvec+canon", hidden=8, layers=1, dim=4)
    assert isinstance(model, GraphModel) and model.spec == "graphnet+randvec+canon"
    assert [type(s).__name__ for s in model.inputs] == ["RandomNodeFeatures", "CanonicalLabels"]
    assert model.net.embed_in.in_features == 8  # the inputs' features, concatenated
    with pytest.raises(SymbreakError, match="dim must be an integer >= 1"):
        build_model("graphnet[dim=0]")
    with pytest.raises(SymbreakError, match="unknown domain 'mesh'"):
        register_input("x", domain="mesh")


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("graphnet+sbs", "'sbs' is a point-cloud input, and 'graphnet' a graph model, which takes canon, randvec, sympe"),
        ("graphnet+sbs-axial", "'sbs-axial' is a point-cloud input"),
        ("graphnet+noise", "'noise' is a point-cloud variant, and 'graphnet' a graph model"),
        ("graphnet+mlp[head_hidden=8]", "'mlp' is a point-cloud variant"),
        ("graphnet+nothing", "unknown variant 'nothing' in 'graphnet\\+nothing'; inputs: canon, randvec, sympe"),
        ("gnn", "unknown model 'gnn'; registered: .*; graph models: graphnet"),
    ],
)
def test_an_input_of_the_other_domain_is_a_one_line_error(spec, message):
    for build in (ModelSpec.parse, build_model):
        with pytest.raises(SymbreakError, match=message) as info:
            build(spec)
        assert "\n" not in str(info.value)
    with pytest.raises(SymbreakError, match="'sbs' is a point-cloud input"):
        ModelSpec("graphnet", ("sbs",))  # made directly: checked the same


class _Degree(torch.nn.Module):
    """A graph-only input: each node's degree, (N, 1)."""

    def __init__(self) -> None:
        super().__init__()
        self.features = 1

    def forward(self, batch):
        return {"x": torch.bincount(batch.edge_index[1], minlength=batch.num_nodes)[:, None].to(torch.get_default_dtype())}


def test_a_graph_only_input_builds_on_graphs_and_is_refused_on_point_clouds():
    register_input("test-degree", domain="graph")(_Degree)
    try:
        model = build_model("graphnet+test-degree", hidden=8, layers=1)
        assert model(collate_graphs([cycle6()])).shape == (6, 8)
        with pytest.raises(SymbreakError, match="'egnn\\+test-degree': 'test-degree' is a graph input, and 'egnn' a point-cloud model, which takes .*sympe") as info:
            build_model("egnn+test-degree")
        assert "\n" not in str(info.value)
    finally:
        del GRAPH_INPUTS["test-degree"]


def _perturbed(model, seed: int = 0):
    """The model in float64 with every weight moved (no weight sits at a symmetric initial value)."""
    model = model.double()
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.1 * torch.randn(p.shape, generator=gen, dtype=p.dtype))
    return model


def test_the_bare_model_is_permutation_equivariant_and_cannot_split_automorphic_nodes():
    rng = np.random.default_rng(3)
    model = _perturbed(build_model("graphnet", hidden=16, layers=3, dim=8, node_colors=3, edge_colors=3)).eval()
    assert model.symmetry == "exact"
    g = nx.convert_node_labels_to_integers(nx.gnm_random_graph(11, 20, seed=4))
    graph = ColoredGraph.make(11, list(g.edges()), rng.integers(0, 3, 11).tolist(), rng.integers(1, 3, 20).tolist())
    out = model(collate_graphs([graph]))
    for _ in range(3):  # f(πG) = π f(G): node π(i) of the relabelled graph gets node i's features
        pi = rng.permutation(graph.n)
        moved = model(collate_graphs([graph.relabel(pi)]))
        assert out.dtype == torch.float64 and torch.allclose(moved[pi], out, atol=1e-12, rtol=0)
    h = model(collate_graphs([petersen(), cycle6()]))
    assert (h[:10] - h[0]).abs().max() < 1e-12 and (h[10:] - h[10]).abs().max() < 1e-12  # vertex-transitive: one value per graph


def test_canon_is_deterministic_consistent_and_breaks_every_automorphism():
    model = _perturbed(build_model("graphnet+canon", hidden=16, layers=3, dim=8, max_nodes=10))
    source = model.inputs[0]
    graph = petersen()
    batch = collate_graphs([graph])
    model.train()
    first = source(batch)["x"]
    assert torch.equal(first, source(batch)["x"])  # no draw: the same in training
    model.eval()
    for draw in (VALIDATION_DRAW, TEST_DRAW, 7):
        set_eval_draw(model, draw)
        assert torch.equal(source(batch)["x"], first)  # and in every evaluation draw
    assert len(torch.unique(first, dim=0)) == graph.n  # every node its own row: Aut(G) broken
    h = model(batch)
    assert len(torch.unique(h.round(decimals=9), dim=0)) == graph.n  # the output splits automorphic nodes
    # the choice is consistent: a relabelled copy is read in the same canonical order
    labels = source.labels(batch).numpy()
    np.testing.assert_array_equal(labels, graph_kernel(graph)[0])
    pi = np.random.default_rng(0).permutation(graph.n)
    moved = graph.relabel(pi)
    moved_labels = source.labels(collate_graphs([moved])).numpy()
    assert moved.relabel(moved_labels) == graph.relabel(labels) == canonical_form(graph)


def test_sympe_draws_uniformly_from_the_kernel_and_its_law_is_equivariant():
    model = build_model("graphnet+sympe", hidden=8, layers=1, dim=4, max_nodes=6, seed=3).double().train()
    source = model.inputs[0]
    graph = cycle6()
    kernel = {k.tobytes(): i for i, k in enumerate(graph_kernel(graph))}
    batch = collate_graphs([graph])
    seen = [kernel[source.labels(batch).numpy().astype(np.int64).tobytes()] for _ in range(1200)]
    counts = np.bincount(seen, minlength=12)
    assert stats.chisquare(counts).pvalue > P_MIN and counts.min() > 0  # fresh draws, uniform over the 12 labellings
    assert all(len(torch.unique(source(batch)["x"], dim=0)) == 6 for _ in range(5))  # each draw: six different node inputs
    for k in range(12):  # choosing(k): element k of the kernel
        with source.choosing(k):
            np.testing.assert_array_equal(source.labels(batch).numpy(), graph_kernel(graph)[k])
    # the law of the relabelled graph's inputs is the relabelled law: the same 12 encodings, each once
    pi = np.random.default_rng(3).permutation(6)
    key = lambda t: t.detach().numpy().round(12).tobytes()  # noqa: E731
    support = sorted(key(source.table[torch.as_tensor(k)]) for k in graph_kernel(graph))
    moved = sorted(key(source.table[torch.as_tensor(k)][pi]) for k in graph_kernel(graph.relabel(pi)))
    assert support == moved
    with pytest.raises(SymbreakError, match="larger than the input's table"):
        source(collate_graphs([petersen()]))


def test_the_uniformity_check_fails_for_a_draw_stuck_on_element_0(monkeypatch):
    from symbreak.graphs import GraphSymPE

    monkeypatch.setattr(GraphSymPE, "pick", lambda self, size: 0)
    source = build_model("graphnet+sympe", max_nodes=6).inputs[0].train()
    batch, kernel = collate_graphs([cycle6()]), {k.tobytes(): i for i, k in enumerate(graph_kernel(cycle6()))}
    seen = [kernel[source.labels(batch).numpy().astype(np.int64).tobytes()] for _ in range(60)]
    assert stats.chisquare(np.bincount(seen, minlength=12)).pvalue < P_MIN


@pytest.mark.parametrize("spec", ["graphnet+randvec", "graphnet+sympe"])
def test_random_inputs_evaluate_on_separate_validation_and_test_draws(spec):
    """As the point clouds' random inputs (tests/test_draws.py): validation and test draws differ,
    each is the same on every call and for every model built with the same seed, and a fresh model
    evaluates with the test draw; training draws afresh."""
    make = lambda: build_model(spec, hidden=8, layers=2, max_nodes=10, seed=5) if "sympe" in spec else build_model(spec, hidden=8, layers=2, seed=5)  # noqa: E731
    model = make().double()
    assert any(isinstance(m, RandomDraws) for m in model.modules())
    batch = collate_graphs([petersen(), cycle6()])
    model.eval()
    with torch.no_grad():
        fresh = model(batch)
        set_eval_draw(model, VALIDATION_DRAW)
        val, again = model(batch), model(batch)
        set_eval_draw(model, TEST_DRAW)
        test = model(batch)
    assert not torch.allclose(val, test) and torch.equal(val, again) and torch.equal(test, fresh)
    other = make().double()
    other.load_state_dict(model.state_dict())
    other.eval()
    set_eval_draw(other, VALIDATION_DRAW)
    assert torch.equal(other(batch), val)  # seeded: reproducible
    model.train()
    assert not torch.allclose(model(batch), model(batch))  # training: a fresh draw per call


def test_randvec_gives_iid_standard_normal_node_features():
    source = build_model("graphnet+randvec", dim=8).inputs[0].train()
    x = torch.cat([source(collate_graphs([petersen()]))["x"] for _ in range(200)])  # (2000, 8)
    assert x.shape == (2000, 8)
    assert abs(float(x.mean())) < 0.05 and abs(float(x.std()) - 1.0) < 0.05
    assert float(torch.corrcoef(x.T).fill_diagonal_(0).abs().max()) < 0.1  # independent features


def test_a_choice_input_declares_its_derived_fields_without_editing_DERIVED():
    from symbreak.models._choice import ChoiceInput

    class Toy(ChoiceInput):
        prepared = ("toy_set", "toy_size")

    class Cached(torch.nn.Module):
        features = 1
        derived = ("toy_cache",)

    register_input("test-cached")(Cached)
    try:
        assert {"toy_set", "toy_size", "toy_cache"} <= DERIVED  # the union, kept for older code reading it
        data = SimpleNamespace(z=torch.tensor([1]), pos=torch.zeros(1, 3), toy_set=torch.ones(2, 3), toy_size=torch.tensor([2]), toy_cache=1)
        moved = with_positions(data, data.pos + 1.0)
        assert not any(hasattr(moved, k) for k in ("toy_set", "toy_size", "toy_cache")) and hasattr(data, "toy_set")
    finally:
        del INPUTS["test-cached"]
    assert Toy.prepared == ("toy_set", "toy_size")
    with pytest.raises(ValueError, match="identifiers"):
        declare_derived("not a name")


def test_the_old_breaker_names_are_refused_naming_the_new_spec():
    assert LEGACY_NAMES == {"none": "graphnet", "noise": "graphnet+randvec", "canonical": "graphnet+canon", "sympe": "graphnet+sympe"}
    with pytest.raises(SymbreakError, match=r"NodeBreaker\('canonical'\) is removed: use the registered graph model build_model\('graphnet\+canon', dim=16\)"):
        NodeBreaker("canonical", 16)
    with pytest.raises(SymbreakError, match="is removed"):
        NodeBreaker("magic", 4)
    from symbreak.bench import run_benchmark

    with pytest.raises(SymbreakError, match=r"runs its own models \['graphnet', 'graphnet\+randvec', 'graphnet\+canon', 'graphnet\+sympe'\]; got 'noise'"):
        run_benchmark("ising", models=["noise"], progress=False, out=None)


@pytest.mark.parametrize("name", ["ising", "graph-autoencoding"])
def test_committed_records_read_under_the_new_names_and_keep_their_seeds(name, tmp_path):
    """The records in results/ were written under the old names: renamed (``Task.upgrade_record``)
    they are exactly the jobs the new names plan (nothing would rerun), the new names seed their
    draws as the old ones did, and the page's tables regenerate from them with only the names changed."""
    from symbreak.bench import plan_jobs, write_outputs
    from symbreak.bench._runner import Job, _identity_of, load_records
    from symbreak.tasks import get_task
    from symbreak.tasks._graph_ae import graph_run_seed

    task = get_task(name)
    path = ROOT / "results" / name / "results.jsonl"
    if not path.exists():
        pytest.skip(f"{path} is not in this checkout")
    old = load_records(path)
    new = [task.upgrade_record(r) for r in old]
    assert {r["model"] for r in old} == set(LEGACY_NAMES) and {r["model"] for r in new} == set(task.models)
    jobs = plan_jobs(task, models=task.models, losses=task.losses, subtasks=task.subtasks, folds=task.folds, epochs=task.epochs, lr=task.lr, seed=0, patience=task.patience)
    by_key = {r["key"]: r for r in new}
    assert len(jobs) == len(new) and all(j.key() in by_key for j in jobs)
    old_name = {spec: name for name, spec in LEGACY_NAMES.items()}
    by_old = {json.dumps(_identity_of(r), sort_keys=True): r for r in old}
    for job in jobs:
        renamed, identity = by_key[job.key()], {**_identity_of(by_key[job.key()]), "model": old_name[job.model]}
        assert renamed["model"] == job.model and renamed["test"] == by_old[json.dumps(identity, sort_keys=True)]["test"]
        assert graph_run_seed(job) == Job(**identity).run_seed()  # the draws the record was made with
    outputs = write_outputs(task, [by_key[j.key()] for j in jobs], tmp_path, {})
    page = (ROOT / "docs" / "results" / f"{name}.md").read_text()
    committed = page[page.index("### ") : page.index("\n## Beside the paper")].strip()
    for name_, spec in LEGACY_NAMES.items():  # the rows, and the per-graph table's header
        committed = committed.replace(f"| {name_} |", f"| {spec} |")
    committed = committed.replace("Noise and SymPE are scored", "randvec and SymPE are scored")
    assert "\n".join(outputs["markdown"]).strip() == committed
