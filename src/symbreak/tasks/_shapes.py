r"""``shape-deformation``: a relaxed E(3) network deforms a cube (Hofgard et al. 2024, §5.1, Figs. 1–2).

The input is the cube's eight vertices (one 0e feature per vertex; the geometry enters through
the edge spherical harmonics, i.e. the network sees the cube's spherical-harmonic projection);
the output, averaged over the vertices, is compared with the spherical-harmonic projection
(l ≤ 2: 0e ⊕ 1o ⊕ 2e) of the target shape's vertices. Two layers, l_max 2, θ up to l = 4 with
both parities, plain SGD with λ = 1e-6 on the relaxation penalty, as in appendix B.1 — with
momentum 0.9 and lr 0.1 instead of lr 5e-3, which barely moves our (differently normalised)
network in 2500 epochs. SGD, not Adam, matters: Adam rescales every coordinate's step to O(lr),
so θ blocks with round-off-sized gradients move as much as real ones and every block turns on.

Targets: the cube itself (nothing to break), a rectangular prism (x, y × 0.5, z × 2: D4h), and an
asymmetric shape (the cube's vertices moved by seeded random displacements: C1).
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from ..models import fully_connected_edges
if TYPE_CHECKING:
    from ..nn import RelaxedNetwork

from ._base import OwnModelsTask, TableSpec, register_task
from ._relaxed_common import MODELS, plot_signals, train_with_penalty

__all__ = ["ShapeDeformation", "cube_targets", "SHAPE_IRREPS"]

SHAPE_IRREPS = "0e+1o+2e"
_HIDDEN = "8x0e+4x0o+4x1o+4x1e+4x2e+4x2o"
#: the paper's findings (Fig. 2 and text): which θ blocks are non-zero, which symmetry is kept
_EXPECTED = {
    "cube": ("0e (and possibly the cubic 4e)", "Oh"),
    "prism": ("0e, 2e (m = 0, 2), 4e; no odd parity", "D4h"),
    "asymmetric": ("every block", "C1"),
}


def cube_targets(seed: int = 0) -> dict[str, np.ndarray]:
    """The cube (±1, ±1, ±1) and the three target vertex sets, each (8, 3)."""
    cube = np.array([[x, y, z] for x in (1.0, -1.0) for y in (1.0, -1.0) for z in (1.0, -1.0)])
    rng = np.random.default_rng(seed)
    return {"input": cube, "cube": cube.copy(), "prism": cube * np.array([0.5, 0.5, 2.0]), "asymmetric": cube + rng.normal(scale=0.3, size=cube.shape)}


@register_task("shape-deformation")
class ShapeDeformation(OwnModelsTask):
    """Cube → cube / rectangular prism / asymmetric shape with relaxed weights (Hofgard et al., Figs. 1–2)."""

    description = "cube → cube / prism / asymmetric shape with relaxed E(3) convolutions (Hofgard et al. §5.1)"
    subtasks = ("cube", "prism", "asymmetric")
    losses = ("mse",)
    models = MODELS
    epochs = 2500
    lr = 0.1
    schedule = "constant"  # what train_with_penalty runs (the paper's); in the job settings, so a --until-plateau (warmup) record is never reused here
    folds = 3
    lam = 1e-6
    threshold = 1e-3
    # the paper's fixed epochs: a plateau rule stopped the equivariant cube → cube run of one seed on a
    # saddle at 0.332, about 100 epochs before it escapes to 1e-11 (only reaching `target` ends a run early)
    patience = None
    quick = {"folds": 1, "epochs": 250}
    tables = (
        TableSpec(
            "Shape deformation: training MSE of the spherical-harmonic projection (mean ± std over seeds)",
            rows=MODELS,
            columns=(("Cube→cube", "cube", "mse"), ("Cube→prism", "prism", "mse"), ("Cube→asymmetric", "asymmetric", "mse")),
            note="The paper shows these losses only as curves (its Fig. 5): no numbers to print beside ours.",
        ),
    )

    def dataset(self, subtask: str) -> list:
        shapes = cube_targets()
        n = len(shapes["input"])
        from ..nn import sh_projection

        target = sh_projection(torch.tensor(shapes[subtask]), SHAPE_IRREPS) / n
        return [SimpleNamespace(pos=torch.tensor(shapes["input"]), target=target, edge_index=fully_connected_edges(torch.zeros(n, dtype=torch.long), self_loops=True))]

    def job_settings(self, spec: str | None = None, **_: Any) -> dict[str, Any]:
        # "measured": the recorded loss is the kept weights' own, measured after training (records
        # before it held the best epoch's loss taken before that epoch's step, one step off the θ shown)
        return {"patience": self.patience, "lam": self.lam, "penalty": "eq. 9 with 0e", "schedule": self.schedule, "measured": "kept weights"}

    def build(self, model: str) -> RelaxedNetwork:
        from ..nn import RelaxedNetwork

        return RelaxedNetwork("0e", _HIDDEN, SHAPE_IRREPS, layers=2, relaxed=model == "relaxed-e3nn", lmax=2, l_relaxed=4, num_neighbors=8.0).double()

    def fit(self, job: Any, data: Any, progress: Any = None) -> tuple[RelaxedNetwork, float]:
        """Train one network on ``data`` (the cube and its target projection) and return it with its
        MSE, measured on the kept weights: the best epoch's weights are those *after* its step, so
        the loss the trainer logged during that epoch belongs to the weights one step earlier."""
        net = self.build(job.model)
        x = torch.ones(len(data.pos), 1, dtype=torch.float64)

        def loss_fn(_: Any) -> torch.Tensor:
            return ((net(x, data.pos, data.edge_index).mean(0) - data.target) ** 2).mean()

        opt = torch.optim.SGD(net.parameters(), lr=job.lr, momentum=0.9)
        train_with_penalty(
            net, lambda e: [None], loss_fn, opt, epochs=job.epochs, lam=self.lam, schedule=self.schedule, progress=progress, label=f"{job.subtask} {job.model}", patience=self.patience, target=1e-10
        )  # fmt: skip
        with torch.no_grad():
            return net, float(loss_fn(None))

    def run_job(self, job: Any, graphs: list, progress: Any = None, checkpoint: Any = None, **_: Any) -> dict[str, Any]:
        net, mse = self.fit(job, graphs[0], progress)
        thetas = [t.detach().numpy().tolist() for t in net.thetas()]
        irreps = net.convs[0].irreps_theta
        from ..nn import interpret

        layers = [interpret(np.array(t), irreps) for t in thetas]
        whole = interpret(np.concatenate(thetas), irreps * len(thetas))
        return {
            "test": {"mse": mse},
            "val": mse,
            "theta": thetas,
            "theta_irreps": str(irreps),
            "layers": [{"kept": it.kept, "nonzero": {b.irrep: list(b.nonzero) for b in it.blocks if b.nonzero}, "norms": {b.irrep: b.norm for b in it.blocks}} for it in layers],
            "kept": whole.kept,
        }

    def report_extras(self, records: list[dict], out: Any) -> dict[str, list]:
        from pathlib import Path

        lines = ["| Target | Model | Seed | Layer | Non-zero θ blocks (components) | Kept of Oh | Paper: non-zero | Paper: kept |", "|---|---|---|---|---|---|---|---|"]
        texts, plots = ["Relaxed weights per layer (|component| > 1e-3):"], []
        for r in sorted(records, key=lambda r: (self.subtasks.index(r["subtask"]), r["model"], r["fold"])):
            for k, layer in enumerate(r["layers"]):
                blocks = ", ".join(f"{ir}{comps if ir != '0e' else ''}" for ir, comps in layer["nonzero"].items())
                exp = _EXPECTED[r["subtask"]] if r["model"] == "relaxed-e3nn" else ("0e only (frozen)", "Oh")
                lines.append(f"| {r['subtask']} | {r['model']} | {r['fold']} | {k + 1} | {blocks} | {layer['kept']} | {exp[0]} | {exp[1]} |")
                texts.append(f"  {r['subtask']:10s} {r['model']:12s} seed {r['fold']} layer {k + 1}: keeps {layer['kept']:4s} non-zero {blocks}")
            if r["model"] == "relaxed-e3nn" and r["fold"] == 0:
                path = Path(out) / f"shape-deformation-{r['subtask']}-signals.png"
                plots.append(plot_signals([np.array(t) for t in r["theta"]], r["theta_irreps"], path, f"cube → {r['subtask']}: learned θ as spherical signals (0e removed); whole network keeps {r['kept']}"))
        md = "### Relaxed weights: which blocks are non-zero, which symmetry they keep\n\n" + "\n".join(lines) + "\n"
        return {"texts": ["\n".join(texts)], "markdown": [md], "plots": plots}

