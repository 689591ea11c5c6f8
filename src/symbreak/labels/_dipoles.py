r"""Making the ``dipoles`` data set: molecules, conformers, selection and labels (SANN paper, §6.3).

The paper used Hirshfeld atomic dipoles from QM7-X, which cannot be downloaded here. This module
makes the same kind of data with real quantum chemistry, in code:

1. Molecules: closed-shell molecules with 1 to 5 heavy atoms (C, N, O, S, Cl) plus H from ASE's G2
   set and from the NCI SMILES sample shipped inside RDKit (embedded with ETKDG, then MMFF). Each
   is relaxed with GFN2-xTB (BFGS, fmax 0.01 eV/Å) and kept when the minimum has a non-trivial
   point group (tol 0.1 Å) and is not a duplicate of one already kept.
2. Conformers, like QM7-X's: the minimum, plus displacements with a largest atomic shift of at most
   ``amplitude`` Å, half along random directions and half along normal modes of the GFN2-xTB
   Hessian. The random numbers of a molecule are seeded by (seed, its name), so any molecule can
   be regenerated alone.
3. Selection, as in the paper: keep a structure when its geometry is symmetric within 0.2 Å (a
   non-trivial point group at tol 0.2) and its GFN2-xTB dipoles break that symmetry (some
   operation moves the dipole field by more than ``min_break`` e·bohr). Both label sources
   therefore label the same structures.
4. Labels: GFN2-xTB atomic dipoles (tblite, ~20 ms per structure, exactly equivariant) or
   Hirshfeld atomic dipoles of PBE0/def2-SVP densities (PySCF, 1–10 s per structure, equivariant
   to ~1e-4 because the integration grid is fixed in the laboratory frame).

DFT labels are appended to ``<out>.partial.jsonl`` as they are computed, so an interrupted run
resumes where it stopped; the file is removed when the data set is written.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .._errors import SymbreakError
from ._molecules import broken_by, conformers as _conformers, dipole_molecules
from ._xtb import gfn2_atomic_dipoles

__all__ = ["generate_dipoles", "SOURCES"]

#: label source → what computes the atomic dipoles (``generate_dipoles(source=...)``)
SOURCES = {"gfn2": "GFN2-xTB (tblite)", "dft": "Hirshfeld, PBE0/def2-SVP (PySCF)"}


class _LabelCache:
    """DFT labels already computed, keyed by a hash of the structure; appended with fsync so a killed run loses at most one."""

    def __init__(self, path: Path):
        self.path = path
        self.known: dict[str, dict[str, Any]] = {}
        if path.is_file():
            for line in path.read_text().splitlines():
                try:
                    row = json.loads(line)
                except json.JSONDecodeError:  # a line cut short by the interruption
                    continue
                self.known[row["key"]] = row

    @staticmethod
    def key(numbers: np.ndarray, positions: np.ndarray) -> str:
        return hashlib.sha1(np.asarray(numbers, dtype=np.int64).tobytes() + np.round(positions, 8).tobytes()).hexdigest()

    def add(self, row: dict[str, Any]) -> None:
        self.known[row["key"]] = row
        with open(self.path, "a") as fh:
            fh.write(json.dumps(row) + "\n")
            fh.flush()
            os.fsync(fh.fileno())


def _dft_labels(numbers: np.ndarray, positions: np.ndarray, cache: _LabelCache) -> tuple[np.ndarray, np.ndarray, float]:
    from ._hirshfeld import hirshfeld_dft

    key = cache.key(numbers, positions)
    if key not in cache.known:
        start = time.perf_counter()
        charges, dipoles, energy = hirshfeld_dft(numbers, positions)
        cache.add({"key": key, "charges": charges.tolist(), "dipoles": dipoles.tolist(), "energy": energy, "seconds": time.perf_counter() - start})
    row = cache.known[key]
    return np.array(row["dipoles"]), np.array(row["charges"]), float(row["seconds"])


def generate_dipoles(
    path: str | Path,
    *,
    conformers: int = 6,
    amplitude: float = 0.1,
    min_break: float = 1e-3,
    seed: int = 0,
    source: str = "gfn2",
    nci: bool = True,
    names: Sequence[str] | None = None,
    progress: bool = False,
) -> dict[str, Any]:
    """Make the data set and write it as extended XYZ (arrays ``dipoles``, ``atomic_charges``); returns a summary.

    conformers: displaced structures per molecule (besides the minimum); amplitude: largest atomic
    shift, Å; min_break: e·bohr a symmetry operation must move the GFN2-xTB dipoles by for a
    structure to count as symmetry-breaking. source: ``"gfn2"`` or ``"dft"`` (see the module
    docstring). nci: include RDKit's NCI molecules besides G2. names: only these molecules.
    """
    if source not in SOURCES:
        raise SymbreakError(f"source must be one of {', '.join(SOURCES)}, got {source!r}")
    if conformers < 0 or not 0 < amplitude <= 0.5 or min_break <= 0:
        raise SymbreakError(f"need conformers >= 0, 0 < amplitude <= 0.5 Å and min_break > 0; got {conformers}, {amplitude}, {min_break}")
    import ase.io
    from tqdm.auto import tqdm

    path = Path(path)
    cache = _LabelCache(path.with_name(path.name + ".partial.jsonl")) if source == "dft" else None
    start = time.perf_counter()
    molecules = dipole_molecules(seed=seed, nci=nci, names=names, progress=progress)
    kept, seen, label_seconds = [], 0, 0.0
    for name, atoms in tqdm(molecules, disable=not progress, desc=f"labels ({source})"):
        rng = np.random.default_rng([seed, zlib.crc32(name.encode())])
        for kind, pos in _conformers(atoms, conformers, amplitude, rng):
            seen += 1
            dip, charges = gfn2_atomic_dipoles(atoms.numbers, pos)
            group, worst = broken_by(pos, atoms.numbers, dip)
            if group == "C1" or worst < min_break:
                continue
            if cache is not None:
                dip, charges, took = _dft_labels(atoms.numbers, pos, cache)
                label_seconds += took
                worst = broken_by(pos, atoms.numbers, dip)[1]
            frame = atoms.copy()
            frame.calc = None
            frame.positions = pos
            frame.arrays["dipoles"] = dip
            frame.arrays["atomic_charges"] = charges
            frame.info.update({"name": name, "conformer": kind, "point_group": group, "dipole_break": worst, "source": SOURCES[source]})
            kept.append(frame)
    if not kept:
        raise SymbreakError("no structure qualified: nothing written")
    ase.io.write(str(path), kept, format="extxyz")
    if cache is not None:
        cache.path.unlink(missing_ok=True)
    return {
        "structures": len(kept),
        "candidates": seen,
        "molecules": len({f.info["name"] for f in kept}),
        "seconds": time.perf_counter() - start,
        "label_seconds": label_seconds,
    }
