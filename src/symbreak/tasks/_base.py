r"""What a benchmark task is: data made in code, how to split it, how to score it, the paper's numbers."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import numpy as np

from .._errors import SymbreakError
from .._lazy import LazyRegistry

__all__ = ["Task", "TableSpec", "register_task", "get_task", "available_tasks", "TASKS", "make_graph", "identical_splits", "kfold_splits", "grouped_splits"]

_T = "symbreak.tasks."
#: name → Task class; builtins are imported when first used (listing the names imports nothing)
TASKS = LazyRegistry("task", {
    "square-ssb": _T + "_square:SquareSSB", "h2o-modes": _T + "_h2o:WaterModesTask", "dipoles": _T + "_dipoles:Dipoles",
    "shape-deformation": _T + "_shapes:ShapeDeformation", "charged-particle": _T + "_charged:ChargedParticle",
    "canonicalization": _T + "_canonical:Canonicalization", "sbs-examples": _T + "_sbs_examples:SBSExamples",
    "graph-autoencoding": _T + "_graph_ae:GraphAutoencoding", "ising": _T + "_ising:IsingGroundStates",
})  # fmt: skip


def register_task(name: str) -> Callable:
    """Class decorator: make a :class:`Task` runnable as ``symbreak bench <name>``."""

    def deco(cls: type) -> type:
        cls.name = name
        TASKS.register(name, cls)
        return cls

    return deco


def available_tasks() -> list[str]:
    """Names of the registered tasks."""
    return sorted(TASKS)


def get_task(name: str) -> "Task":
    """An instance of the task registered as ``name``."""
    if name not in TASKS:
        raise SymbreakError(f"unknown task {name!r}; registered: {', '.join(available_tasks())}")
    return TASKS[name]()


@dataclass(frozen=True)
class TableSpec:
    """One results table in a paper's layout.

    rows: model specs; columns: (subtask, loss) pairs, each with a header; paper: the published
    value of a (row, header) cell, as printed there.
    """

    title: str
    rows: tuple[str, ...]
    columns: tuple[tuple[str, ...], ...]  # (header, subtask, loss[, measure read from the record's "test"])
    paper: dict[tuple[str, str], str] = field(default_factory=dict)
    note: str = ""
    #: a per-atom table gets a companion table of verdicts, all by one rule
    #: (:func:`symbreak.bench._report.verdict`: ``verdict_measure`` paired by fold with predicting
    #: zero and with the Curie bound, :meth:`Task.curie_bound`). ``rule`` names how the *paper*
    #: reads its printed values at ``paper_threshold``: "mean" — learns when its mean is below;
    #: "folds" — learns when no fold reaches it, fails when every fold does, mixed otherwise.
    #: None: no verdict table; the task's own ``threshold`` on the mean.
    rule: str | None = None
    verdict_measure: str = "sbmse"
    #: the paper's own threshold on its printed values (its rule, judged from mean ± std for
    #: "folds"); None where the paper has no rule
    paper_threshold: float | None = None
    #: what the verdicts mean on the scale of our labels, and how the paper's relate (printed on the page)
    rule_note: str = ""
    #: how many of ``rows`` always show (the paper's); the rows after them show only when run
    shown: int | None = None


def make_graph(z: Sequence[int], positions: np.ndarray, labels: np.ndarray, symmetry: Any, **extra: Any) -> Any:
    """A PyG ``Data`` with ``z`` (n,), ``pos`` (n, 3), ``y`` (n, d) and ``sym``: the structure's
    frozen :class:`~symbreak.Symmetry`, detected once, at the task's tolerance (any other object
    with ``operations``, ``permutations`` and ``point_group`` is copied into a plain record)."""
    import torch
    from torch_geometric.data import Data

    from ..detect import Symmetry

    if isinstance(symmetry, Symmetry):
        sym = symmetry
    else:
        sym = SimpleNamespace(operations=np.array(symmetry.operations), permutations=np.array(symmetry.permutations), point_group=symmetry.point_group)
        for key in ("orientation", "frame"):  # the group's standard frame (symmetry-breaking sets), the canonical one (SymPE)
            if getattr(symmetry, key, None) is not None:
                setattr(sym, key, np.array(getattr(symmetry, key)))
    return Data(
        z=torch.tensor(list(z), dtype=torch.long),
        pos=torch.tensor(np.array(positions), dtype=torch.get_default_dtype()),
        y=torch.tensor(np.array(labels), dtype=torch.get_default_dtype()),
        sym=sym,
        **extra,
    )


def identical_splits(n: int, folds: int, seed: int) -> list[tuple[list[int], list[int], list[int]]]:
    """Train = validation = test = everything, once per fold (the paper's synthetic tasks: folds differ by seed only)."""
    every = list(range(n))
    return [(every, every, every) for _ in range(folds)]


def grouped_splits(groups: Sequence[Any], folds: int, seed: int, *, fractions: tuple[float, float, float] = (0.6, 0.2, 0.2)) -> list[tuple[list[int], list[int], list[int]]]:
    """``folds`` random train/validation/test splits of the *groups* (e.g. molecules) in the given
    fractions: every member of a group lands in the same part, so no test structure has a conformer
    of its molecule in training (seeded)."""
    names = list(dict.fromkeys(groups))
    members: dict[Any, list[int]] = {}
    for i, g in enumerate(groups):
        members.setdefault(g, []).append(i)
    out = []
    for train, val, test in kfold_splits(len(names), folds, seed, fractions=fractions):
        out.append(tuple(sorted(i for k in part for i in members[names[k]]) for part in (train, val, test)))
    return out


def kfold_splits(n: int, folds: int, seed: int, *, fractions: tuple[float, float, float] = (0.6, 0.2, 0.2)) -> list[tuple[list[int], list[int], list[int]]]:
    """``folds`` random train/validation/test splits in the given fractions (seeded)."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(folds):
        perm = rng.permutation(n).tolist()
        a = int(round(fractions[0] * n))
        b = a + int(round(fractions[1] * n))
        out.append((perm[:a], perm[a:b], perm[b:]))
    return out


class Task:
    r"""A benchmark: its data, splits, how a model's output becomes a prediction, and its tables.

    Subclass, set the class attributes, implement :meth:`dataset`, and decorate with
    :func:`register_task`; ``symbreak bench`` then runs it with no edit to the harness.

    Attributes
    ----------
    subtasks: sub-datasets (e.g. one per normal mode); ``("",)`` for one.
    losses: training losses to compare ("cd", "sbcd", "mse").
    kind: how the input's symmetry acts on the labels (``"positions"``, ``"vectors"``, ...).
    epochs, lr, folds, batch_size, patience: the paper's training settings.
    select: ``"last"`` (train ``epochs``, keep the last weights: the only choice when validation
    is the test set) or ``"best"`` (best validation epoch, early stopping after ``patience``).
    schedule: ``"onecycle"`` or ``"plateau"`` (see :func:`symbreak.bench.fit`).
    symmetry_tol: the tolerance (Å) the task's symmetries are detected at; models that detect
    symmetry themselves (SANN) get the same.
    clip_norm: the largest gradient norm of a training step (None: no clipping).
    quick: overrides for ``--quick``.
    models: the default model list.
    threshold: success threshold of the verdict of tables without a ``rule`` (per-atom tables
    judge against predicting zero instead, see :class:`TableSpec`).
    verdicts: the verdict's words below and above ``threshold``.
    """

    name: str = ""
    description: str = ""
    subtasks: tuple[str, ...] = ("",)
    losses: tuple[str, ...] = ("sbcd",)
    kind: str = "vectors"
    epochs: int = 100
    lr: float = 1e-4
    folds: int = 10
    batch_size: int = 1
    patience: int = 25
    select: str = "best"
    schedule: str = "onecycle"
    symmetry_tol: float = 0.1
    clip_norm: float | None = None
    threshold: float = 0.1  # a model "learns" the task when its mean test metric is below this
    verdicts: tuple[str, str] = ("learns", "fails")
    quick: dict[str, Any] = {"folds": 2, "epochs": 5}
    models: tuple[str, ...] = ()
    tables: tuple[TableSpec, ...] = ()

    #: optional ``run_job(job, graphs, progress, checkpoint) -> dict`` for tasks that train something
    #: other than a per-atom model (the record must hold ``test``: {measure: value}); ``checkpoint``
    #: is a file the job may keep its partial state in, so an interrupted long job resumes; None:
    #: the standard loop
    run_job: Callable[..., dict[str, Any]] | None = None

    def report_extras(self, records: list[dict[str, Any]], out: Any) -> dict[str, list]:
        """Extra report content beyond the tables: ``{"texts": [...], "markdown": [...], "plots": [paths]}``."""
        return {"texts": [], "markdown": [], "plots": []}

    def dataset(self, subtask: str) -> list[Any]:  # pragma: no cover - abstract
        """The task's graphs (PyG ``Data``: z, pos, y, sym)."""
        raise NotImplementedError

    def splits(self, graphs: Sequence[Any], subtask: str, folds: int, seed: int) -> list[tuple[list[int], list[int], list[int]]]:
        """(train, validation, test) index lists into ``graphs``, one per fold; the first k of k+1 folds are the k folds."""
        return identical_splits(len(graphs), folds, seed)

    def job_settings(self) -> dict[str, Any]:
        """For tasks with their own ``run_job``: settings beyond the job's identity that change its result (part of its key)."""
        return {}

    def applies(self, subtask: str, model: str) -> bool:
        """Whether ``model`` can run on ``subtask`` (a periodic sub-task needs a model that reads
        cells); the jobs it cannot run are not planned and its cells stay empty."""
        return True

    def predict(self, model: Any, batch: Any) -> Any:
        """The prediction compared with ``batch.y``: by default the model's per-atom output."""
        return model(batch)

    def curie_bound(self, subtask: str, measure: str = "sbmse", *, fold: int = 0, seed: int = 0, graphs: Sequence[Any] | None = None) -> float:
        r"""The Curie bound of fold ``fold``'s test set: ``measure`` of predicting, for every
        structure, its label averaged over its input's symmetry group,

        .. math:: \bar y = \frac{1}{|G|} \sum_{g \in G} g \cdot y, \qquad (g \cdot y)_{\pi_g(i)} = R_g\, y_i,

        the best an exactly equivariant model without a symmetry breaker can output (Curie's
        principle: its output keeps G, and :math:`\bar y` is the G-invariant label closest to y).
        Zero for labels that keep the input's symmetry; predicting zero's score for labels whose
        group average vanishes (a stretch of a square, the asymmetric stretch of water).
        ``kind = "positions"`` labels are averaged about the input's centroid, and the
        prediction goes through :meth:`predict` as a model's would. Computed, never trained.

        graphs: the sub-task's data set, if already read (default: :meth:`dataset`).
        """
        import torch

        from ..training import evaluate

        class GroupAverage(torch.nn.Module):
            def forward(self, data: Any) -> torch.Tensor:
                return data.curie

        graphs = self.dataset(subtask) if graphs is None else graphs
        test = self.splits(graphs, subtask, fold + 1, seed)[fold][2]
        picked = [_with_group_average(graphs[i], self.kind) for i in test]
        return float(evaluate(GroupAverage(), picked, self.predict, self.kind, [measure])[measure])


def _with_group_average(graph: Any, kind: str) -> Any:
    """A copy of ``graph`` holding ``curie``: what a model must output for :meth:`Task.predict` to give
    the group average of the label (the averaged label, or for positions its offset from ``pos``)."""
    from ..metrics import transform_labels

    g = graph.clone()
    centre = g.pos.mean(dim=0) if kind == "positions" else None
    y = g.y if centre is None else g.y - centre
    mean = transform_labels(y, g.sym.operations, g.sym.permutations, kind).mean(dim=0)
    g.curie = mean if centre is None else mean + centre - g.pos
    return g
