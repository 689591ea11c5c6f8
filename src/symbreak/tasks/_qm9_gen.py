r"""``qm9-generation``: one-shot molecular graph generation on QM9, scored by NLL (SymPE paper, Table 2, in kind).

The condition :math:`x` is a molecule's heavy-atom multiset: n nodes with element labels
:math:`z \in \{C, N, O, F\}^n` and no edges. The target is its Kekulé graph
:math:`A \in \{0, 1, 2, 3\}^{n \times n}` (no bond, single, double, triple; RDKit, heavy atoms only).
The stabilizer of :math:`x` in :math:`S_n` is

.. math:: K = \prod_{e} S_{n_e}, \qquad |K| = \prod_e n_e!,

the permutations within each element class. A permutation-equivariant network that sees only
:math:`x` gives every pair of same-element nodes the same bond distribution (Curie's principle on
graphs): it cannot put a ring or a chain anywhere in particular. Three variants of one network
(:class:`PairGenerator`; pairs independent given the input, 4 logits per unordered pair):

* ``none``: no breaker, :math:`q(A \mid x)`;
* ``noise``: i.i.d. :math:`\mathcal N(0, I_d)` node features :math:`\varepsilon`, drawn per pass,
  :math:`q(A \mid x, \varepsilon)`;
* ``sympe``: SymPE (Lawrence et al., ICLR 2025): an ordering :math:`g` of the nodes from the inversion
  kernel of the element-sorted canonical form (elements in blocks C, N, O, F; inside a block, a
  uniformly random order, i.e. a uniform element of the coset of :math:`K`), node i reads a learned
  table :math:`v` (n_max, d) at its position :math:`g(i)`: :math:`q(A \mid x, g)`.

Training loss (nats per molecule): ``none``: :math:`-\log q(A \mid x)`; ``noise``:
:math:`-\log q(A \mid x, \varepsilon)` with one draw (the dataset's own labelling: noise cannot be
aligned with the target); ``sympe``: :math:`-\log q(A \mid x, g^*)` with :math:`g^*` the ordering by
RDKit's canonical ranks of the target (``CanonicalRankAtoms(breakTies=True)``), an element of the
kernel consistent with A. A fourth model, ``sympe-dfs``, is the same network with :math:`g^*` the
order in which the target's canonical SMILES writes its atoms (a depth-first walk, so consecutive
positions are mostly bonded): any kernel element that is a function of the unlabelled graph keeps
the bound below valid, and which one is chosen changes how learnable :math:`q(A \mid x, g^*)` is.

**The reported quantity** is the NLL of the *unlabelled* graph :math:`[A]` (the molecule's Kekulé
graph up to relabelling within element classes) given x, in nats per molecule. Each variant's
labelled law :math:`p(A \mid x)` is K-invariant (the network is equivariant and the breaker's law is
K-invariant), and the orbit of A under K has :math:`|K| / |\mathrm{Aut}(A)|` members, so

.. math:: -\log p([A] \mid x) = -\log p(A \mid x) - \log |K| + \log |\mathrm{Aut}(A)|,

with :math:`\mathrm{Aut}(A)` the element- and bond-order-preserving automorphisms (RDKit self-matches,
``uniquify=False``). Per variant (:func:`unlabelled_nll`):

* ``none``: exact, :math:`p(A \mid x) = q(A \mid x)`;
* ``sympe``: :math:`p(A \mid x) = \frac{1}{|K|} \sum_{g} q(A \mid x, g)`, intractable; the
  :math:`|\mathrm{Aut}(A)|` orderings :math:`h g^*` (:math:`h \in \mathrm{Aut}(A)`) all give
  :math:`q(A \mid x, h g^*) = q(h^{-1} A \mid x, g^*) = q(A \mid x, g^*)` (equivariance), so
  :math:`p(A \mid x) \ge \frac{|\mathrm{Aut}(A)|}{|K|} q(A \mid x, g^*)`, so
  :math:`-\log q(A \mid x, g^*)` is an **upper bound** on the unlabelled NLL (recorded as
  ``gstar_nll``). A tighter bound sums a larger set S of distinct orderings, the Aut-orbits of
  :math:`g^*` and of its within-class transpositions (:func:`sympe_nll_bound`, ``bound_nll``):
  :math:`-\log p([A] \mid x) \le -\log \sum_{g \in S} q(A \mid x, g) + \log |\mathrm{Aut}(A)|`.
  The reported number adds to that sum an importance-sampled estimate of the rest of the kernel
  (:func:`~symbreak.tasks._qm9_likelihood.importance_sympe_nll`: 1,024 orderings per molecule from a
  Plackett–Luce mixture around :math:`g^*` that includes the uniform law): unbiased for the sum,
  so its :math:`-\log` is an upper bound in expectation, never above the bound over S; the two
  halves of the draws give two independent estimates (``is_half_a``, ``is_half_b``);
* ``noise``: :math:`p(A \mid x) = \mathbb E_\varepsilon\, q(A \mid x, \varepsilon)`, estimated by the
  mean over 32 seeded draws; :math:`-\log` of that mean is an upper bound *in expectation* (Jensen).

How far SymPE's estimate and bounds are from the exact value: on the test molecules with :math:`|K| \le 240` (:data:`EXACT_MAX_GROUP`)
the exact :math:`-\log \frac{1}{|\mathrm{Aut}(A)|}\sum_{g \in K} q(A \mid x, g)` is computed by
enumerating the kernel (:func:`exact_sympe_nll`) and recorded beside them on the same molecules.

Samples: for every test x, one graph per variant (a fresh ordering or fresh noise), each pair's bond
order drawn from its softmax; scored by validity (RDKit sanitizes it and it is one fragment),
uniqueness (distinct canonical SMILES among the valid), novelty (valid and not a training molecule)
and recovery (the sample is the test molecule itself).

Data: QM9's SMILES from the installed ``qm9pack`` (nothing is downloaded), a seeded subset
(``limit`` training molecules, default 3,000; validation and test an eighth and a quarter of that);
molecules that do not parse, carry a formal charge or a radical, or have an element outside C, N, O, F
are skipped and counted. Needs RDKit and ``qm9pack`` (``pip install rdkit qm9pack``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from ._base import OwnModelsTask, TableSpec, register_task
from ._qm9_data import (  # noqa: F401  (the task's public names, re-exported)
    BOND_ORDERS, DATA_SEED, ELEMENTS, GenerationData, MolGraph, _rdkit, automorphisms, count_automorphisms, graph_to_smiles,
    kernel_positions, mol_graph, qm9_generation_data, qm9_smiles, sample_scores, split_sizes,
)
from ._qm9_likelihood import IMPORTANCE_SAMPLES, IMPORTANCE_TEMPERATURES, NOISE_DRAWS, exact_sympe_nll, importance_log_weights, heldout_nll, kernel_orderings, neighbourhood_orderings, sympe_nll_bound  # noqa: F401
from ._qm9_model import BREAKERS, PairGenerator, _breaker_input, _Tensors, pair_log_likelihood, random_positions, sample_graphs, unlabelled_nll  # noqa: F401


__all__ = [
    "QM9Generation", "MolGraph", "mol_graph", "graph_to_smiles", "qm9_smiles", "qm9_generation_data", "PairGenerator", "kernel_positions",
    "pair_log_likelihood", "unlabelled_nll", "count_automorphisms", "automorphisms", "kernel_orderings", "neighbourhood_orderings", "sympe_nll_bound", "exact_sympe_nll", "heldout_nll", "sample_graphs",
    "sample_scores", "ELEMENTS", "BOND_ORDERS", "BREAKERS", "VARIANTS",
]  # fmt: skip

#: the task's models: a breaker, and for SymPE which kernel element :math:`g^*` trains and scores it
#: (``sympe``: RDKit's canonical ranks; ``sympe-dfs``: the canonical SMILES's writing order)
VARIANTS = {"none": ("none", "ranks"), "noise": ("noise", "ranks"), "sympe": ("sympe", "ranks"), "sympe-dfs": ("sympe", "dfs")}
#: molecules whose |K| is at most this get SymPE's exact NLL too (the sum over the whole kernel), beside the bound
EXACT_MAX_GROUP = 240


@register_task("qm9-generation")
class QM9Generation(OwnModelsTask):
    """One-shot QM9 graph generation conditioned on the heavy-atom multiset: no breaker, noise, SymPE (Lawrence et al., Table 2, in kind)."""

    description = "QM9 one-shot graph generation given the heavy-atom multiset, NLL of the unlabelled graph: none / noise / sympe / sympe-dfs (SymPE paper Table 2, in kind)"
    losses = ("nll",)
    models = tuple(VARIANTS)
    epochs = 40
    lr = 2e-3
    folds = 2
    batch_size = 50
    hidden = 64
    layers = 3
    dim = 16
    limit = 3000
    quick = {"folds": 1, "epochs": 8, "limit": 300}
    schedule = "cosine"
    select = "best"
    patience = None  # no early stopping: the best validation epoch of the whole budget is kept
    checkpoint_suffix = ".pt"
    tables = (
        TableSpec(
            "QM9 generation given the heavy-atom multiset: test NLL of the unlabelled graph (nats/molecule) and one sample per molecule (mean ± std over seeds)",
            rows=tuple(VARIANTS),
            columns=(("NLL", "", "nll", "nll"), ("Valid", "", "nll", "valid"), ("Unique", "", "nll", "unique"), ("Novel", "", "nll", "novel"),
                     ("Recovered", "", "nll", "recovered")),  # fmt: skip
            note="NLL: -log p([A] | x) of the heavy-atom Kekulé graph up to relabelling within element classes; exact for none; "
            f"for sympe an importance-sampled estimate over the kernel ({IMPORTANCE_SAMPLES} orderings per molecule drawn near g*, the target's canonical ordering, "
            "added to the exact sum over g*'s automorphism orbit and its within-class transpositions: an upper bound in expectation); for noise -log of the mean "
            "of q over 32 seeded draws (an upper bound in expectation); sympe-dfs is sympe with g* the canonical SMILES's atom order. ± is the population std over seeds (ddof = 0). "
            "The paper's Table 2 numbers are not given in our copy of the paper (a summary): no numbers beside ours.",
        ),
    )

    def dataset(self, subtask: str) -> list[GenerationData]:
        _rdkit()
        return [qm9_generation_data(int(self.limit), DATA_SEED)]

    def job_settings(self, spec: str | None = None, **_: Any) -> dict[str, Any]:
        train, val, test = split_sizes(int(self.limit))
        return {"hidden": self.hidden, "layers": self.layers, "dim": self.dim, "batch_size": self.batch_size, "noise_draws": NOISE_DRAWS, "sympe_bound": "Aut-orbits of g* and its within-class transpositions",
                "sympe_estimate": {"importance_samples": IMPORTANCE_SAMPLES, "temperatures": [str(t) for t in IMPORTANCE_TEMPERATURES]},
                "data": {"train": train, "val": val, "test": test, "seed": DATA_SEED}, "select": "best val", "schedule": self.schedule}  # fmt: skip

    def run_job(self, job: Any, graphs: list, progress: Any = None, checkpoint: Any = None, **_: Any) -> dict[str, Any]:
        from ..training import Trainer

        data: GenerationData = graphs[0]
        seed = job.run_seed() % 2**31
        torch.manual_seed(seed)
        breaker, ordering = VARIANTS[job.model]
        model = PairGenerator(breaker, hidden=self.hidden, layers=self.layers, dim=self.dim, seed=seed)
        train, val, test = (_Tensors.of(part, ordering=ordering) for part in (data.train, data.val, data.test))
        size = self.batch_size

        def batches(epoch: int) -> list[tuple[_Tensors, torch.Tensor | None]]:
            # the epoch's order and noise from (seed, epoch) alone: a resumed run draws the same
            gen = torch.Generator().manual_seed(seed * 1000 + epoch)
            order = torch.randperm(len(data.train), generator=gen)
            parts = [train.take(order[k : k + size]) for k in range(0, len(order), size)]
            return [(p, _breaker_input(model, p, gen, canonical=True)) for p in parts]

        def loss(batch: tuple[_Tensors, torch.Tensor | None]) -> torch.Tensor:
            part, inputs = batch
            return -pair_log_likelihood(model(part.z, part.mask, inputs), part.bonds, part.mask).mean()

        val_inputs = _breaker_input(model, val, torch.Generator().manual_seed(seed + 1), canonical=True)

        def evaluate(epoch: int, steps: list[tuple[torch.Tensor, int]]) -> dict[str, float]:
            with torch.no_grad():
                v = -pair_log_likelihood(model(val.z, val.mask, val_inputs), val.bonds, val.mask).mean()
            row = {"epoch": epoch, "train": float(torch.stack([s for s, _ in steps]).mean()), "val": float(v)}
            if progress is not None:
                progress.set_postfix_str(f"{job.model} fold {job.fold} epoch {epoch}/{job.epochs} val {row['val']:.3f}", refresh=False)
            return row

        opt = torch.optim.Adam(model.parameters(), lr=job.lr)
        trainer = Trainer(model, opt, epochs=job.epochs, monitor="val", select=self.select, schedule=self.schedule, checkpoint=checkpoint)
        result = trainer.run(batches, loss, evaluate)
        model.eval()
        nll = heldout_nll(model, test, seed + 2, graphs=data.test)  # sympe: the transposition-neighbourhood bound
        samples = sample_graphs(model, test, seed + 3)
        scores, smiles = sample_scores(samples, data.test, {g.smiles for g in data.train})
        pairs = torch.tensor([g.n * (g.n - 1) / 2 for g in data.test], dtype=nll.dtype)
        uniform = unlabelled_nll(-pairs * math.log(len(BOND_ORDERS)), test.log_group, test.log_aut)
        small = [k for k, g in enumerate(data.test) if math.exp(g.log_group) <= EXACT_MAX_GROUP + 0.5]
        extra: dict[str, Any] = {"small_count": len(small)}
        per_molecule = {"log_group": [round(g.log_group, 4) for g in data.test], "n": [g.n for g in data.test]}
        if breaker == "sympe":  # reported: the importance-sampled estimate; beside it the bounds and, where |K| is small, the exact sum
            bound, gstar = nll, heldout_nll(model, test, seed + 2)
            nll, halves = self._importance(model, test, data.test, seed + 4, progress, job)
            extra.update(bound_nll=float(bound.mean()), gstar_nll=float(gstar.mean()), is_half_a=float(halves[0].mean()), is_half_b=float(halves[1].mean()))
            per_molecule.update(bound=[round(float(v), 4) for v in bound])
            if small:
                extra.update(small_bound_nll=float(bound[small].mean()), small_gstar_nll=float(gstar[small].mean()),
                             small_exact_nll=float(np.mean([exact_sympe_nll(model, data.test[k]) for k in small])))  # fmt: skip
        extra["small_nll"] = float(nll[small].mean()) if small else float("nan")
        per_molecule["nll"] = [round(float(v), 4) for v in nll]
        return {
            "test": {"nll": float(nll.mean()), **scores, "uniform_nll": float(uniform.mean()), **extra}, "per_molecule": per_molecule,
            "val": result.best_value, "best_epoch": result.best_epoch, "final_train": result.history[-1]["train"],
            "val_curve": [round(h["val"], 4) for h in result.history], "parameters": sum(p.numel() for p in model.parameters()),
            "data": {"train": len(data.train), "val": len(data.val), "test": len(data.test), "examined": data.examined, "skipped": data.skipped},
            "examples": [{"target": t.smiles, "sample": s} for t, s in zip(data.test[:8], smiles[:8])],
            "valid_examples": [{"target": t.smiles, "sample": s} for t, s in zip(data.test, smiles) if s is not None][:8],
        }  # fmt: skip

    @staticmethod
    def _importance(model: PairGenerator, tensors: _Tensors, graphs: list[MolGraph], seed: int, progress: Any, job: Any) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """SymPE's per-molecule importance-sampled NLL (:func:`importance_log_weights`, molecule k
        drawn with seed ``seed + k``) from all :data:`IMPORTANCE_SAMPLES` draws, and from each half
        of them: two independent estimates whose difference shows the estimator's own spread."""
        whole: list[float] = []
        halves: list[list[float]] = [[], []]
        for k, g in enumerate(graphs):
            log_near, log_w = importance_log_weights(model, g, tensors.canonical[k, : g.n].numpy(), seed=seed + k)
            cut = len(log_w) // 2
            for out, w in ((whole, log_w), (halves[0], log_w[:cut]), (halves[1], log_w[cut:])):
                out.append(float(-torch.logaddexp(log_near, torch.logsumexp(w, 0) - math.log(len(w))) + g.log_aut))
            if progress is not None and k % 50 == 0:
                progress.set_postfix_str(f"{job.model} fold {job.fold}: importance sampling, molecule {k + 1}/{len(graphs)}", refresh=True)
        return torch.tensor(whole), [torch.tensor(h) for h in halves]

    def report_extras(self, records: list[dict], out: Any) -> dict[str, list]:
        """The data's sizes and skipped molecules, the uniform-guess NLL, and a few samples beside their targets."""
        rows = [r for r in records if "examples" in r]
        if not rows:
            return {"texts": [], "markdown": [], "plots": []}
        d = rows[0]["data"]
        skipped = ", ".join(f"{k}: {v}" for k, v in sorted(d["skipped"].items())) or "none"
        uniform = float(np.mean([r["test"]["uniform_nll"] for r in rows]))
        head = (f"Data: {d['train']} train / {d['val']} validation / {d['test']} test molecules of QM9 (seed {DATA_SEED}), "
                f"{d['examined']} examined, skipped: {skipped}. A uniform guess (every pair's class with probability 1/4) "
                f"scores NLL {uniform:.2f} nats/molecule on this test set.")  # fmt: skip
        lines = ["| Variant | Seed (fold) | Target | Sample |", "|---|---|---|---|"]
        text = [head, "Samples of the first seed (the first 8 test molecules, then the first 8 valid samples; '—' = invalid):"]
        first = min(r["fold"] for r in rows)  # one seed's samples: enough to see what each variant draws
        for r in sorted((r for r in rows if r["fold"] == first), key=lambda r: list(VARIANTS).index(r["model"]) if r["model"] in VARIANTS else 9):
            for e in r["examples"] + r.get("valid_examples", []):
                lines.append(f"| {r['model']} | {r['fold']} | `{e['target']}` | {'`' + e['sample'] + '`' if e['sample'] else '—'} |")
                text.append(f"  {r['model']:6s} fold {r['fold']}  {e['target']:>20s}  →  {e['sample'] or '—'}")
        md = ("### Data and samples\n\n" + head + "\n\nSamples of the first seed: the first 8 test molecules, then the first 8 valid samples "
              "(— = invalid).\n\n" + "\n".join(lines) + "\n")  # fmt: skip
        tight, sizes = _bound_table(rows), _size_table(rows)
        return {"texts": ["\n".join(text), tight[0], sizes[0]], "markdown": [md, tight[1], sizes[1]], "plots": []}


