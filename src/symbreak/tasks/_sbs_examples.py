r"""``sbs-examples``: Xie & Smidt's three examples of equivariant symmetry-breaking sets, side by side.

Each sub-task is one symmetric input and one less symmetric target, a displacement per atom
(``kind = "vectors"``), scored by the atom-matched symmetry-breaking error SB-MSE (min over the
input's group, so any of the target's equivalent images counts):

* ``prism`` — a triangular prism (D3h) sheared in plane, the same for both triangles: the target
  keeps C\ :sub:`s` (the horizontal mirror) only. Equivariant set: 6 in-plane vectors (ideal).
* ``batio3`` — cubic BaTiO3 (Pm-3m, a = 4.0077 Å, one periodic 5-atom cell) → the tetragonal
  ferroelectric (P4mm): Ti and O shift along z, opposite ways. Oh → C4v; the set is ±x, ±y, ±z.
  The shifts are the P4mm internal coordinates (Kwei et al. 1993: Ti z = 0.482, apical O
  z = 0.016, equatorial O z = 0.515 with Ba at the origin) times c = 4.103 Å from the lattice the
  authors' notebook used (3.990, 3.990, 4.103 Å). The lattice strain (c/a), a global l = 0 ⊕ 2
  quantity, is not a per-atom output and is not predicted here.
* ``octagon`` — a planar octagon of 8 corner atoms and 8 edge-centre atoms (D8h) whose edge
  atoms all slide along their edge the same way round: a pinwheel, chiral in the plane, C8h.
  The smallest ideal equivariant set is 2 objects (an axial vector ±z: :func:`~symbreak.groups.minimal_sbs`),
  but the registered models read polar vectors, and no polar vector keeps C8h: they get the 16
  in-plane vectors that break further, to C\ :sub:`s` (not ideal; still enough to fit the target).

The Curie bound of each sub-task — the best an equivariant model without a breaker can do — is the
error of the average of the target's images, :math:`\frac1{|G|}\sum_g g\cdot u`: zero for BaTiO3 and
the octagon (so the bound is predicting zero), the shear's symmetric breathing part for the prism.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np

from ..detect import detect_symmetry
from ..groups import PointGroup
from ..models import model_class
from ._base import TableSpec, Task, make_graph, register_task

__all__ = ["SBSExamples", "sbs_example", "BATIO3_CUBIC_A", "BATIO3_TETRAGONAL"]

#: the cubic lattice constant (Å) and the tetragonal lattice (a, b, c) the authors' notebook used
BATIO3_CUBIC_A = 4.0077
BATIO3_TETRAGONAL = (3.990, 3.990, 4.103)
#: P4mm fractional z shifts from the cubic positions (Kwei et al., J. Phys. Chem. 97, 2368 (1993)):
#: Ba, Ti, apical O, the two equatorial O
_BATIO3_SHIFT_Z = (0.0, 0.482 - 0.5, 0.016, 0.515 - 0.5, 0.515 - 0.5)
_BATIO3_FRAC = np.array([[0.0, 0.0, 0.0], [0.5, 0.5, 0.5], [0.5, 0.5, 0.0], [0.5, 0.0, 0.5], [0.0, 0.5, 0.5]])
_BATIO3_Z = (56, 22, 8, 8, 8)

_MODELS = (
    "egnn", "painn", "e3nn", "egnn+noise", "painn+noise", "egnn+canon", "painn+canon",
    "egnn+learned-canon", "painn+learned-canon", "egnn+sympe", "painn+sympe", "egnn+sbs", "painn+sbs", "e3nn+sbs",
    "e3nn+sbs-axial", "relaxed-e3nn", "sann",
)  # fmt: skip
#: ``--quick``'s models: every backbone and every kind of input, five of them periodic (BaTiO3)
_QUICK_MODELS = ("egnn", "painn+noise", "egnn+canon", "painn+sympe", "egnn+sbs", "e3nn+sbs-axial", "relaxed-e3nn", "sann")
#: the subgroup each example breaks to
TARGETS = {"prism": "Cs", "batio3": "C4v", "octagon": "C8h"}
#: the authors' numbers, as the issue quotes their notebooks (BaTiO3 also in papers.md): their e3nn
#: gate network with the SBS input, and without it; their own loss on their own distortion and their
#: structure mismatch, not SB-MSE
_PAPER = {
    ("e3nn", "Prism D3h → Cs"): "1e-4 (their loss, their target)", ("e3nn+sbs", "Prism D3h → Cs"): "1.7e-11 (their loss, their target)",
    ("e3nn", "BaTiO3 Oh → C4v"): "0.248 (mismatch)", ("e3nn+sbs", "BaTiO3 Oh → C4v"): "1e-13 (mismatch)",
}  # fmt: skip


def _set_valued(spec: str) -> bool:
    """Whether the spec's input is scored as a set (SBS, SymPE), not a fixed choice (+canon)."""
    from ..models import INPUTS, ModelSpec

    return any(getattr(INPUTS[v], "set_valued", False) for v in ModelSpec.parse(spec).variants if v in INPUTS)


