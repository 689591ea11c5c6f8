r"""GFN2-xTB labels with tblite: atomic charges and atomic dipoles of a structure."""

from __future__ import annotations

import numpy as np

from .._errors import SymbreakError

__all__ = ["gfn2_atomic_dipoles"]

_BOHR = 0.52917721092  # Å


def gfn2_atomic_dipoles(numbers: np.ndarray, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """GFN2-xTB atomic dipoles (n, 3) in e·bohr and atomic charges (n,) in e, from tblite."""
    try:
        from tblite.interface import Calculator
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise SymbreakError("GFN2-xTB labels need tblite: pip install -e '.[chem]'") from exc
    calc = Calculator("GFN2-xTB", np.asarray(numbers), np.asarray(positions) / _BOHR)
    calc.set("verbosity", 0)
    calc.add("xtbml_xyz")
    res = calc.singlepoint().dict()
    pp = res["post-processing-dict"]
    return np.stack([pp["dipm_A_x"], pp["dipm_A_y"], pp["dipm_A_z"]], axis=-1), np.asarray(res["charges"])
