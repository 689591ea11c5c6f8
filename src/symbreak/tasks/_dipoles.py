r"""``dipoles``: atomic dipoles that break a molecule's symmetry (SANN paper, §6.3, Table 3).

The data sets are made by :func:`symbreak.labels.generate_dipoles` and
shipped in ``tasks/data``: ``dipoles_dft.xyz`` (Hirshfeld dipoles of PBE0/def2-SVP densities, the
QM7-X-like labels) and ``dipoles_gfn2.xyz`` (GFN2-xTB dipoles of the same structures). Each is a
sub-task of the benchmark.
"""

from __future__ import annotations

from importlib import resources
from typing import Any

import numpy as np

from .._errors import SymbreakError
from ..detect import detect_symmetry
from ._base import TableSpec, Task, grouped_splits, kfold_splits, make_graph, register_task
from ..labels import SOURCES

__all__ = ["load_dipoles", "Dipoles"]


def load_dipoles(source: str = "dft") -> list[Any]:
    """A shipped data set as ASE ``Atoms`` with ``arrays['dipoles']`` (e·bohr) and ``arrays['atomic_charges']`` (e).

    source: ``"dft"`` (Hirshfeld, PBE0/def2-SVP) or ``"gfn2"`` (GFN2-xTB); same structures.
    """
    if source not in SOURCES:
        raise SymbreakError(f"source must be one of {', '.join(SOURCES)}, got {source!r}")
    from ..io import read

    with resources.as_file(resources.files("symbreak.tasks").joinpath("data").joinpath(f"dipoles_{source}.xyz")) as path:
        return read(path)


_PAPER = {"schnet": "0.0170 ± 0.0078", "schnet+mlp": "0.749 ± 0.454", "egnn": "0.0538 ± 0.0149", "egnn+mlp": "0.0027 ± 0.0007", "sann": "0.0012 ± 0.00003"}
#: the other mechanisms symbreak offers, rows of the SB-MSE table when run (--models): not in the paper
MECHANISMS = ("egnn+canon", "egnn+learned-canon", "egnn+sympe", "painn", "painn+canon", "painn+learned-canon", "painn+sympe")
_SPLITS = {"": "random", "-by-molecule": "by molecule"}
_RULE = dict(
    rule="mean",
    rule_note="The paper gives no rule for this table. The verdict says whether a model learns something beyond predicting "
    "zero dipoles on the same test structures; which model is better is read from the numbers, not from a threshold.",
)


def _columns(loss: str, measure: str) -> tuple[tuple[str, ...], ...]:
    """One column per (labels, split): header "DFT random", sub-task "dft", ..."""
    return tuple((f"{labels} {split}", f"{source}{suffix}", loss, measure) for source, labels in (("dft", "DFT"), ("gfn2", "GFN2")) for suffix, split in _SPLITS.items())


