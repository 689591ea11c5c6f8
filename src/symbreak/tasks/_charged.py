r"""``charged-particle``: learn E and B from a trajectory (Hofgard et al. 2024, §5.2, Table 1, Fig. 4).

A unit charge moves under :math:`\mathbf F = q(\mathbf E + \mathbf v \times \mathbf B)` with
:math:`\mathbf E = (1, 0, 0)` (a vector, 1o) and :math:`\mathbf B = (0, 1, 0)` (a pseudovector,
1e); the trajectory is integrated in code (RK4). The network sees one particle per time step
with features q (0e) ⊕ v (1o) and a self-loop (no positions), and predicts F (1o). θ = 0e ⊕ 0o ⊕
1o ⊕ 1e: the field directions can only enter through θ's 1o (E) and 1e (B) blocks. An equivariant
network cannot output any fixed direction, so it stays at the best F ∝ v fit (Curie).
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

if TYPE_CHECKING:
    from ..nn import RelaxedConvolution

from ._base import OwnModelsTask, TableSpec, register_task
from ._relaxed_common import MODELS, train_with_penalty

__all__ = ["ChargedParticle", "lorentz_trajectory", "FIELD_E", "FIELD_B"]

FIELD_E = np.array([1.0, 0.0, 0.0])
FIELD_B = np.array([0.0, 1.0, 0.0])


def lorentz_trajectory(steps: int = 500, *, dt: float = 0.01, charge: float = 1.0, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""RK4 trajectory of a unit-mass charge in the fields :data:`FIELD_E`, :data:`FIELD_B`.

    Returns positions (steps, 3), velocities (steps, 3), forces (steps, 3), with a seeded random
    start (position and velocity ~ N(0, 1)).
    """
    rng = np.random.default_rng(seed)
    x, v = rng.normal(size=3), rng.normal(size=3)
    force = lambda v: charge * (FIELD_E + np.cross(v, FIELD_B))  # noqa: E731
    xs, vs = [], []
    for _ in range(steps):
        xs.append(x.copy())
        vs.append(v.copy())
        k1x, k1v = v, force(v)
        k2x, k2v = v + 0.5 * dt * k1v, force(v + 0.5 * dt * k1v)
        k3x, k3v = v + 0.5 * dt * k2v, force(v + 0.5 * dt * k2v)
        k4x, k4v = v + dt * k3v, force(v + dt * k3v)
        x = x + dt / 6 * (k1x + 2 * k2x + 2 * k3x + k4x)
        v = v + dt / 6 * (k1v + 2 * k2v + 2 * k3v + k4v)
    xs, vs = np.array(xs), np.array(vs)
    return xs, vs, np.array([force(u) for u in vs])


def _unit(v: np.ndarray) -> np.ndarray:
    return v / max(float(np.linalg.norm(v)), 1e-300)


