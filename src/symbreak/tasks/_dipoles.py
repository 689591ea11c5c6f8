r"""``dipoles``: atomic dipoles that break a molecule's symmetry (SANN paper, §6.3, Table 3).

The data sets are made by :func:`symbreak.tasks.generate_dipoles` (module ``_dipole_data``) and
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
from ._base import TableSpec, Task, kfold_splits, make_graph, register_task
from ._dipole_data import SOURCES

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


@register_task("dipoles")
class Dipoles(Task):
    """Symmetry-breaking atomic dipoles (SANN Table 3): 10 random 60/20/20 splits, Chamfer distance on test."""

    description = "atomic dipoles that break the molecule's symmetry: Hirshfeld (DFT) and GFN2-xTB labels (SANN Table 3)"
    subtasks = ("dft", "gfn2")
    losses = ("sbcd",)
    kind = "vectors"
    # the paper tuned SANN over its Table 6 grid; layers=3 is the setting our search preferred on
    # validation (docs/results/dipoles.md lists both), so both run by default
    models = (*_PAPER, "sann[layers=3]")
    epochs = 100
    lr = 1e-3
    batch_size = 16
    folds = 10
    threshold = 0.01
    tables = (
        TableSpec(
            "Table 3: atomic dipoles, test CD (mean ± std over random 60/20/20 splits)",
            rows=tuple(_PAPER),
            columns=(("CD, Hirshfeld DFT", "dft", "sbcd", "cd"), ("CD, GFN2-xTB", "gfn2", "sbcd", "cd")),
            paper={(k, "CD, Hirshfeld DFT"): v for k, v in _PAPER.items()},
            note="Labels: Hirshfeld atomic dipoles of PBE0/def2-SVP densities (the paper's kind of label, QM7-X used "
            "PBE0+MBD) and GFN2-xTB atomic dipoles, both in e·bohr, of G2 and NCI molecules and their conformers; not QM7-X "
            "itself, so values are comparable in kind (which model learns), not in size. The paper's values are for its "
            "QM7-X subset. Models train with SBCD and are scored by plain CD.",
        ),
    )

    def dataset(self, subtask: str) -> list:
        graphs = []
        for atoms in load_dipoles(subtask):
            sym = detect_symmetry(atoms.positions, atoms.numbers, tol=0.2)
            pos = atoms.positions - atoms.positions.mean(axis=0)
            graphs.append(make_graph(atoms.numbers, pos, atoms.arrays["dipoles"], sym))
        return graphs

    def splits(self, n: int, folds: int, seed: int) -> list:
        return kfold_splits(n, folds, seed)

    def report_extras(self, records: list[dict], out: Any) -> dict[str, list]:
        """The score of predicting zero dipoles, for scale: mean over structures of Σ_i min_j |μ_j|²."""
        texts = []
        for source in [s for s in self.subtasks if any(r["subtask"] == s for r in records)]:
            zero = float(np.mean([len(a) * np.min(np.sum(a.arrays["dipoles"] ** 2, axis=1)) for a in load_dipoles(source)]))
            texts.append(f"Predicting zero dipoles scores CD {zero:.4f} (e·bohr)² on the {source} labels: the scale of that column.")
        markdown = [t + "\n" for t in texts]
        # validation scores, which pick among settings of one model (the paper's Table 6 search)
        rows = {}
        for r in records:
            rows.setdefault((r["subtask"], r["model"]), []).append(r["val"])
        if rows:
            lines = ["| Labels | Model | Validation SBCD (mean over splits) | Splits |", "|---|---|---|---|"]
            lines += [f"| {sub} | {model} | {np.mean(v):.4f} | {len(v)} |" for (sub, model), v in sorted(rows.items())]
            texts.append("Validation SBCD (model selection):\n" + "\n".join(f"  {sub:5s} {model:28s} {np.mean(v):.4f} ({len(v)} splits)" for (sub, model), v in sorted(rows.items())))
            markdown.append("### Validation scores (what a hyper-parameter search selects on)\n\n" + "\n".join(lines) + "\n")
        return {"texts": texts, "markdown": markdown, "plots": []}
