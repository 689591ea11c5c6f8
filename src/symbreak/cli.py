"""Command-line interface: a thin layer over the public API.

``symbreak analyze FILE... [--tol T] [--proper] [--json]``
``symbreak bench TASK [--models m1,m2] [--loss cd,sbcd] [--folds K] [--epochs E] [--seed S] [--out DIR] [--quick]``
``symbreak generate dipoles [--out FILE]``, ``symbreak trajectory FILE --dt FS [--out DIR]``, ``symbreak generate water [--out DIR]``
``symbreak probe FILE [--calculator emt|aniso|lj|model:PATH] [--lmax L] [--proper] [--out DIR]``
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from . import __version__
from ._errors import SymbreakError
from .detect import DEFAULT_TOL, CrystalSymmetry, Symmetry, detect_crystal, detect_symmetry, is_periodic
from .io import read

__all__ = ["main"]


def _symbol(z: int) -> str:
    from ase.data import chemical_symbols

    return chemical_symbols[z] if 0 < z < len(chemical_symbols) else str(z)


def _format(label: str, formula: str, sym: Symmetry) -> str:
    g = sym.group
    order = f"{sym.order}" if g.is_finite else f"∞ (operations: the {sym.order}-element subgroup)"
    lines = [
        f"{label}  {formula}",
        f"  point group  {sym.point_group}   order {order}   max residual {sym.max_residual:.2g} Å (tol {sym.tol:.3g} Å"
        + ("" if sym.margin is None else f", chosen by the structure, margin {sym.margin:.3g}{'  — close call: distrust' if sym.margin < 2 else ''}")
        + ")",
        f"  rotational symmetry number σ = {sym.rotational_symmetry_number}",
        f"  {'orbit':>5}  {'element':>7}  {'size':>4}  {'representative':>14}",
    ]
    for k, orb in enumerate(sym.orbits):
        lines.append(f"  {k:>5}  {_symbol(int(sym.numbers[orb[0]])):>7}  {len(orb):>4}  {int(orb[0]):>14}")
    lines.append("  canonical frame (columns are the canonical axes)")
    for row in sym.frame:  # rounded first, so that -1e-17 prints as +0.000000 on every machine
        lines.append("    " + "  ".join(f"{round(float(v), 6) + 0.0:+.6f}" for v in row))
    return "\n".join(lines)


def _format_crystal(label: str, formula: str, sym: CrystalSymmetry) -> str:
    lines = [
        f"{label}  {formula}  (periodic)",
        f"  space group  {sym.space_group} (No. {sym.number})   crystal class {sym.point_group} ({sym.point_group_hm}), order {sym.order}   symprec {sym.symprec:g} Å",
        f"  {'orbit':>5}  {'element':>7}  {'size':>4}  {'site symmetry':>13}",
    ]
    for k, orb in enumerate(sym.orbits):
        element = _symbol(int(sym.numbers[orb[0]]))
        lines.append(f"  {k:>5}  {element:>7}  {len(orb):>4}  {sym.site_symmetries[int(orb[0])]:>13}")
    return "\n".join(lines)


def _analyze(args: argparse.Namespace) -> int:
    """Every readable structure is reported; a file or frame that fails says so on stderr, named,
    and the exit code is 2 — one bad file among many no longer hides the results of the others."""
    records = []
    blocks = []
    failed = 0
    for path in args.files:
        try:
            frames = read(path)
        except SymbreakError as exc:
            print(f"symbreak: error: {exc}", file=sys.stderr)
            failed += 1
            continue
        for i, atoms in enumerate(frames):
            label = path if len(frames) == 1 else f"{path}[{i}]"
            try:
                if is_periodic(atoms):
                    crystal = detect_crystal(atoms, symprec=args.symprec)
                    if args.json:
                        records.append({"file": path, "index": i, "formula": atoms.get_chemical_formula(), "periodic": True, **crystal.to_dict()})
                    else:
                        blocks.append(_format_crystal(label, atoms.get_chemical_formula(), crystal))
                    continue
                sym = detect_symmetry(atoms, tol=args.tol, proper=args.proper)
            except SymbreakError as exc:
                print(f"symbreak: error: {label}: {exc}", file=sys.stderr)
                failed += 1
                continue
            if args.json:
                records.append({"file": path, "index": i, "formula": atoms.get_chemical_formula(), **sym.to_dict()})
            else:
                blocks.append(_format(label, atoms.get_chemical_formula(), sym))
    if args.json:
        json.dump(records, sys.stdout, indent=1)
        sys.stdout.write("\n")
    elif blocks:
        print("\n\n".join(blocks))
    return 2 if failed else 0


def _tolerance(text: str) -> float | str:
    """``--tol``: a distance in Å, or ``auto``."""
    if text == "auto":
        return text
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a distance in Å or 'auto', got {text!r}") from None


def _csv(text: str | None) -> list[str] | None:
    return [t.strip() for t in text.split(",") if t.strip()] if text else None


def _import_plugins(names: str | None) -> None:
    """Import modules or .py files that register models, inputs, variants or tasks."""
    from .bench import import_plugins

    import_plugins((names or "").split(","))


def _bench(args: argparse.Namespace) -> int:
    from .tasks import TASKS, get_task

    _import_plugins(args.plugins)

    if args.list:  # names and descriptions only: no torch, e3nn or torch-geometric

        for name in sorted(TASKS):
            task = get_task(name)
            print(f"{name:18s} {task.description}  (sub-tasks: {', '.join(s for s in task.subtasks if s) or '-'}; models: {', '.join(task.models)})")
        return 0
    if not args.task:
        raise SymbreakError("name a task (symbreak bench --list shows them)")
    if args.report:  # checked before any training: a report that cannot be written would fail after the whole run
        report = Path(args.report)
        if report.is_dir():
            raise SymbreakError(f"--report {report} is a folder; give a Markdown file to write")
        _output_folder(str(report.parent) if str(report.parent) else ".", "--report's folder")
    from .bench import run_benchmark, write_outputs, write_report
    from .models import split_specs

    for flag, value in (("--out", args.out), ("--models", args.models), ("--subtasks", args.subtasks), ("--loss", args.loss)):
        if value is not None and not value.strip():  # an empty value is a mistake, not "the default"
            raise SymbreakError(f"{flag} is empty: give a value, or leave {flag} off for the default")
    task = get_task(args.task)
    out = args.out or f"results/{task.name}" + ("-quick" if args.quick else "")
    result = run_benchmark(
        task, models=split_specs(args.models) if args.models else None, losses=_csv(args.loss), subtasks=_csv(args.subtasks), folds=args.folds,
        epochs=args.epochs, lr=args.lr, seed=args.seed, out=out, quick=args.quick, limit=args.limit, progress=not args.no_progress,
        device=args.device, save_models=args.save_models, engine=args.engine, address=args.address, workers=args.workers,
        plugins=_csv(args.plugins) or (), shards=args.shards, until_plateau=args.until_plateau,
    )  # fmt: skip
    outputs = write_outputs(task, result.records, result.out, result.settings)
    print(f"{task.name}: {result.ran} job(s) run, {result.skipped} already in {result.out / 'results.jsonl'}\n")
    print("\n\n".join(outputs["texts"]))
    if outputs["differences"]:
        print("\nDiffers in kind from the paper:")
        print("\n".join("  " + d for d in outputs["differences"]))
    if args.report:
        command = "symbreak bench " + " ".join(args.argv)
        print(f"\nreport: {write_report(task, outputs, result.settings, Path(args.report), command)}")
    print(f"\ntables, summary.json and plots in {result.out}")
    return 0


def _engine_arguments(parser: argparse.ArgumentParser) -> None:
    """Where the jobs run: ``--engine``, ``--address``, ``--workers`` (bench and search)."""
    parser.add_argument("--engine", choices=("local", "ray"), default="local", help="local: jobs one after another in this process (default); ray: every job a Ray task")
    parser.add_argument("--address", help="with --engine ray: a running cluster's address ('auto', 'ray://head:10001'); default: a local cluster")
    parser.add_argument("--workers", type=int, help="with --engine ray and no --address: CPUs of the local cluster (default: all)")
    parser.add_argument("--shards", type=int, help="with --engine ray: split each long job (canonicalization) into this many Ray tasks (default: --workers)")


def _search(args: argparse.Namespace) -> int:
    from .bench import load_space, run_search

    _import_plugins(args.plugins)
    result = run_search(
        args.task, model=args.model, space=load_space(args.space), trials=args.trials, subtask=args.subtask, loss=args.loss, folds=args.folds,
        epochs=args.epochs, lr=args.lr, seed=args.seed, out=args.out, engine=args.engine, address=args.address, workers=args.workers,
        progress=not args.no_progress, plugins=tuple(_csv(args.plugins) or ()),
    )  # fmt: skip
    print(result.format())
    print(f"\nstudy.db, search.json and the trials' results.jsonl in {result.out}")
    return 0


def _trajectory(args: argparse.Namespace) -> int:
    from .md import analyze_trajectory

    if args.out is not None and not args.out.strip():
        raise SymbreakError("--out is empty: name a folder for trajectory.json and trajectory.png, or leave --out off")
    out = _output_folder(args.out) if args.out is not None else None  # before the work: a bad --out fails at once
    frames = read(args.file)  # refuses a header that claims more atoms than the file holds
    res = analyze_trajectory(frames, dt_fs=args.dt, temperature_K=args.temperature, out=out)
    for key, value in res.items():
        if key != "series":
            print(f"  {key:42s} {value}")
    if out:
        print(f"\ntrajectory.json and trajectory.png in {out}")
    return 0


def _probe(args: argparse.Namespace) -> int:
    from .md import get_calculator, plot_symmetry_report, symmetry_report
    from .md._probe import _CLI_NAMES, _settings

    # every setting checked before the work, and named as the command line names it (--grid, not grid=)
    lmax, energy_tol, forces_tol, grid = _settings(args.lmax, not args.proper, args.energy_tol, args.forces_tol, args.grid, _CLI_NAMES)
    if args.out is not None and not args.out.strip():
        raise SymbreakError("--out is empty: name a folder for probe.json and probe.png, or leave --out off")
    frames = read(args.file)
    out = _output_folder(args.out) if args.out is not None else None  # before the work: a bad --out fails at once
    calc = get_calculator(args.calculator)
    labels = [args.file] if len(frames) == 1 else [f"{args.file}[{i}]" for i in range(len(frames))]
    report = symmetry_report(calc, frames, lmax=lmax, improper=not args.proper, energy_tol_meV=energy_tol, forces_tol_meV_A=forces_tol,
                             grid=grid, labels=labels, progress=not args.no_progress)  # fmt: skip
    if args.json:
        sys.stdout.write(report.to_json())
    else:
        print(report.format())
    if out is not None:
        try:
            (out / "probe.json").write_text(report.to_json())
            plot_symmetry_report(report, out / "probe.png")
        except OSError as exc:
            raise SymbreakError(f"--out {out}: cannot write ({exc.strerror or exc})") from None
        print(f"\nprobe.json and probe.png in {out}", file=sys.stderr if args.json else sys.stdout)
    return 0


def _positive_float(text: str) -> float:
    """A finite number > 0 (``--dt`` in fs, ``--temperature`` in K)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive finite number, got {text}")
    return value