def _prism() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    t = np.radians([90.0, 210.0, 330.0])
    ring = np.stack([1.2 * np.cos(t), 1.2 * np.sin(t), np.zeros(3)], axis=1)
    x = np.concatenate([ring + [0, 0, 0.8], ring - [0, 0, 0.8]])
    shear = np.array([[0.2, 0.05, 0.0], [0.13, -0.1, 0.0], [0.0, 0.0, 0.0]])  # in plane, the same for both triangles
    return x, np.full(6, 6), x @ shear.T + np.array([0.07, -0.04, 0.0])


def _octagon() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r, slide = 1.5, 0.25
    corner = np.radians(45.0 * np.arange(8))
    mid = corner + np.radians(22.5)
    rm = r * np.cos(np.radians(22.5))
    x = np.concatenate([np.stack([r * np.cos(corner), r * np.sin(corner), np.zeros(8)], 1), np.stack([rm * np.cos(mid), rm * np.sin(mid), np.zeros(8)], 1)])
    u = np.zeros_like(x)
    u[8:] = slide * np.stack([-np.sin(mid), np.cos(mid), np.zeros(8)], 1)  # counter-clockwise along each edge
    return x, np.array([6] * 8 + [7] * 8), u


def _lattice_symmetry(frac: np.ndarray, numbers: tuple[int, ...], group: str) -> SimpleNamespace:
    """The point group of a symmorphic crystal about the origin (an atom's site), with the atom map
    modulo lattice translations: ``operations[g]`` carries atom i onto ``permutations[g, i]``."""
    ops = PointGroup(group).operations  # cubic axes along x, y, z: the cell's
    perms = []
    for r in ops:
        moved = frac @ np.rint(r).T
        diff = (moved[:, None] - frac[None] + 0.5) % 1.0 - 0.5
        hit = (np.abs(diff).max(axis=-1) < 1e-8) & (np.array(numbers)[:, None] == np.array(numbers)[None])
        if not (hit.sum(axis=1) == 1).all():  # pragma: no cover - a bug, not an input
            raise ValueError(f"the structure is not {group}-symmetric about the origin")
        perms.append(hit.argmax(axis=1))
    # the crystal is given in its standard setting (cubic axes along x, y, z): that is its canonical pose
    return SimpleNamespace(operations=ops, permutations=np.array(perms), point_group=group, orientation=np.eye(3), frame=np.eye(3))


def sbs_example(name: str) -> dict:
    """One example's input and target: ``{"z", "positions", "displacement", "symmetry", "target", "cell"}``
    (cell None for molecules); ``symmetry``: the input's, with operations, permutations and orientation."""
    if name == "batio3":
        a = BATIO3_CUBIC_A
        u = np.zeros((5, 3))
        u[:, 2] = np.array(_BATIO3_SHIFT_Z) * BATIO3_TETRAGONAL[2]
        return {"z": np.array(_BATIO3_Z), "positions": _BATIO3_FRAC * a, "displacement": u, "cell": np.eye(3) * a,
                "symmetry": _lattice_symmetry(_BATIO3_FRAC, _BATIO3_Z, "Oh"), "target": TARGETS[name]}  # fmt: skip
    if name not in ("prism", "octagon"):
        raise ValueError(f"unknown example {name!r}; choose from {', '.join(TARGETS)}")
    x, z, u = _prism() if name == "prism" else _octagon()
    return {"z": z, "positions": x, "displacement": u, "cell": None, "symmetry": detect_symmetry(x, z), "target": TARGETS[name]}


