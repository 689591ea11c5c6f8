r"""ASE calculators: a symbreak energy model as a calculator, and rotational averaging of any calculator.

:class:`SymmetrizedCalculator` wraps a symbreak model or any ASE calculator :math:`f` and returns,
for the rotations :math:`R_k` of a quadrature grid with weights :math:`w_k`,

.. math::
    \bar E(x) = \sum_k w_k E(R_k x), \quad
    \bar{\mathbf F}_i(x) = \sum_k w_k R_k^\top \mathbf F_i(R_k x), \quad
    \bar\sigma(x) = \sum_k w_k R_k^\top \sigma(R_k x) R_k,

exactly rotation-invariant (equivariant) for every model whose orientation dependence stops at the
grid's degree (:func:`symbreak.rotations.grid`). Modes: ``"raw"`` (the model as it is), ``"grid"``,
``"random"`` (one fresh Haar rotation per evaluation, as i-PI's ``FFRotations``) and ``"mts"``
(multiple time stepping, Langer et al.: the raw model at every step, the grid-averaged correction
every ``k``-th evaluation, applied as an impulse of ``k`` times its size, which with velocity Verlet
is exactly r-RESPA with an outer step of ``k`` inner steps).
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from .._errors import SymbreakError

__all__ = ["ModelCalculator", "SymmetrizedCalculator", "remove_net_force", "remove_net_torque", "MODES"]

MODES = ("raw", "grid", "random", "mts")


def _ase_calculator():
    from ase.calculators.calculator import Calculator, all_changes

    return Calculator, all_changes


def remove_net_force(forces: np.ndarray, masses: np.ndarray) -> np.ndarray:
    r"""Forces with no net force: :math:`\mathbf F_i - \frac{m_i}{M}\sum_j \mathbf F_j` (the centre of mass
    does not accelerate). forces: (n, 3); masses: (n,)."""
    return forces - masses[:, None] / masses.sum() * forces.sum(0)


def remove_net_torque(forces: np.ndarray, positions: np.ndarray, masses: np.ndarray) -> np.ndarray:
    r"""Forces with no net torque about the centre of mass, changed by a rigid-rotation field.

    With :math:`\mathbf r_i` relative to the centre of mass, :math:`\boldsymbol\tau = \sum_i \mathbf r_i \times \mathbf F_i`
    and :math:`I = \sum_i m_i(|\mathbf r_i|^2 \mathbb 1 - \mathbf r_i \mathbf r_i^\top)`, returns
    :math:`\mathbf F_i - m_i\,\boldsymbol\alpha \times \mathbf r_i` with :math:`I\boldsymbol\alpha = \boldsymbol\tau`:
    the smallest such change in the mass metric; the net force is unchanged. Only for finite
    systems: a periodic system has no centre to turn about.
    """
    com = (masses[:, None] * positions).sum(0) / masses.sum()
    r = positions - com
    tau = np.cross(r, forces).sum(0)
    inertia = (masses[:, None, None] * ((r * r).sum(1)[:, None, None] * np.eye(3) - r[:, :, None] * r[:, None, :])).sum(0)
    alpha = np.linalg.lstsq(inertia, tau, rcond=None)[0]  # a linear molecule: the component along its axis is free
    return forces - masses[:, None] * np.cross(alpha, r)


def _periodic(atoms: Any) -> bool:
    return bool(np.any(atoms.pbc)) and abs(atoms.cell.volume) > 0


class ModelCalculator(_ase_calculator()[0]):
    """A symbreak energy model (``gradient_output``: PET, SchNet, PaiNN...) as an ASE calculator.

    ``evaluate(atoms, rotations)`` runs all rotated copies in one batch: what
    :class:`SymmetrizedCalculator` uses. Every input field of the batch turns by its declared
    representation (:func:`~symbreak.models._inputs.act_on_fields`): positions about the origin,
    the lattice rows of a periodic cell with them, and the per-atom inputs a model may read, taken
    from ``atoms.arrays`` under their batch names (``atoms.set_array("pseudovectors", a)``, a (n, C, 3):
    axial, turned by det(R)·R; ``"vectors"`` (n, C, 3): polar; ``"x"`` (n, F): invariant).
    dtype: float64 by default (energy conservation in MD). Stress is not implemented (the models
    differentiate positions only). Per-atom energies (``"energies"``, ``atoms.get_potential_energies()``)
    where the model has ``atomic_energies`` (every symbreak energy model).
    """

    implemented_properties = ["energy", "free_energy", "forces", "energies"]

    def __init__(self, model: Any, *, device: str = "cpu", dtype: Any = None, batch_size: int = 64, **kwargs: Any) -> None:
        import torch

        super().__init__(**kwargs)
        if not getattr(model, "gradient_output", False):
            raise SymbreakError(f"{type(model).__name__} is not an energy model (gradient_output is False)")
        self.dtype = dtype or torch.float64
        # a copy: the caller's model keeps its dtype, device and training mode
        self.model = copy.deepcopy(model).to(device=device, dtype=self.dtype).eval()
        self.device, self.batch_size = device, int(batch_size)
        if not hasattr(self.model, "atomic_energies"):  # an instance list: the class's stays whole
            self.implemented_properties = [p for p in type(self).implemented_properties if p != "energies"]

    def as_batch(self, atoms: Any) -> Any:
        """``atoms`` as a one-structure batch in float64: ``z``, ``pos``, ``cell`` (1, 3, 3) (zeros when
        not periodic) and the per-atom input fields that ``atoms.arrays`` carries (see the class docstring)."""
        import torch
        from types import SimpleNamespace

        from ..models._inputs import FIELDS

        t = lambda a: torch.as_tensor(np.asarray(a), dtype=torch.float64, device=self.device)  # noqa: E731
        n = len(atoms)
        data = SimpleNamespace(
            z=torch.as_tensor(atoms.numbers, device=self.device), pos=t(atoms.get_positions()),
            batch=torch.zeros(n, dtype=torch.long, device=self.device), num_graphs=1,
            cell=t(np.asarray(atoms.cell) if _periodic(atoms) else np.zeros((3, 3)))[None],
        )  # fmt: skip
        for key, (_, atomic) in FIELDS.items():
            if atomic and key not in ("z", "pos") and key in atoms.arrays:
                setattr(data, key, t(atoms.arrays[key]))
        return data

    def _batches(self, atoms: Any, rotations: np.ndarray) -> Any:
        """``(k, copies)`` for each chunk of ``batch_size`` rotations: k copies of every field, turned
        in float64, then in the model's dtype: (k, n, ...) -> (k n, ...)."""
        import torch
        from types import SimpleNamespace

        from ..models._inputs import act_on_fields

        data, n = self.as_batch(atoms), len(atoms)
        for start in range(0, len(rotations), self.batch_size):
            rot = torch.as_tensor(np.asarray(rotations[start : start + self.batch_size]), dtype=torch.float64, device=self.device)
            k = len(rot)
            copies = SimpleNamespace(batch=torch.arange(k, device=self.device).repeat_interleave(n), num_graphs=k)
            for key, value in act_on_fields(data, rot).items():
                value = value.reshape((-1,) + tuple(value.shape[2:]))
                setattr(copies, key, value.to(self.dtype) if value.is_floating_point() else value)
            yield k, copies

    def evaluate(self, atoms: Any, rotations: np.ndarray) -> tuple[np.ndarray, np.ndarray, None]:
        """Energies (K,) and forces (K, n, 3) of ``atoms`` turned by each of ``rotations`` (K, 3, 3), in the turned frames."""
        energies, forces = [], []
        for k, copies in self._batches(atoms, rotations):
            e, f = self.model.energy_and_forces(copies, create_graph=False)
            energies.append(e.detach().cpu().numpy())
            forces.append(f.detach().cpu().numpy().reshape(k, len(atoms), 3))
        return np.concatenate(energies), np.concatenate(forces), None

    def evaluate_energies(self, atoms: Any, rotations: np.ndarray) -> np.ndarray:
        """Per-atom energies (K, n) of ``atoms`` turned by each of ``rotations`` (the model's ``atomic_energies``)."""
        import torch

        if "energies" not in self.implemented_properties:
            raise SymbreakError(f"{type(self.model).__name__} gives no per-atom energies (no atomic_energies)")
        out = []
        with torch.no_grad():
            for k, copies in self._batches(atoms, rotations):
                inputs = self.model.read(copies)
                e = self.model.atomic_energies(self.model.features(inputs), inputs)
                out.append(e.detach().cpu().numpy().reshape(k, len(atoms)))
        return np.concatenate(out)

    def calculate(self, atoms: Any = None, properties: Any = ("energy",), system_changes: Any = None) -> None:
        super().calculate(atoms, properties, system_changes or _ase_calculator()[1])
        e, f, _ = self.evaluate(self.atoms, np.eye(3)[None])
        self.results = {"energy": float(e[0]), "free_energy": float(e[0]), "forces": f[0]}
        if "energies" in properties and "energies" in self.implemented_properties:
            self.results["energies"] = self.evaluate_energies(self.atoms, np.eye(3)[None])[0]


