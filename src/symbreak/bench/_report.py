r"""Tables in the paper's layout (ours beside the paper's), Markdown reports and plots."""

from __future__ import annotations

import json
import platform
import re
import shutil
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from ..models import parse_spec
from ..tasks import TableSpec, Task

__all__ = ["Cell", "summarize", "format_table", "write_outputs", "write_report"]


@dataclass(frozen=True)
class Cell:
    """One table cell: our folds' test values (for the chosen σ of a +noise model) and the paper's value."""

    values: tuple[float, ...]
    paper: str | None
    sigma: float | None = None

    @property
    def mean(self) -> float:
        return float(np.mean(self.values)) if self.values else float("nan")

    @property
    def std(self) -> float:
        return float(np.std(self.values)) if self.values else float("nan")

    def ours(self) -> str:
        if not self.values:
            return "—"
        # one run has no spread to report; "± 0.000" would claim one
        text = _fmt(self.mean) if len(self.values) == 1 else f"{_fmt(self.mean)} ± {_fmt(self.std)}"
        return text + (f" (σ={self.sigma:g})" if self.sigma is not None else "")

    def paper_mean(self) -> float | None:
        if self.paper is None:
            return None
        return float(re.match(r"\s*([0-9.eE+-]+)", self.paper).group(1))


def _fmt(x: float) -> str:
    return f"{x:.3f}" if abs(x) >= 1e-3 or x == 0 else f"{x:.1e}"


def _cell(records: list[dict], model: str, subtask: str, loss: str, paper: str | None, measure: str) -> Cell:
    mine = [r for r in records if r["model"] == model and r["subtask"] == subtask and r["loss"] == loss]
    by_sigma: dict[Any, list[dict]] = {}
    for r in mine:
        by_sigma.setdefault(r.get("sigma"), []).append(r)
    if not by_sigma:
        return Cell((), paper)
    # best σ chosen on validation (the paper picked on test; here they coincide for train = test tasks)
    sigma = min(by_sigma, key=lambda s: np.mean([r["val"] for r in by_sigma[s]]))
    return Cell(tuple(r["test"][measure] for r in sorted(by_sigma[sigma], key=lambda r: r["fold"])), paper, sigma)


def summarize(records: list[dict], spec: TableSpec) -> dict[str, dict[str, Cell]]:
    """row → column header → :class:`Cell`. A column is (header, sub-task, loss[, measure]); the
    measure read from each record's ``test`` defaults to the loss.

    Besides the table's rows, every model run with options of a row's model (``sann[layers=3]``
    beside ``sann``, a hyper-parameter search) gets a row of its own, with that row's paper value.
    """
    rows = {row: row for row in spec.rows}
    for r in records:
        base = parse_spec(r["model"])[0]
        if r["model"] not in rows and base in spec.rows:
            rows[r["model"]] = base
    out: dict[str, dict[str, Cell]] = {}
    for row, base in rows.items():
        out[row] = {}
        for header, sub, loss, *measure in spec.columns:
            out[row][header] = _cell(records, row, sub, loss, spec.paper.get((base, header)), measure[0] if measure else loss)
    # a column nothing was run for (a sub-task left out with --subtasks) is left out of the table
    empty = {h for h, *_ in spec.columns if all(not cells[h].values for cells in out.values())}
    if empty and len(empty) < len(spec.columns):
        out = {row: {h: c for h, c in cells.items() if h not in empty} for row, cells in out.items()}
    return out


def differences(table: dict[str, dict[str, Cell]], threshold: float, verdicts: tuple[str, str] = ("learns", "fails")) -> list[str]:
    """Cells where we and the paper land on different sides of the task's success threshold.

    ``verdicts`` names the two sides (below, at or above ``threshold``).
    """

    def _verdict(value: float) -> str:
        return verdicts[0] if value < threshold else verdicts[1]

    out = []
    for row, cells in table.items():
        for header, cell in cells.items():
            pm = cell.paper_mean()
            if pm is None or not cell.values:
                continue
            ours, theirs = _verdict(cell.mean), _verdict(pm)
            if ours != theirs:
                out.append(f"{row} / {header}: ours {_fmt(cell.mean)} ({ours}), paper {_fmt(pm)} ({theirs})")
    return out


def _headers(table: dict[str, dict[str, Cell]]) -> list[str]:
    return list(next(iter(table.values()), {}))


def format_table(spec: TableSpec, table: dict[str, dict[str, Cell]], *, markdown: bool = False) -> str:
    """The table as aligned text (terminal) or GitHub Markdown: ours and the paper's value per column."""
    headers = ["Model"] + [f"{h} {who}" for h in _headers(table) for who in ("(ours)", "(paper)")]
    rows = [[row] + [x for c in cells.values() for x in (c.ours(), c.paper or "—")] for row, cells in table.items()]
    if markdown:
        lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
        lines += ["| " + " | ".join(r) + " |" for r in rows]
        return "\n".join(lines)
    widths = [max(len(str(x)) for x in col) for col in zip(headers, *rows)]
    line = lambda cells: "  ".join(str(c).ljust(w) for c, w in zip(cells, widths))  # noqa: E731
    return "\n".join([spec.title, line(headers), line(["-" * w for w in widths])] + [line(r) for r in rows])