def _bound_table(rows: list[dict]) -> tuple[str, str]:
    """How far each variant's reported NLL is from the exact one: the full test set (reported; for
    SymPE also its two halves' estimates, the neighbourhood bound and the one-ordering bound) and the
    molecules with |K| ≤ :data:`EXACT_MAX_GROUP` (the same, and the exact sum), mean ± std over seeds (ddof = 0)."""
    cols = (("NLL reported", "nll"), ("halves of the draws", "is_half_a", "is_half_b"), ("bound over S", "bound_nll"), ("-log q(A|x,g*)", "gstar_nll"),
            (f"|K| ≤ {EXACT_MAX_GROUP}: reported", "small_nll"), ("|K| small: bound over S", "small_bound_nll"),
            ("|K| small: -log q(A|x,g*)", "small_gstar_nll"), ("|K| small: exact", "small_exact_nll"))  # fmt: skip

    def cell(model: str, *keys: str) -> str:
        parts = []
        for key in keys:
            v = [r["test"][key] for r in rows if r["model"] == model and key in r["test"]]
            parts.append(f"{np.mean(v):.2f} ± {np.std(v):.2f}" if v else "")
        return " / ".join(p for p in parts if p) or "—"

    models = [m for m in VARIANTS if any(r["model"] == m for r in rows)]
    count = rows[0]["test"].get("small_count", 0)
    note = (f"Test NLL (nats/molecule) of each variant's reported quantity beside SymPE's bounds and, on the {count} test "
            f"molecules with |K| ≤ {EXACT_MAX_GROUP}, the exact NLL (the sum over the whole kernel). Reported: exact for none; the "
            f"{NOISE_DRAWS}-draw estimate for noise; for SymPE the importance-sampled estimate ({IMPORTANCE_SAMPLES} orderings per "
            "molecule), and beside it the same estimate from each half of those draws (two independent estimates), the bound over "
            "S (g*'s automorphism orbit and its within-class transpositions) and the one-ordering bound. Mean ± std over seeds (ddof = 0).")  # fmt: skip
    md = ["| Model | " + " | ".join(c[0].replace("|", "\\|") for c in cols) + " |", "|---|" + "---|" * len(cols)]
    md += [f"| {m} | " + " | ".join(cell(m, *c[1:]) for c in cols) + " |" for m in models]
    text = [note] + [f"  {m:10s}" + "  ".join(f"{c[0]}: {cell(m, *c[1:])}" for c in cols) for m in models]
    return "\n".join(text), "### How far the reported NLL is from the exact one\n\n" + note + "\n\n" + "\n".join(md) + "\n"