def _generic_evaluate(calc: Any, atoms: Any, rotations: np.ndarray, stress: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Any ASE calculator on rotated copies, one at a time (positions and lattice rows turned about the origin)."""
    from ..rotations import act

    energies, forces, stresses = [], [], []
    periodic = _periodic(atoms)
    for rot in rotations:
        turned = atoms.copy()
        turned.calc = None
        turned.set_positions(act(rot, atoms.get_positions(), "positions"))
        if periodic:
            turned.set_cell(act(rot, np.asarray(atoms.cell), "1o"), scale_atoms=False)  # lattice rows
        turned.calc = calc
        energies.append(turned.get_potential_energy())
        forces.append(turned.get_forces())
        if stress:
            stresses.append(turned.get_stress(voigt=False))
    return np.asarray(energies), np.asarray(forces), (np.asarray(stresses) if stress else None)


def _gives_energies(calc: Any) -> bool:
    return "energies" in getattr(calc, "implemented_properties", ())


def _per_atom_energies(calc: Any, atoms: Any, rotations: np.ndarray) -> np.ndarray:
    """(K, n) per-atom energies of ``atoms`` turned by each rotation: a ModelCalculator in batches, any
    other ASE calculator that implements ``"energies"`` one copy at a time."""
    if hasattr(calc, "evaluate_energies"):
        return calc.evaluate_energies(atoms, rotations)
    from ..rotations import act

    out = []
    for rot in rotations:
        turned = atoms.copy()
        turned.calc = None
        turned.set_positions(act(rot, atoms.get_positions(), "positions"))
        if _periodic(atoms):
            turned.set_cell(act(rot, np.asarray(atoms.cell), "1o"), scale_atoms=False)
        turned.calc = calc
        out.append(turned.get_potential_energies())
    return np.asarray(out)


class SymmetrizedCalculator(_ase_calculator()[0]):
    """Rotational averaging of a symbreak model or any ASE calculator (see the module docstring).

    Parameters
    ----------
    calc
        An ASE calculator, or a symbreak energy model (wrapped in :class:`ModelCalculator`).
    mode
        ``"raw"``, ``"grid"``, ``"random"`` or ``"mts"``.
    grid
        Quadrature spec of :func:`symbreak.rotations.grid` (``"2i"``: 36 elements of O(3); ``"lebedev5"``).
    k
        For ``"mts"``, inner steps per outer step (the averaged correction every k-th evaluation).
    seed
        For ``"random"``: the sequence of rotations.
    improper
        For ``"random"``: draw from O(3) instead of SO(3).
    remove_net_force, remove_net_torque
        Project the forces (torque: finite systems only).

    Notes
    -----
    Besides energy, forces (and stress when the wrapped calculator gives it), ``results`` holds
    ``energy_spread`` (weighted standard deviation of the energy over the grid, eV),
    ``forces_spread`` (n,) (of each atom's back-rotated force, eV/Å), and ``raw_energy``,
    ``raw_forces`` where computed; under metatomic's names, ``energy_rot_std`` (the same as
    ``energy_spread``) and ``forces_rot_std`` (n, 3): the weighted standard deviation of each
    component of the back-rotated forces R_kᵀ F_i(R_k x), eV/Å. Per-atom energies
    (``"energies"``, ``atoms.get_potential_energies()``) are averaged over the same rotations as the
    energy where the wrapped calculator gives them (a symbreak model, EMT...), in the modes
    ``"raw"``, ``"grid"`` and ``"random"``.
    """

    implemented_properties = ["energy", "free_energy", "forces", "stress", "energies"]

    def __init__(
        self, calc: Any, *, mode: str = "grid", grid: str = "2i", k: int = 10, seed: int = 0, improper: bool = False,
        remove_net_force: bool = False, remove_net_torque: bool = False, **kwargs: Any,
    ) -> None:  # fmt: skip
        from ..rotations import grid as make_grid

        super().__init__(**kwargs)
        if mode not in MODES:
            raise SymbreakError(f"mode must be one of {MODES}, got {mode!r}")
        if not isinstance(k, (int, np.integer)) or k < 1:
            raise SymbreakError(f"k must be a positive integer, got {k!r}")
        if hasattr(calc, "energy_and_forces"):  # a symbreak model
            calc = ModelCalculator(calc)
        elif not (hasattr(calc, "get_potential_energy") or hasattr(calc, "calculate")):
            raise SymbreakError(
                f"calc must be an ASE calculator or a symbreak model (with energy_and_forces), got {type(calc).__name__}"
            )
        self.calc, self.mode, self.k = calc, mode, int(k)
        self.grid_spec = grid
        self.rotations, self.weights = make_grid(grid)
        self.rng = np.random.default_rng(seed)
        self.improper = bool(improper)
        self.net_force, self.net_torque = bool(remove_net_force), bool(remove_net_torque)
        self.evaluations = 0
        self._correction: tuple[float, np.ndarray] | None = None

    def _evaluate(self, atoms: Any, rotations: np.ndarray, stress: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        if hasattr(self.calc, "evaluate"):
            return self.calc.evaluate(atoms, rotations)
        return _generic_evaluate(self.calc, atoms, rotations, stress)

    def _average(self, atoms: Any, rotations: np.ndarray, weights: np.ndarray, stress: bool, energies: bool = False) -> dict[str, Any]:
        e, f, s = self._evaluate(atoms, rotations, stress)
        back = np.einsum("kni,kij->knj", f, rotations)  # R_kᵀ F(R_k x), forces as rows
        energy = float(weights @ e)
        forces = np.einsum("k,knj->nj", weights, back)
        spread = float(np.sqrt(max(weights @ (e - energy) ** 2, 0.0)))
        out = {
            "energy": energy,
            "forces": forces,
            "energy_spread": spread,
            "forces_spread": np.sqrt(np.einsum("k,kn->n", weights, ((back - forces) ** 2).sum(-1))),
            "energy_rot_std": spread,
            "forces_rot_std": np.sqrt(np.einsum("k,knj->nj", weights, (back - forces) ** 2)),
        }
        if s is not None:
            out["stress"] = np.einsum("k,kji,kjl,klm->im", weights, rotations, s, rotations)
        if energies and _gives_energies(self.calc):
            out["energies"] = weights @ _per_atom_energies(self.calc, atoms, rotations)  # scalars: no turning back
        return out

    def calculate(self, atoms: Any = None, properties: Any = ("energy",), system_changes: Any = None) -> None:
        super().calculate(atoms, properties, system_changes or _ase_calculator()[1])
        atoms = self.atoms
        stress = "stress" in properties and _periodic(atoms)
        energies = "energies" in properties and self.mode != "mts"
        identity = (np.eye(3)[None], np.ones(1))
        if self.mode == "grid":
            res = self._average(atoms, self.rotations, self.weights, stress, energies)
        elif self.mode == "random":
            from ..rotations import random_rotations

            res = self._average(atoms, random_rotations(1, improper=self.improper, seed=self.rng), np.ones(1), stress, energies)
        else:
            res = self._average(atoms, *identity, stress, energies)
            res["raw_energy"], res["raw_forces"] = res["energy"], res["forces"].copy()
            if self.mode == "mts":
                if self.evaluations % self.k == 0:
                    avg = self._average(atoms, self.rotations, self.weights, stress)
                    self._correction = (avg["energy"] - res["energy"], avg["forces"] - res["forces"])
                    res["forces"] = res["forces"] + self.k * self._correction[1]  # the outer step's impulse
                    for key in ("energy_spread", "forces_spread", "energy_rot_std", "forces_rot_std"):
                        res[key] = avg[key]
                    if stress:
                        res["stress"] = avg["stress"]
                # the energy of the averaged model, with the last correction held between outer steps
                res["energy"] = res["energy"] + self._correction[0]
        self.evaluations += 1
        masses = atoms.get_masses()
        if self.net_torque:
            if _periodic(atoms):
                raise SymbreakError("remove_net_torque is for finite systems: a periodic one has no centre to turn about")
            res["forces"] = remove_net_torque(res["forces"], atoms.get_positions(), masses)
        if self.net_force:
            res["forces"] = remove_net_force(res["forces"], masses)
        res["free_energy"] = res["energy"]
        if "stress" in res:
            from ase.stress import full_3x3_to_voigt_6_stress

            res["stress"] = full_3x3_to_voigt_6_stress(res["stress"])
        self.results = res