def _sbs(args: argparse.Namespace) -> int:
    from .groups import PointGroup, subgroups
    from .groups import minimal_sbs
    from .groups._sbs import symmetry_breaking_set, write_sbs_table
    from .groups._subgroups import MAX_SUBGROUP_ORDER

    if args.table:
        paths = write_sbs_table(args.table, progress=not args.no_progress)
        print(f"wrote {paths[0]} and {paths[1]}")
        return 0
    if not args.group or not args.target:
        raise SymbreakError("give an input group and a target subgroup (symbreak sbs D3h Cs), or --table DIR")
    keep = args.keep or None
    b = symmetry_breaking_set(args.group, args.target, proper=args.proper, keep=keep)
    g = PointGroup(args.group)
    rotations_only = args.proper and bool((np.linalg.det(g.operations) < 0).any())
    best = None if rotations_only else minimal_sbs(g, args.target, proper=args.proper, keep=keep)
    if args.json:
        json.dump({**b.to_dict(), "any_object": best.to_dict() if best else None}, sys.stdout, indent=1)
        sys.stdout.write("\n")
        return 0
    n = g.normalizer()
    if g.order <= MAX_SUBGROUP_ORDER:
        kinds = sorted({s.name for s in subgroups(g)}, key=lambda x: (PointGroup(x).order, x))
        listed = f"its subgroup types: {', '.join(kinds)}"
    else:  # too many subgroups to list them all quickly
        listed = f"its subgroup types are not listed above order {MAX_SUBGROUP_ORDER}"
    print(f"{g.name} (order {g.order}) → {b.target}: {b.target} is a subgroup of {g.name} ({listed})")
    if b.keep:
        print(f"  keeping one class: {b.keep} and its conjugates in {g.name} (--keep {args.keep})")
    closed = f"N(G, K) = {b.normalizer}, the elements of N that map K's class to itself" if b.keep and n and b.normalizer != n.name else b.normalizer
    print(f"  normalizer of {g.name} in O(3): {n.name if n else 'infinite'}; the set is closed under {closed}{'' if b.equivariant else ' only (not equivariant)'}")
    if b.size:
        each = f"a conjugate of {b.keep}" if b.keep else f"{b.stabilizer} of {g.name}"
        print(f"  {b.size} unit vectors, each keeping {each}{' (ideal)' if b.ideal else ''}, in {g.name}'s standard orientation:")
        for v in b.vectors:
            print("    " + "  ".join(f"{round(float(c), 6) + 0.0:+.6f}" for c in v))
    if b.note:
        print(f"  note: {b.note}")
    if best is not None and best.size:
        how = "= |G|/|K|: a complement" if best.complement else f"> |G|/|K| = {best.bound}: G/K has no complement there"
        print(f"  any objects: the smallest ideal equivariant set has {best.size} elements ({how}), each with symmetry "
              f"{best.stabilizer} in {best.normalizer}; generalized normalizer N(G, K) = {best.generalized_normalizer}")  # fmt: skip
    return 0


