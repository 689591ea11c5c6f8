"""Command-line interface: a thin layer over the public API.

``symbreak analyze FILE... [--tol T] [--proper] [--json]``
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

import numpy as np

from . import __version__
from ._errors import SymbreakError
from .detect import DEFAULT_TOL, Symmetry, detect_symmetry
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
        f"  point group  {sym.point_group}   order {order}   max residual {sym.max_residual:.2g} Å (tol {sym.tol:g} Å)",
        f"  {'orbit':>5}  {'element':>7}  {'size':>4}  {'representative':>14}",
    ]
    for k, orb in enumerate(sym.orbits):
        lines.append(f"  {k:>5}  {_symbol(int(sym.numbers[orb[0]])):>7}  {len(orb):>4}  {int(orb[0]):>14}")
    lines.append("  canonical frame (columns are the canonical axes)")
    for row in sym.frame:
        lines.append("    " + "  ".join(f"{v:+.6f}" for v in row))
    return "\n".join(lines)


def _analyze(args: argparse.Namespace) -> int:
    records = []
    blocks = []
    for path in args.files:
        frames = read(path)
        for i, atoms in enumerate(frames):
            sym = detect_symmetry(atoms, tol=args.tol, proper=args.proper)
            label = path if len(frames) == 1 else f"{path}[{i}]"
            if args.json:
                records.append({"file": path, "index": i, "formula": atoms.get_chemical_formula(), **sym.to_dict()})
            else:
                blocks.append(_format(label, atoms.get_chemical_formula(), sym))
    if args.json:
        json.dump(records, sys.stdout, indent=1)
        sys.stdout.write("\n")
    else:
        print("\n\n".join(blocks))
    return 0


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="symbreak", description="Symmetry and symmetry breaking for molecules and point clouds.")
    p.add_argument("--version", action="version", version=f"symbreak {__version__}")
    sub = p.add_subparsers(dest="command", required=True)
    a = sub.add_parser("analyze", help="point group, orbits and canonical frame of structures in files")
    a.add_argument("files", nargs="+", help="structure files ASE can read (xyz, extxyz, pdb, sdf, cif, ...)")
    a.add_argument("--tol", type=float, default=DEFAULT_TOL, help=f"largest displacement of an atom under an operation, Å (default {DEFAULT_TOL})")
    a.add_argument("--proper", action="store_true", help="canonical frame from rotations only (keeps enantiomers apart)")
    a.add_argument("--json", action="store_true", help="machine-readable output with operations and permutations")
    a.set_defaults(run=_analyze)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``symbreak`` command; returns the exit code (2 on bad input)."""
    args = _parser().parse_args(argv)
    np.set_printoptions(suppress=True)
    try:
        return args.run(args)
    except SymbreakError as exc:
        print(f"symbreak: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
