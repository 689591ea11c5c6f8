r"""How a model or ASE calculator depends on orientation, by angular degree and parity.

For a structure :math:`x` and a calculator, the energy over orientations :math:`f(R) = E(Rx)` and
the forces turned back to the input frame, :math:`\mathbf F^{\rm back}_i(R) = R^\top \mathbf F_i(Rx)`,
are functions on the rotation group. An invariant (equivariant) calculator makes them constant. The
probe samples them on a quadrature grid and splits them into Wigner-D degrees l with the projection
operators of SO(3), written with characters so that no Wigner matrix is built:

.. math::
    (P_l f)(R) = (2l+1) \int_{SO(3)} \chi_l(R'^{\top} R)\, f(R')\, dR', \qquad
    \|P_l f\|^2 = (2l+1) \iint \chi_l(R'^{\top} R)\, f(R)\, f(R')\, dR\, dR',

with the character :math:`\chi_l(R) = \sum_{m=-l}^{l} e^{im\theta} = 1 + 2\sum_{m=1}^{l} T_m(\cos\theta)`
(θ the rotation angle, :math:`\cos\theta = (\operatorname{tr} R - 1)/2`, :math:`T_m` Chebyshev
polynomials) and dR the Haar measure of total mass 1. :math:`P_l` is the orthogonal projector onto
the span of the entries of :math:`D^l`, so :math:`\|f\|^2 = \sum_l \|P_l f\|^2`, and
:math:`\|P_0 f\| = |\bar f|` is the invariant part. On a grid :math:`\{R_k, w_k\}` exact to degree
2 lmax (:func:`symbreak.rotations.grid`) the double integral becomes
:math:`(2l+1)\, g^\top X_l\, g` with :math:`g_k = w_k (f(R_k) - \bar f)` and
:math:`(X_l)_{jk} = \chi_l(R_j^\top R_k)`, and these discrete projectors are again orthogonal for
l ≤ lmax: what the grid cannot resolve (content above lmax) is reported as the remainder
:math:`\|f - \bar f\|^2 - \sum_{l=1}^{l_{\max}} \|P_l f\|^2 \ge 0`.
The quadratic form is a difference of large sums: in float64 a degree with no content reads as
about 1e-8 of the largest non-invariant content (the square root of the rounding), never less; an
exactly invariant calculator reads as about 1e-13 of its energy.

With improper rotations (``improper=True``, the grid times {E, −E}) the function is split into its
parts even and odd under inversion, :math:`f_\pm(R) = \tfrac12 (f(R) \pm f(-R))` for proper R,
and each part is decomposed the same way: the O(3) irreps le and lo (e.g. 0o: a pseudoscalar energy,
one that tells a structure from its mirror image). For the forces each Cartesian component of each
atom is one such function; their contents are averaged over the 3n components.

A grid average is exact for the even part up to its degree, and the ``i`` grids remove the odd part
entirely; so the smallest grid that removes the measured orientation dependence is the smallest one
exact to the highest l whose content is above the tolerance, with ``i`` when odd content is
(:func:`recommend_grid`). Sizes are RMS over rotations: meV for energies, meV/Å per force component.

Works with any ASE calculator (evaluated on each rotated copy) and with symbreak energy models
(:class:`~symbreak.md.ModelCalculator`, all rotated copies in batches). Langer, Pozdnyakov & Ceriotti
(2024) measure the same error as the raw prediction against a grid average; the probe reports that
too, with and without inversion.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._errors import StructureError, SymbreakError, ToleranceError
from .._lazy import LazyRegistry
from ._calculator import ModelCalculator, _ase_calculator, _generic_evaluate

__all__ = [
    "symmetry_report", "SymmetryReport", "recommend_grid", "plot_symmetry_report", "get_calculator", "CALCULATORS",
    "AnisotropicCalculator", "DEFAULT_LMAX", "MAX_LMAX", "MAX_PROBE_ROTATIONS", "ENERGY_TOL_MEV", "FORCES_TOL_MEV_A",
]  # fmt: skip

DEFAULT_LMAX = 6
"""Degrees the probe resolves by default: l ≤ 6 (on ``lebedev13``, 1,036 rotations, 2,072 with inversion)."""

MAX_LMAX = 12
"""The largest lmax: the sampling grid must be exact to 2 lmax (``lebedev25``, 5,980 rotations, at 12)."""

ENERGY_TOL_MEV = 0.1
"""Default tolerance on the energy content of a degree, meV (RMS over rotations)."""

FORCES_TOL_MEV_A = 0.1
"""Default tolerance on the force content of a degree, meV/Å (RMS over rotations and components)."""

_BLOCK = 256  # rows of the character matrix held at once: 256 x K floats
_COLUMNS = 4_000_000  # values (rotations x columns) of the functions projected at once: 32 MB
_CHUNK = 64  # rotated copies evaluated per call (a model's batch_size where it has one)
_BAR_DELAY = 1.0  # seconds of work before the progress bar shows: quick probes print none

MAX_PROBE_ROTATIONS = 10_000
"""Most proper rotations a probe's sampling grid may have. The projections cost K² per sampled
value: K = 8,125 (Euler ``"13"``, exact to degree 24, enough for :data:`MAX_LMAX`) takes seconds on
a small molecule, and the time grows with the square (``"40"``, 249,640 rotations: hours)."""

#: how the settings are named in messages: the Python API's keywords, or the command line's flags
_API_NAMES = {"lmax": "lmax", "grid": "grid", "energy_tol": "energy_tol_meV", "forces_tol": "forces_tol_meV_A", "proper": "improper=False"}
_CLI_NAMES = {"lmax": "--lmax", "grid": "--grid", "energy_tol": "--energy-tol", "forces_tol": "--forces-tol", "proper": "--proper"}


class AnisotropicCalculator(_ase_calculator()[0]):
    r"""A calculator with a known orientation dependence, for tests and demonstrations.

    .. math::
        E = \sum_{i<j} k\,(r_{ij} - r_0)^2 + c \sum_i \big(\hat u \cdot (\mathbf r_i - \bar{\mathbf r})\big)^p

    (:math:`\bar{\mathbf r}` the centroid, :math:`\hat u` a fixed unit vector in the lab frame). The
    pair term is O(3)-invariant; the second term, as a function of orientation, is a polynomial of
    degree p on the sphere of :math:`R^\top\hat u`: degrees l = p, p − 2, ... with parity
    :math:`(-1)^p` (p = 4: 2e and 4e beside the invariant 0e; p = 3: 1o and 3o).
    k in eV/Å², r0 in Å, c in eV/Å^p.
    """

    implemented_properties = ["energy", "free_energy", "forces"]

    def __init__(self, *, k: float = 1.0, r0: float = 1.5, c: float = 0.01, power: int = 4, axis: Any = (0.0, 0.0, 1.0), **kwargs: Any) -> None:
        super().__init__(**kwargs)
        axis = np.asarray(axis, dtype=float)
        if axis.shape != (3,) or not np.isfinite(axis).all() or np.linalg.norm(axis) == 0:
            raise SymbreakError(f"axis must be a non-zero 3-vector, got {axis!r}")
        if not isinstance(power, (int, np.integer)) or power < 1:
            raise SymbreakError(f"power must be a whole number >= 1, got {power!r}")
        self.k, self.r0, self.c, self.power = float(k), float(r0), float(c), int(power)
        self.axis = axis / np.linalg.norm(axis)

    def evaluate(self, atoms: Any, rotations: np.ndarray) -> tuple[np.ndarray, np.ndarray, None]:
        """Energies (K,) and forces (K, n, 3) of ``atoms`` turned by each of ``rotations`` (K, 3, 3) about
        the origin, all at once (the contract of :meth:`ModelCalculator.evaluate`)."""
        x = np.asarray(atoms.get_positions(), dtype=float) @ np.swapaxes(np.asarray(rotations, dtype=float), 1, 2)  # (K, n, 3)
        i, j = np.triu_indices(x.shape[1], 1)
        d = x[:, i] - x[:, j]
        r = np.linalg.norm(d, axis=-1)
        energy = (self.k * (r - self.r0) ** 2).sum(-1)
        g = (2 * self.k * (r - self.r0) / np.where(r > 0, r, 1.0))[..., None] * d  # dE/dx_i of each pair
        forces = np.zeros_like(x)
        np.add.at(forces, (slice(None), i), -g)
        np.add.at(forces, (slice(None), j), g)
        s = (x - x.mean(1, keepdims=True)) @ self.axis  # (K, n)
        energy = energy + self.c * (s**self.power).sum(-1)
        ds = self.c * self.power * s ** (self.power - 1)
        forces -= (ds - ds.mean(1, keepdims=True))[..., None] * self.axis
        return energy, forces, None

    def calculate(self, atoms: Any = None, properties: Any = ("energy",), system_changes: Any = None) -> None:
        super().calculate(atoms, properties, system_changes or _ase_calculator()[1])
        e, f, _ = self.evaluate(self.atoms, np.eye(3)[None])
        self.results = {"energy": float(e[0]), "free_energy": float(e[0]), "forces": f[0]}


CALCULATORS = LazyRegistry(
    "calculator",
    {"emt": "ase.calculators.emt:EMT", "lj": "ase.calculators.lj:LennardJones", "aniso": "symbreak.md._probe:AnisotropicCalculator"},
)
"""Calculators by name for :func:`get_calculator` and ``symbreak probe --calculator``: ``emt`` (ASE's
EMT: H, C, N, O, Al, Ni, Cu, Pd, Ag, Pt, Au), ``lj`` (ASE's Lennard-Jones, its defaults),
``aniso`` (:class:`AnisotropicCalculator`, with a known l = 2, 4 orientation dependence)."""


def get_calculator(name: str) -> Any:
    """An ASE calculator by name: one of :data:`CALCULATORS`, built with its defaults, or
    ``model:PATH``, a symbreak energy model saved with :func:`symbreak.models.save_model`, as a
    :class:`~symbreak.md.ModelCalculator` (float64, CPU)."""
    if not isinstance(name, str) or not name.strip():
        raise SymbreakError(f"name a calculator ({', '.join(sorted(CALCULATORS))} or model:PATH), got {name!r}")
    name = name.strip()
    if name.startswith("model:"):
        path = name.removeprefix("model:").strip()
        if not path:
            raise SymbreakError(f"model: needs the path of a saved symbreak model (model:PATH): {_CHECKPOINT}")
        return ModelCalculator(_load_checkpoint(path))
    if name not in CALCULATORS:
        raise SymbreakError(f"unknown calculator {name!r}: expected one of {', '.join(sorted(CALCULATORS))} or model:PATH")
    return CALCULATORS[name]()


_CHECKPOINT = "a symbreak model checkpoint, the .pt file symbreak.models.save_model writes (the model's spec, options and weights)"
_REBUILD = ": rebuild the model with symbreak.models.build_model, load these weights and save it with save_model (docs/guide/probe.md shows how)"


def _load_checkpoint(path: str) -> Any:
    """The model saved at ``path`` by :func:`symbreak.models.save_model`; any other file is a
    one-line error that says what it is and what ``model:PATH`` expects."""
    from pathlib import Path

    from ..models import load_model  # names the 'ml' extra when torch is missing

    file = Path(path).expanduser()
    if not file.exists():
        raise SymbreakError(f"no checkpoint at {path}: model:PATH names {_CHECKPOINT}")
    if file.is_dir():
        raise SymbreakError(f"{path} is a folder: model:PATH names {_CHECKPOINT}")
    try:
        return load_model(file)
    except SymbreakError as exc:
        refused = exc
    except Exception as exc:  # a checkpoint whose spec or weights no longer fit the model (a renamed option, other layers)
        text = " ".join(str(exc).split())  # one line, however many the library wrote
        raise SymbreakError(f"{path}: the model in this checkpoint cannot be rebuilt ({type(exc).__name__}: {text[:240]})") from None
    what, hint = _what_file(file)
    if not what:  # a symbreak checkpoint that load_model refused for a reason of its own (an unknown model spec)
        raise SymbreakError(f"{path}: {refused}") from None
    raise SymbreakError(f"{path} {what}; model:PATH expects {_CHECKPOINT}{hint}") from None


def _what_file(path: Any) -> tuple[str, str]:
    """What a file that :func:`~symbreak.models.load_model` refused is, in a few words, and how to
    make a checkpoint of it where that can be said."""
    import torch

    with open(path, "rb") as fh:
        head = fh.read(4)
    if not head:
        return "is empty", ""
    if head[:2] != b"PK" and head[:1] != b"\x80":  # torch.save writes a zip archive (or, of old, a pickle)
        return "is not a PyTorch file", ""
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:
        return "is a PyTorch file that holds more than tensors and plain data (it does not load with weights_only=True)", ""
    if not isinstance(data, dict):
        return f"holds a {type(data).__name__}, not a checkpoint", ""
    keys = ", ".join(map(str, list(data)[:6])) + (", ..." if len(data) > 6 else "")
    if "format" in data:
        from ..models._checkpoint import FORMAT

        return ("", "") if data["format"] == FORMAT else (f"is a checkpoint of another format ({data['format']!r}, not {FORMAT!r})", "")
    if "optimizer" in data or "model" in data:
        return f"is a training checkpoint ({keys}: weights to resume training from, without the model's spec)", _REBUILD
    if data and all(hasattr(v, "shape") for v in data.values()):
        return "is a bare state_dict (weights without the model's spec)", _REBUILD
    return f"is a dictionary without the 'format' of a symbreak checkpoint ({keys})", ""


def _degree_contents(values: np.ndarray, rotations: np.ndarray, weights: np.ndarray, lmax: int, tick: Any = None) -> tuple[np.ndarray, np.ndarray]:
    r""":math:`\|P_l f\|^2` for l = 0..lmax of each column of ``values`` (K, C), sampled at the proper
    ``rotations`` (K, 3, 3) with ``weights`` (K,): (lmax + 1, C); and :math:`\|f - \bar f\|^2` (C,)."""
    mean = weights @ values
    centred = values - mean
    g = weights[:, None] * centred
    out = np.zeros((lmax + 1, values.shape[1]))
    out[0] = mean**2
    flat = rotations.reshape(len(rotations), 9)
    for start in range(0, len(rotations), _BLOCK):
        rows = slice(start, start + _BLOCK)
        c = np.clip((flat[rows] @ flat.T - 1.0) / 2.0, -1.0, 1.0)  # cos of the angle of R_j^T R_k
        t_prev, t = np.ones_like(c), c
        chi = np.ones_like(c)
        for l in range(1, lmax + 1):
            if l > 1:
                t_prev, t = t, 2.0 * c * t - t_prev  # Chebyshev: T_l(cos θ) = cos(l θ)
            chi += 2.0 * t
            out[l] += (2 * l + 1) * (g[rows] * (chi @ g)).sum(0)
        if tick is not None:
            tick(_BLOCK)
    return np.maximum(out, 0.0), weights @ centred**2


def _rms(x: np.ndarray) -> np.ndarray:
    return np.sqrt(np.maximum(x, 0.0))


def recommend_grid(
    energy_meV: np.ndarray, forces_meV_A: np.ndarray, *, parity: bool, energy_tol_meV: float = ENERGY_TOL_MEV, forces_tol_meV_A: float = FORCES_TOL_MEV_A
) -> tuple[str, int, bool]:
    """The smallest grid that removes the measured content: ``(spec, degree, inversion)``.

    energy_meV, forces_meV_A: (P, lmax + 1) content by degree (RMS, largest over structures), P = 2
    (even, odd) when ``parity`` else 1. The content of a degree counts when it exceeds its tolerance
    in either. Two kinds of grid remove it:

    - a proper grid exact to the highest degree l ≥ 1 that counts, of either parity: on rotations
      alone the even and odd parts are one function, averaged exactly to that degree; it leaves the
      0o part (the mean of the odd part: E(x) ≠ E(−x) after averaging), so it qualifies only when
      0o does not count;
    - an ``i`` grid exact to the highest even degree that counts: its inversion pairs remove every
      odd part, 0o included.

    The smaller of those that qualify (the proper one on a tie); ``"1"`` when nothing counts.
    ``degree`` is the degree the chosen grid had to reach, ``inversion`` whether it is an ``i`` grid.
    """
    from ..rotations import grid_size, smallest_grid

    above = (np.asarray(energy_meV) > energy_tol_meV) | (np.asarray(forces_meV_A) > forces_tol_meV_A)  # (P, lmax + 1)
    above[0, 0] = False  # the invariant part

    def top(mask: np.ndarray) -> int:
        ls = np.flatnonzero(mask)
        return int(ls.max()) if len(ls) else 0

    options = []
    if not (parity and above[1, 0]):
        options.append((smallest_grid(top(above.any(0))), top(above.any(0)), False))
    if parity:
        options.append((smallest_grid(top(above[0]), improper=True), top(above[0]), True))
    return min(options, key=lambda option: grid_size(option[0]))  # min keeps the first (proper) on a tie


@dataclass
class SymmetryReport:
    """What :func:`symmetry_report` measured. Arrays are per structure (S), parity (P: even, odd with
    ``improper``; one, the SO(3) content, without) and degree (lmax + 1); A = 2 averages (SO(3),
    O(3)) with ``improper``, else 1."""

    labels: list[str]
    atoms: list[int]
    lmax: int
    grid: str  #: the proper sampling grid (its inverses are added with ``improper``)
    rotations: int  #: rotations of ``grid``
    improper: bool
    energy_tol_meV: float
    forces_tol_meV_A: float
    energy_content_meV: np.ndarray  #: (S, P, lmax + 1) ‖P_l E‖, meV; [s, 0, 0], the size of the mean energy, is the invariant part
    forces_content_meV_A: np.ndarray  #: (S, P, lmax + 1) (Σ_c ‖P_l F_c‖² / 3n)^½, meV/Å
    energy_unresolved_meV: np.ndarray  #: (S, P) what lies above lmax
    forces_unresolved_meV_A: np.ndarray  #: (S, P)
    raw_energy_eV: np.ndarray  #: (S,) the prediction for the input orientation
    mean_energy_eV: np.ndarray  #: (S, A) grid averages, eV
    energy_error_meV: np.ndarray  #: (S, A) absolute difference of the raw energy and the grid average, meV
    forces_mae_meV_A: np.ndarray  #: (S, A) mean absolute difference of the raw forces and the grid average over components, meV/Å
    forces_rmse_meV_A: np.ndarray  #: (S, A)
    energy_std_meV: np.ndarray  #: (S,) standard deviation of E(Rx) over the whole sampled group, meV
    forces_std_meV_A: np.ndarray  #: (S,) of the turned-back forces, RMS over components
    recommended: str  #: spec of the smallest grid that removes the measured content (recommend_grid)
    recommended_degree: int
    needs_inversion: bool
    notes: list[str] = field(default_factory=list)

    @property
    def parities(self) -> tuple[str, ...]:
        return ("e", "o") if self.improper else ("",)

    def energy_by_degree(self) -> np.ndarray:
        """(P, lmax + 1) energy content, meV, the largest over structures."""
        return self.energy_content_meV.max(0)

    def forces_by_degree(self) -> np.ndarray:
        """(P, lmax + 1) force content, meV/Å, the largest over structures."""
        return self.forces_content_meV_A.max(0)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data (lists and numbers)."""
        out: dict[str, Any] = {}
        for key, value in self.__dict__.items():
            out[key] = value.tolist() if isinstance(value, np.ndarray) else value
        out["parities"] = list(self.parities)
        out["averages"] = ["SO(3)", "O(3)"] if self.improper else ["SO(3)"]
        return out

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=1) + "\n"

    def format(self) -> str:
        """A table for the terminal."""
        from ..rotations import grid_degree, grid_size

        n_eval = self.rotations * (2 if self.improper else 1) + 1
        lines = [
            f"symmetry probe: {len(self.labels)} structure{'s' * (len(self.labels) != 1)}, degrees l <= {self.lmax} resolved on grid "
            f"{self.grid!r}{' and its inverses' if self.improper else ''} ({n_eval:,} evaluations per structure)",
            "",
        ]  # fmt: skip
        avg = ("SO(3)", "O(3)") if self.improper else ("SO(3)",)
        width = max(12, *(len(s) for s in self.labels))
        head = f"  {'structure':<{width}} {'atoms':>5} {'E raw (eV)':>13} {'E std (meV)':>11}"
        head += "".join(f" {'|dE| ' + a:>11}" for a in avg) + "".join(f" {'F MAE ' + a:>12}" for a in avg)
        lines += ["raw prediction against the grid average (|dE| meV, force MAE meV/Å) and spread over rotations", head]
        for s, label in enumerate(self.labels):
            row = f"  {label:<{width}} {self.atoms[s]:>5} {self.raw_energy_eV[s]:>13.6f} {self.energy_std_meV[s]:>11.4g}"
            row += "".join(f" {v:>11.4g}" for v in self.energy_error_meV[s]) + "".join(f" {v:>12.4g}" for v in self.forces_mae_meV_A[s])
            lines.append(row)
        e, f = self.energy_by_degree(), self.forces_by_degree()
        lines += ["", f"content by degree l (RMS over rotations, largest over structures; * above tolerance: "
                      f"{self.energy_tol_meV:g} meV, {self.forces_tol_meV_A:g} meV/Å)"]  # fmt: skip
        cols = [(p, "energy", "meV") for p in self.parities] + [(p, "forces", "meV/Å") for p in self.parities]
        names = [f"{q} {('even' if p == 'e' else 'odd') if p else ''}".strip() + f" ({unit})" for p, q, unit in cols]
        lines.append("  " + f"{'l':>4}" + "".join(f" {n:>20}" for n in names))

        def cell(value: float, quantity: str) -> str:
            return f"{value:.4g}{'*' if value > tolerance[quantity] else ' '}"

        tolerance = {"energy": self.energy_tol_meV, "forces": self.forces_tol_meV_A}
        content = {"energy": e, "forces": f}
        left = {"energy": self.energy_unresolved_meV.max(0), "forces": self.forces_unresolved_meV_A.max(0)}
        for l in range(self.lmax + 1):
            cells = ["invariant " if (l == 0 and p in ("e", "")) else cell(content[q][self.parities.index(p), l], q) for p, q, _ in cols]
            lines.append("  " + f"{l:>4}" + "".join(f" {c:>20}" for c in cells))
        cells = [cell(left[q][self.parities.index(p)], q) for p, q, _ in cols]
        lines.append("  " + f"{'>' + str(self.lmax):>4}" + "".join(f" {c:>20}" for c in cells))
        spec, degree = self.recommended, self.recommended_degree
        odd = self.improper and bool(((e[1] > self.energy_tol_meV) | (f[1] > self.forces_tol_meV_A)).any())
        parts = [f"{'even-parity ' if self.needs_inversion else ''}content above tolerance up to l = {degree}"] if degree else []
        if self.needs_inversion:
            parts.append("odd-parity content, removed by the inversion pairs")
        elif odd:
            parts.append("odd-parity content (no 0o part), averaged with the rest")
        why = "; ".join(parts) or "no orientation dependence above tolerance: the raw calculator will do"
        size = grid_size(spec)
        lines += ["", f"recommended grid: {spec!r} ({size:,} rotation{'s' * (size != 1)}, exact to degree {grid_degree(spec)}): {why}"]
        lines += [f"note: {n}" for n in self.notes]
        return "\n".join(line.rstrip() for line in lines)