def _output_folder(path: str, option: str = "--out") -> Path:
    """Create the output folder ``path`` (and its parents) before any work is done; a file there, or
    a place that cannot be written (``/proc/x``, no permission), is a one-line :class:`SymbreakError`."""
    out = Path(path)
    if out.exists() and not out.is_dir():
        raise SymbreakError(f"{option} {out} is a file; give a folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SymbreakError(f"{option} {out}: cannot create the folder ({exc.strerror or exc})") from None
    return out


def _positive_count(text: str) -> int:
    """``--limit``: a whole number ≥ 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {value}")
    return value


def _diagnose(args: argparse.Namespace) -> int:
    from .detect import diagnose, plot_diagnosis

    frames = read(args.file)
    out = _output_folder(args.out) if args.out else None  # before the work: a bad --out fails at once
    result = diagnose(frames, args.labels, rep=args.rep, tol=args.tol, label_tol=args.label_tol, progress=not args.no_progress)
    if args.json:
        json.dump(result.to_dict(), sys.stdout, indent=1)
        sys.stdout.write("\n")
    else:
        print(result.report(limit=args.limit))
    if out is not None:
        try:
            (out / "diagnosis.json").write_text(json.dumps(result.to_dict(), indent=1) + "\n")
            plot_diagnosis(result, out / "diagnosis.png")
        except OSError as exc:
            raise SymbreakError(f"--out {out}: cannot write ({exc.strerror or exc})") from None
        print(f"\ndiagnosis.json and diagnosis.png in {out}", file=sys.stderr if args.json else sys.stdout)
    return 0


def _group(args: argparse.Namespace) -> int:
    from .groups import character_table

    table = character_table(args.group)
    if args.json:
        json.dump(table.to_dict(), sys.stdout, indent=1)
        sys.stdout.write("\n")
        return 0
    print(f"{table.group}  order {table.order}  ({len(table.classes)} classes, {len(table.irreps)} irreps)\n")
    print(table)
    return 0


def _generate(args: argparse.Namespace) -> int:
    from .labels import generate_dipoles, generate_water

    if args.dataset == "water":
        out = args.out or "water"
        n = args.frames
        bulk = (round(0.5 * n), round(0.39 * n), n - round(0.5 * n) - round(0.39 * n))
        summary = generate_water(out, bulk_frames=bulk, gas_frames=args.gas_frames, method=args.method, seed=args.seed, progress=not args.no_progress)
        print(f"wrote {out}/bulk.npz ({summary['bulk']['frames']} frames of {summary['bulk']['atoms']} atoms) and {out}/gas.npz "
              f"({summary['gas']['frames']} frames), {summary['method']}, in {summary['seconds']:.0f} s")  # fmt: skip
        return 0

    names = args.molecules.split(",") if args.molecules else None
    summary = generate_dipoles(
        args.out or "dipoles_gfn2.xyz", conformers=args.conformers, amplitude=args.amplitude, seed=args.seed, source=args.source, nci=not args.no_nci, names=names, progress=not args.no_progress
    )
    print(f"wrote {args.out}: {summary['structures']} symmetry-breaking structures of {summary['molecules']} molecules "
          f"({summary['candidates']} candidates) in {summary['seconds']:.0f} s, {summary['label_seconds']:.0f} s of it labelling")  # fmt: skip
    return 0


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="symbreak", description="Symmetry and symmetry breaking for molecules and point clouds.")
    p.add_argument("--version", action="version", version=f"symbreak {__version__}")
    sub = p.add_subparsers(dest="command", required=True)
    a = sub.add_parser("analyze", help="point group, orbits and canonical frame of structures in files")
    a.add_argument("files", nargs="+", help="structure files ASE can read (xyz, extxyz, pdb, sdf, cif, ...)")
    a.add_argument("--tol", type=_tolerance, default=DEFAULT_TOL, help=f"largest displacement of an atom under an operation, Å, or 'auto' to let each structure choose (default {DEFAULT_TOL})")
    a.add_argument("--symprec", type=float, default=1e-3, help="tolerance for periodic structures (spglib's symprec), Å (default 1e-3)")
    a.add_argument("--proper", action="store_true", help="canonical frame from rotations only (keeps enantiomers apart)")
    a.add_argument("--json", action="store_true", help="machine-readable output with operations and permutations")
    a.set_defaults(run=_analyze)
    b = sub.add_parser("bench", help="reproduce a published symmetry-breaking experiment (resumable)")
    b.add_argument("task", nargs="?", help="task name (see --list)")
    b.add_argument("--list", action="store_true", help="list the registered tasks")
    b.add_argument("--models", help="comma-separated model specs, e.g. egnn,painn+mlp,egnn+noise,sann[layers=3,num_radial=6] (default: the paper's)")
    b.add_argument("--loss", help="comma-separated training losses: cd, sbcd, mse, sbmse (default: the paper's)")
    b.add_argument("--subtasks", help="comma-separated sub-tasks (default: all)")
    b.add_argument("--folds", type=int, help="folds (default: the paper's, 10)")
    b.add_argument("--epochs", type=int, help="epochs per fold (default: the paper's, 100)")
    b.add_argument("--lr", type=float, help="peak learning rate of the one-cycle schedule (default: the paper's)")
    b.add_argument("--seed", type=int, default=0)
    b.add_argument("--limit", type=int, help="use at most this many structures (tasks with large data sets: canonicalization)")
    b.add_argument("--out", help="output folder (default results/TASK); a rerun resumes from its results.jsonl")
    b.add_argument("--quick", action="store_true", help="few folds and epochs: a smoke run")
    b.add_argument("--until-plateau", type=int, metavar="PATIENCE",
                   help="train each job until its training loss has not improved by 1 %% in PATIENCE epochs (--epochs is then the cap), keeping its best epoch")
    b.add_argument("--plugins", help="comma-separated modules or .py files to import first: they register your models, inputs or tasks")
    b.add_argument("--device", default="auto", help="auto (a GPU when present), cpu or cuda; GPU records are kept apart from CPU ones")
    b.add_argument("--save-models", action="store_true", help="keep every trained model in OUT/models/<job seed>.pt (symbreak.models.load_model)")
    _engine_arguments(b)
    se = sub.add_parser("search", help="hyper-parameter search with Optuna, chosen on validation only (resumable)")
    se.add_argument("task", help="task name (symbreak bench --list)")
    se.add_argument("--model", required=True, help="the model spec to tune, e.g. sann or egnn")
    se.add_argument("--space", required=True, help="JSON file: parameter → list of choices (a grid) or {low, high[, log, int]}; lr and epochs are run settings")
    se.add_argument("--trials", type=int, help="number of trials (default: the whole grid; required for ranges)")
    se.add_argument("--subtask", help="sub-task to search on (default: the task's first)")
    se.add_argument("--loss", help="training loss (default: the task's first)")
    se.add_argument("--folds", type=int, help="folds per trial (default: the task's)")
    se.add_argument("--epochs", type=int, help="epochs per job (default: the task's)")
    se.add_argument("--lr", type=float, help="learning rate where the space sets none (default: the task's)")
    se.add_argument("--seed", type=int, default=0)
    se.add_argument("--out", help="folder for study.db, search.json and results.jsonl (default results/search/TASK-MODEL)")
    _engine_arguments(se)
    se.add_argument("--plugins", help="comma-separated modules or .py files to import first")
    se.add_argument("--no-progress", action="store_true", help="no progress bar")
    se.set_defaults(run=_search)
    b.add_argument("--report", help="also write a Markdown report here (e.g. docs/results/TASK.md)")
    b.add_argument("--no-progress", action="store_true", help="no progress bar")
    b.set_defaults(run=_bench)
    d = sub.add_parser("diagnose", help="which symmetries a data set's labels break: per structure, and a census")
    d.add_argument("file", help="structures with labels: extxyz arrays (per atom), info (per structure), or the results ASE keeps on a calculator (forces, energy, charges)")
    d.add_argument("--labels", required=True, help="name of the labels, e.g. dipoles, forces, atomic_charges")
    d.add_argument("--rep", help="how the labels transform: 1o (vectors), 0e (scalars), 1e, tensors, an irreps string (default: by their width)")
    d.add_argument("--tol", type=_tolerance, default=DEFAULT_TOL, help=f"symmetry tolerance of the structures, Å, or 'auto' (default {DEFAULT_TOL})")
    d.add_argument("--label-tol", type=float, default=1e-3, help="largest change of a label that still counts as kept, in label units (default 1e-3)")
    d.add_argument("--limit", type=_positive_count, default=20, help="list this many of the most strongly breaking structures (>= 1, default 20)")
    d.add_argument("--json", action="store_true", help="machine-readable output")
    d.add_argument("--out", help="folder for diagnosis.json and diagnosis.png")
    d.add_argument("--no-progress", action="store_true")
    d.set_defaults(run=_diagnose)
    sb = sub.add_parser("sbs", help="symmetry-breaking set of vectors for input group G and output group K (Xie & Smidt)")
    sb.add_argument("group", nargs="?", help="input point group, e.g. D3h")
    sb.add_argument("target", nargs="?", help="output symmetry, a subgroup of the input, e.g. Cs (C1: break everything)")
    sb.add_argument("--proper", action="store_true", help="equivariance under rotations only")
    sb.add_argument("--keep", help="keep one class of the target: mirror planes (xy, yz, xz) and rotation axes (x, y, z) of G's standard "
                    "orientation it contains, comma-separated, e.g. --keep yz for C2v → Cs; the set is then closed under N(G, K), not N")  # fmt: skip
    sb.add_argument("--json", action="store_true")
    sb.add_argument("--table", help="write the table for every point group (Markdown and JSON) into this folder")
    sb.add_argument("--no-progress", action="store_true")
    sb.set_defaults(run=_sbs)
    gr = sub.add_parser("group", help="character table of a finite point group, with Mulliken's irrep names")
    gr.add_argument("group", help="Schoenflies symbol, e.g. C2v, D6h, Td, Ih")
    gr.add_argument("--json", action="store_true", help="machine-readable output (characters_imag where irreps are complex)")
    gr.set_defaults(run=_group)
    t = sub.add_parser("trajectory", help="diagnostics of an MD trajectory: angular momentum, torque, spectra, orientations, g(r), MSD, drift")
    t.add_argument("file", help="a trajectory ASE can read (.traj, extxyz) with velocities")
    t.add_argument("--dt", type=_positive_float, required=True, help="time between frames, fs")
    t.add_argument("--temperature", type=_positive_float, default=300.0, help="temperature for free energies, K (default 300)")
    t.add_argument("--out", help="folder for trajectory.json and trajectory.png")
    t.set_defaults(run=_trajectory)
    pr = sub.add_parser("probe", help="how a calculator or model depends on orientation, by degree l and parity, and the grid that removes it")
    pr.add_argument("file", help="structures ASE can read (xyz, extxyz, cif, ...); every frame is probed")
    pr.add_argument("--calculator", default="emt", help="emt (ASE EMT), lj (ASE Lennard-Jones), aniso (a toy with known l = 2, 4 content), "
                    "or model:PATH, a symbreak model checkpoint (symbreak.models.save_model) (default emt)")  # fmt: skip
    pr.add_argument("--lmax", type=int, default=6, help="resolve degrees l <= LMAX; the sampling grid is exact to 2 LMAX (default 6)")
    pr.add_argument("--proper", action="store_true", help="rotations only: skip the inverted copies (half the evaluations, no parity split)")
    pr.add_argument("--energy-tol", type=float, default=0.1, help="energy content of a degree that counts, meV (default 0.1)")
    pr.add_argument("--forces-tol", type=float, default=0.1, help="force content of a degree that counts, meV/Å (default 0.1)")
    pr.add_argument("--grid", help="sampling grid spec (e.g. 7, lebedev13), exact to at least 2 LMAX, of at most 10,000 rotations "
                    "(default: the smallest such)")  # fmt: skip
    pr.add_argument("--json", action="store_true", help="machine-readable output")
    pr.add_argument("--out", help="folder for probe.json and probe.png (bar chart of the content by degree)")
    pr.add_argument("--no-progress", action="store_true", help="no progress bar")
    pr.set_defaults(run=_probe)
    g = sub.add_parser("generate", help="make a task's data set with real quantum chemistry (GFN2-xTB via tblite, DFT via PySCF)")
    g.add_argument("dataset", choices=["dipoles", "water"], help="dipoles: symmetry-breaking atomic dipoles of small molecules; water: liquid and gas-phase water with xTB energies, forces, stress")
    g.add_argument("--out", help="dipoles: extended XYZ file to write (default dipoles_gfn2.xyz); water: folder (default water/; a rerun resumes)")
    g.add_argument("--frames", type=int, default=900, help="water: bulk frames (half at 300 K, 39 %% at 400 K, the rest at 600 K)")
    g.add_argument("--gas-frames", type=int, default=300, help="water: single-molecule frames at 400 K")
    g.add_argument("--method", choices=["GFN1-xTB", "GFN2-xTB"], default="GFN1-xTB", help="water: xTB level (GFN2 is about 5x slower)")
    g.add_argument("--conformers", type=int, default=6, help="displaced structures per molecule")
    g.add_argument("--amplitude", type=float, default=0.1, help="largest atomic displacement, Å")
    g.add_argument("--seed", type=int, default=0)
    g.add_argument("--source", choices=["gfn2", "dft"], default="gfn2", help="labels: GFN2-xTB (fast) or Hirshfeld PBE0/def2-SVP (PySCF, slow; resumes after an interruption)")
    g.add_argument("--molecules", help="comma-separated molecule names (G2 names, NCI:<SMILES>): regenerate only these")
    g.add_argument("--no-nci", action="store_true", help="G2 molecules only, without RDKit's NCI sample")
    g.add_argument("--no-progress", action="store_true")
    g.set_defaults(run=_generate)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``symbreak`` command; returns the exit code (2 on bad input, 141 when
    the reader of its output went away, as in ``symbreak analyze x.xyz --json | head``)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        args = _parser().parse_args(argv)
        args.argv = argv[1:]
        np.set_printoptions(suppress=True)
        try:
            code = args.run(args)
            sys.stdout.flush()  # here, so that a closed pipe is caught below and not at exit
            return code
        except SymbreakError as exc:
            print(f"symbreak: error: {exc}", file=sys.stderr)
            return 2
        except KeyboardInterrupt as exc:  # one line, not a traceback: what finished and how to resume
            print(f"symbreak: {str(exc) or 'interrupted'}", file=sys.stderr)
            return 130
    except BrokenPipeError:
        # Python docs, signal module, "Note on SIGPIPE": point stdout at devnull so that the
        # flush at exit does not fail again, and exit as a process killed by SIGPIPE would (128 + 13)
        import os

        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        except (OSError, ValueError):  # stdout is no file (captured in tests): nothing left to flush
            pass
        return 141


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
