"""qm9-generation: the generator's equivariance, SymPE's breaking, the unlabelled-graph NLL, the task end to end."""

import itertools
import math

import numpy as np
import pytest
import torch

pytest.importorskip("rdkit", reason="qm9-generation needs RDKit")

from symbreak import SymbreakError  # noqa: E402
from symbreak.tasks._qm9_likelihood import OrderingProposal, importance_sympe_nll  # noqa: E402
from symbreak.tasks._qm9_gen import (  # noqa: E402
    PairGenerator, _Tensors, count_automorphisms, exact_sympe_nll, graph_to_smiles, heldout_nll, kernel_orderings, kernel_positions, mol_graph,
    neighbourhood_orderings, pair_log_likelihood, random_positions, sympe_nll_bound, unlabelled_nll,
)  # fmt: skip


def _batch(smiles):
    return _Tensors.of([mol_graph(s) for s in smiles])


def _permute(t, perm):
    """Node i of the permuted batch is node perm[i] of the original (perm over the first n nodes)."""
    return t[:, perm] if t.ndim == 2 else t[:, perm][:, :, perm]


@pytest.mark.parametrize("breaker", ["none", "noise", "sympe"])
def test_generator_is_equivariant_when_its_input_moves_along(float64, rng, breaker):
    data = _batch(["CC(O)C(=O)N", "c1ccccc1O"])
    model = PairGenerator(breaker, hidden=16, layers=2, dim=8, seed=1).double()
    inputs = {"none": None, "noise": torch.randn(2, 9, 8, dtype=torch.float64), "sympe": data.canonical}[breaker]
    out = model(data.z, data.mask, inputs)
    assert torch.allclose(out, out.transpose(1, 2), atol=1e-12)  # one distribution per unordered pair
    perm = torch.as_tensor(rng.permutation(9))  # any permutation of S_9, padding nodes included
    moved_in = None if inputs is None else inputs[:, perm]
    moved = model(data.z[:, perm], data.mask[:, perm], moved_in)
    mask = data.mask[:, perm]
    keep = (mask[:, :, None] & mask[:, None, :])[..., None]
    assert torch.allclose(moved * keep, _permute(out, perm) * keep, atol=1e-9, rtol=0)


def test_none_gives_same_element_pairs_one_distribution(float64):
    """Curie on graphs: without a breaker every C-C pair of one molecule has the same logits."""
    data = _batch(["CCCCO"])
    out = PairGenerator("none", hidden=16, layers=2).double()(data.z, data.mask)[0]
    carbons = [i for i in range(5) if data.z[0, i] == 0]
    pairs = torch.stack([out[i, j] for i, j in itertools.combinations(carbons, 2)])
    assert torch.allclose(pairs, pairs[:1].expand_as(pairs), atol=1e-12)


def test_sympe_breaks_it_different_orderings_give_different_logits(float64):
    data = _batch(["CCCCO"])
    model = PairGenerator("sympe", hidden=16, layers=2, seed=3).double()
    gen = torch.Generator().manual_seed(0)
    a = model(data.z, data.mask, random_positions(data.z, data.mask, gen))
    b = model(data.z, data.mask, random_positions(data.z, data.mask, gen))
    carbons = [i for i in range(5) if data.z[0, i] == 0]
    assert len({tuple(np.round(a[0, i, j].tolist(), 9)) for i, j in itertools.combinations(carbons, 2)}) > 1
    assert not torch.allclose(a, b)


def test_random_positions_are_a_kernel_element(rng):
    z = torch.tensor([[2, 0, 1, 0, 0, 2, 4, 4]])
    mask = torch.tensor([[True] * 6 + [False] * 2])
    pos = random_positions(z, mask, torch.Generator().manual_seed(1))[0]
    assert sorted(pos.tolist()) == list(range(8))
    assert sorted(pos[[1, 3, 4]].tolist()) == [0, 1, 2] and pos[2] == 3 and sorted(pos[[0, 5]].tolist()) == [4, 5]
    assert kernel_positions(np.array([2, 0, 0]), np.array([0, 2, 1])).tolist() == [2, 1, 0]


