"""Has the importance-sampled SymPE NLL converged at 1,024 orderings per molecule? (issue 29)

For each seed of ``sympe-dfs`` (``sympe``'s halves already agree), this trains the job again (checked below: the
retrained model gives the records' per-molecule NLLs to their 4 decimals), then on a random subset of the test molecules (seeded) estimates the NLL with
1,024 orderings, the records' own draws, and with 8,192 fresh ones (and each half of those,
4,096, on its own). The 1,024-draw estimates
must equal the records' ``per_molecule`` values for those molecules (to their 4 decimals), which
shows the retrained model is the recorded one. The 8,192-draw estimates use other seeds, so the two
are independent. Ẑ is unbiased for Z, so -log Ẑ is an upper bound in expectation (Jensen), and
its expectation falls as draws are added (the importance-weighted bound). How far it falls from
1,024 to 8,192 draws is a lower bound on the 1,024-draw estimate's bias on this subset.

Run: .venv/bin/python results/qm9-generation/convergence.py  (about 10 minutes on 2 cores; needs
qm9pack and RDKit; writes convergence.json beside it)
"""

import json
import math
from pathlib import Path

import numpy as np
import torch

from symbreak.bench._jobs import Job
from symbreak.tasks import get_task
from symbreak.tasks import _qm9_gen
from symbreak.tasks._qm9_likelihood import importance_log_weights

HERE = Path(__file__).parent
SUBSET, MORE, SUBSET_SEED = 150, 8192, 0
IDENTITY = ("task", "subtask", "model", "loss", "fold", "epochs", "lr", "seed", "sigma", "limit")


class _Trained(Exception):
    """Raised from inside the job once the model is trained: the rest of the job is not needed."""


def estimate(log_near: torch.Tensor, log_w: torch.Tensor, log_aut: float) -> float:
    return float(-torch.logaddexp(log_near, torch.logsumexp(log_w, 0) - math.log(len(log_w))) + log_aut)


def main() -> None:
    task = get_task("qm9-generation")
    (data,) = task.dataset("")
    records = [json.loads(line) for line in open(HERE / "results.jsonl")]
    subset = np.sort(np.random.default_rng(SUBSET_SEED).choice(len(data.test), SUBSET, replace=False))
    out = {"subset": subset.tolist(), "draws": [1024, MORE], "runs": []}
    for rec in (r for r in records if r["model"] == "sympe-dfs"):
        captured = {}

        def capture(model, tensors, graphs, seed, progress, job):
            captured.update(model=model, tensors=tensors, graphs=graphs, seed=seed)
            raise _Trained

        original = _qm9_gen.QM9Generation._importance
        _qm9_gen.QM9Generation._importance = staticmethod(capture)
        try:
            task.run_job(Job(**{k: rec[k] for k in IDENTITY}), [data])
        except _Trained:
            pass
        finally:
            _qm9_gen.QM9Generation._importance = original
        model, tensors, graphs, seed = captured["model"], captured["tensors"], captured["graphs"], captured["seed"]
        recorded, base, more, halves = [], [], [], []
        for k in subset.tolist():
            g, start = graphs[k], tensors.canonical[k, : graphs[k].n].numpy()
            log_near, log_w = importance_log_weights(model, g, start, seed=seed + k)  # the record's draws
            base.append(estimate(log_near, log_w, g.log_aut))
            log_near, log_w = importance_log_weights(model, g, start, samples=MORE, seed=seed + k + 10**6)  # fresh draws
            more.append(estimate(log_near, log_w, g.log_aut))
            half = len(log_w) // 2  # two independent estimates from MORE / 2 draws each
            halves.append([estimate(log_near, log_w[:half], g.log_aut), estimate(log_near, log_w[half:], g.log_aut)])
            recorded.append(rec["per_molecule"]["nll"][k])
        base, more, recorded, halves = map(np.array, (base, more, recorded, halves))
        assert np.abs(base - recorded).max() < 1e-4 + 1e-9, "the retrained model is not the recorded one"
        diff = more - base
        run = {
            "model": rec["model"], "fold": rec["fold"], "subset_nll_1024": float(base.mean()), f"subset_nll_{MORE}": float(more.mean()),
            "difference": {"mean": float(diff.mean()), "se": float(diff.std(ddof=1) / math.sqrt(len(diff))), "max_abs": float(np.abs(diff).max())},
            f"subset_nll_{MORE // 2}_halves": [float(halves[:, 0].mean()), float(halves[:, 1].mean())],
            "whole_test_nll_1024": rec["test"]["nll"],
        }  # fmt: skip
        out["runs"].append(run)
        print(f"{rec['model']:10s} seed {rec['fold']}: subset of {SUBSET}: 1024 draws {base.mean():.3f}, {MORE} draws {more.mean():.3f}"
              f" (difference {diff.mean():+.3f} ± {run['difference']['se']:.3f}, largest {np.abs(diff).max():.2f});"
              f" each half of the {MORE}: {halves[:, 0].mean():.3f} / {halves[:, 1].mean():.3f}", flush=True)  # fmt: skip
    (HERE / "convergence.json").write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