def plot_table(spec: TableSpec, table: dict[str, dict[str, Cell]], path: Path, threshold: float | None) -> Path:
    """Grouped bars (ours, mean ± std over folds) with the paper's means as black marks; log scale."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows, headers = list(table), _headers(table)
    width = 0.8 / len(headers)
    fig, ax = plt.subplots(figsize=(max(6.0, 0.9 * len(rows) + 2), 4.2))
    for k, h in enumerate(headers):
        x = np.arange(len(rows)) + (k - (len(headers) - 1) / 2) * width
        means = np.array([table[r][h].mean for r in rows])
        stds = np.array([table[r][h].std for r in rows])
        ax.bar(x, np.maximum(means, 1e-5), width, yerr=stds, label=f"{h} (ours)", alpha=0.85, capsize=2)
        paper = [table[r][h].paper_mean() for r in rows]
        px = [xi for xi, p in zip(x, paper) if p is not None]
        ax.scatter(px, [max(p, 1e-5) for p in paper if p is not None], marker="_", s=200, color="black", zorder=3, label="paper" if k == 0 else None)
    if threshold is not None:
        ax.axhline(threshold, color="grey", ls="--", lw=1, label=f"threshold {threshold:g}")
    ax.set_yscale("log")
    ax.set_xticks(np.arange(len(rows)), rows, rotation=35, ha="right")
    ax.set_ylabel("test metric")
    ax.set_title(spec.title.split(":")[0])
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write_outputs(task: Task, records: list[dict], out: Path, settings: dict[str, Any]) -> dict[str, Any]:
    """Write ``table.md``, ``summary.json`` and one PNG per table into ``out``; return the texts and paths."""
    texts, markdown, plots, diffs, summary = [], [], [], [], []
    for k, spec in enumerate(task.tables, start=1):
        table = summarize(records, spec)
        if not any(c.values for cells in table.values() for c in cells.values()):
            continue  # none of its sub-tasks ran (e.g. ``--subtasks noise``): an empty table says nothing
        texts.append(format_table(spec, table))
        markdown.append(f"### {spec.title}\n\n{format_table(spec, table, markdown=True)}\n" + (f"\n{spec.note}\n" if spec.note else ""))
        plots.append(plot_table(spec, table, out / f"{task.name}-table{k}.png", task.threshold))
        diffs += differences(table, task.threshold, task.verdicts)
        summary.append({"title": spec.title, "cells": {r: {h: {"mean": c.mean, "std": c.std, "folds": list(c.values), "sigma": c.sigma, "paper": c.paper} for h, c in cells.items()} for r, cells in table.items()}})
    extras = task.report_extras(records, out)
    texts += extras["texts"]
    markdown += extras["markdown"]
    plots += extras["plots"]
    diffs = list(dict.fromkeys(diffs))
    (out / "table.md").write_text("\n".join(markdown))
    (out / "summary.json").write_text(json.dumps({"task": task.name, "settings": settings, "tables": summary, "differences": diffs}, indent=1))
    return {"texts": texts, "markdown": markdown, "plots": plots, "differences": diffs}


def write_report(task: Task, outputs: dict[str, Any], settings: dict[str, Any], path: Path, command: str) -> Path:
    """A Markdown page for ``docs/results/``: command, date, machine, our tables beside the paper's, plots."""
    import torch

    from .. import __version__

    path.parent.mkdir(parents=True, exist_ok=True)
    images = []
    for png in outputs["plots"]:
        # named after the page, so two pages of one task (e.g. per label source) keep their own plots
        name = png.name.replace(task.name, path.stem, 1) if png.name.startswith(task.name) else f"{path.stem}-{png.name}"
        target = path.parent / name
        if png.resolve() != target.resolve():
            shutil.copyfile(png, target)
        images.append(f"![{target.stem}]({name})")
    diffs = outputs["differences"]
    lines = [
        f"# `{task.name}`: {task.description}",
        "",
        f"Regenerated by `{command}` on {date.today().isoformat()}.",
        "",
        f"- Machine: {platform.machine()}, {platform.system()} {platform.release()}, Python {platform.python_version()}, torch {torch.__version__}, symbreak {__version__}",
        f"- Settings: {json.dumps(settings)}",
        f"- Verdict: \"{task.verdicts[0]}\" below {task.threshold:g}, \"{task.verdicts[1]}\" otherwise",
        "",
        *outputs["markdown"],
        "",
        "## Where we and the paper differ in kind",
        "",
        *([f"- {d}" for d in diffs] or ["- none: our verdict matches the paper's in every cell."]),
        "",
        *images,
        "",
    ]
    path.write_text("\n".join(lines))
    return path
