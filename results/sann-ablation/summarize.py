"""The SANN ablation's table (issue 29, item 1) from the records in this folder: per fold, test and
validation SB-MSE and the last epoch's training loss; mean ± sample std (ddof = 1) over the 3 folds;
the paired test difference from `sann` as given (mean ± standard error over folds).

Run: .venv/bin/python results/sann-ablation/summarize.py  (writes ablation.json beside it)
"""

import json
from pathlib import Path

import numpy as np

HERE = Path(__file__).parent
RUNS = [("results.jsonl", None), ("lr-3e-4/results.jsonl", "lr 3e-4"), ("lr-3e-3/results.jsonl", "lr 3e-3")]


def main() -> None:
    rows = {}
    for name, lr in RUNS:
        for line in open(HERE / name):
            r = json.loads(line)
            label = r["model"] + (f" ({lr})" if lr else "")
            rows.setdefault(label, {})[r["fold"]] = {"test": r["test"]["sbmse"], "val": r["val"], "train": r["final_train"], "kept": r["kept_epoch"], "epochs": len(r["val_curve"]), "key": r["key"]}
    base = rows["sann"]
    table = {}
    for label, folds in rows.items():
        order = sorted(folds)
        t = np.array([folds[f]["test"] for f in order])
        entry = {"folds": {f: folds[f] for f in order}}
        for k in ("test", "val", "train"):
            v = np.array([folds[f][k] for f in order])
            entry[k] = {"mean": float(v.mean()), "std_ddof1": float(v.std(ddof=1))}
        d = t - np.array([base[f]["test"] for f in order])
        entry["test_minus_sann"] = {"mean": float(d.mean()), "se": float(d.std(ddof=1) / np.sqrt(len(d))), "per_fold": d.tolist()}
        table[label] = entry
        print(f"{label:28s} test {t.mean():.2e} ± {t.std(ddof=1):.1e}  val {entry['val']['mean']:.2e}  train {entry['train']['mean']:.2e}  "
              f"Δtest vs sann {d.mean():+.1e} ± {entry['test_minus_sann']['se']:.1e}  per fold {' '.join(f'{x:.2e}' for x in t)}")
    (HERE / "ablation.json").write_text(json.dumps(table, indent=1))


if __name__ == "__main__":
    main()
