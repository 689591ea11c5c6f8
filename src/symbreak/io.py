"""Reading structures from files through ASE."""

from __future__ import annotations

import os
from pathlib import Path

from ._errors import FileFormatError

__all__ = ["read"]

#: the shortest line an atom can take in an XYZ file ("H 0 0 0" and a newline)
_MIN_ATOM_LINE = 8


def _check_xyz_header(path: Path) -> None:
    """Refuse an XYZ file whose first header claims more atoms than the file could hold, before a
    reader tries to collect them (a 20-byte file claiming 10⁸ atoms kept ASE busy for minutes)."""
    with open(path, "rb") as fh:
        first = fh.readline(64).strip()
    try:
        claimed = int(first)
    except ValueError:
        raise FileFormatError(f"{path}: line 1 should be the number of atoms, got {first[:30].decode(errors='replace')!r}") from None
    if claimed < 0:
        raise FileFormatError(f"{path}: line 1 claims {claimed} atoms")
    size = path.stat().st_size
    if claimed * _MIN_ATOM_LINE > size:
        raise FileFormatError(f"{path}: the header claims {claimed:,} atoms but the file has only {size:,} bytes")


def read(path: str | os.PathLike, *, index: str | int = ":", format: str | None = None) -> list:
    """Read every structure (every frame of a trajectory) in ``path`` as a list of ASE ``Atoms``.

    Any format ASE reads works (xyz, extxyz, pdb, sdf, cif, traj, ...); periodic cells are kept on
    the ``Atoms`` (:func:`symbreak.detect.detect_crystal` gives their space group). ``index`` selects
    frames with ASE's syntax (default: all).

    Raises :class:`FileFormatError` naming the file if it is missing, empty or unreadable.
    """
    import ase.io

    p = Path(path)
    if p.is_dir():
        raise FileFormatError(f"{p}: is a directory, not a structure file")
    if not p.exists():
        raise FileFormatError(f"{p}: no such file")
    if not p.is_file():
        raise FileFormatError(f"{p}: not a regular file")
    if p.stat().st_size == 0:
        raise FileFormatError(f"{p}: the file is empty")
    if (format or p.suffix.lstrip(".").lower()) in ("xyz", "extxyz"):
        _check_xyz_header(p)
    try:
        frames = ase.io.read(str(p), index=index, format=format)
    except Exception as exc:  # ASE raises many exception types for malformed files
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise FileFormatError(f"{p}: cannot be read as a structure ({reason})") from None
    if not isinstance(frames, list):
        frames = [frames]
    if not frames or any(len(f) == 0 for f in frames):
        raise FileFormatError(f"{p}: contains no atoms")
    return frames