def _check_tolerance(name: str, value: Any, unit: str) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ToleranceError(f"{name} must be a number > 0 ({unit}), got {value!r}") from None
    if not math.isfinite(v) or v <= 0:
        raise ToleranceError(f"{name} must be a finite number > 0 ({unit}), got {value!r}")
    return v


def _settings(
    lmax: Any, improper: bool, energy_tol_meV: Any, forces_tol_meV_A: Any, grid: Any, names: dict[str, str] = _API_NAMES
) -> tuple[int, float, float, str]:
    """The probe's settings checked, before any work: ``(lmax, energy_tol, forces_tol, grid spec)``.
    ``names``: how the messages name each setting (``_CLI_NAMES`` for ``symbreak probe``)."""
    from ..rotations import grid_degree, grid_size, smallest_grid

    cli = names is _CLI_NAMES
    if not isinstance(lmax, (int, np.integer)) or isinstance(lmax, bool) or not 1 <= lmax <= MAX_LMAX:
        raise SymbreakError(f"{names['lmax']} must be a whole number from 1 to {MAX_LMAX}{'' if cli else ' (MAX_LMAX)'}, got {lmax!r}")
    lmax = int(lmax)
    energy_tol = _check_tolerance(names["energy_tol"], energy_tol_meV, "meV")
    forces_tol = _check_tolerance(names["forces_tol"], forces_tol_meV_A, "meV/Å")
    needed = smallest_grid(2 * lmax)
    if grid is None:
        return lmax, energy_tol, forces_tol, needed
    given = str(grid).strip()
    try:
        degree = grid_degree(given)  # raises on a bad spec
    except SymbreakError as exc:
        raise SymbreakError(f"{names['grid']} {str(grid)!r}: {exc}") from None
    text = given[:-1] if given.endswith("i") else given
    if text != given and not improper:
        raise SymbreakError(f"{names['grid']} {given!r} holds the inversion, which {names['proper']} leaves out: give the proper grid {text!r}")
    size = grid_size(text)
    if size > MAX_PROBE_ROTATIONS:
        raise SymbreakError(f"{names['grid']} {given!r} has {size:,} rotations{' before its inverses' if text != given else ''}; the probe takes at most "
                            f"{MAX_PROBE_ROTATIONS:,}{'' if cli else ' (MAX_PROBE_ROTATIONS)'} (its time grows with the square of the size): "
                            f"{needed!r} ({grid_size(needed):,} rotations) resolves l <= {lmax}")  # fmt: skip
    if degree < 2 * lmax:
        raise SymbreakError(f"{names['grid']} {given!r} is exact to degree {degree}; resolving l <= {lmax} needs degree >= {2 * lmax} "
                            f"(e.g. {needed!r}), or a smaller {names['lmax']}")  # fmt: skip
    return lmax, energy_tol, forces_tol, text