def _size_table(rows: list[dict]) -> tuple[str, str]:
    """Each variant's reported test NLL by the molecule's number of heavy atoms n (the records'
    ``per_molecule``), mean over the molecules of that size, then mean ± std over seeds (ddof = 0)."""
    rows = [r for r in rows if "per_molecule" in r]
    if not rows:
        return "", ""
    sizes = sorted(set(rows[0]["per_molecule"]["n"]))
    counts = np.bincount(rows[0]["per_molecule"]["n"])

    def cell(model: str, n: int) -> str:
        v = [np.mean([x for x, m in zip(r["per_molecule"]["nll"], r["per_molecule"]["n"]) if m == n]) for r in rows if r["model"] == model]
        return f"{np.mean(v):.2f} ± {np.std(v):.2f}" if v else "—"

    models = [m for m in VARIANTS if any(r["model"] == m for r in rows)]
    note = ("Reported test NLL (nats/molecule; SymPE: the importance-sampled estimate) by the number of heavy atoms n, "
            "mean over the test molecules of that size, then mean ± std over seeds (ddof = 0).")  # fmt: skip
    head = [f"n = {n} ({counts[n]})" for n in sizes]
    md = ["| Model | " + " | ".join(head) + " |", "|---|" + "---|" * len(sizes)]
    md += [f"| {m} | " + " | ".join(cell(m, n) for n in sizes) + " |" for m in models]
    text = [note, "  " + " " * 10 + "  ".join(f"{h:>16s}" for h in head)] + [f"  {m:10s}" + "  ".join(f"{cell(m, n):>16s}" for n in sizes) for m in models]
    return "\n".join(text), "### NLL by molecule size\n\n" + note + "\n\n" + "\n".join(md) + "\n"
