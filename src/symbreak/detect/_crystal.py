r"""Crystals: space group, crystal class and site symmetries through spglib.

A periodic structure (ASE ``Atoms`` with a cell and periodic boundaries, a CIF) has a space
group, not a point group: its operations are rotations *and* translations
:math:`x \to W x + w` on fractional coordinates. spglib (made for exactly this) finds them;
:func:`detect_crystal` returns them with the crystal's point group (the rotation parts, as
Cartesian matrices, named like :func:`~symbreak.detect_symmetry` names molecules), each atom's
site symmetry, and the orbits of symmetry-equivalent atoms. Needs ``pip install spglib``
(``symbreak[crystal]``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .._errors import StructureError, SymbreakError, ToleranceError

__all__ = ["CrystalSymmetry", "detect_crystal", "is_periodic"]


def is_periodic(structure: Any) -> bool:
    """An ASE ``Atoms`` with periodic boundaries along some axis and a cell."""
    pbc = getattr(structure, "pbc", None)
    cell = getattr(structure, "cell", None)
    return pbc is not None and bool(np.any(pbc)) and cell is not None and float(abs(np.linalg.det(np.asarray(cell)))) > 1e-12


@dataclass(frozen=True)
class CrystalSymmetry:
    """The symmetry of a crystal, as found by :func:`detect_crystal`. Immutable.

    space_group: Hermann–Mauguin symbol (``'Fm-3m'``); number: 1–230; point_group: the crystal
    class in Schoenflies notation (``'Oh'``); point_group_hm: the same in Hermann–Mauguin
    (``'m-3m'``); operations: (k, 3, 3) the distinct Cartesian rotation parts (the crystal class,
    acting on Cartesian vectors: ``x' = R x``); rotations (K, 3, 3) int and translations (K, 3):
    every space-group operation on fractional coordinates, ``f' = W f + w``; site_symmetries:
    (n,) each atom's site symmetry (Hermann–Mauguin, oriented); orbits: symmetry-equivalent atoms;
    symprec: the tolerance used (Å); numbers: (n,) the atoms' atomic numbers.
    """

    space_group: str
    number: int
    point_group: str
    point_group_hm: str
    operations: np.ndarray
    rotations: np.ndarray
    translations: np.ndarray
    site_symmetries: tuple[str, ...]
    orbits: tuple[np.ndarray, ...]
    symprec: float
    numbers: np.ndarray

    @property
    def order(self) -> int:
        """Order of the crystal class (the point group)."""
        return int(len(self.operations))

    def __repr__(self) -> str:  # one line: the arrays are in the fields and in to_dict()
        return (
            f"CrystalSymmetry(space_group={self.space_group!r} ({self.number}), point_group={self.point_group!r}, order={self.order}, "
            f"n_atoms={len(self.numbers)}, n_orbits={len(self.orbits)}, n_operations={len(self.rotations)}, symprec={self.symprec:.3g})"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "space_group": self.space_group, "number": self.number, "point_group": self.point_group, "point_group_hm": self.point_group_hm,
            "order": self.order, "site_symmetries": list(self.site_symmetries), "orbits": [o.tolist() for o in self.orbits], "symprec": self.symprec,
            "operations": self.operations.tolist(), "space_group_operations": len(self.rotations),
        }  # fmt: skip


def detect_crystal(atoms: Any, *, symprec: float = 1e-3) -> CrystalSymmetry:
    """Space group, crystal class, site symmetries and orbits of a periodic ASE ``Atoms``.

    symprec: spglib's tolerance on positions, Å (its default; 0.01–0.1 for relaxed or noisy
    structures).
    """
    try:
        import spglib
    except ImportError:
        raise SymbreakError("crystals need spglib, which is not installed: pip install -e '.[crystal]'") from None
    if not is_periodic(atoms):
        raise StructureError("detect_crystal needs a periodic structure (ASE Atoms with a cell and pbc); use detect_symmetry for molecules")
    if not symprec > 0 or not np.isfinite(symprec):
        raise ToleranceError(f"symprec must be a positive length in Å, got {symprec}")
    positions = np.asarray(atoms.get_scaled_positions(wrap=True), dtype=float)
    if not np.all(np.isfinite(positions)):
        raise StructureError("positions contain NaN or inf")
    lattice = np.asarray(atoms.cell[:], dtype=float)  # rows: lattice vectors
    import warnings

    with warnings.catch_warnings():  # spglib 2.x warns that its None-on-error convention will change; both are handled
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            data = spglib.get_symmetry_dataset((lattice, positions, np.asarray(atoms.numbers)), symprec=symprec)
        except Exception as exc:  # spglib >= 3 raises instead of returning None
            raise SymbreakError(f"spglib found no symmetry at symprec {symprec} Å (atoms too close, or a broken cell): {exc}") from None
    if data is None:
        raise SymbreakError(f"spglib found no symmetry at symprec {symprec} Å (atoms too close, or a broken cell)")
    # f' = W f  ⇔  x' = Lᵀ W L⁻ᵀ x for Cartesian x = Lᵀ f
    to_cart = lattice.T
    distinct = np.unique(np.asarray(data.rotations), axis=0).astype(float)  # integer matrices: exact duplicates
    unique = _nearest_orthogonal(np.einsum("ij,kjl,lm->kim", to_cart, distinct, np.linalg.inv(to_cart)))
    point_group = _schoenflies(unique, data.pointgroup)
    equivalent = np.asarray(data.equivalent_atoms)
    orbits = tuple(np.flatnonzero(equivalent == r) for r in np.unique(equivalent))
    return CrystalSymmetry(
        space_group=str(data.international), number=int(data.number), point_group=point_group, point_group_hm=str(data.pointgroup),
        operations=unique, rotations=np.asarray(data.rotations), translations=np.asarray(data.translations),
        site_symmetries=tuple(str(s) for s in data.site_symmetry_symbols), orbits=orbits, symprec=float(symprec),
        numbers=np.asarray(atoms.numbers).copy(),
    )  # fmt: skip


def _nearest_orthogonal(operations: np.ndarray) -> np.ndarray:
    """Each (3, 3) matrix replaced by the orthogonal matrix nearest to it (the polar factor U Vᵀ of
    its SVD). The identity on a cell that has its symmetry exactly; at a large ``symprec`` spglib
    accepts a cell only close to the symmetric one (tetragonal BaTiO3 read as cubic at 0.2 Å), and
    its operations mapped through that cell are skewed: the nearest rotations are the idealised ones."""
    u, _, vt = np.linalg.svd(operations)
    return u @ vt


def _schoenflies(operations: np.ndarray, hm: str) -> str:
    """The crystal class's Schoenflies name, from its Cartesian operations (symbreak's naming)."""
    from ..groups import identify

    try:
        return identify(operations, atol=1e-5)[0].name
    except SymbreakError:  # pragma: no cover - a skewed cell whose matrices are not orthogonal to 1e-5
        return hm