def _brute_aut(g):
    """Element- and bond-preserving permutations of a small MolGraph, by enumeration."""
    return sum(1 for p in itertools.permutations(range(g.n)) if (g.z[list(p)] == g.z).all() and (g.bonds[np.ix_(p, p)] == g.bonds).all())


@pytest.mark.parametrize("smiles,aut", [("CC", 2), ("C=C", 2), ("CC(C)(C)C", 24), ("c1ccccc1", 6), ("OC=O", 1), ("C1CC1", 6)])
def test_automorphisms_match_enumeration(smiles, aut):
    from rdkit import Chem

    g = mol_graph(smiles)
    assert math.exp(g.log_aut) == pytest.approx(aut) and _brute_aut(g) == aut
    mol = Chem.MolFromSmiles(smiles)
    Chem.Kekulize(mol, clearAromaticFlags=True)
    assert count_automorphisms(mol) == aut


def test_unlabelled_nll_matches_summing_the_orbit():
    """Propene's heavy atoms C=C-C: with every pair i.i.d. (a, b, c, d) over the classes, the
    unlabelled graph's probability is the sum over its 3!/|Aut| = 6 labellings: 6 · q(double) q(single) q(none)."""
    g = mol_graph("C=CC")
    probs = np.array([0.5, 0.3, 0.15, 0.05])
    q = lambda bonds: np.prod([probs[bonds[i, j]] for i, j in itertools.combinations(range(3), 2)])  # noqa: E731
    orbit = {tuple(g.bonds[np.ix_(p, p)].ravel()) for p in itertools.permutations(range(3))}
    exact = -math.log(sum(q(np.array(b).reshape(3, 3)) for b in orbit))
    assert len(orbit) == 6 and exact == pytest.approx(-math.log(6 * 0.5 * 0.3 * 0.15))
    assert unlabelled_nll(math.log(q(g.bonds)), g.log_group, g.log_aut) == pytest.approx(exact, abs=1e-12)
    ethene = mol_graph("C=C")  # |K| = |Aut| = 2: the labelled and unlabelled NLL agree
    assert unlabelled_nll(math.log(0.15), ethene.log_group, ethene.log_aut) == pytest.approx(-math.log(0.15))


def test_sympe_bound_against_the_exact_marginal(float64):
    """p([A]|x) = (1/|Aut|) Σ_g q(A|x,g) over the whole coset; the |Aut| orderings h·g* give one q, so
    -log q(A|x,g*) bounds the NLL from above, and heldout_nll reports exactly that."""
    g = mol_graph("CC(C)C=O")  # isobutyraldehyde: K = S4 × S1, Aut = 2 (the two methyls)
    data = _Tensors.of([g])
    model = PairGenerator("sympe", hidden=16, layers=2, seed=5).double()
    carbons = [i for i in range(g.n) if g.z[i] == 0]
    values = []
    for perm in itertools.permutations(range(len(carbons))):
        pos = data.canonical.clone()
        pos[0, carbons] = data.canonical[0, [carbons[p] for p in perm]]
        values.append(float(pair_log_likelihood(model(data.z, data.mask, pos), data.bonds, data.mask)))
    star = float(pair_log_likelihood(model(data.z, data.mask, data.canonical), data.bonds, data.mask))
    assert sum(abs(v - star) < 1e-9 for v in values) == round(math.exp(g.log_aut)) == 2
    exact = -(np.logaddexp.reduce(values) - g.log_aut)
    bound = float(heldout_nll(model, data, seed=0)[0])
    assert bound == pytest.approx(-star, abs=1e-12) and exact <= bound + 1e-12
    assert len(kernel_orderings(g.z)) == 24 and exact_sympe_nll(model, g) == pytest.approx(exact, abs=1e-9)
    orbit = neighbourhood_orderings(g, g.canonical)
    assert len(orbit) == 2 * (1 + 6) - 2  # the orbits of g* and its 6 C-C swaps; the methyl swap is in g*'s orbit
    tighter = sympe_nll_bound(model, g, g.canonical)
    assert exact <= tighter + 1e-12 and tighter <= bound + 1e-12


