r"""``cylinder-wake``: a mirror-symmetric flow, an asymmetric wake (Xie & Smidt, paper 003, in kind).

Past a cylinder above the critical Reynolds number (≈ 47) the wake sheds a Kármán vortex street,
which breaks the flow's mirror symmetry :math:`\sigma: y \mapsto -y` about the cylinder's axis.
The data are lattice-Boltzmann simulations (:func:`~symbreak.labels.wake_sample`, D2Q9 BGK,
:math:`n_y \times n_x = 64 \times 250` cells, D = 10 cells, U = 0.1) at several Reynolds
numbers. The input is the symmetric flow before shedding, the target the developed street at the
phase where a probe on the axis 2D behind the cylinder sees :math:`u_y` cross zero upwards; both are
coarse fields :math:`(u_x/U, u_y/U, \omega D/U)` on a 32 × 64 grid. The street's mirror image
:math:`\sigma y` is the same flow half a period later, where the probe crosses downwards: an equally
valid answer. The mirror acts on the fields by reversing the rows, with parities (+1, −1, −1).

The models are one mirror-equivariant CNN (:class:`MirrorCNN`, exact by symmetrisation) fed

* ``mirror-cnn``: the fields alone. Curie's principle: its output on a symmetric input is
  symmetric, and the symmetric field closest to both answers is :math:`(y + \sigma y)/2`, at MSE
  :math:`\lVert y - \sigma y \rVert^2 / 4` (the Curie bound);
* ``mirror-cnn+noise``: the fields plus Gaussian noise of std :attr:`CylinderWake.noise` (a new
  draw every pass; scored over :attr:`CylinderWake.test_draws` draws);
* ``mirror-cnn+sbs``: the fields plus a constant pseudo-scalar channel b = ±1 (parity −1): the
  ideal equivariant symmetry-breaking set of :math:`Z_2 \to 1`, two elements. Training draws b at
  random per example; the test scores the whole set {+1, −1}, whose outputs are mirror images of
  each other by equivariance.

Every model trains on the symmetry-breaking MSE (min over {y, σy}). Scores are the set measures of
:func:`~symbreak.metrics.set_breaking_measures` (``fit``: mean over the outputs of the error to the
nearer valid wake; ``cover``: mean over {y, σy} of the error of the nearest output), with the grid
points as "atoms" and the channels as a 3-vector: on a planar flow the mirror is the rotation
:math:`C_{2x} = \mathrm{diag}(1, -1, -1)`, under which :math:`(u_x, u_y, \omega_z)` transforms as a
polar vector, so that function's signature fits as it is. Train = test = all simulations (the
paper's synthetic tasks: the question is whether the mechanism can produce the answers at all);
seeds differ in initialisation and draws.
"""

from __future__ import annotations

import functools
from types import SimpleNamespace
from typing import Any

import numpy as np
import torch
from torch import nn

from .._errors import SymbreakError
from ._base import OwnModelsTask, TableSpec, register_task
from ..labels._lbm import reflect_rows

__all__ = ["CylinderWake", "MirrorCNN", "mirror_symmetry", "wake_dataset", "WAKE_MODELS"]

WAKE_MODELS = ("mirror-cnn", "mirror-cnn+noise", "mirror-cnn+sbs")
#: the simulated Reynolds numbers (``--limit k`` keeps k of them, evenly spread)
REYNOLDS = (80.0, 90.0, 100.0, 110.0, 120.0, 130.0, 140.0, 150.0)
#: the Reynolds number whose fields the report plots
SHOWN_RE = 100.0
#: how many significant digits the plotted fields keep in a record
_DIGITS = 4


def mirror_symmetry(height: int, width: int) -> SimpleNamespace:
    r"""The mirror group {E, σ} of a (height, width) grid of 3-channel fields, in the form
    :func:`~symbreak.metrics.transform_labels` reads: ``operations`` (2, 3, 3) = (I, diag(1, −1, −1))
    acting on :math:`(u_x, u_y, \omega)` and ``permutations`` (2, height·width) sending grid point
    (r, c) (row-major) to (height − 1 − r, c)."""
    grid = np.arange(height * width).reshape(height, width)
    return SimpleNamespace(
        operations=np.stack([np.eye(3), np.diag([1.0, -1.0, -1.0])]), permutations=np.stack([grid.ravel(), grid[::-1].ravel()]), point_group="Cs"
    )