def _evaluator(calc: Any) -> tuple[Any, int]:
    """``(atoms, rotations) -> (energies (K,), forces (K, n, 3))`` in the turned frames, and how many
    rotations to hand it at once (a model's ``batch_size``)."""
    if hasattr(calc, "energy_and_forces"):  # a symbreak model
        calc = ModelCalculator(calc)
    chunk = getattr(calc, "batch_size", _CHUNK)
    chunk = int(chunk) if isinstance(chunk, (int, np.integer)) and chunk >= 1 else _CHUNK
    if hasattr(calc, "evaluate"):
        return (lambda atoms, rot: calc.evaluate(atoms, rot)[:2]), chunk
    if hasattr(calc, "get_potential_energy") or hasattr(calc, "calculate"):
        return (lambda atoms, rot: _generic_evaluate(calc, atoms, rot, False)[:2]), chunk
    raise SymbreakError(f"calc must be an ASE calculator or a symbreak energy model, got {type(calc).__name__}")


class _NoBar:
    def update(self, n: int = 1) -> None:
        pass

    def close(self) -> None:
        pass


def _progress_bar(total: int, enabled: bool) -> Any:
    """A tqdm bar on stderr, as ``symbreak bench`` and ``diagnose`` show theirs; it appears only once
    the work has run for a second, and goes when it is done. Without tqdm (the 'ml' extra), none."""
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return _NoBar()
    return tqdm(total=total, desc="probe", unit=" steps", delay=_BAR_DELAY, leave=False, dynamic_ncols=True, disable=not enabled)