@register_task("dipoles")
class Dipoles(Task):
    """Symmetry-breaking atomic dipoles (SANN Table 3): random 60/20/20 splits of structures, and
    splits by molecule; Chamfer distance on test; each run trains until validation plateaus.

    Sub-tasks ``dft`` and ``gfn2`` split structures at random, as the paper did; there, most test
    structures have a conformer of the same molecule in training. ``dft-by-molecule`` and
    ``gfn2-by-molecule`` split the molecules, so none does.
    """

    description = "atomic dipoles that break the molecule's symmetry: Hirshfeld (DFT) and GFN2-xTB labels (SANN Table 3)"
    subtasks = ("dft", "dft-by-molecule", "gfn2", "gfn2-by-molecule")
    losses = ("sbcd", "sbmse")  # the paper's SBCD, and the atom-matched SB-MSE that collapse cannot game
    kind = "vectors"
    # the paper tuned SANN over its Table 6 grid; layers=3 is the setting our search preferred on
    # validation (docs/results/dipoles.md lists both), so both run by default
    models = (*_PAPER, "sann[layers=3]")
    # "until validation plateaus, capped": the learning rate halves after 10 epochs without a better
    # validation score; a run stops after `patience` such epochs or at the cap
    epochs = 200
    lr = 1e-3
    batch_size = 16
    folds = 10
    patience = 20
    schedule = "plateau"
    symmetry_tol = 0.2  # the paper's curation tolerance (its appendix C.2): structures and SANN agree on each group
    # a smoke run: one split of each kind (random, by molecule), every model and loss; 24 jobs instead of 48
    quick = {"folds": 1, "epochs": 5, "subtasks": ("dft", "dft-by-molecule")}
    tables = (
        TableSpec(
            "Table 3: atomic dipoles, trained with SBCD, test CD (mean ± std over 60/20/20 splits: random, or by molecule)",
            rows=tuple(_PAPER),
            columns=_columns("sbcd", "cd"),
            paper={(k, "DFT random"): v for k, v in _PAPER.items()},
            note="Labels: Hirshfeld atomic dipoles of PBE0/def2-SVP densities (the paper's kind of label, QM7-X used "
            "PBE0+MBD) and GFN2-xTB atomic dipoles, both in e·bohr, of G2 and NCI molecules and their conformers; not QM7-X "
            "itself, so values are comparable in kind (which model learns), not in size. The paper's values are for its "
            "QM7-X subset and its random split. Models train with SBCD and are scored by plain CD, as the paper's table is. DFT/GFN2: "
            "the labels; random: structures split at random, as the paper did; by molecule: molecules split, so no test "
            "structure has a conformer of its molecule in training.",
            **_RULE,
        ),
        TableSpec(
            "Table 3, trained with SB-MSE (not in the paper): atomic dipoles, test SB-MSE (mean ± std over 60/20/20 splits)",
            rows=(*_PAPER, *MECHANISMS),
            shown=len(_PAPER),
            columns=_columns("sbmse", "sbmse"),
            note="The models of Table 3 trained with the atom-matched SB-MSE instead of SBCD, which collapse minimises.",
            **_RULE,
        ),
    )

    def dataset(self, subtask: str) -> list:
        graphs = []
        for atoms in load_dipoles(subtask.split("-")[0]):
            sym = detect_symmetry(atoms.positions, atoms.numbers, tol=self.symmetry_tol)
            pos = atoms.positions - atoms.positions.mean(axis=0)
            graphs.append(make_graph(atoms.numbers, pos, atoms.arrays["dipoles"], sym, molecule=str(atoms.info["name"])))
        return graphs

    def splits(self, graphs: list, subtask: str, folds: int, seed: int) -> list:
        if subtask.endswith("-by-molecule"):
            return grouped_splits([g.molecule for g in graphs], folds, seed)
        return kfold_splits(len(graphs), folds, seed)

    def report_extras(self, records: list[dict], out: Any) -> dict[str, list]:
        """Validation scores (what a search selects on), how long runs trained, and test-set leakage per split."""
        texts, markdown = [], []
        rows: dict[tuple[str, str, str], list[dict]] = {}
        for r in records:
            rows.setdefault((r["subtask"], r["loss"], r["model"]), []).append(r)
        if rows:
            lines = ["| Labels and split | Loss | Model | Validation loss (mean over splits) | Epochs trained (best epoch) | Runs at the cap | Splits |", "|---|---|---|---|---|---|---|"]
            text = ["Validation loss (what model selection reads) and training length:"]
            for (sub, loss, model), rs in sorted(rows.items()):
                val = np.mean([r["val"] for r in rs])
                trained = f"{np.mean([len(r['val_curve']) for r in rs]):.0f} ({np.mean([r['best_epoch'] for r in rs]):.0f})"
                capped = sum(len(r["val_curve"]) == r["epochs"] and not r["stopped_early"] for r in rs)
                lines.append(f"| {sub} | {loss} | {model} | {val:.5f} | {trained} | {capped} | {len(rs)} |")
                text.append(f"  {sub:16s} {loss:6s} {model:16s} {val:.5f}  epochs {trained}  at cap {capped}/{len(rs)}")
            texts.append("\n".join(text))
            markdown.append(
                "### Validation scores and training length\n\nEach run trains until validation has not improved for "
                f"{self.patience} epochs (the learning rate halving after 10 without improvement), capped at {self.epochs}; "
                "the weights of the best validation epoch are tested. A run at the cap had not plateaued.\n\n" + "\n".join(lines) + "\n"
            )
        seeds = {r["seed"] for r in records}
        leak = self.leakage(sorted({r["subtask"] for r in records}), max((r["fold"] for r in records), default=-1) + 1, seeds.pop() if len(seeds) == 1 else 0)
        if leak:
            texts.append("\n".join(leak))
            markdown.append("### Leakage\n\n" + "\n".join(f"- {line}" for line in leak) + "\n")
        return {"texts": texts, "markdown": markdown, "plots": []}

    def leakage(self, subtasks: list[str], folds: int, seed: int = 0) -> list[str]:
        """Per sub-task: the share of test structures with a conformer of their molecule in training, over ``folds`` splits."""
        out = []
        for sub in subtasks:
            graphs = self.dataset(sub)
            names = [g.molecule for g in graphs]
            shares = []
            for train, _, test in self.splits(graphs, sub, folds, seed):
                seen = {names[i] for i in train}
                shares.append(np.mean([names[i] in seen for i in test]))
            out.append(f"{sub}: {100 * np.mean(shares):.0f} % of test structures have a conformer of their molecule in training")
        return out