def _points(fields: torch.Tensor) -> torch.Tensor:
    """(..., 3, H, W) channel fields → (..., H·W, 3) per-point 3-vectors, row-major (the "atoms" of the set measures)."""
    return fields.flatten(-2).transpose(-1, -2)


class MirrorCNN(nn.Module):
    r"""A CNN made exactly equivariant under the mirror of the rows by symmetrisation,

    .. math:: f(x) = \tfrac12\big(g(x) + \sigma_{\mathrm{out}}\, g(\sigma_{\mathrm{in}} x)\big),
        \qquad (\sigma_p x)_{c, r, k} = p_c\, x_{c, H-1-r, k},

    so :math:`f(\sigma_{\mathrm{in}} x) = \sigma_{\mathrm{out}} f(x)` for any inner network g (here
    dilated 3 × 3 convolutions with GELU, reading two coordinate channels besides x: the identity
    holds whatever g is, so g's own inputs need no parity).

    in_parities, out_parities: ±1 per channel (the wake fields: (+1, −1, −1); a symmetry-breaking
    pseudo-scalar b: −1). Input (B, C_in, H, W) → output (B, C_out, H, W); a non-finite input or a
    wrong channel count raises :class:`~symbreak.SymbreakError`.

    >>> net = MirrorCNN((1.0, -1.0, -1.0), (1.0, -1.0, -1.0), hidden=8, dilations=(1, 2)).double()
    >>> x = torch.randn(2, 3, 8, 16, dtype=torch.float64)
    >>> p = torch.tensor([1.0, -1.0, -1.0], dtype=torch.float64)[:, None, None]
    >>> bool(torch.allclose(net(x.flip(-2) * p), net(x).flip(-2) * p, atol=1e-12))
    True
    """

    def __init__(self, in_parities: tuple[float, ...], out_parities: tuple[float, ...], *, hidden: int = 32, dilations: tuple[int, ...] = (1, 2, 4, 8, 4, 2, 1)) -> None:
        super().__init__()
        for name, p in (("in_parities", in_parities), ("out_parities", out_parities)):
            if not p or any(v not in (1.0, -1.0) for v in p):
                raise SymbreakError(f"MirrorCNN: {name} must be ±1 per channel, got {p}")
        self.register_buffer("in_parities", torch.tensor(in_parities))
        self.register_buffer("out_parities", torch.tensor(out_parities))
        layers: list[nn.Module] = []
        width = len(in_parities) + 2
        for d in dilations:
            layers += [nn.Conv2d(width, hidden, 3, padding=d, dilation=d), nn.GELU()]
            width = hidden
        layers.append(nn.Conv2d(width, len(out_parities), 1))
        self.body = nn.Sequential(*layers)

    def _inner(self, x: torch.Tensor) -> torch.Tensor:
        b, _, h, w = x.shape
        # where a vortex sits downstream depends on the absolute position, which convolutions alone do not see
        xs, ys = (torch.linspace(-1.0, 1.0, n, dtype=x.dtype, device=x.device) for n in (w, h))
        coords = torch.stack(torch.meshgrid(xs, ys, indexing="xy")).expand(b, 2, h, w)
        return self.body(torch.cat([x, coords], dim=1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4 or x.shape[1] != len(self.in_parities):
            raise SymbreakError(f"MirrorCNN: input must be (B, {len(self.in_parities)}, H, W), got {tuple(x.shape)}")
        if not bool(torch.isfinite(x).all()):
            raise SymbreakError("MirrorCNN: the input holds NaN or inf")
        p_in, p_out = self.in_parities.to(x.dtype), self.out_parities.to(x.dtype)
        return 0.5 * (self._inner(x) + reflect_rows(self._inner(reflect_rows(x, p_in)), p_out))


@functools.lru_cache(maxsize=4)
def wake_dataset(reynolds: tuple[float, ...], seed: int = 0) -> tuple[Any, ...]:
    """One :class:`~symbreak.labels.WakeSample` per Reynolds number (kick seeded by ``seed``), simulated
    once per process on one thread (the lattice is small: a second thread only adds contention)."""
    from ..labels import wake_sample

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return tuple(wake_sample(re, seed=seed) for re in reynolds)
    finally:
        torch.set_num_threads(threads)


def _field_list(a: torch.Tensor) -> list:
    return np.round(a.detach().cpu().double().numpy(), _DIGITS).tolist()


@register_task("cylinder-wake")
class CylinderWake(OwnModelsTask):
    """Kármán streets from a symmetric flow: a mirror-equivariant CNN alone / +noise / +sbs (Xie & Smidt, paper 003, in kind)."""

    description = "cylinder wake (LBM, Re 80–150): a mirror-equivariant CNN alone / +noise / +sbs (±b) predicts the Kármán street (Xie & Smidt, in kind)"
    losses = ("sbmse",)
    models = WAKE_MODELS
    epochs = 300
    lr = 2e-3
    folds = 3
    select = "last"  # train = test: there is no validation set to pick an epoch on
    schedule = "cosine"
    hidden = 24
    #: std of the +noise model's input noise, in the fields' units (u/U, ωD/U)
    noise = 0.1
    #: the +noise model is scored over this many draws of its noise
    test_draws = 8
    #: the kick that starts shedding is seeded by this, the same for every job: one data set per run
    data_seed = 0
    #: set by ``--limit`` (``--quick``: 3): how many of :data:`REYNOLDS` to simulate, evenly spread
    limit: int | None = None
    quick = {"folds": 1, "epochs": 150, "limit": 3}
    tables = (
        TableSpec(
            "Cylinder wake: set measures against the two valid streets {y, σy} (MSE of (u_x/U, u_y/U, ωD/U) on the 32 × 64 grid; mean ± std over seeds)",
            rows=WAKE_MODELS,
            columns=(("Fit", "", "sbmse", "fit"), ("Cover", "", "sbmse", "cover"), ("Curie bound", "", "sbmse", "curie"), ("Outputs apart", "", "sbmse", "apart")),
            note="Fit: mean over a model's outputs of the MSE to the nearer of y and σy; cover: mean over y and σy of the MSE of "
            "the nearest output. The Curie bound ‖y − σy‖²/4 is the fit and cover of the best symmetric prediction (y + σy)/2. "
            "Outputs apart: the largest MSE between two of a model's outputs over ‖y − σy‖² (1: the two streets; 0: one output). "
            "+noise is scored over 8 noise draws, +sbs over its set {+1, −1}; trained {epochs} epochs on all simulations (train = test).",
        ),
    )

    def reynolds(self) -> tuple[float, ...]:
        """The simulated Reynolds numbers: all of :data:`REYNOLDS`, or ``limit`` of them evenly spread."""
        if self.limit is None or self.limit >= len(REYNOLDS):
            return REYNOLDS
        pick = np.unique(np.round(np.linspace(0, len(REYNOLDS) - 1, self.limit)).astype(int))
        return tuple(REYNOLDS[i] for i in pick)

    def dataset(self, subtask: str) -> list:
        return list(wake_dataset(self.reynolds(), self.data_seed))

    def job_settings(self, spec: str | None = None, **_: Any) -> dict[str, Any]:
        return {"hidden": self.hidden, "noise": self.noise, "test_draws": self.test_draws, "data_seed": self.data_seed, "reynolds": list(self.reynolds()),
                "lattice": "64x250, D=10, U=0.1", "grid": "32x64"}  # fmt: skip

    def build(self, spec: str) -> MirrorCNN:
        """The equivariant CNN of model ``spec``: fields in and out; +sbs reads b as a fourth, odd channel."""
        from ..labels._lbm import FIELD_PARITIES, mirror_fields

        extra = (-1.0,) if spec.endswith("+sbs") else ()
        return MirrorCNN(FIELD_PARITIES + extra, FIELD_PARITIES, hidden=self.hidden)

    def outputs(self, spec: str, net: MirrorCNN, x: torch.Tensor, gen: torch.Generator, draws: int) -> torch.Tensor:
        """A model's set of outputs (m, B, 3, H, W) on inputs x (B, 3, H, W): one for the plain CNN,
        ``draws`` noise draws for +noise, b = +1 then −1 for +sbs."""
        if spec.endswith("+sbs"):
            ones = torch.ones_like(x[:, :1])
            return torch.stack([net(torch.cat([x, b * ones], dim=1)) for b in (1.0, -1.0)])
        if spec.endswith("+noise"):
            return torch.stack([net(x + self.noise * torch.randn(x.shape, generator=gen, dtype=x.dtype)) for _ in range(draws)])
        return net(x)[None]

    def run_job(self, job: Any, graphs: list, progress: Any = None, checkpoint: Any = None, **_: Any) -> dict[str, Any]:
        from ..metrics import set_breaking_measures, symmetry_breaking_measure
        from ..training import Trainer

        seed = job.run_seed()
        torch.manual_seed(seed)
        x = torch.tensor(np.stack([s.inputs for s in graphs]), dtype=torch.get_default_dtype())
        y = torch.tensor(np.stack([s.target for s in graphs]), dtype=torch.get_default_dtype())
        n, _, h, w = y.shape
        sym = mirror_symmetry(h, w)
        targets = list(_points(y))
        net = self.build(job.model)
        gen = torch.Generator().manual_seed(seed)

        def batch(epoch: int) -> list[torch.Tensor]:
            if job.model.endswith("+sbs"):  # one element of the set per example and pass, drawn at random
                b = torch.where(torch.rand(n, generator=gen) < 0.5, 1.0, -1.0).to(x.dtype)
                return [torch.cat([x, b[:, None, None, None].expand(n, 1, h, w)], dim=1)]
            if job.model.endswith("+noise"):
                return [x + self.noise * torch.randn(x.shape, generator=gen, dtype=x.dtype)]
            return [x]

        def loss_fn(inputs: torch.Tensor) -> torch.Tensor:
            return symmetry_breaking_measure(list(_points(net(inputs))), targets, [sym] * n, metric="mse", kind="vectors")

        def report(epoch: int, row: dict[str, float]) -> None:
            if progress is not None and epoch % 10 == 0:
                progress.set_postfix_str(f"{job.model} fold {job.fold} epoch {epoch}/{job.epochs} sbmse {row['train']:.4f}", refresh=False)

        opt = torch.optim.Adam(net.parameters(), lr=job.lr)
        # the draws' generator rides in the checkpoint: a resumed job draws what an uninterrupted one would
        keep = (lambda: {"generator": gen.get_state()}, lambda state: gen.set_state(state["generator"]))
        trainer = Trainer(net, opt, epochs=job.epochs, monitor="train", select=self.select, schedule=self.schedule, on_epoch=report,
                          checkpoint=checkpoint, extra_state=keep, checkpoint_every=0)  # fmt: skip
        result = trainer.run(lambda epoch: batch(epoch), loss_fn, lambda epoch, steps: {"epoch": epoch, "train": float(steps[0][0])})
        net.eval()
        test_gen = torch.Generator().manual_seed(seed + 1)  # the test's noise draws are not the training's
        with torch.no_grad():
            outs = self.outputs(job.model, net, x, test_gen, self.test_draws)  # (m, n, 3, h, w)
        per = [set_breaking_measures(_points(outs[:, k]), targets[k], sym.operations, sym.permutations, kind="vectors", metric="mse") for k in range(n)]
        from ..labels._lbm import FIELD_PARITIES, mirror_fields

        parities = torch.tensor(FIELD_PARITIES, dtype=y.dtype)
        mirrored = mirror_fields(y, parities)
        gap = ((y - mirrored) ** 2).mean(dim=(1, 2, 3))  # ‖y − σy‖² per example
        spread = torch.stack([((outs[a] - outs[b]) ** 2).mean(dim=(1, 2, 3)) for a in range(len(outs)) for b in range(a)]).max(0).values if len(outs) > 1 else torch.zeros(n)
        test = {
            "fit": float(np.mean([p["fit"] for p in per])), "cover": float(np.mean([p["cover"] for p in per])), "best": float(np.mean([p["best"] for p in per])),
            "curie": float((gap / 4).mean()), "apart": float((spread / gap).mean()),
        }  # fmt: skip
        if job.model.endswith("+sbs"):  # the set's equivariance: f(x, −b) = σ f(x, b) on a symmetric x, to round-off
            test["set_mirror_error"] = float((outs[1] - mirror_fields(outs[0], parities)).abs().max())
        record = {
            "test": test, "val": result.history[-1]["train"], "final_train": result.history[-1]["train"],
            "per_example": {f"{s.reynolds:g}": {"fit": p["fit"], "cover": p["cover"]} for s, p in zip(graphs, per)},
            "data": {"reynolds": [s.reynolds for s in graphs], "strouhal": [s.strouhal for s in graphs], "steps": [s.steps for s in graphs]},
            "parameters": sum(p.numel() for p in net.parameters()),
        }  # fmt: skip
        shown = [k for k, s in enumerate(graphs) if s.reynolds == SHOWN_RE] or [len(graphs) // 2]
        if job.fold == 0:  # the fields the report plots: vorticity of the targets and of (up to two of) the outputs
            k = shown[0]
            record["fields"] = {"reynolds": graphs[k].reynolds, "target": _field_list(y[k, 2]), "mirrored": _field_list(mirrored[k, 2]),
                                "outputs": [_field_list(o[k, 2]) for o in outs[:2]], "input": _field_list(x[k, 2])}  # fmt: skip
        return record

    def report_extras(self, records: list[dict], out: Any) -> dict[str, list]:
        """The simulations' Strouhal numbers, the per-Reynolds-number fit, and a plot of the streets
        (vorticity) each model predicts beside the two valid targets."""
        from pathlib import Path

        if not records or "data" not in records[0]:
            return {"texts": [], "markdown": [], "plots": []}
        data = records[0]["data"]
        md = ["### The simulations (D2Q9 BGK, 64 × 250 cells, D = 10 cells, U = 0.1)", "", "| Re | St = fD/U | LB steps |", "|---|---|---|"]
        md += [f"| {re:g} | {st:.4f} | {n} |" for re, st, n in zip(data["reynolds"], data["strouhal"], data["steps"])]
        text = ["Simulations: " + ", ".join(f"Re {re:g}: St {st:.4f}" for re, st in zip(data["reynolds"], data["strouhal"]))]
        kinds = [m for m in self.models if any(r["model"] == m for r in records)]
        res = [f"{re:g}" for re in data["reynolds"]]
        md += ["", "### Fit per Reynolds number (mean over seeds)", "", "| Model | " + " | ".join(f"Re {re}" for re in res) + " |", "|---|" + "---|" * len(res)]
        for m in kinds:
            rows = [r for r in records if r["model"] == m and "per_example" in r]
            md.append(f"| {m} | " + " | ".join(f"{np.mean([r['per_example'][re]['fit'] for r in rows]):.4f}" for re in res) + " |")
        plots = []
        shown = {r["model"]: r["fields"] for r in records if r.get("fields") and r["fold"] == 0}
        if shown:
            plots.append(_plot_streets(shown, [m for m in kinds if m in shown], Path(out) / f"{self.name}-streets.png"))
        return {"texts": ["\n".join(text)], "markdown": ["\n".join(md) + "\n"], "plots": plots}


def _plot_streets(fields: dict[str, dict], models: list[str], path: Any) -> Any:
    """One PNG: the input's vorticity and the two valid streets, then each model's (up to two) outputs."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    first = fields[models[0]]
    panels = [[("input (symmetric)", first["input"]), ("target y", first["target"]), ("target σy", first["mirrored"])]]
    names = {"mirror-cnn": ["output"], "mirror-cnn+noise": ["noise draw 1", "noise draw 2"], "mirror-cnn+sbs": ["b = +1", "b = −1"]}
    for m in models:
        panels.append([(f"{m}: {name}", o) for name, o in zip(names.get(m, ["output 1", "output 2"]), fields[m]["outputs"])])
    scale = float(np.percentile(np.abs(np.array(first["target"])), 99))
    fig, axes = plt.subplots(len(panels), 3, figsize=(12, 1.9 * len(panels)), squeeze=False)
    for row, items in zip(axes, panels):
        for ax in row:
            ax.axis("off")
        for ax, (title, field) in zip(row, items):
            ax.imshow(np.array(field), cmap="RdBu_r", vmin=-scale, vmax=scale, origin="lower")
            ax.set_title(title, fontsize=9)
    fig.suptitle(f"Vorticity ωD/U at Re = {first['reynolds']:g} (seed 0): the two valid streets and what each model predicts", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