def test_ordering_proposal_is_a_law_on_the_kernel_and_samples_it():
    """r(g) sums to 1 over K, is positive on every element (the uniform component), is largest at
    start, and the Gumbel sampler draws each element with frequency r(g)."""
    g = mol_graph("CC(C)C(=O)OC")  # C5 O2: |K| = 5! 2! = 240
    orderings = kernel_orderings(g.z)
    proposal = OrderingProposal(g.z, g.canonical)
    log_r = proposal.log_prob(orderings)
    assert len(orderings) == 240 and np.exp(log_r).sum() == pytest.approx(1.0, abs=1e-12)
    assert log_r.min() > math.log(0.25 / 240) - 1e-12  # a quarter of the mixture is uniform
    start = int(np.flatnonzero((orderings == g.canonical).all(1))[0])
    assert int(np.argmax(log_r)) == start
    drawn = proposal.sample(100_000, np.random.default_rng(0))
    index = {tuple(row): k for k, row in enumerate(orderings.tolist())}
    freq = np.bincount([index[tuple(row)] for row in drawn.tolist()], minlength=240) / len(drawn)
    assert np.abs(freq - np.exp(log_r)).max() < 4 * np.sqrt(np.exp(log_r).max() / len(drawn))
    assert np.array_equal(proposal.sample(5, np.random.default_rng(3)), proposal.sample(5, np.random.default_rng(3)))


def test_importance_estimate_is_unbiased_and_below_the_bound(float64):
    """Ẑ is unbiased for Σ_K q: the mean of exp(-NLL) over seeds matches the exact sum; each estimate
    is never above the neighbourhood bound; a kernel inside S gives the exact value."""
    g = mol_graph("CC(C)C(=O)OC")
    model = PairGenerator("sympe", hidden=16, layers=2, seed=5).double()
    exact, bound = exact_sympe_nll(model, g), sympe_nll_bound(model, g, g.canonical)
    estimates = np.array([importance_sympe_nll(model, g, g.canonical, samples=64, seed=s) for s in range(200)])
    assert (estimates <= bound + 1e-12).all() and bound > exact + 0.1
    ratio = np.exp(exact - estimates)  # Ẑ / Z
    assert abs(ratio.mean() - 1) < 4 * ratio.std() / np.sqrt(len(ratio)) + 1e-9
    small = mol_graph("CC=O")  # K = S2 × S1: the swap is a transposition of g*, so S = K
    assert importance_sympe_nll(model, small, small.canonical, samples=8) == pytest.approx(exact_sympe_nll(model, small), abs=1e-12)


def test_importance_estimate_refuses_nonsense():
    g = mol_graph("CCO")
    with pytest.raises(SymbreakError, match="needs a 'sympe' generator"):
        importance_sympe_nll(PairGenerator("none"), g, g.canonical)
    for bad in (0, -3, 2.5, True):
        with pytest.raises(SymbreakError, match="samples must be a whole number"):
            importance_sympe_nll(PairGenerator("sympe"), g, g.canonical, samples=bad)
    with pytest.raises(SymbreakError, match="must include inf"):
        OrderingProposal(g.z, g.canonical, temperatures=(1.0,))
    with pytest.raises(SymbreakError, match="positive numbers"):
        OrderingProposal(g.z, g.canonical, temperatures=(float("nan"), float("inf")))
    with pytest.raises(SymbreakError, match="not an element of the kernel"):
        OrderingProposal(g.z, np.array([0, 2, 1]) if g.z.tolist() == [0, 0, 2] else np.array([2, 0, 1]))
    with pytest.raises(SymbreakError, match="one length"):
        OrderingProposal(g.z, g.canonical[:2])


def test_dfs_ordering_is_a_kernel_element_of_the_smiles_walk():
    g = mol_graph("CC(=O)OC")  # written COC(C)=O: the methoxy C, O, the carbonyl C, the methyl C, =O
    assert g.smiles == "COC(C)=O" and g.dfs.tolist() == [2, 1, 4, 3, 0] and sorted(g.canonical.tolist()) == list(range(5))