@register_task("sbs-examples")
class SBSExamples(Task):
    """Xie & Smidt's examples (triangular prism, BaTiO3, chiral octagon): models with and without a symmetry-breaking set."""

    description = "symmetry-breaking sets: prism D3h→Cs, BaTiO3 cubic→tetragonal (periodic), chiral octagon D8h→C8h (Xie & Smidt)"
    subtasks = ("prism", "batio3", "octagon")
    losses = ("sbmse",)
    kind = "vectors"
    select = "last"  # train = validation = test: one structure, no epoch is selected on it
    epochs = 400
    lr = 3e-3
    folds = 3
    patience = None
    clip_norm = 1.0  # PaiNN on the periodic cell (many images, summed) diverged to NaN in one of three seeds without it
    # a smoke run (21 jobs instead of 52): each backbone (EGNN, PaiNN, e3nn, the relaxed network, SANN) and each
    # kind of input (none, +noise at one σ, the fixed +canon, the set-valued +sympe, +sbs and axial +sbs-axial), the
    # periodic cell included; every table, the whole-set one too, comes out
    quick = {"folds": 1, "epochs": 10, "sigmas": (0.01,), "models": _QUICK_MODELS}
    models = _MODELS
    tables = (
        TableSpec(
            "Symmetry-breaking sets: SB-MSE (Å²) of one input's target after training (mean ± std over seeds)",
            rows=_MODELS,
            columns=(("Prism D3h → Cs", "prism", "sbmse"), ("BaTiO3 Oh → C4v", "batio3", "sbmse"), ("Octagon D8h → C8h", "octagon", "sbmse")),
            paper=_PAPER,
            note="The paper's values are the authors' notebooks with their e3nn gate network, in their own measures (a training "
            "loss, a structure mismatch): compare orders of magnitude, not digits. '—' for BaTiO3: the model builds molecular "
            "graphs and cannot read a unit cell. +sbs feeds one element of the symmetry-breaking set per pass (drawn at random "
            "in training, element 0 at test); its record also holds set_fit/set_cover, the whole set of outputs against the "
            "target's images. The octagon's set is 16 polar vectors that break D8h to Cs, not the ideal 2 axial ones.",
            rule="mean",
            rule_note="A model that learns below the Curie bound breaks the symmetry. For BaTiO3 and the octagon the bound "
            "is predicting zero (the target averages to zero over the input's group); for the prism it is 94 % of "
            "predicting zero, since the shear's symmetric part, a breathing, needs no breaking: a model at the prism's bound "
            "has learned that part and stays symmetric.",
        ),
    )

    def applies(self, subtask: str, model: str) -> bool:
        return subtask != "batio3" or bool(getattr(model_class(model), "periodic", False))

    def dataset(self, subtask: str) -> list:
        ex = sbs_example(subtask)
        extra = {"sbs_target": ex["target"]}
        if ex["cell"] is not None:
            import torch

            extra["cell"] = torch.tensor(ex["cell"], dtype=torch.get_default_dtype())[None]
        return [make_graph(ex["z"], ex["positions"], ex["displacement"], ex["symmetry"], **extra)]

    def report_extras(self, records: list[dict], out: Any) -> dict[str, list]:
        """The +sbs models' whole sets of outputs against the target's images (``set_fit``, ``set_cover``)."""
        rows = []
        for sub in self.subtasks:
            bound = self.curie_bound(sub, "sbmse") if any(r["subtask"] == sub for r in records) else float("nan")
            for model in dict.fromkeys(r["model"] for r in records if "set_fit" in r["test"] and r["subtask"] == sub and _set_valued(r["model"])):
                mine = [r["test"] for r in records if r["model"] == model and r["subtask"] == sub]
                fit, cover = (float(np.mean([t[k] for t in mine])) for k in ("set_fit", "set_cover"))
                rows.append((sub, model, fit, cover, bound))
        if not rows:
            return {"texts": [], "markdown": [], "plots": []}
        why = ("set fit: mean over the set's elements (for SymPE: over its inversion kernel, each draw equally likely) of the "
               "SB-MSE of that element's output; set cover: mean over the target's images g·y of the closest output. Both near 0: "
               "every element gives a valid answer and every valid answer is given (Xie & Smidt's equivariance at work). Curie "
               "bound: the target averaged over the input's group (predicting zero for BaTiO3 and the octagon).")  # fmt: skip
        text = ["Whole symmetry-breaking sets (mean over seeds):"] + [
            f"  {s:8s} {m:10s} set fit {f:.2e}  set cover {c:.2e}  (Curie bound {z:.2e})" for s, m, f, c, z in rows
        ]
        md = ["| Sub-task | Model | Set fit (Å²) | Set cover (Å²) | Curie bound (Å²) |", "|---|---|---|---|---|"]
        md += [f"| {s} | {m} | {f:.2e} | {c:.2e} | {z:.2e} |" for s, m, f, c, z in rows]
        return {"texts": ["\n".join(text + [why])], "markdown": ["### Whole sets of outputs\n\n" + "\n".join(md) + "\n\n" + why + "\n"], "plots": []}
