"""PaiNN + a symmetry-breaking set on water's asymmetric stretch (h2o-modes): which class of Cs the set keeps.

Trains ``painn+sbs`` on the h2o-modes ``asymmetric`` sub-task with the task's own settings (its two
turned water molecules, train = validation = test, SB-MSE, 100 epochs, one-cycle lr 1e-4, batch 1,
the last epoch kept) for several seeds, once per set:

* ``default``: ``target='Cs'``, the set closed under N(C2v) = D4h (both mirror classes mixed);
* ``keep=atoms``: ``target='Cs', keep='atoms'``, the class of the mirror holding the atoms (the molecular plane);
* ``keep=yz``: ``target='Cs', keep='yz'`` in the canonical frame, the *other* mirror (a control: it cannot work);
* ``C1``: no target, what ``symbreak bench h2o-modes`` runs for ``painn+sbs`` (the set of C2v → C1).

Writes ``runs.json`` (``runs_lr<lr>.json`` with ``--lr``; every run: per-epoch training and validation SB-MSE, test SB-MSE of element 0 and of
every element, the set measures) beside this file and prints a summary. One torch thread; about 2 minutes.

    .venv/bin/python results/sbs-water-classes/run.py [--seeds 5] [--lr 1e-3]   # --lr: runs_lr<lr>.json
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from symbreak.models import build_model, sbs_outputs
from symbreak.tasks import get_task
from symbreak.training import collate, evaluate, evaluate_set, fit
from symbreak.training._fit import TEST_DRAW

SETS = {
    "default": "painn+sbs[target='Cs']",
    "keep=atoms": "painn+sbs[target='Cs', keep='atoms']",
    "keep=yz": "painn+sbs[target='Cs', keep='yz']",
    "C1": "painn+sbs",
}


def element_errors(model, graph) -> list[float]:
    """SB-MSE (min over the molecule's C2v images of the label) of the output for every element of its set."""
    sym = graph.sym
    y = graph.y.double().numpy()
    images = np.einsum("gij,gnj->gni", np.asarray(sym.operations), y[np.asarray(sym.permutations)])
    with torch.no_grad():
        outs = sbs_outputs(model, collate([graph]))[0].double().numpy()  # (m, atoms, 3)
    return [float(((o[None] - images) ** 2).mean(axis=(1, 2)).min()) for o in outs]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--lr", type=float, default=None, help="peak learning rate (default: the task's, 1e-4)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    task = get_task("h2o-modes")
    graphs = task.dataset("asymmetric")
    curie = task.curie_bound("asymmetric", "sbmse", graphs=graphs)
    lr = task.lr if args.lr is None else args.lr
    runs = []
    start = time.time()
    for name, spec in SETS.items():
        for seed in range(args.seeds):
            torch.manual_seed(seed)
            model = build_model(spec, **task.model_options(spec))
            data = [model.prepare_data(g) for g in graphs]
            result = fit(model, data, data, predict=task.predict, loss="sbmse", kind=task.kind, epochs=task.epochs, lr=lr,
                         select=task.select, schedule=task.schedule, seed=seed)  # fmt: skip
            test = evaluate(model, data, task.predict, task.kind, ["sbmse"], draw=TEST_DRAW)
            sets = evaluate_set(model, data, task.predict, task.kind)
            train = [h["train"] for h in result.history]
            runs.append({
                "set": name, "spec": spec, "seed": seed, "set_sizes": [int(g.sbs_size) for g in data],
                "test_sbmse": test["sbmse"], **sets, "element_sbmse": [element_errors(model, g) for g in data],
                "train": [float(f"{t:.4g}") for t in train], "val": [float(f"{h['val']:.4g}") for h in result.history],
                # the training loss over the last 20 epochs: one draw per molecule per epoch, so a set whose elements
                # cannot all reach the target jumps between levels there
                "train_last20_min": float(min(train[-20:])), "train_last20_max": float(max(train[-20:])),
            })  # fmt: skip
            print(f"{name:11s} seed {seed}: test SB-MSE {test['sbmse']:.4f}  final train {train[-1]:.3g}  "
                  f"last 20 epochs {runs[-1]['train_last20_min']:.2g}–{runs[-1]['train_last20_max']:.2g}  "
                  f"elements {[[round(e, 5) for e in m] for m in runs[-1]['element_sbmse']]}", flush=True)  # fmt: skip
    out = Path(__file__).resolve().parent / ("runs.json" if args.lr is None else f"runs_lr{args.lr:g}.json")
    meta = {"task": "h2o-modes", "subtask": "asymmetric", "loss": "sbmse", "epochs": task.epochs, "lr": lr, "select": task.select,
            "schedule": task.schedule, "curie_bound": curie, "torch": torch.__version__, "seconds": round(time.time() - start, 1)}  # fmt: skip
    out.write_text(json.dumps({"meta": meta, "runs": runs}, indent=1) + "\n")
    print(f"\nCurie bound (predicting the C2v average, zero): {curie:.4f}")
    for name in SETS:
        rows = [r for r in runs if r["set"] == name]
        test = np.array([r["test_sbmse"] for r in rows])
        low, high = min(r["train_last20_min"] for r in rows), max(r["train_last20_max"] for r in rows)
        print(f"{name:11s} test SB-MSE {test.mean():.4f} ± {test.std():.4f} (min {test.min():.4f}, max {test.max():.4f}); "
              f"set_fit {np.mean([r['set_fit'] for r in rows]):.4f}; training loss over the last 20 epochs {low:.2g}–{high:.2g}")  # fmt: skip
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
