"""Reading structures from files through ASE."""

from __future__ import annotations

import os
from pathlib import Path

from ._errors import FileFormatError

__all__ = ["read"]


def read(path: str | os.PathLike, *, index: str | int = ":", format: str | None = None) -> list:
    """Read every structure (every frame of a trajectory) in ``path`` as a list of ASE ``Atoms``.

    Any format ASE reads works (xyz, extxyz, pdb, sdf, cif, traj, ...); periodic cells are kept on
    the ``Atoms`` but symmetry detection treats the atoms as a finite molecule. ``index`` selects
    frames with ASE's syntax (default: all).

    Raises :class:`FileFormatError` naming the file if it is missing, empty or unreadable.
    """
    import ase.io

    p = Path(path)
    if not p.is_file():
        raise FileFormatError(f"{p}: no such file")
    if p.stat().st_size == 0:
        raise FileFormatError(f"{p}: the file is empty")
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