@register_task("charged-particle")
class ChargedParticle(OwnModelsTask):
    """Charged particle in E ∥ x and B ∥ y: relaxed vs equivariant, and the fields read off θ."""

    description = "charged particle in E = x̂, B = ŷ: fields recovered from θ (Hofgard et al. §5.2)"
    losses = ("mse",)
    models = MODELS
    epochs = 5000
    lr = 1e-3
    schedule = "constant"  # what train_with_penalty runs (the paper's); in the job settings, so a --until-plateau (warmup) record is never reused here
    folds = 3
    batch_size = 50
    lam = 1e-4
    threshold = 1e-3
    # the paper's fixed epochs: a plateau rule stopped the equivariant cube → cube run of one seed on a
    # saddle at 0.332, about 100 epochs before it escapes to 1e-11 (only reaching `target` ends a run early)
    patience = None
    quick = {"folds": 1, "epochs": 150}
    tables = (
        TableSpec(
            "Charged particle: training MSE of the force (mean ± std over seeds)",
            rows=MODELS,
            columns=(("Training MSE", "", "mse"),),
            paper={("relaxed-e3nn", "Training MSE"): "1e-6", ("e3nn", "Training MSE"): "0.07"},
        ),
    )

    def dataset(self, subtask: str) -> list:
        _, v, f = lorentz_trajectory()
        return [SimpleNamespace(velocity=torch.tensor(v), force=torch.tensor(f))]

    def job_settings(self, spec: str | None = None, **_: Any) -> dict[str, Any]:
        return {"patience": self.patience, "lam": self.lam, "penalty": "eq. 9 with 0e", "schedule": self.schedule}

    def build(self, model: str) -> RelaxedConvolution:
        from ..nn import RelaxedConvolution

        return RelaxedConvolution("0e+1o", "1o", lmax=1, l_relaxed=1, relaxed=model == "relaxed-e3nn").double()

    @staticmethod
    def predict_force(conv: RelaxedConvolution, velocity: torch.Tensor, charge: float = 1.0) -> torch.Tensor:
        """F for velocities (m, 3): one node per sample, each with its self-loop."""
        m = len(velocity)
        x = torch.cat([torch.full((m, 1), charge, dtype=velocity.dtype), velocity], dim=1)
        loops = torch.arange(m).repeat(2, 1)
        return conv(x, torch.zeros(m, 3, dtype=velocity.dtype), loops)

    def fields(self, conv: RelaxedConvolution) -> dict[str, list[float]]:
        r"""E and B read off θ: directions of θ^{1o} and θ^{1e}.

        A tensor-product path weight can be negative, so θ^{1o} fixes E only up to sign; the sign is
        taken from the network's own force on a charge at rest (F(v = 0) = E). B is an axis (up to
        sign) and is compared as such.
        """
        th = conv.theta.detach().numpy()
        irreps = conv.irreps_theta
        blocks = {str(ir): th[sl] for (_, ir), sl in zip(irreps, irreps.slices())}
        e_dir, b_dir = _unit(blocks["1o"]), _unit(blocks["1e"])
        with torch.no_grad():
            at_rest = self.predict_force(conv, torch.zeros(1, 3, dtype=torch.float64))[0].numpy()
        e_dir = e_dir * (1.0 if float(e_dir @ at_rest) >= 0 else -1.0)
        b_dir = b_dir * (1.0 if float(b_dir @ FIELD_B) >= 0 else -1.0)  # an axis: report the orientation nearer ŷ
        return {"E": e_dir.tolist(), "B": b_dir.tolist(), "E_error": float(np.linalg.norm(e_dir - FIELD_E)), "B_axis_error": float(np.linalg.norm(b_dir - FIELD_B))}

    def run_job(self, job: Any, graphs: list, progress: Any = None, checkpoint: Any = None, **_: Any) -> dict[str, Any]:
        data = graphs[0]
        conv = self.build(job.model)
        gen = torch.Generator().manual_seed(job.run_seed())
        n = len(data.velocity)

        def batches(epoch: int) -> list[torch.Tensor]:
            return list(torch.randperm(n, generator=gen).split(self.batch_size))

        def loss_fn(idx: torch.Tensor) -> torch.Tensor:
            return ((self.predict_force(conv, data.velocity[idx]) - data.force[idx]) ** 2).mean()

        opt = torch.optim.Adam([p for p in conv.parameters() if p.requires_grad], lr=job.lr)
        # the paper trains 5000 epochs; only reaching float64 round-off ends a run early
        train_with_penalty(conv, batches, loss_fn, opt, epochs=job.epochs, lam=self.lam, schedule=self.schedule, progress=progress, label=job.model, patience=self.patience, target=1e-12)
        with torch.no_grad():
            mse = float(loss_fn(torch.arange(n)))
        record = {"test": {"mse": mse}, "val": mse}
        if job.model == "relaxed-e3nn":
            record["fields"] = self.fields(conv)
        return record

    def report_extras(self, records: list[dict], out: Any) -> dict[str, list]:
        rows = [r for r in records if "fields" in r]
        if not rows:
            return {"texts": [], "markdown": [], "plots": []}
        fmt = lambda v: "(" + ", ".join(f"{x:+.4f}" for x in v) + ")"  # noqa: E731
        text = ["Fields read off θ (unit vectors; truth E = (1, 0, 0), B axis = (0, 1, 0)):"]
        md = ["### Fields read off θ", "", "| Seed | E from θ^{1o} | B axis from θ^{1e} | ‖E − x̂‖ | ‖B − ŷ‖ |", "|---|---|---|---|---|"]
        for r in sorted(rows, key=lambda r: r["fold"]):
            f = r["fields"]
            text.append(f"  seed {r['fold']}: E {fmt(f['E'])}  B {fmt(f['B'])}  errors {f['E_error']:.2e}, {f['B_axis_error']:.2e}")
            md.append(f"| {r['fold']} | {fmt(f['E'])} | {fmt(f['B'])} | {f['E_error']:.2e} | {f['B_axis_error']:.2e} |")
        text.append("  paper (Fig. 4 / authors' code): E ≈ (0.999, −0.019, −0.045), B axis ≈ (0.004, −0.998, −0.063)")
        md += ["| paper | (0.999, −0.019, −0.045) | (0.004, −0.998, −0.063) | ≈ 0.05 | ≈ 0.06 |", ""]
        return {"texts": ["\n".join(text)], "markdown": ["\n".join(md)], "plots": []}
