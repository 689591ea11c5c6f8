"""The SANN layer ablation's table (issue 29, item 1) from ``results.jsonl`` beside this file: per
model, the test SB-MSE of each fold, its mean ± sample std (ddof = 1), the validation SB-MSE and the
kept weights' training SB-MSE (``kept_train``: the training set measured again on the weights that
were tested), and the paired test difference from ``sann`` as given (mean ± standard error over folds).

Run: .venv/bin/python results/sann-layer/summarize.py  (prints the table, writes layer.json beside it)
"""

import json
from pathlib import Path

import numpy as np

HERE = Path(__file__).parent


def main() -> None:
    runs: dict[str, dict[int, dict]] = {}
    for line in open(HERE / "results.jsonl"):
        r = json.loads(line)
        runs.setdefault(r["model"], {})[r["fold"]] = r
    base = runs["sann"]
    table = {}
    for model, folds in runs.items():
        order = sorted(folds)
        col = {k: np.array([f(folds[i]) for i in order]) for k, f in (
            ("test", lambda r: r["test"]["sbmse"]), ("val", lambda r: r["val"]), ("kept_train", lambda r: r["kept_train"]),
            ("kept_epoch", lambda r: r["kept_epoch"]), ("epochs", lambda r: len(r["val_curve"])))}  # fmt: skip
        diff = col["test"] - np.array([base[i]["test"]["sbmse"] for i in order])
        table[model] = {
            "folds": order, **{k: v.tolist() for k, v in col.items()},
            "test_mean": float(col["test"].mean()), "test_std_ddof1": float(col["test"].std(ddof=1)),
            "val_mean": float(col["val"].mean()), "kept_train_mean": float(col["kept_train"].mean()),
            "test_minus_sann": {"mean": float(diff.mean()), "se": float(diff.std(ddof=1) / np.sqrt(len(diff))), "per_fold": diff.tolist()},
        }  # fmt: skip
        print(f"{model:70s} test {' / '.join(f'{x:.2e}' for x in col['test'])}  mean {col['test'].mean():.2e} ± {col['test'].std(ddof=1):.1e}"
              f"  val {col['val'].mean():.2e}  kept train {col['kept_train'].mean():.2e}  Δ vs sann {diff.mean():+.1e} ± {table[model]['test_minus_sann']['se']:.1e}"
              f"  kept epochs {col['kept_epoch'].tolist()}")  # fmt: skip
    (HERE / "layer.json").write_text(json.dumps(table, indent=1) + "\n")


if __name__ == "__main__":
    main()