def _evaluate_all(evaluate: Any, atoms: Any, rotations: np.ndarray, label: str, chunk: int, bar: Any) -> tuple[np.ndarray, np.ndarray]:
    """Energies (K,) and forces (K, n, 3) of ``atoms`` turned by every rotation, ``chunk`` at a time
    (the progress bar moves with each); a calculator's own failure is one named error."""
    energies, forces = [], []
    for start in range(0, len(rotations), chunk):
        part = rotations[start : start + chunk]
        try:
            e, f = evaluate(atoms, part)
        except SymbreakError:
            raise
        except Exception as exc:  # a foreign calculator's own error, named
            text = " ".join(str(exc).split())  # one line, however many the calculator wrote
            raise SymbreakError(f"{label}: the calculator failed ({type(exc).__name__}: {text[:240]})") from exc
        e, f = np.asarray(e, dtype=float), np.asarray(f, dtype=float)
        if e.shape != (len(part),) or f.shape != (len(part), len(atoms), 3):
            raise SymbreakError(f"{label}: the calculator gave energies of shape {e.shape} and forces of shape {f.shape} for "
                                f"{len(part)} turned copies of {len(atoms)} atoms; expected ({len(part)},) and ({len(part)}, {len(atoms)}, 3)")  # fmt: skip
        energies.append(e)
        forces.append(f)
        bar.update(len(part))
    e, f = np.concatenate(energies), np.concatenate(forces)
    if not (np.isfinite(e).all() and np.isfinite(f).all()):
        raise SymbreakError(f"{label}: the calculator gave non-finite energies or forces")
    return e, f


