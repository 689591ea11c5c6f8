r"""``h2o-modes``: the three normal modes of water as per-atom vector labels (SANN paper, §6.2, Tables 2 and 7).

Each sub-task (``symmetric``, ``bend``, ``asymmetric``) has two H₂O molecules, each randomly
rotated (seeded) and centred at the origin; the label of each atom is its component of the mode
(orthonormal eigenvector of the mass-weighted GFN2-xTB Hessian), rotated with the molecule.
The symmetric stretch and the bend keep the molecule's C2v; the asymmetric stretch keeps only the
mirror of the molecular plane (Cs), so an equivariant model cannot output it (Curie's principle).
"""

from __future__ import annotations

import numpy as np

from ..detect import detect_symmetry
from ..rotations import random_rotations
from ._base import TableSpec, Task, make_graph, register_task
from ..labels import load_water_modes

__all__ = ["WaterModesTask", "water_mode_dataset"]

_COLUMNS = (("Symmetric", "symmetric", "sbcd"), ("Bending", "bend", "sbcd"), ("Asymmetric", "asymmetric", "sbcd"))
_PAPER = {
    "schnet": ("0.907 ± 0.092", "0.924 ± 0.101", "0.852 ± 0.000"),
    "dimenet++": ("0.954 ± 0.095", "1.016 ± 0.093", "0.863 ± 0.009"),
    "egnn": ("0.000 ± 0.000", "0.142 ± 0.317", "0.852 ± 0.000"),
    "painn": ("0.011 ± 0.010", "0.012 ± 0.010", "0.008 ± 0.009"),
    "egnn+noise": ("0.002 ± 0.000", "0.002 ± 0.001", "0.806 ± 0.027"),
    "painn+noise": ("0.119 ± 0.104", "0.087 ± 0.068", "0.079 ± 0.019"),
    "schnet+mlp": ("0.801 ± 0.144", "0.479 ± 0.225", "0.571 ± 0.290"),
    "dimenet+mlp": ("0.626 ± 0.125", "0.134 ± 0.123", "0.167 ± 0.092"),
    "egnn+mlp": ("0.011 ± 0.019", "0.002 ± 0.004", "0.004 ± 0.010"),
    "painn+mlp": ("0.006 ± 0.004", "0.002 ± 0.000", "0.008 ± 0.009"),
    "painn-vector": ("3.470 ± 1.300", "7.381 ± 0.000", "11.19 ± 14.51"),
    "painn-vector+noise": ("6.782 ± 0.920", "9.017 ± 5.855", "22.13 ± 16.86"),
    "painn-vector+mlp": ("6.240 ± 2.260", "10.28 ± 4.690", "4.826 ± 1.170"),
    "sann": ("0.003 ± 0.002", "0.002 ± 0.002", "0.041 ± 0.079"),
}
_TABLE2 = ("schnet", "dimenet++", "egnn", "painn", "egnn+noise", "painn+noise", "schnet+mlp", "dimenet+mlp", "egnn+mlp", "painn+mlp", "sann")
_TABLE7 = ("painn", "painn+noise", "painn+mlp", "painn-vector", "painn-vector+noise", "painn-vector+mlp")


def _zero_prediction_scores() -> str:
    """SBCD of predicting zero vectors: 3·min_i |y_i|² (the one-sided Chamfer distance), per mode."""
    water = load_water_modes()
    scores = [3 * float(np.min(np.sum(water.mode(m) ** 2, axis=1))) for _, m, _ in _COLUMNS]
    return " / ".join(f"{s:.3f}" for s in scores)


_NOTE = (
    f"Predicting zero vectors scores {_zero_prediction_scores()} (symmetric / bending / asymmetric): the labels are the "
    "orthonormal mass-weighted modes, so our scale is not the paper's; compare which models get far below that."
)


