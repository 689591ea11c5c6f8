r"""What a benchmark task is: data made in code, how to split it, how to score it, the paper's numbers."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import numpy as np

from .._errors import SymbreakError
from .._lazy import LazyRegistry

__all__ = ["Task", "OwnModelsTask", "fit_registered", "model_regularizer", "TableSpec", "register_task", "get_task", "available_tasks", "TASKS", "make_graph", "identical_splits", "kfold_splits", "grouped_splits"]

_T = "symbreak.tasks."
#: name → Task class; builtins are imported when first used (listing the names imports nothing)
TASKS = LazyRegistry("task", {
    "square-ssb": _T + "_square:SquareSSB", "h2o-modes": _T + "_h2o:WaterModesTask", "dipoles": _T + "_dipoles:Dipoles",
    "shape-deformation": _T + "_shapes:ShapeDeformation", "charged-particle": _T + "_charged:ChargedParticle",
    "canonicalization": _T + "_canonical:Canonicalization", "sbs-examples": _T + "_sbs_examples:SBSExamples",
    "graph-autoencoding": _T + "_graph_ae:GraphAutoencoding", "ising": _T + "_ising:IsingGroundStates",
    "water-pet": _T + "_water_pet:WaterPET", "spin-ground-states": _T + "_spins:SpinGroundStates",
    "cylinder-wake": _T + "_wake:CylinderWake", "qm9-generation": _T + "_qm9_gen:QM9Generation",
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
    """One structure as training data: a PyG ``Data`` with ``z`` (n,), ``pos`` (n, 3) Å, ``y``
    (n, d) (the per-atom labels) and ``sym``, the structure's frozen
    :class:`~symbreak.Symmetry` (:func:`~symbreak.detect_symmetry`, detected once, at the task's
    tolerance; any other object with ``operations``, ``permutations`` and ``point_group`` is
    copied into a plain record). Positions and labels are cast to torch's default dtype. Every
    ``extra`` keyword becomes an attribute of the same name (per-atom inputs such as ``vectors``
    (n, C, 3) or ``x`` (n, F), which the models read, see :func:`~symbreak.models.read_inputs`).

    Raises :class:`~symbreak.StructureError` when the arrays disagree in length, or the symmetry's
    permutations act on another number of atoms.

    >>> import numpy as np
    >>> from symbreak import detect_symmetry
    >>> x = np.array([[0.0, 0.0, 0.12], [0.0, 0.76, -0.48], [0.0, -0.76, -0.48]])
    >>> g = make_graph([8, 1, 1], x, np.zeros((3, 3)), detect_symmetry(x, [8, 1, 1]))
    >>> g.z.tolist(), tuple(g.y.shape), g.sym.point_group
    ([8, 1, 1], (3, 3), 'C2v')
    """
    import torch
    from torch_geometric.data import Data

    from .._errors import StructureError
    from ..detect import Symmetry

    z, positions, labels = list(z), np.asarray(positions, dtype=float), np.asarray(labels, dtype=float)
    n = len(z)
    if positions.shape != (n, 3):
        raise StructureError(f"make_graph: positions must be (n, 3) for the {n} atoms of z, got {positions.shape}")
    if labels.ndim < 1 or len(labels) != n:
        raise StructureError(f"make_graph: labels must be per atom, (n, d) with n = {n}, got {labels.shape}")
    if symmetry is None or not hasattr(symmetry, "operations") or not hasattr(symmetry, "permutations"):
        raise StructureError(f"make_graph: symmetry must be the structure's Symmetry (detect_symmetry(positions, numbers)), got {type(symmetry).__name__}")
    if np.shape(symmetry.permutations)[-1] != n:
        raise StructureError(f"make_graph: the symmetry's permutations act on {np.shape(symmetry.permutations)[-1]} atoms, the structure has {n}: detect it on this structure")
    if isinstance(symmetry, Symmetry):
        sym = symmetry
    else:
        sym = SimpleNamespace(operations=np.array(symmetry.operations), permutations=np.array(symmetry.permutations), point_group=symmetry.point_group)
        for key in ("orientation", "frame"):  # the group's standard frame (symmetry-breaking sets), the canonical one (SymPE)
            if getattr(symmetry, key, None) is not None:
                setattr(sym, key, np.array(getattr(symmetry, key)))
    return Data(
        z=torch.tensor(z, dtype=torch.long),
        pos=torch.tensor(positions, dtype=torch.get_default_dtype()),
        y=torch.tensor(labels, dtype=torch.get_default_dtype()),
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
    subtasks : tuple of str
        Sub-datasets (e.g. one per normal mode); ``("",)`` for one.
    losses : tuple of str
        Training losses to compare (``"cd"``, ``"sbcd"``, ``"mse"``).
    kind : str
        How the input's symmetry acts on the labels (``"positions"``, ``"vectors"``, ...).
    epochs, lr, folds, batch_size, patience : int or float
        The paper's training settings.
    select : str
        ``"last"`` (train ``epochs``, keep the last weights: the only choice when validation is
        the test set) or ``"best"`` (best validation epoch, early stopping after ``patience``).
    schedule : str
        ``"onecycle"`` or ``"plateau"`` (see :func:`symbreak.training.fit`).
    monitor, min_delta : str, float
        What chooses the kept epoch and when to stop (``"val"``, or ``"train"``: the training
        loss, so validation may be the test set), and the relative gain that counts as progress
        (:func:`~symbreak.training.fit`); ``bench --until-plateau`` sets ``"train"`` and 0.01.
    symmetry_tol : float
        The tolerance (Å) the task's symmetries are detected at; models that detect symmetry
        themselves (SANN) get the same.
    clip_norm : float or None
        The largest gradient norm of a training step (None: no clipping).
    quick : dict
        Overrides for ``--quick``.
    models : tuple of str
        The default model list.
    threshold : float
        Success threshold of the verdict of tables without a ``rule`` (per-atom tables judge
        against predicting zero instead, see :class:`TableSpec`).
    verdicts : tuple of str
        The verdict's words below and above ``threshold``.
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
    monitor: str = "val"
    min_delta: float = 0.0
    symmetry_tol: float = 0.1
    clip_norm: float | None = None
    threshold: float = 0.1  # a model "learns" the task when its mean test metric is below this
    verdicts: tuple[str, str] = ("learns", "fails")
    quick: dict[str, Any] = {"folds": 2, "epochs": 5}
    models: tuple[str, ...] = ()
    tables: tuple[TableSpec, ...] = ()

    #: whether the task's models are registered specs (``build_model``) that train per-atom through
    #: :func:`~symbreak.training.fit`: they run on any device, sweep σ for ``+noise``, can be saved,
    #: and the task's tables have a Curie bound. :class:`OwnModelsTask` sets it False.
    trains_registered_models: bool = True
    #: the suffix of the file a job keeps its partial state in (:meth:`run_job`'s ``checkpoint``)
    checkpoint_suffix: str = ".pt"
    #: how many fixed draws of a random input (``+noise``, ``+randvec``) make its set of outputs,
    #: scored like a symmetry-breaking set's (:func:`~symbreak.training.evaluate_draws`)
    set_draws: int = 16
    #: torch's intra-op threads while a job of this task runs (None: torch's default). One: the
    #: benchmarks' models are small, and two threads on a shared 2-core machine make each tiny
    #: operation hundreds of times slower; Ray's one-CPU workers run jobs the same way
    threads: int | None = 1

    def upgrade_record(self, record: dict[str, Any]) -> dict[str, Any]:
        """A record as this version writes it (e.g. a model renamed since; its key with it), so
        records of older versions are found again. By default the record as it is."""
        return record

    def report_extras(self, records: list[dict[str, Any]], out: Any) -> dict[str, list]:
        """Extra report content beyond the tables: ``{"texts": [...], "markdown": [...], "plots": [paths]}``."""
        return {"texts": [], "markdown": [], "plots": []}

    def dataset(self, subtask: str) -> list[Any]:  # pragma: no cover - abstract
        """The task's graphs (PyG ``Data``: z, pos, y, sym)."""
        raise NotImplementedError

    def splits(self, graphs: Sequence[Any], subtask: str, folds: int, seed: int) -> list[tuple[list[int], list[int], list[int]]]:
        """(train, validation, test) index lists into ``graphs``, one per fold; the first k of k+1 folds are the k folds."""
        return identical_splits(len(graphs), folds, seed)

    def job_settings(self, spec: str | None = None, *, batch_size: int = 1, patience: int | None = None, device: str = "cpu") -> dict[str, Any]:
        """Everything besides a job's identity that changes its result (part of its key): the
        batch size, patience, which epoch is kept, the schedule, the measures recorded, the model's
        resolved options (defaults included); the device when it is not the CPU (a GPU rounds
        differently, so its records are its own)."""
        import torch

        from ..metrics import REPORTED
        from ..models import model_config

        settings: dict[str, Any] = {}
        if device != "cpu":
            settings["device"] = torch.device(device).type
        options = self.model_options(spec)
        settings.update(
            batch_size=batch_size, patience=patience, select=self.select, schedule=self.schedule, measures=list(REPORTED),
            model=model_config(spec, **options), model_options=options,
        )  # fmt: skip
        if self.clip_norm is not None:  # only where a task clips: the other tasks' keys stay as they were
            settings["clip_norm"] = self.clip_norm
        if self.monitor != "val":  # trained to a plateau of the training loss (bench --until-plateau)
            settings.update(monitor=self.monitor, min_delta=self.min_delta)
        if self.symmetry_tol != type(self).symmetry_tol:  # the data's symmetries (SB measures) at another tolerance than the task's own
            settings["symmetry_tol"] = self.symmetry_tol
        return settings

    def model_options(self, spec: str) -> dict[str, Any]:
        """Options the task hands every model that takes them: the tolerance its symmetries were detected at."""
        from ..models import ModelSpec, model_config

        if "tol" in ModelSpec.parse(spec).options or "tol" not in model_config(spec):
            return {}
        return {"tol": self.symmetry_tol}

    def noise_sigmas(self, spec: str, sigmas: Sequence[float]) -> tuple[float | None, ...]:
        """The σ (Å) a ``spec``'s jobs sweep: ``sigmas`` for a ``+noise`` model, else ``(None,)``."""
        from ..models import ModelSpec

        return tuple(sigmas) if "noise" in ModelSpec.parse(spec).variants else (None,)

    def check_model(self, spec: str) -> None:
        """Refuse (:class:`~symbreak.SymbreakError`) a model this task cannot run, before any training."""
        from ..models import ModelSpec, build_model

        build_model(spec, **({"sigma": 0.01} if "noise" in ModelSpec.parse(spec).variants else {}))

    def check_settings(self, settings: dict[str, Any]) -> None:
        """Refuse (:class:`~symbreak.SymbreakError`) run settings this task cannot honour (the
        runner's resolved ``folds``, ``epochs``, ``lr``, ``limit``, ``device``, ...), before any
        training. By default every setting the runner checks is fine."""

    def check_loss(self, name: str) -> None:
        """Refuse a training loss this task cannot train with."""
        from ..metrics import LOSSES

        if name not in LOSSES:
            raise SymbreakError(f"unknown loss {name!r}; choose one of {sorted(LOSSES)}")

    def run_job(self, job: Any, graphs: list, *, progress: Any = None, checkpoint: Any = None, device: str = "cpu", save: Any = None,
                batch_size: int = 1, patience: int | None = None) -> dict[str, Any]:  # fmt: skip
        """Train and test one job (a :class:`~symbreak.bench.Job`); returns what it measured.

        The default experiment: ``build_model(job.model)`` trained per atom by
        :func:`~symbreak.training.fit` on the job's fold (resumable from ``checkpoint``), tested on
        the test draw of any random input, beside predicting zero (see :func:`fit_registered`).
        Tasks that train something else subclass :class:`OwnModelsTask` and override this.
        """
        return fit_registered(self, job, graphs, progress=progress, checkpoint=checkpoint, device=device, save=save, batch_size=batch_size, patience=patience)

    def applies(self, subtask: str, model: str) -> bool:
        """Whether ``model`` can run on ``subtask`` (a periodic sub-task needs a model that reads
        cells); the jobs it cannot run are not planned and its cells stay empty."""
        return True

    def predict(self, model: Any, batch: Any) -> Any:
        """The prediction compared with ``batch.y``: by default the model's per-atom output."""
        return model(batch)

    def score_trained(self, model: Any, graphs: Sequence[Any]) -> dict[str, Any]:
        """Task-specific measures of a trained model on its test structures (prepared as the model
        reads them), merged into the record's ``test`` by :func:`fit_registered`; none by default."""
        return {}

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