def symmetry_report(
    calc: Any, structures: Any, *, lmax: int = DEFAULT_LMAX, improper: bool = True, energy_tol_meV: float = ENERGY_TOL_MEV,
    forces_tol_meV_A: float = FORCES_TOL_MEV_A, grid: str | None = None, labels: list[str] | None = None, progress: bool = False,
) -> SymmetryReport:  # fmt: skip
    """Measure how ``calc`` depends on the orientation of each structure, by degree l and parity.

    Parameters
    ----------
    calc
        An ASE calculator, a :class:`~symbreak.md.ModelCalculator` or a symbreak energy model.
    structures
        An ASE ``Atoms`` or a list of them (finite positions; periodic cells turn with the atoms).
    lmax
        Resolve degrees 0..lmax (1 ≤ lmax ≤ :data:`MAX_LMAX`); the sampling grid is exact to 2 lmax.
    improper
        Also evaluate the inverted copies −R x: splits each degree into parts even and odd under
        inversion and reports the O(3) average beside the SO(3) one (twice the evaluations).
    energy_tol_meV, forces_tol_meV_A
        Content of a degree that counts for the recommendation (RMS, meV and meV/Å).
    grid
        The sampling grid (:func:`symbreak.rotations.grid` spec, exact to ≥ 2 lmax, at most
        :data:`MAX_PROBE_ROTATIONS` rotations); default the smallest such (:func:`symbreak.rotations.smallest_grid`).
    labels
        Names of the structures in the report (default: formula and index).
    progress
        A progress bar on stderr (tqdm) for work that takes more than a second.

    Returns
    -------
    SymmetryReport
        Content by degree (see the module docstring for the formula), raw-against-average errors,
        the spread over rotations and the recommended averaging grid; ``.format()`` prints it.

    Examples
    --------
    >>> from ase import Atoms
    >>> water = Atoms("OH2", positions=[[0, 0, 0.12], [0, 0.76, -0.47], [0, -0.76, -0.47]])
    >>> report = symmetry_report(AnisotropicCalculator(), water, lmax=4)
    >>> [l for l in range(5) if report.energy_by_degree()[0, l] > report.energy_tol_meV]  # 0e: the invariant mean
    [0, 2, 4]
    >>> report.recommended
    '3'
    """
    from ..rotations import grid as make_grid

    lmax, energy_tol, forces_tol, spec = _settings(lmax, bool(improper), energy_tol_meV, forces_tol_meV_A, grid)
    if hasattr(structures, "get_positions"):
        structures = [structures]
    structures = list(structures)
    if not structures:
        raise StructureError("no structures to probe")
    if labels is None:
        labels = [f"{a.get_chemical_formula()}" + (f"[{i}]" if len(structures) > 1 else "") for i, a in enumerate(structures)]
    if len(labels) != len(structures):
        raise SymbreakError(f"{len(labels)} labels for {len(structures)} structures")
    for label, atoms in zip(labels, structures):
        if not hasattr(atoms, "get_positions"):
            raise StructureError(f"{label}: not an ASE Atoms ({type(atoms).__name__})")
        if len(atoms) == 0:
            raise StructureError(f"{label}: no atoms")
        if not np.isfinite(atoms.get_positions()).all():
            raise StructureError(f"{label}: positions are not finite (NaN or inf)")
    evaluate, chunk = _evaluator(calc)
    proper, w = make_grid(spec)
    k = len(proper)
    rotations = np.concatenate([np.eye(3)[None], proper] + ([-proper] if improper else []))
    n_par = 2 if improper else 1

    shapes = [len(atoms) for atoms in structures]
    widths = [n_par * (1 + 3 * n) for n in shapes]  # per structure: energy (K, P) and forces (K, P * 3n) as functions on SO(3)
    groups: list[list[int]] = [[]]  # structures projected together: at most _COLUMNS values at once (one, where it alone is larger)
    held = 0
    for s, width in enumerate(widths):
        if groups[-1] and k * (held + width) > _COLUMNS:
            groups.append([])
            held = 0
        groups[-1].append(s)
        held += width
    blocks = -(-k // _BLOCK)
    bar = _progress_bar(len(structures) * len(rotations) + len(groups) * blocks * _BLOCK, progress)

    e_content = np.zeros((len(structures), n_par, lmax + 1))
    f_content = np.zeros_like(e_content)
    e_left = np.zeros((len(structures), n_par))
    f_left = np.zeros_like(e_left)
    raw, avg_e, err_e, mae_f, rmse_f, std_e, std_f = [], [], [], [], [], [], []
    try:
        for group in groups:
            columns = []
            for s in group:
                label, atoms, n = labels[s], structures[s], shapes[s]
                e, f = _evaluate_all(evaluate, atoms, rotations, label, chunk, bar)
                back = np.einsum("kni,kij->knj", f, rotations)  # R^T F(R x), forces as rows
                e_p, b_p = e[1 : 1 + k], back[1 : 1 + k]
                parts_e, parts_f = [e_p], [b_p]
                if improper:
                    e_m, b_m = e[1 + k :], back[1 + k :]
                    parts_e, parts_f = [(e_p + e_m) / 2, (e_p - e_m) / 2], [(b_p + b_m) / 2, (b_p - b_m) / 2]
                columns.append(np.concatenate([np.stack(parts_e, 1)] + [p.reshape(k, 3 * n) for p in parts_f], axis=1))
                means_e = [w @ e_p] + ([w @ parts_e[0]] if improper else [])
                means_f = [np.einsum("k,knj->nj", w, b_p)] + ([np.einsum("k,knj->nj", w, parts_f[0])] if improper else [])
                raw.append(e[0])
                avg_e.append(means_e)
                err_e.append([1e3 * abs(e[0] - m) for m in means_e])
                mae_f.append([1e3 * np.abs(f[0] - m).mean() for m in means_f])
                rmse_f.append([1e3 * np.sqrt(((f[0] - m) ** 2).mean()) for m in means_f])
                all_e, all_b = e[1:], back[1:]
                all_w = np.concatenate([w] * n_par) / n_par
                std_e.append(1e3 * np.sqrt(all_w @ (all_e - all_w @ all_e) ** 2))
                mean_b = np.einsum("k,knj->nj", all_w, all_b)
                std_f.append(1e3 * np.sqrt(np.einsum("k,knj->", all_w, (all_b - mean_b) ** 2) / (3 * n)))
            content, variance = _degree_contents(np.concatenate(columns, axis=1), proper, w, lmax, tick=bar.update)
            del columns
            start = 0
            for s in group:
                n = shapes[s]
                c, v = content[:, start : start + widths[s]], variance[start : start + widths[s]]
                start += widths[s]
                for p in range(n_par):
                    e_content[s, p] = c[:, p]
                    e_left[s, p] = v[p] - c[1:, p].sum()
                    cols = slice(n_par + 3 * n * p, n_par + 3 * n * (p + 1))
                    f_content[s, p] = c[:, cols].sum(1) / (3 * n)
                    f_left[s, p] = (v[cols].sum() - c[1:, cols].sum()) / (3 * n)
    finally:
        bar.close()
    e_content, f_content = 1e3 * _rms(e_content), 1e3 * _rms(f_content)
    e_left, f_left = 1e3 * _rms(e_left), 1e3 * _rms(f_left)
    spec_rec, degree, odd = recommend_grid(e_content.max(0), f_content.max(0), parity=bool(improper), energy_tol_meV=energy_tol, forces_tol_meV_A=forces_tol)
    notes = []
    top = (e_content.max(0)[:, lmax] > energy_tol) | (f_content.max(0)[:, lmax] > forces_tol)
    left = (e_left.max(0) > energy_tol) | (f_left.max(0) > forces_tol)
    if top.any() or left.any():
        notes.append(f"content at l = {lmax} or above it is above tolerance: the orientation dependence may go higher than lmax = {lmax}; "
                     f"probe again with a larger lmax before trusting the recommendation")  # fmt: skip
    if not improper:
        notes.append("improper rotations not probed: odd-parity content (e.g. a model that tells mirror images apart) is not separated")
    return SymmetryReport(
        labels=list(labels), atoms=shapes, lmax=lmax, grid=spec, rotations=k, improper=bool(improper), energy_tol_meV=energy_tol,
        forces_tol_meV_A=forces_tol, energy_content_meV=e_content, forces_content_meV_A=f_content, energy_unresolved_meV=e_left,
        forces_unresolved_meV_A=f_left, raw_energy_eV=np.asarray(raw), mean_energy_eV=np.asarray(avg_e), energy_error_meV=np.asarray(err_e),
        forces_mae_meV_A=np.asarray(mae_f), forces_rmse_meV_A=np.asarray(rmse_f), energy_std_meV=np.asarray(std_e),
        forces_std_meV_A=np.asarray(std_f), recommended=spec_rec, recommended_degree=degree, needs_inversion=odd, notes=notes,
    )  # fmt: skip


def plot_symmetry_report(report: SymmetryReport, path: Any) -> Any:
    """One PNG: energy and force content by degree l (bars, even and odd parity; log scale, the
    largest over structures) with the tolerances as lines. Returns the path."""
    from .._lazy import load

    matplotlib = load("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ls = np.arange(report.lmax + 1)
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    for ax, data, tol, unit, title in (
        (axes[0], report.energy_by_degree(), report.energy_tol_meV, "meV", "energy"),
        (axes[1], report.forces_by_degree(), report.forces_tol_meV_A, "meV/Å", "forces"),
    ):
        floor = 1e-4 * tol  # bars below it (rounding) are not drawn
        width = 0.8 / len(report.parities)
        for p, parity in enumerate(report.parities):
            values = data[p].copy()
            if p == 0:
                values[0] = np.nan  # the invariant part is no error
            label = {"e": "even", "o": "odd", "": "SO(3)"}[parity]
            ax.bar(ls + (p - (len(report.parities) - 1) / 2) * width, np.maximum(values, floor), width, label=label, color=("#4f81bd", "#c0504d")[p])
        ax.axhline(tol, color="k", lw=0.8, ls="--", label=f"tolerance {tol:g} {unit}")
        ax.set_yscale("log")
        ax.set_ylim(bottom=floor)
        ax.set_xticks(ls)
        ax.set_xlabel("degree l")
        ax.set_ylabel(f"RMS content ({unit})")
        ax.set_title(f"{title}: orientation dependence by degree", fontsize=9)
        ax.legend(fontsize=8)
    fig.suptitle(f"{len(report.labels)} structure(s), l <= {report.lmax} on grid {report.grid!r}; recommended averaging grid {report.recommended!r}", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