#: the paper's 0.1 on its scale, where models that cannot move at all (SchNet and EGNN on the
#: asymmetric stretch, 0.852 ± 0.000) mark "learned nothing"; on ours, predicting zero marks it
_PAPER_NOTHING = 0.852
_RULE = dict(
    rule="folds",
    paper_threshold=0.1,
    rule_note=(
        "The paper's rule (green: no fold reaches 0.1; red: every fold does) is on the scale of its labels, where its "
        f"models that cannot move at all score {_PAPER_NOTHING} (SchNet and EGNN, asymmetric stretch, ± 0.000); it is not "
        "ours, and our labels (orthonormal mass-weighted modes) have another scale. The symmetric stretch and the bend keep "
        "the molecule's C2v, so their Curie bound is 0 and staying symmetric is no verdict there; the asymmetric "
        "stretch averages to zero over C2v, so its bound is predicting zero."
    ),
)


def _paper_cells(rows: tuple[str, ...]) -> dict[tuple[str, str], str]:
    return {(r, header): _PAPER[r][i] for r in rows if r in _PAPER for i, (header, _, _) in enumerate(_COLUMNS)}


def water_mode_dataset(mode: str, *, copies: int = 2, seed: int = 0) -> list:
    """``copies`` randomly rotated, centred water molecules labelled with the named mode's vectors."""
    water = load_water_modes()
    labels = water.mode(mode)
    out = []
    for rot in random_rotations(copies, seed=seed):
        pos = water.positions @ rot.T
        pos -= pos.mean(axis=0)
        out.append(make_graph(water.numbers, pos, labels @ rot.T, detect_symmetry(pos, water.numbers)))
    return out


#: the other mechanisms symbreak offers: rows of the SB-MSE table when run (--models), not in the paper
MECHANISMS = ("egnn+canon", "painn+canon", "egnn+learned-canon", "painn+learned-canon", "egnn+sympe", "painn+sympe", "egnn+sbs", "painn+sbs", "relaxed-e3nn")


@register_task("h2o-modes")
class WaterModesTask(Task):
    """Normal modes of H₂O (SANN paper, Tables 2 and 7): SBCD, train = validation = test."""

    description = "normal modes of H2O from a GFN2-xTB Hessian (SANN Tables 2, 7)"
    subtasks = ("symmetric", "bend", "asymmetric")
    # the paper trains with SBCD; SB-MSE (atom-matched, cannot be minimised by collapse) shows
    # what each model can learn when the loss cannot be gamed
    losses = ("sbcd", "sbmse")
    kind = "vectors"
    select = "last"  # train = validation = test: the paper's fixed 100 epochs, no selection on the test set
    # a smoke run: every sub-task, model and loss once (one seed, the middle σ of +noise's sweep), 84 jobs instead of 240
    quick = {"folds": 1, "epochs": 5, "sigmas": (0.01,)}
    models = tuple(dict.fromkeys(_TABLE2 + _TABLE7))
    tables = (
        TableSpec("Table 2: normal modes of H2O, test SBCD (mean ± std over folds)", _TABLE2, _COLUMNS, _paper_cells(_TABLE2), note=_NOTE, **_RULE),
        TableSpec(
            "Table 7: PaiNN, tensor-valued (gated equivariant output) vs vector-valued (energy gradient)",
            _TABLE7,
            _COLUMNS,
            _paper_cells(_TABLE7),
            note=_NOTE,
            **_RULE,
        ),
        TableSpec(
            "Table 2, trained with SB-MSE (not in the paper): normal modes of H2O, test SB-MSE (mean ± std over folds)",
            _TABLE2 + MECHANISMS,
            tuple((header, sub, "sbmse") for header, sub, _ in _COLUMNS),
            note="Every model of Table 2 trained with the atom-matched SB-MSE instead of the paper's SBCD, which collapse "
            "minimises; predicting zero scores 1/9 = 0.111 on every mode (orthonormal modes, mean over 3 atoms × 3 coordinates).",
            shown=len(_TABLE2),
            **_RULE,
        ),
    )

    def dataset(self, subtask: str) -> list:
        return water_mode_dataset(subtask)