class OwnModelsTask(Task):
    """A task whose experiment trains models of its own (not registered specs): the relaxed
    networks' fits, the graph tasks, canonicalization. It implements :meth:`run_job`, which may
    keep partial state in ``checkpoint`` (a JSON file) so an interrupted long job resumes, and
    :meth:`job_settings`, the settings beyond the job's identity that change its result. Its jobs
    train on the CPU whatever the device; ``models`` lists the names it runs."""

    trains_registered_models = False
    checkpoint_suffix = ".json"

    def job_settings(self, spec: str | None = None, **_: Any) -> dict[str, Any]:
        return {}

    def noise_sigmas(self, spec: str, sigmas: Sequence[float]) -> tuple[float | None, ...]:
        return (None,)

    def check_model(self, spec: str) -> None:
        if spec not in self.models:
            raise SymbreakError(f"task {self.name!r} runs its own models {list(self.models)}; got {spec!r}")

    def check_loss(self, name: str) -> None:
        """Only the task's own losses (``losses``): any other name would be recorded but not trained on."""
        if name not in self.losses:
            raise SymbreakError(f"{self.name} trains its own models on {', '.join(map(repr, self.losses))}: --loss {name!r} does not apply to it")

    def check_settings(self, settings: dict[str, Any]) -> None:
        """``--save-models`` keeps registered models only: refused rather than silently saving nothing."""
        if settings.get("save_models"):
            raise SymbreakError(f"{self.name} trains models of its own, which --save-models does not keep")

    def run_job(self, job: Any, graphs: list, *, progress: Any = None, checkpoint: Any = None, **_: Any) -> dict[str, Any]:  # pragma: no cover - abstract
        raise NotImplementedError