def test_none_nll_is_exact_and_noise_averages(float64):
    data = _batch(["CCO", "C#N"])
    model = PairGenerator("none", hidden=8, layers=1).double()
    logq = pair_log_likelihood(model(data.z, data.mask), data.bonds, data.mask)
    assert torch.allclose(heldout_nll(model, data, 0), -logq - data.log_group + data.log_aut, atol=1e-12)
    noisy = PairGenerator("noise", hidden=8, layers=1).double()
    assert torch.allclose(heldout_nll(noisy, data, 7), heldout_nll(noisy, data, 7)) and torch.isfinite(heldout_nll(noisy, data, 7)).all()


@pytest.mark.parametrize("bad", ["C1CC", "not a smiles", "", "[H][H]", "C[N+](C)(C)C", "CCl"])
def test_bad_molecules_are_refused_by_name(bad):
    with pytest.raises(SymbreakError, match="mol_graph"):
        mol_graph(bad)


def test_no_heavy_atom_is_n_zero_and_refused():
    from symbreak.tasks._qm9_gen import split_sizes

    with pytest.raises(SymbreakError, match="n = 0"):
        mol_graph("[H][H]")
    with pytest.raises(SymbreakError, match="at least 1 training molecule"):
        split_sizes(0)


def test_bad_inputs_are_refused():
    z, mask = torch.zeros(1, 3, dtype=torch.long), torch.ones(1, 3, dtype=torch.bool)
    with pytest.raises(SymbreakError, match="positions"):
        PairGenerator("sympe")(z, mask)
    with pytest.raises(SymbreakError, match="noise"):
        PairGenerator("noise")(z, mask, torch.zeros(1, 3, 2))
    with pytest.raises(SymbreakError, match="unknown breaker"):
        PairGenerator("canon")
    assert graph_to_smiles(np.array([0, 0, 0]), np.zeros((3, 3), dtype=int)) is None  # three fragments
    assert graph_to_smiles(np.array([], dtype=int), np.zeros((0, 0), dtype=int)) is None  # n = 0


def test_task_runs_end_to_end_at_tiny_size(tmp_path, monkeypatch):
    from symbreak.bench import run_benchmark
    from symbreak.tasks import _qm9_data

    smiles = ["CCO", "CC=O", "CCC", "C#N", "CCN", "OCCO", "CC(C)O", "C1CC1", "CC#N", "C=CC", "NC=O", "CN", "COC", "CCF", "[NH4+]", "C1CC"] * 2
    # where qm9_generation_data looks it up: the task runs on these molecules, with or without qm9pack
    monkeypatch.setattr(_qm9_data, "qm9_smiles", lambda: smiles)
    result = run_benchmark("qm9-generation", quick=True, limit=8, epochs=2, out=tmp_path, progress=False, device="cpu")
    assert len(result.records) == 4 and {r["model"] for r in result.records} == {"none", "noise", "sympe", "sympe-dfs"}
    for r in result.records:
        assert np.isfinite(r["test"]["nll"]) and 0 <= r["test"]["valid"] <= 1 and r["data"]["train"] == 8
        assert r["data"]["skipped"].get("charged/radical", 0) + r["data"]["skipped"].get("unparsable", 0) >= 0
    again = run_benchmark("qm9-generation", quick=True, limit=8, epochs=2, out=tmp_path, progress=False, device="cpu")
    assert again.ran == 0  # resumed from results.jsonl


def test_qm9_is_read_from_qm9pack():
    import importlib.util

    if importlib.util.find_spec("qm9pack") is None:  # not importorskip: qm9pack's __init__ needs pandas
        pytest.skip("qm9pack (QM9's SMILES) is not installed")
    from symbreak.tasks._qm9_gen import qm9_generation_data

    data = qm9_generation_data(train=16)
    assert (len(data.train), len(data.val), len(data.test)) == (16, 2, 4)
    assert all(1 <= g.n <= 9 for g in data.train + data.val + data.test)
