"""The SANN layer ablation's table (issue 29, item 1) from ``results.jsonl`` beside this file: per
model, the test SB-MSE of each fold, its mean ± sample std (ddof = 1), the validation SB-MSE and the
kept weights' training SB-MSE (``kept_train``: the training set measured again on the weights that
were tested), and the paired test difference from ``sann`` as given (mean ± standard error over folds).

Every model is summarized over folds 0–2 (``layer.json``); the models also run on folds 3 and 4
are summarized again over all five (``five_folds`` in the same file), with their paired differences
from ``sann`` and from ``egnn``.

Run: .venv/bin/python results/sann-layer/summarize.py  (prints the tables, writes layer.json beside it)
"""

import json
from pathlib import Path

import numpy as np

HERE = Path(__file__).parent


def summarize(runs: dict[str, dict[int, dict]], folds: tuple[int, ...], against: tuple[str, ...]) -> dict[str, dict]:
    """Per model with every fold of ``folds``: the columns, mean ± std (ddof = 1), and the paired
    test differences from each model of ``against`` (mean ± standard error)."""
    table = {}
    for model, by_fold in runs.items():
        if not all(i in by_fold for i in folds):
            continue
        col = {k: np.array([f(by_fold[i]) for i in folds]) for k, f in (
            ("test", lambda r: r["test"]["sbmse"]), ("val", lambda r: r["val"]), ("kept_train", lambda r: r["kept_train"]),
            ("kept_epoch", lambda r: r["kept_epoch"]), ("epochs", lambda r: len(r["val_curve"])))}  # fmt: skip
        entry = {
            "folds": list(folds), **{k: v.tolist() for k, v in col.items()},
            "test_mean": float(col["test"].mean()), "test_std_ddof1": float(col["test"].std(ddof=1)),
            "val_mean": float(col["val"].mean()), "kept_train_mean": float(col["kept_train"].mean()),
        }  # fmt: skip
        for ref in against:
            diff = col["test"] - np.array([runs[ref][i]["test"]["sbmse"] for i in folds])
            entry[f"test_minus_{ref}"] = {"mean": float(diff.mean()), "se": float(diff.std(ddof=1) / np.sqrt(len(diff))), "per_fold": diff.tolist()}
        table[model] = entry
        deltas = "  ".join(f"Δ vs {ref} {entry[f'test_minus_{ref}']['mean']:+.1e} ± {entry[f'test_minus_{ref}']['se']:.1e}" for ref in against)
        print(f"{model:70s} test {' / '.join(f'{x:.2e}' for x in col['test'])}  mean {col['test'].mean():.2e} ± {col['test'].std(ddof=1):.1e}"
              f"  val {col['val'].mean():.2e}  kept train {col['kept_train'].mean():.2e}  {deltas}  kept epochs {col['kept_epoch'].tolist()}")  # fmt: skip
    return table


def main() -> None:
    runs: dict[str, dict[int, dict]] = {}
    for line in open(HERE / "results.jsonl"):
        r = json.loads(line)
        runs.setdefault(r["model"], {})[r["fold"]] = r
    table = summarize(runs, (0, 1, 2), ("sann",))
    print("\nfive folds:")
    table["five_folds"] = summarize(runs, (0, 1, 2, 3, 4), ("sann", "egnn"))
    (HERE / "layer.json").write_text(json.dumps(table, indent=1) + "\n")


if __name__ == "__main__":
    main()
