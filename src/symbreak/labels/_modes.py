r"""Normal modes of H₂O from a real Hessian: GFN2-xTB (tblite) through ASE's ``Vibrations``.

The equilibrium geometry is relaxed with BFGS (then symmetrized to its C2v), the Cartesian Hessian :math:`H` (eV/Å²) comes from
ASE's central finite differences, and the modes are the orthonormal eigenvectors of the
mass-weighted Hessian :math:`M^{-1/2} H M^{-1/2}` (averaged over the point group first) with the three largest eigenvalues (the other six
are translations and rotations, near zero). The result is shipped as JSON so the benchmark needs no
quantum chemistry at run time; :func:`compute_water_modes` regenerates it (``pip install tblite``).
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from ..detect import detect_symmetry

__all__ = ["WaterModes", "compute_water_modes", "load_water_modes", "symmetrize_hessian", "normal_modes", "MODE_NAMES"]

#: the names of water's three normal modes, in order of ascending frequency
MODE_NAMES = ("bend", "symmetric", "asymmetric")  # ascending frequency
_DATA = "h2o_gfn2-xtb.json"
# eigenvalue of the mass-weighted Hessian (eV/Å²/amu) → wavenumber (cm⁻¹)
_EV_A2_AMU_TO_CM1 = 521.47091


@dataclass(frozen=True)
class WaterModes:
    """H₂O at its minimum and its three vibrations.

    numbers: (3,) O, H, H; positions: (3, 3) Å, centred; masses: (3,) amu; hessian: (9, 9) eV/Å²;
    modes: (3, 9) orthonormal mass-weighted eigenvectors, rows in :data:`MODE_NAMES` order;
    frequencies: (3,) cm⁻¹; method: the potential used.
    """

    numbers: np.ndarray
    positions: np.ndarray
    masses: np.ndarray
    hessian: np.ndarray
    modes: np.ndarray
    frequencies: np.ndarray
    method: str

    def mode(self, name: str) -> np.ndarray:
        """Per-atom displacement vectors (3 atoms, 3) of the named mode."""
        if name not in MODE_NAMES:
            raise ValueError(f"unknown mode {name!r}; choose one of {MODE_NAMES}")
        return self.modes[MODE_NAMES.index(name)].reshape(3, 3)

    def to_dict(self) -> dict:
        return {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in self.__dict__.items()}


def _representation(operations: np.ndarray, permutations: np.ndarray) -> np.ndarray:
    r"""The 3n×3n matrices :math:`P_g` moving a Cartesian displacement field: atom i's block goes to atom π_g(i), rotated by R_g."""
    k, n = permutations.shape
    out = np.zeros((k, 3 * n, 3 * n))
    for g in range(k):
        for i, j in enumerate(permutations[g]):
            out[g, 3 * j : 3 * j + 3, 3 * i : 3 * i + 3] = operations[g]
    return out


def symmetrize_hessian(hessian: np.ndarray, operations: np.ndarray, permutations: np.ndarray) -> np.ndarray:
    r"""Group average :math:`\frac1{|G|}\sum_g P_g H P_g^\top`: removes finite-difference noise that breaks the molecule's symmetry.

    Without it, the nearly degenerate stretches of water (3643 vs 3652 cm⁻¹ in GFN2-xTB) mix at
    the 1e-3 level, and the "symmetric" stretch would not be exactly symmetric.
    """
    reps = _representation(np.asarray(operations), np.asarray(permutations))
    return np.einsum("gab,bc,gdc->ad", reps, hessian, reps) / len(reps)


def _modes_from_hessian(hessian: np.ndarray, masses: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    inv_sqrt = np.repeat(masses, 3) ** -0.5
    weighted = hessian * inv_sqrt[:, None] * inv_sqrt[None, :]
    values, vectors = np.linalg.eigh(0.5 * (weighted + weighted.T))
    values, vectors = values[-3:], vectors[:, -3:].T  # three vibrations, ascending
    # eigenvectors have no sign: fix one (largest-magnitude component positive) for reproducibility
    for v in vectors:
        if v[np.argmax(np.abs(v))] < 0:
            v *= -1.0
    return vectors, _EV_A2_AMU_TO_CM1 * np.sqrt(np.clip(values, 0.0, None))


def normal_modes(atoms: Any) -> np.ndarray:
    """Cartesian normal-mode displacement patterns (k, n, 3) of the GFN2-xTB Hessian (central differences)."""
    n = len(atoms)
    hess = np.zeros((3 * n, 3 * n))
    base = atoms.positions.copy()
    for k in range(3 * n):
        grads = []
        for step in (0.005, -0.005):
            atoms.positions = base.copy()
            atoms.positions[k // 3, k % 3] += step
            grads.append(-atoms.get_forces().ravel())
        hess[k] = (grads[0] - grads[1]) / 0.01
    atoms.positions = base
    inv = np.repeat(atoms.get_masses(), 3) ** -0.5
    vals, vecs = np.linalg.eigh(0.5 * (hess + hess.T) * inv[:, None] * inv[None, :])
    modes = (vecs[:, 6:] * inv[:, None]).T.reshape(-1, n, 3)  # drop translations and rotations
    return modes[vals[6:] > 1e-3]


def compute_water_modes(method: str = "GFN2-xTB", *, fmax: float = 1e-4, delta: float = 0.005) -> WaterModes:
    """Relax H₂O and compute its normal modes with tblite (``method``: GFN2-xTB or GFN1-xTB).

    fmax: BFGS force threshold (eV/Å); delta: finite-difference step (Å). About a second.
    """
    try:
        from tblite.ase import TBLite
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("computing water modes needs tblite: pip install -e '.[chem]'") from exc
    from ase.build import molecule
    from ase.optimize import BFGS
    from ase.vibrations import Vibrations

    atoms = molecule("H2O")
    atoms.calc = TBLite(method=method, verbosity=0)
    BFGS(atoms, logfile=None).run(fmax=fmax)
    atoms.positions -= atoms.positions.mean(axis=0)
    sym = detect_symmetry(atoms.positions, atoms.numbers, tol=0.01)
    atoms.positions = sym.symmetrized_positions - sym.symmetrized_positions.mean(axis=0)
    with tempfile.TemporaryDirectory() as tmp:
        vib = Vibrations(atoms, name=str(Path(tmp) / "vib"), delta=delta, nfree=2)
        vib.run()
        hessian = vib.get_vibrations().get_hessian_2d()
    hessian = symmetrize_hessian(hessian, sym.operations, sym.permutations)
    masses = atoms.get_masses()
    modes, freqs = _modes_from_hessian(hessian, masses)
    return WaterModes(atoms.numbers.copy(), atoms.positions.copy(), masses, hessian, modes, freqs, method)


def load_water_modes() -> WaterModes:
    """The shipped GFN2-xTB modes (made by :func:`compute_water_modes`; see ``tasks/data/README.md``)."""
    raw = json.loads(resources.files("symbreak").joinpath("tasks", "data", _DATA).read_text())
    arrays = {k: np.array(v) for k, v in raw.items() if k != "method"}
    arrays["numbers"] = arrays["numbers"].astype(int)
    return WaterModes(method=raw["method"], **arrays)


if __name__ == "__main__":  # regenerate the shipped file: python -m symbreak.labels._modes
    out = Path(__file__).parent / "data" / _DATA
    out.write_text(json.dumps(compute_water_modes().to_dict(), indent=1) + "\n")
    print(f"wrote {out}")
