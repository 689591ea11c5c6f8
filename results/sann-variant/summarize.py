"""Should ``sann``'s default become the variant that matches EGNN on the dipoles (issue 29, item 1)?
This compares the two variants of ``docs/results/sann-ablation.md`` with ``sann`` as given on every
benchmark page where SANN runs, with each page's own protocol (the commands are on that page).

Records: the variants' runs in the folders beside this file, ``sann``'s (and, on the dipoles,
``egnn``'s) in the page's own ``results/<task>/results.jsonl``. Each fold's test set is the same
in both (checked: the score of predicting zero, ``zero``, must agree fold by fold). Per (task,
subtask, training loss) and model: the test SB-MSE of each fold, the mean ± sample std (ddof = 1),
and the paired difference from ``sann`` fold by fold (mean ± standard error), with the number of
folds on which the model is better than ``sann``.

Run: .venv/bin/python results/sann-variant/summarize.py  (prints the table, writes variant.json beside it)
"""

import json
from pathlib import Path

import numpy as np

HERE = Path(__file__).parent
RESULTS = HERE.parent
#: the variants' folder here → the page's records
RUNS = {
    "h2o-modes": "h2o-modes", "square-ssb": "square-ssb", "sbs-examples": "sbs-examples", "dipoles-gfn2": "dipoles", "dipoles": "dipoles",
    # trained to a plateau (cap 2000 epochs, patience 200), sann beside them in the same run
    "square-ssb-plateau": "sann-variant/square-ssb-plateau", "h2o-modes-plateau": "sann-variant/h2o-modes-plateau",
}  # fmt: skip
VARIANTS = {
    "readout": "sann[readout='egnn',readout_depth=4,pair_distance='squared']",
    "readout+layer": "sann[stages='one',classes=False,readout='egnn',readout_depth=4,pair_distance='squared']",
}


def load(path: Path) -> dict[tuple, dict[int, dict]]:
    """(subtask, loss, model) → fold → record."""
    runs: dict[tuple, dict[int, dict]] = {}
    for line in open(path):
        r = json.loads(line)
        runs.setdefault((r["subtask"], r["loss"], r["model"]), {})[r["fold"]] = r
    return runs


def compare(mine: dict, page: dict) -> list[dict]:
    rows = []
    for subtask, loss in sorted({(s, lo) for s, lo, _ in mine}):
        base = page.get((subtask, loss, "sann"))
        if base is None:
            continue
        models = {"sann": base, "egnn": page.get((subtask, loss, "egnn"))}
        models.update({m: runs for (s, lo, m), runs in mine.items() if (s, lo) == (subtask, loss)})
        folds = sorted(set.intersection(*(set(runs) for m, runs in models.items() if m != "egnn" or runs)))
        for model, runs in models.items():
            if runs is None or not all(i in runs for i in folds):
                continue
            for i in folds:  # the same test set, or the comparison means nothing
                assert np.isclose(runs[i]["zero"]["sbmse"], base[i]["zero"]["sbmse"], rtol=1e-9), (subtask, loss, model, i)
            test = np.array([runs[i]["test"]["sbmse"] for i in folds])
            diff = test - np.array([base[i]["test"]["sbmse"] for i in folds])
            rows.append({
                "subtask": subtask, "loss": loss, "model": model, "folds": folds, "test": test.tolist(),
                "mean": float(test.mean()), "std_ddof1": float(test.std(ddof=1)) if len(test) > 1 else None,
                "minus_sann": {"mean": float(diff.mean()), "se": float(diff.std(ddof=1) / np.sqrt(len(diff))) if len(diff) > 1 else None,
                               "better_folds": int((diff < 0).sum())},
                "zero": float(np.mean([runs[i]["zero"]["sbmse"] for i in folds])),
            })  # fmt: skip
    return rows


def main() -> None:
    table = {}
    for here, page in RUNS.items():
        if not (HERE / here / "results.jsonl").exists():
            continue
        table[here] = compare(load(HERE / here / "results.jsonl"), load(RESULTS / page / "results.jsonl"))
        print(f"\n{here} (page records: results/{page})")
        for r in table[here]:
            d = r["minus_sann"]
            se = f" ± {d['se']:.1e}" if d["se"] is not None else ""
            name = next((k for k, v in VARIANTS.items() if v == r["model"]), r["model"])
            std = f" ± {r['std_ddof1']:.1e}" if r["std_ddof1"] is not None else ""
            print(f"  {r['subtask'] or '-':18s} {r['loss']:6s} {name:14s} test {r['mean']:.2e}{std}  (zero {r['zero']:.2e})  "
                  f"Δ vs sann {d['mean']:+.1e}{se}, better on {d['better_folds']}/{len(r['folds'])} folds")  # fmt: skip
    (HERE / "variant.json").write_text(json.dumps({"variants": VARIANTS, "tasks": table}, indent=1) + "\n")
    print("\n" + markdown(table))


def markdown(table: dict[str, list[dict]]) -> str:
    """The page's table: per (run, subtask, loss) the mean test SB-MSE of each model, with the
    folds on which a variant beats ``sann`` (paired, fold by fold)."""
    lines = ["| run | subtask | trained with | folds | predicting zero | `sann` | `egnn` | readout | readout + layer |", "|---|---|---|---|---|---|---|---|---|"]
    for run, rows in table.items():
        groups: dict[tuple, dict[str, dict]] = {}
        for r in rows:
            groups.setdefault((r["subtask"], r["loss"]), {})[next((k for k, v in VARIANTS.items() if v == r["model"]), r["model"])] = r
        for (subtask, loss), by in groups.items():
            n = len(by["sann"]["folds"])
            cell = lambda k: "—" if k not in by else f"{by[k]['mean']:.2e}" + (f" ({by[k]['minus_sann']['better_folds']}/{n})" if k in VARIANTS else "")  # noqa: E731
            lines.append(f"| {run} | {subtask or '—'} | {loss} | {n} | {by['sann']['zero']:.2e} | {cell('sann')} | {cell('egnn')} | {cell('readout')} | {cell('readout+layer')} |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