def model_regularizer(model: Any) -> Callable[[Any], Any] | None:
    """The regulariser a model's inputs ask training to add (``+learned-canon``'s prior toward the
    identity frame, :func:`~symbreak.models.canonicalization_prior`), or None when none does: the
    other models train on their loss alone, exactly as before."""
    from ..models import LearnedCanonicalization, canonicalization_prior

    return canonicalization_prior if any(isinstance(m, LearnedCanonicalization) for m in model.modules()) else None


def fit_registered(task: Task, job: Any, graphs: list, *, progress: Any = None, checkpoint: Any = None, device: str = "cpu", save: Any = None,
                   batch_size: int = 1, patience: int | None = None) -> dict[str, Any]:  # fmt: skip
    """The default experiment of a :class:`Task`: train ``build_model(job.model)`` on fold
    ``job.fold`` with :func:`~symbreak.training.fit` and test it.

    The record holds, on the test set: every measure of :data:`~symbreak.metrics.REPORTED`, the
    fraction of molecules whose prediction collapsed (fewer distinct vectors than the target), and
    the same measures for predicting zero (``zero``), the "learned nothing" baseline the verdicts
    compare with; the job's loss on the training set at the kept weights (``kept_train``); and the
    validation and training curves (the training curve is each epoch's running loss). device: where the model trains; save: a file to write
    the trained model to (:func:`symbreak.models.save_model`); checkpoint: a file the training
    state is kept in after every epoch, so an interrupted job resumes.
    """
    import torch

    from ..metrics import REPORTED
    from ..models import build_model
    from ..training import ZeroModel, evaluate, fit
    from ..training._draws import evaluate_draws, random_inputs
    from ..training._fit import TEST_DRAW, VALIDATION_DRAW

    train_idx, val_idx, test_idx = task.splits(graphs, job.subtask, job.fold + 1, job.seed)[job.fold]
    torch.manual_seed(job.run_seed())
    model = build_model(job.model, **job.options()).to(device)
    prepare = getattr(model, "prepare_data", lambda g: g)  # e.g. SANN's symmetry graphs, once per structure
    prepared: dict[int, Any] = {}

    def pick(idx: Sequence[int]) -> list[Any]:
        """The structures of ``idx``, each prepared once: one index is one object in every part of
        the split, which is how :func:`fit` sees that validation and test share a structure."""
        for i in idx:
            if i not in prepared:
                prepared[i] = prepare(graphs[i])
        return [prepared[i] for i in idx]

    def on_epoch(epoch: int, row: dict[str, float]) -> None:
        if progress is not None:
            progress.set_postfix_str(f"{job.subtask or job.task} {job.model} {job.loss} fold {job.fold} epoch {epoch}/{job.epochs} val {row['val']:.4f}", refresh=False)

    result = fit(
        model, pick(train_idx), pick(val_idx), predict=task.predict, loss=job.loss, kind=task.kind, epochs=job.epochs, lr=job.lr,
        batch_size=batch_size, patience=patience, select=task.select, schedule=task.schedule, seed=job.run_seed(), on_epoch=on_epoch, device=device,
        clip_norm=task.clip_norm, test=pick(test_idx), checkpoint=checkpoint, regularizer=model_regularizer(model), monitor=task.monitor,
        min_delta=task.min_delta,
    )  # fmt: skip
    measures = sorted(set(REPORTED) | {job.loss})
    # the kept weights on their own training set, measured as validation is: with the epoch's
    # running loss alone a gap to validation cannot be told apart from a model that never fitted
    kept_train = evaluate(model, pick(train_idx), task.predict, task.kind, [job.loss], draw=VALIDATION_DRAW, device=device)[job.loss]
    # the test draw of any random input, not the validation draw fit selected on
    test = evaluate(model, pick(test_idx), task.predict, task.kind, measures, draw=TEST_DRAW, collapse=True)
    zero = evaluate(ZeroModel(), pick(test_idx), task.predict, task.kind, measures, collapse=True, device=device)
    if getattr(getattr(model, "source", None), "set_valued", False) or random_inputs(model):
        # a symmetry-breaking set or law, or input noise: score its whole set of outputs too (for noise, fixed draws)
        test.update(evaluate_draws(model, pick(test_idx), task.predict, task.kind, draws=task.set_draws, device=device))
    test.update(task.score_trained(model, pick(test_idx)))
    if save is not None:
        from ..models import save_model

        save_model(model, save, extra={"job": job.key()})
    return {
        "test": test,
        "zero": zero,
        "val": result.kept_val,
        "best_val": result.best_val,
        "best_epoch": result.best_epoch,
        "kept_epoch": result.kept_epoch,
        "stopped_early": result.stopped_early,
        "final_train": result.history[-1]["train"],
        "kept_train": kept_train,
        "val_curve": [float(f"{h['val']:.4g}") for h in result.history],
        "train_curve": [float(f"{h['train']:.4g}") for h in result.history],
        "parameters": sum(p.numel() for p in model.parameters()),
    }
