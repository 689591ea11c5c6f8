r"""Langer, Pozdnyakov & Ceriotti, *Probing the effects of broken symmetries in machine learning*, in kind.

``symbreak bench water-pet`` (the registered task :class:`symbreak.tasks.WaterPET`, or
:func:`reproduce_water`) runs, each step resumable (a finished
step's JSON is kept and not rerun; training resumes from its checkpoint):

1. ``train``: PET and PET-invariant on the bulk water set (GFN1-xTB labels), with a random O(3)
   rotation per structure per epoch; energy and force errors on the test split (the paper: PET on
   revPBE0-D3 water, force MAE 17.1 meV/Å);
2. ``gas``: Fig. 1a, 1c: one water molecule in NVE with the raw model, 2i averaging, 2i with the
   net torque removed, and random rotations: angular momentum, its precession, torque; the power
   spectra of the raw run's potential energy and of its non-invariant part;
3. ``gas_nvt``: Fig. 1b, 1d–e: the molecule in NVT with a per-atom Langevin thermostat (a global
   rescaling one keeps the direction of the angular momentum), raw and 2i: the orientational free
   energy measured with errors from decorrelated blocks, the one the model implies (evaluated on a
   grid of orientations, no sampling noise) and the run length needed to resolve it; the torque of
   each grid's average on the raw run's frames;
4. ``bulk``: Figs. 2, 3, S2: bulk water in NVT (Bussi thermostat) with the raw model, 2i by
   multiple time stepping (outer step 10 inner steps), a random rotation per step, and a short
   run with the full 2i average: g_OO(r), orientation correlations, MSD, dipole autocorrelation,
   the orientational free energy, the drift of the conserved quantity (beside
   :func:`~symbreak.md.random_force_drift`'s estimate) and the kinetic temperature of O and H;
5. ``symmetry``: Table II and Fig. S1: MAE and RMS differences between raw predictions (and grid
   averages 1, 1i, 2, 2i, 3) and the 3i average, on test frames, on snapshots of PET's own bulk
   MD, and on frames of its own gas-phase NVT at 300 K;
6. ``ice``: proton-disordered ice Ih cells (genice2), raw against 2i: forces and the relative
   energies of the proton orderings (:func:`symbreak.md.ice_test`).

Sizes fit a 2-core machine: 31 molecules (the paper: 512), picoseconds (the paper: nanoseconds).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from .._errors import SymbreakError

__all__ = ["reproduce_water", "format_water", "plot_water", "PAPER", "SETTINGS"]

#: the paper's numbers as it prints them: Table II (symmetry error of raw PET against its 3i
#: average, MAE; 64-molecule test set, 512-molecule bulk MD, gas MD), Table I (test force MAE).
#: papers.md and the issue quote 5.09/2.04, 7.94/1.21, 2.82/11.8 and 16.6 from the authors' archive.
PAPER = {
    "test": {"energy_meV": 5.1, "forces_meV_A": 2.0},
    "bulk": {"energy_meV": 8.0, "forces_meV_A": 1.2},
    "gas": {"energy_meV": 2.7, "forces_meV_A": 12.0},
    "force_mae_meV_A": 17.1,
    "drift_meV_per_molecule_per_ns": "a few tens, with MTS and with random rotation",
}

SETTINGS = {
    "full": {"epochs": 24, "train": 600, "hidden": 32, "cutoff": 4.0, "symmetry_frames": 16, "gas_ps": 2.0, "gas_nvt_ps": 20.0, "bulk_ps": 1.0, "bulk_2i_ps": 0.1,
             "equilibrate_ps": 0.2, "dt_fs": 0.5, "ice_cells": 9, "ice_relax_steps": 5, "torque_frames": 100, "orientation_configs": 16},
    "quick": {"epochs": 1, "train": 16, "hidden": 16, "cutoff": 3.5, "symmetry_frames": 2, "gas_ps": 0.02, "gas_nvt_ps": 0.2, "bulk_ps": 0.03, "bulk_2i_ps": 0.01,
              "equilibrate_ps": 0.005, "dt_fs": 0.5, "ice_cells": 2, "ice_reps": (1, 1, 1), "ice_relax_steps": 0, "torque_frames": 4, "orientation_configs": 2},
}  # fmt: skip
#: Langevin friction of the gas-phase NVT runs, 1/fs: per atom, so the direction of the angular
#: momentum is not kept (a global rescaling thermostat such as Bussi's keeps it)
GAS_FRICTION_PER_FS = 0.01
#: grids whose mean torque on the gas molecule is reported (Fig. 1b)
TORQUE_GRIDS = ("raw", "1", "1i", "2", "2i", "3", "3i")
#: molecules per structure of the paper's sets (test frames, bulk MD box, gas)
PAPER_MOLECULES = {"test": 64, "bulk": 512, "gas": 1}
GRIDS = ("1", "1i", "2", "2i", "3")
MODELS = ("pet", "pet-invariant")


def _data_dir() -> Path:
    return Path(__file__).resolve().parent.parent / "tasks" / "data" / "water_gfn1"


def _energy_data(d: dict) -> Any:
    from ..training import EnergyData

    f = len(d["energy"])
    return EnergyData(d["numbers"], d["positions"], np.repeat(d["box"][None], f, 0), d["energy"], d["forces"])


def _splits(n: int, seed: int, train: int) -> dict[str, np.ndarray]:
    order = np.random.default_rng(seed).permutation(n)
    n_test = max(1, int(0.15 * n))
    rest = order[n_test:]
    n_val = max(1, int(0.15 * n))
    return {"test": np.sort(order[:n_test]), "val": np.sort(rest[:n_val]), "train": np.sort(rest[n_val:][:train])}


def _step(out: Path, name: str, fn: Any) -> dict:
    """Run a step once: its JSON is the record that it finished."""
    path = out / f"{name}.json"
    if path.exists():
        return json.loads(path.read_text())
    t0 = time.perf_counter()
    res = fn()
    res["seconds"] = time.perf_counter() - t0
    path.write_text(json.dumps(res, indent=1) + "\n")
    return res


def _load_model(out: Path, spec: str, s: dict) -> Any:
    import torch

    from ..models import build_model

    model = build_model(spec, hidden=s["hidden"], cutoff=s["cutoff"])
    saved = torch.load(out / "models" / f"{spec}.pt", weights_only=True)
    model.load_state_dict(saved["best"] if saved.get("best") is not None else saved["model"])
    return model.double().eval()


def _train(out: Path, bulk: Any, splits: dict, s: dict, seed: int, progress: bool) -> dict:
    import torch

    from ..models import build_model
    from ..training import energy_errors, fit_energy

    res: dict[str, Any] = {"splits": {k: len(v) for k, v in splits.items()}, "models": {}}
    for spec in MODELS:
        torch.manual_seed(seed)
        model = build_model(spec, hidden=s["hidden"], cutoff=s["cutoff"])
        fit = fit_energy(model, bulk.subset(splits["train"]), bulk.subset(splits["val"]), epochs=s["epochs"], lr=s.get("lr", 1e-3), seed=seed,
                         checkpoint=out / "models" / f"{spec}.pt", progress=progress)  # fmt: skip
        model = _load_model(out, spec, s)
        res["models"][spec] = {"test": energy_errors(model, bulk.subset(splits["test"])), "best_epoch": fit["best_epoch"], "history": fit["history"]}
    return res


def _grid_average(model: Any, data: Any, spec: str) -> tuple[np.ndarray, np.ndarray]:
    """Energies (F,) and forces (F, n, 3) of ``model`` averaged over grid ``spec`` ("raw": not averaged), in the input frame."""
    from ..rotations import grid
    from ..training import predict_energy

    if spec == "raw":
        return predict_energy(model, data)
    rots, w = grid(spec)
    e_sum, f_sum = np.zeros(len(data)), np.zeros(data.forces.shape)
    for r, wk in zip(rots, w):
        e, f = predict_energy(model, data, rotations=np.repeat(r[None], len(data), 0))
        e_sum += wk * e
        f_sum += wk * f @ r  # back to the input frame
    return e_sum, f_sum


def _symmetry_errors(model: Any, data: Any, frames: np.ndarray) -> dict:
    """Raw and grid-averaged predictions against the 3i average: MAE as the paper's Table II (energy
    per structure, meV; force components, meV/Å), and RMS; ``molecules`` to read them per molecule."""
    sub = data.subset(frames)
    ref_e, ref_f = _grid_average(model, sub, "3i")

    def errors(e: np.ndarray, f: np.ndarray) -> dict[str, float]:
        return {
            "energy_meV": float(1e3 * np.abs(e - ref_e).mean()), "forces_meV_A": float(1e3 * np.abs(f - ref_f).mean()),
            "energy_rms_meV": float(1e3 * np.sqrt(((e - ref_e) ** 2).mean())), "forces_rms_meV_A": float(1e3 * np.sqrt(((f - ref_f) ** 2).mean())),
        }  # fmt: skip

    out = {"frames": len(sub), "molecules": int(np.sum(np.asarray(data.numbers) == 8)), "raw": errors(*_grid_average(model, sub, "raw"))}
    for spec in GRIDS:
        out[spec] = errors(*_grid_average(model, sub, spec))
    return out


def _md(atoms: Any, calc: Any, *, steps: int, dt_fs: float, every: int, temperature_K: float | None, seed: int, equilibrate: int = 0,
        thermostat: str = "bussi", equilibrate_calc: Any = None) -> tuple[list, np.ndarray]:  # fmt: skip
    """Run NVE (temperature None) or NVT (``thermostat``: "bussi", global velocity rescaling, or
    "langevin", per atom); after ``equilibrate`` unrecorded steps (with ``equilibrate_calc`` if
    given), frames every ``every`` steps, and the conserved quantity at each (Bussi's exchanged
    energy counted from there; Langevin's is not tracked)."""
    from ase import units
    from ase.calculators.singlepoint import SinglePointCalculator
    from ase.md.bussi import Bussi
    from ase.md.langevin import Langevin
    from ase.md.verlet import VelocityVerlet

    def integrator() -> Any:
        if temperature_K is None:
            return VelocityVerlet(atoms, timestep=dt_fs * units.fs)
        if thermostat == "langevin":
            return Langevin(atoms, timestep=dt_fs * units.fs, temperature_K=temperature_K, friction=GAS_FRICTION_PER_FS / units.fs, fixcm=False, rng=np.random.default_rng(seed))
        return Bussi(atoms, timestep=dt_fs * units.fs, temperature_K=temperature_K, taut=10 * units.fs, rng=np.random.default_rng(seed))

    atoms.calc = equilibrate_calc if equilibrate_calc is not None else calc
    dyn = integrator()
    if equilibrate:
        dyn.run(equilibrate)
        if equilibrate_calc is not None:
            atoms.calc = calc
            dyn = integrator()
        if hasattr(dyn, "transferred_energy"):
            dyn.transferred_energy = 0.0
        dyn.nsteps = 0
    frames, conserved = [], []

    def keep() -> None:
        a = atoms.copy()
        a.calc = SinglePointCalculator(a, energy=atoms.get_potential_energy(), forces=atoms.get_forces())
        frames.append(a)
        conserved.append(atoms.get_potential_energy() + atoms.get_kinetic_energy() - getattr(dyn, "transferred_energy", 0.0))

    dyn.attach(keep, interval=every)
    dyn.run(steps)
    return frames, np.asarray(conserved)


def _finite(x: float) -> float | None:
    return float(x) if np.isfinite(x) else None


def _initial(atoms: Any, temperature_K: float, seed: int) -> Any:
    from ase.md.velocitydistribution import Stationary, thermalize_momenta

    thermalize_momenta(atoms, temperature_K, rng=np.random.default_rng(seed))
    Stationary(atoms)
    return atoms


def _gas(out: Path, model: Any, gas: dict, s: dict, seed: int) -> dict:
    """Fig. 1a and 1c: one molecule in NVE, raw, 2i, 2i without net torque and random rotations;
    the spectra of the raw run's potential energy and of its non-invariant part."""
    from ase import Atoms

    from . import SymmetrizedCalculator
    from ._analysis import analyze_trajectory
    from ._diagnostics import power_spectrum

    dt = s["dt_fs"]
    start = Atoms(numbers=gas["numbers"], positions=gas["positions"][0])
    res: dict[str, Any] = {"nve": {}}
    steps = max(8, int(s["gas_ps"] * 1e3 / dt))
    for name, kw in (("raw", {"mode": "raw"}), ("2i", {"mode": "grid"}), ("2i-no-torque", {"mode": "grid", "remove_net_torque": True}), ("random", {"mode": "random", "seed": seed})):
        atoms = _initial(start.copy(), 300.0, seed)
        frames, conserved = _md(atoms, SymmetrizedCalculator(model, grid="2i", **kw), steps=steps, dt_fs=dt, every=2, temperature_K=None, seed=seed)
        a = analyze_trajectory(frames, dt_fs=2 * dt, conserved=conserved, out=out / "gas" / name)
        res["nve"][name] = {k: v for k, v in a.items() if k != "series"}
        if name == "raw":  # Fig. 1c: the potential and its non-invariant part along the raw trajectory
            avg = SymmetrizedCalculator(model, mode="grid", grid="2i")
            energy, part = [], []
            for f in frames:
                g = f.copy()
                g.calc = avg
                energy.append(f.get_potential_energy())
                part.append(f.get_potential_energy() - g.get_potential_energy())
            freq, power = power_spectrum(np.asarray(part), 2 * dt)
            _, power_e = power_spectrum(np.asarray(energy), 2 * dt)
            res["noninvariant_energy"] = {"rms_meV": float(1e3 * np.std(part)), "peak_THz": float(freq[1:][np.argmax(power[1:])]),
                                          "potential_rms_meV": float(1e3 * np.std(energy)), "potential_peak_THz": float(freq[1:][np.argmax(power_e[1:])])}  # fmt: skip
            np.savez(out / "gas" / "noninvariant_spectrum.npz", freq=freq, power=power, power_potential=power_e)
            keep = freq <= 250.0  # THz: the potential of a vibration oscillates at twice its frequency (O-H: about 2 x 100 THz)
            res["spectrum"] = {"freq_THz": freq[keep].tolist(), "potential": power_e[keep].tolist(), "noninvariant": power[keep].tolist()}
    return res


def _gas_nvt(out: Path, model: Any, gas: dict, s: dict, seed: int) -> dict:
    """Fig. 1b, 1d–e: the molecule in Langevin NVT at 300 K, raw and 2i: the measured orientational
    free energy (errors from decorrelated blocks), the one the model implies (no sampling noise),
    the run length needed to resolve it; the torque of each grid's average on the raw run's frames.
    The raw run's frames are kept (``gas/nvt_raw.npy``): the gas set of Table II, the model's own NVT."""
    from ase import Atoms

    from . import SymmetrizedCalculator
    from ._diagnostics import torque, water_axes
    from ._orientation import frames_needed, orientation_anisotropy, predicted_orientation_free_energy
    from ..training import predict_energy

    dt, every = s["dt_fs"], 4
    start = Atoms(numbers=gas["numbers"], positions=gas["positions"][0])
    steps = max(16 * 10 * every, int(s["gas_nvt_ps"] * 1e3 / dt))
    mol = np.array([[0, 1, 2]])
    res: dict[str, Any] = {"thermostat": f"Langevin, friction {GAS_FRICTION_PER_FS}/fs, per atom", "frame_fs": every * dt, "runs": {}}
    positions = {}
    for name, kw in (("raw", {"mode": "raw"}), ("2i", {"mode": "grid"})):
        atoms = _initial(start.copy(), 300.0, seed + 1)
        frames, _ = _md(atoms, SymmetrizedCalculator(model, grid="2i", **kw), steps=steps, dt_fs=dt, every=every, temperature_K=300.0, seed=seed, thermostat="langevin")
        positions[name] = np.array([f.positions for f in frames])
        axes = water_axes(positions[name], mol)[:, 0]
        res["runs"][name] = {"ps": steps * dt / 1e3, **orientation_anisotropy(axes)}
    np.save(out / "gas" / "nvt_raw.npy", positions["raw"])
    numbers = np.asarray(gas["numbers"])

    def energy(pos: np.ndarray) -> np.ndarray:
        data = _energy_data({"numbers": numbers, "positions": pos, "box": np.zeros((3, 3)), "energy": np.zeros(len(pos)), "forces": np.zeros_like(pos)})
        return predict_energy(model, data, batch_size=256)[0]

    configs = positions["raw"][np.linspace(0, len(positions["raw"]) - 1, min(s.get("orientation_configs", 16), len(positions["raw"]))).astype(int)]
    pred = predicted_orientation_free_energy(energy, configs, water_axes(configs, mol)[:, 0], 300.0)
    res["predicted"] = pred
    raw = res["runs"]["raw"]
    need = frames_needed(pred["rms_harmonics_kT"], raw["noise_rms_kT"], raw["frames"])
    res["needed_ps"] = _finite(need * every * dt / 1e3)
    # Fig. 1b: the torque of each grid's average on frames of the raw run (one model, many grids, same frames)
    sub = positions["raw"][np.linspace(0, len(positions["raw"]) - 1, min(s.get("torque_frames", 100), len(positions["raw"]))).astype(int)]
    data = _energy_data({"numbers": numbers, "positions": sub, "box": np.zeros((3, 3)), "energy": np.zeros(len(sub)), "forces": np.zeros_like(sub)})
    from ase.data import atomic_masses

    masses = atomic_masses[numbers]
    res["torque"] = {}
    for spec in TORQUE_GRIDS:
        _, forces = _grid_average(model, data, spec)
        tau = torque(sub, forces, masses)  # (F, 3) eV
        res["torque"][spec] = {"mean_abs_meV": float(1e3 * np.linalg.norm(tau, axis=1).mean()), "mean_vector_meV": float(1e3 * np.linalg.norm(tau.mean(0)))}
    return res


def _species_temperature(frames: list) -> dict[str, dict[str, float]]:
    """Mean kinetic temperature of each element (K) over the frames, and its error from 4 time blocks."""
    from ase.units import kB

    numbers = frames[0].numbers
    ke = np.array([0.5 * f.get_masses()[:, None] * f.get_velocities() ** 2 for f in frames]).sum(-1)  # (T, n) eV
    out = {}
    for z, sym in ((8, "O"), (1, "H")):
        t = 2.0 * ke[:, numbers == z].mean(1) / (3.0 * kB)
        blocks = np.array_split(t, 4)
        out[sym] = {"T_K": float(t.mean()), "err_K": float(np.std([b.mean() for b in blocks], ddof=1) / 2.0)}
    return out


def _bulk(out: Path, model: Any, bulk: dict, s: dict, seed: int) -> tuple[dict, list]:
    """Figs. 2, 3, S2: bulk water in Bussi NVT at 300 K, raw, 2i by MTS, random rotations, and a
    short run with the full 2i average at every step (started from the raw model's equilibration)."""
    from ase import Atoms

    from . import SymmetrizedCalculator
    from ._analysis import analyze_trajectory

    dt = s["dt_fs"]
    steps = max(10, int(s["bulk_ps"] * 1e3 / dt))
    res: dict[str, Any] = {}
    snapshots = []
    runs = (("raw", {"mode": "raw"}, steps), ("mts-2i", {"mode": "mts", "k": 10}, steps), ("random", {"mode": "random", "seed": seed}, steps),
            ("2i", {"mode": "grid"}, max(10, int(s["bulk_2i_ps"] * 1e3 / dt))))  # fmt: skip
    for name, kw, n in runs:
        atoms = _initial(Atoms(numbers=bulk["numbers"], positions=bulk["positions"][0], cell=bulk["box"], pbc=True), 300.0, seed)
        every = max(1, min(10, n // 4))  # at least 5 frames, also for the short full-2i run
        frames, conserved = _md(atoms, SymmetrizedCalculator(model, grid="2i", **kw), steps=n, dt_fs=dt, every=every, temperature_K=300.0, seed=seed,
                                equilibrate=int(s["equilibrate_ps"] * 1e3 / dt),  # the TIP3P start relaxes under PET first
                                equilibrate_calc=SymmetrizedCalculator(model, mode="raw") if name == "2i" else None)  # fmt: skip
        a = analyze_trajectory(frames, dt_fs=every * dt, conserved=conserved, out=out / "bulk" / name)
        res[name] = {k: v for k, v in a.items() if k != "series"}
        res[name]["correlations"] = {k: np.asarray(a["series"][k]).tolist() for k in ("C1", "C2", "dipole_acf") if k in a.get("series", {})}
        res[name]["ps"] = n * dt / 1e3
        res[name]["species_temperature"] = _species_temperature(frames)
        if name == "raw":
            snapshots = [f.positions.copy() for f in frames]
    return res, snapshots


def _ice(model: Any, s: dict, seed: int) -> dict:
    """The proton-disorder test: ice Ih cells with different proton orderings, raw against 2i
    (:func:`symbreak.md.ice_test`); skipped, saying why, without genice2."""
    from . import SymmetrizedCalculator
    from ._ice import ice_cells, ice_test

    try:
        cells = ice_cells(s["ice_cells"], reps=tuple(s.get("ice_reps", (2, 2, 1))), seed=seed)
    except SymbreakError as exc:
        return {"skipped": str(exc)}
    res = ice_test(SymmetrizedCalculator(model, mode="raw"), SymmetrizedCalculator(model, mode="grid", grid="2i"), cells,
                   relax_steps=s.get("ice_relax_steps", 0), fmax=0.01)  # fmt: skip
    res["parts_seconds"] = res.pop("seconds")  # the step's own wall time goes in "seconds"
    return res


def _drift_estimate(results: dict, numbers: np.ndarray, dt_fs: float) -> dict:
    """:func:`~symbreak.md.random_force_drift` for each bulk run (meV/molecule/ns, as text), with σ the raw
    model's RMS force deviation from its 3i average on bulk snapshots."""
    from ase.data import atomic_masses

    from ._diagnostics import random_force_drift

    sigma = results["symmetry"]["bulk"]["raw"]["forces_rms_meV_A"]
    molecules = int(np.sum(numbers == 8))
    random = random_force_drift(1e-3 * sigma, atomic_masses[numbers], dt_fs, molecules)
    ratio = PAPER["bulk"]["forces_meV_A"] / results["symmetry"]["bulk"]["raw"]["forces_meV_A"]  # the paper prints MAE: scale by the MAE ratio
    return {
        "sigma_meV_A": sigma, "random_meV_per_molecule_per_ns": random,
        "raw": "0 (conservative)", "2i": "0 (conservative)", "random": f"{random:.3g}", "mts-2i": f"{10 * random:.3g} (k × random)",
        "paper_scaled": f"{random * ratio**2:.2g} meV/molecule/ns for random rotations (× ({PAPER['bulk']['forces_meV_A']}/{results['symmetry']['bulk']['raw']['forces_meV_A']:.2f})²)",
    }  # fmt: skip


def reproduce_water(out: str | Path, *, quick: bool = False, seed: int = 0, data: str | Path | None = None, progress: bool = True,
                    settings: dict[str, Any] | None = None, plots: bool = True) -> dict:  # fmt: skip
    """Run every step (see the module docstring) into folder ``out``; returns all results.

    settings: the sizes (default: :data:`SETTINGS` ``"quick"`` or ``"full"``); plots: also write
    ``symmetry.png`` and ``orientation.png`` into ``out`` (:func:`plot_water`). ``symbreak bench
    water-pet`` runs this as the one job of the registered task ``water-pet``."""
    from ..labels import load_water

    s = settings if settings is not None else SETTINGS["quick" if quick else "full"]
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    src = Path(data) if data else _data_dir()
    try:
        bulk_raw, gas_raw = load_water(src, "bulk"), load_water(src, "gas")
    except SymbreakError as exc:
        raise SymbreakError(f"{exc} (the shipped set lives in {_data_dir()})") from None
    bulk = _energy_data(bulk_raw)
    splits = _splits(len(bulk), seed, s["train"])
    results: dict[str, Any] = {"settings": s, "paper": PAPER, "data": {"bulk_frames": len(bulk), "atoms": len(bulk.numbers), "gas_frames": len(gas_raw["energy"]), "method": str(bulk_raw["method"])}}
    results["train"] = _step(out, "train", lambda: _train(out, bulk, splits, s, seed, progress))
    model = _load_model(out, "pet", s)
    (out / "gas").mkdir(exist_ok=True)
    (out / "bulk").mkdir(exist_ok=True)
    results["gas"] = _step(out, "gas", lambda: _gas(out, model, gas_raw, s, seed))
    results["gas_nvt"] = _step(out, "gas_nvt", lambda: _gas_nvt(out, model, gas_raw, s, seed))

    def bulk_step() -> dict:
        res, snaps = _bulk(out, model, bulk_raw, s, seed)
        np.save(out / "bulk" / "raw_snapshots.npy", np.asarray(snaps))
        return res

    results["bulk"] = _step(out, "bulk", bulk_step)
    snapshots = np.load(out / "bulk" / "raw_snapshots.npy")

    def symmetry_step() -> dict:
        n = s["symmetry_frames"]
        rng = np.random.default_rng(seed)
        test = np.sort(rng.choice(splits["test"], size=min(n, len(splits["test"])), replace=False))  # every temperature, not the first block
        md = _energy_data({**bulk_raw, "positions": snapshots, "energy": np.zeros(len(snapshots)), "forces": np.zeros_like(snapshots)})
        own = np.load(out / "gas" / "nvt_raw.npy")  # the gas set: the model's own NVT at 300 K, as in the paper
        gas = _energy_data({**gas_raw, "positions": own, "energy": np.zeros(len(own)), "forces": np.zeros_like(own)})
        return {
            "test": _symmetry_errors(model, bulk, test),
            "bulk": _symmetry_errors(model, md, np.sort(rng.choice(len(md), size=min(n, len(md)), replace=False))),
            "gas": _symmetry_errors(model, gas, np.linspace(0, len(gas) - 1, min(4 * n, len(gas))).astype(int)),
            "gas_source": "frames of the model's own Langevin NVT at 300 K (gas_nvt, raw), evenly spaced",
        }

    results["symmetry"] = _step(out, "symmetry", symmetry_step)
    results["ice"] = _step(out, "ice", lambda: _ice(model, s, seed))
    results["drift_estimate"] = _drift_estimate(results, np.asarray(bulk_raw["numbers"]), s["dt_fs"])
    (out / "results.json").write_text(json.dumps(results, indent=1, default=float) + "\n")
    if plots:
        plot_water(results, out)
    return json.loads(json.dumps(results, default=float))  # plain JSON values: the record a benchmark writes


def _format_ice(ice: dict) -> list[str]:
    """Lines of the ice test's table: ours beside the paper's (Langer et al.: 9 cells, PET against 2i)."""
    rows = [("initial cells", ice["initial"])] + ([("relaxed (each under its own model)", ice["relaxed"])] if ice.get("relaxed") else [])
    lines = [f"{ice['cells']} cells of {ice['molecules']} molecules (the paper: 9 cells)", "",
             "| geometry | spread of relative energies (std; max − min), meV/molecule | raw error of relative energies (MAE; max), meV/molecule | ΔF raw − 2i (MAE; max), meV/Å | mean abs(F), meV/Å |",
             "|---|---|---|---|---|"]  # fmt: skip
    for name, r in rows:
        forces = f"{r['force_diff_mae_all_meV_A']:.3g}; {r['force_diff_max_all_meV_A']:.3g} | {r['force_scale_all_meV_A']:.3g}" if "force_diff_mae_all_meV_A" in r else "- | -"
        lines.append(f"| {name} | {r['spread_avg_std_meV_per_molecule']:.3g}; {r['spread_avg_range_meV_per_molecule']:.3g} | "
                     f"{r['relative_error_mae_meV_per_molecule']:.3g}; {r['relative_error_max_meV_per_molecule']:.3g} | {forces} |")  # fmt: skip
    lines.append("| the paper | orderings differ by about 0.3 | about 0.02 | < 1 | about 1000 |")
    if ice.get("relaxed"):
        lines.append(f"(relaxed geometries, raw against 2i: RMS distance {ice['relaxed']['rmsd_mean_A']:.2g} Å per atom)")
    return lines


def format_water(results: dict) -> str:
    """Terminal/Markdown tables: our numbers beside the paper's, with what limits each comparison."""
    d = results["data"]
    lines = [f"Water, {d['atoms'] // 3} molecules, {d['bulk_frames']} bulk frames: flexible TIP3P configurations relabelled with {d['method']}; "
             "paper: 512 molecules, revPBE0-D3", ""]  # fmt: skip
    lines += ["| model | energy MAE, meV/atom | force MAE, meV/Å | paper: PET force MAE (revPBE0-D3) |", "|---|---|---|---|"]
    for spec, r in results["train"]["models"].items():
        t = r["test"]
        lines.append(f"| {spec} | {t['energy_mae_meV_per_atom']:.2f} | {t['forces_mae_meV_A']:.1f} | {'17.1 meV/Å (14.4 in the PET paper)' if spec == 'pet' else '-'} |")
    lines.append("(one seed; a random split of MD frames 50 fs apart, so most test frames have a training neighbour)")
    sym = results["symmetry"]
    lines += ["", "Table II: raw PET against its 3i average (MAE as the paper; RMS in brackets), per molecule and as printed (per structure); and after 2i averaging", "",
              "| set | molecules (paper) | ΔE raw, meV/molecule | paper | ΔE raw, meV per structure | paper | ΔF raw, meV/Å | paper | ΔF 2i, meV/Å | raw/2i |",
              "|---|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for name in ("test", "bulk", "gas"):
        r, p = sym[name], PAPER[name]
        n, n_paper = r.get("molecules", d["atoms"] // 3 if name != "gas" else 1), PAPER_MOLECULES[name]
        ratio = r["raw"]["forces_meV_A"] / max(r["2i"]["forces_meV_A"], 1e-12)
        lines.append(f"| {name} ({r['frames']} frames) | {n} ({n_paper}) | {r['raw']['energy_meV'] / n:.3g} | {p['energy_meV'] / n_paper:.3g} | "
                     f"{r['raw']['energy_meV']:.2f} ({r['raw']['energy_rms_meV']:.2f}) | {p['energy_meV']} | {r['raw']['forces_meV_A']:.2f} ({r['raw']['forces_rms_meV_A']:.2f}) | "
                     f"{p['forces_meV_A']} | {r['2i']['forces_meV_A']:.4f} | {ratio:.0f}× |")  # fmt: skip
    if "gas_source" in sym:
        lines.append(f"(gas: {sym['gas_source']})")
    f_ = {k: sym[k]["raw"]["forces_meV_A"] for k in ("test", "bulk", "gas")}
    lines.append(f"The paper's findings: bulk force error below test ({PAPER['bulk']['forces_meV_A']} < {PAPER['test']['forces_meV_A']}); ours "
                 f"{f_['bulk']:.2f} {'<' if f_['bulk'] < f_['test'] else '≥'} {f_['test']:.2f}. Gas far above both ({PAPER['gas']['forces_meV_A']}); ours "
                 f"{f_['gas']:.2f}, {'above' if f_['gas'] > max(f_['test'], f_['bulk']) else 'not above'} both.")  # fmt: skip
    lines += ["", "Fig. S1: force MAE (meV/Å) of each grid's average against 3i", "", "| set | " + " | ".join(GRIDS) + " |", "|---|" + "---|" * len(GRIDS)]
    for name in ("test", "bulk", "gas"):
        lines.append(f"| {name} | " + " | ".join(f"{sym[name][g]['forces_meV_A']:.3g}" for g in GRIDS) + " |")
    gas = results["gas"]
    lines += ["", "Fig. 1a: one molecule in NVE", "", "| run | ΔL, amu Å²/fs | L turns by, ° | torque RMS, meV | drift, meV/ns |", "|---|---|---|---|---|"]
    for name, r in gas["nve"].items():
        turn = r["angular_momentum_direction_change_deg"]
        lines.append(f"| {name} | {r['angular_momentum_change']:.2e} | {'—' if turn is None else format(turn, '.2g')} | {1e3 * r.get('torque_rms_eV', float('nan')):.2g} | "
                     f"{r['drift_meV_per_molecule_per_ns']:.3g} |")  # fmt: skip
    ne = gas.get("noninvariant_energy")
    if ne:
        lines.append(f"\nFig. 1c: along the raw NVE run, the potential energy: RMS {ne.get('potential_rms_meV', float('nan')):.1f} meV, strongest at "
                     f"{ne.get('potential_peak_THz', float('nan')):.1f} THz; its non-invariant part (raw − 2i): RMS {ne['rms_meV']:.3f} meV, strongest at {ne['peak_THz']:.1f} THz")  # fmt: skip
    nvt = results.get("gas_nvt")
    if nvt:
        lines += ["", f"Fig. 1b: torque of each grid's average on {nvt['thermostat'].split(',')[0]} NVT frames of the raw model (meV)", "",
                  "| grid | " + " | ".join(nvt["torque"]) + " |", "|---|" + "---|" * len(nvt["torque"]),
                  "| mean abs(τ) | " + " | ".join(f"{v['mean_abs_meV']:.2g}" for v in nvt["torque"].values()) + " |",
                  "| abs(mean τ) | " + " | ".join(f"{v['mean_vector_meV']:.2g}" for v in nvt["torque"].values()) + " |"]  # fmt: skip
        pred = nvt["predicted"]
        lines += ["", f"Fig. 1d-e: orientational free energy of the molecule, {nvt['thermostat']}, 300 K (F in kT; RMS over the sphere from harmonics l ≤ 4)", "",
                  "| run | ps | frames | τ, fs | RMS F | noise floor | RMS, noise removed | χ² / dof | p (isotropic) |", "|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
        for name, r in nvt["runs"].items():
            test = f"{r['chi2']:.1f} / {r['dof']} | {r['p_isotropic']:.2g}" if r.get("valid", True) else "too short for 8 blocks of 5τ | -"
            lines.append(f"| {name} | {r['ps']:.3g} | {r['frames']} | {r['tau_frames'] * nvt['frame_fs']:.0f} | {r['rms_kT']:.3f} | {r['noise_rms_kT']:.3f} | "
                         f"{r['rms_unbiased_kT']:.3f} | {test} |")  # fmt: skip
        need = nvt.get("needed_ps")
        lines.append(f"Implied by the raw model (its energy on {pred['orientations']} orientations of {pred['configurations']} sampled configurations; non-invariant "
                     f"RMS {pred['noninvariant_rms_meV']:.3f} meV): RMS F {pred['rms_kT']:.4f} kT ({pred['rms_harmonics_kT']:.4f} in l ≤ 4), range of F(cos θ) "
                     f"{pred['range_cos_kT']:.4f} kT. Resolving it at 3 noise floors needs ≈ {'∞' if need is None else format(need, '.3g')} ps of this run.")  # fmt: skip
    lines += ["", "Figs. 2, 3, S2: bulk water, NVT 300 K (drift: whole run, and its two halves; estimate: a fresh force error each step, Σ 3σ²Δt²/2m)", "",
              "| run | ps | g_OO peak (r, g) | MSD slope/6, Å²/ps | drift, meV/molecule/ns | halves | estimate | T_O, K | T_H, K | F(cos θ) range, kT |",
              "|---|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
    est = results.get("drift_estimate", {})
    for name, r in ((k, v) for k, v in results["bulk"].items() if isinstance(v, dict)):
        pk = r.get("g_OO_first_peak", {"r": float("nan"), "g": float("nan")})
        halves = r.get("drift_halves_meV_per_molecule_per_ns")
        hv = ", ".join(f"{h:.3g}" for h in halves) if halves else "-"
        t = r.get("species_temperature", {})
        temp = [f"{t[k]['T_K']:.0f} ± {t[k]['err_K']:.0f}" if k in t else "-" for k in ("O", "H")]
        lines.append(f"| {name} | {r.get('ps', float('nan')):.3g} | {pk['r']:.2f} Å, {pk['g']:.2f} | {r.get('D_O_A2_per_ps', float('nan')):.3f} | {r['drift_meV_per_molecule_per_ns']:.3g} | "
                     f"{hv} | {est.get(name, '-')} | {temp[0]} | {temp[1]} | {r.get('orientation_F_cos_range_kT', float('nan')):.2f} |")  # fmt: skip
    if est:
        lines.append(f"(estimate with σ = {est['sigma_meV_A']:.2f} meV/Å, the raw model's RMS force deviation from 3i on bulk snapshots; "
                     f"mts-2i: k = 10 times it, the size if successive corrections were uncorrelated; at the paper's smaller symmetry error the same estimate gives "
                     f"{est['paper_scaled']})")  # fmt: skip
    ice = results.get("ice")
    if ice:
        lines += ["", "Proton-disordered ice Ih, raw against 2i", ""]
        if "skipped" in ice:
            lines.append(f"- skipped: {ice['skipped']}")
        else:
            lines += _format_ice(ice)
    return "\n".join(lines)


def plot_water(results: dict, out: str | Path) -> list[Path]:
    """The figures, into ``out``: ``symmetry.png`` (Fig. S1: MAE of each grid's average against 3i,
    with the paper's raw values), ``torque.png`` (Fig. 1b), ``spectrum.png`` (Fig. 1c: the potential
    and its non-invariant part), ``orientation.png`` (Fig. 1d–e: the gas molecule's F(cos θ),
    measured raw and 2i, and the raw model's implied one) and ``correlations.png`` (Fig. 2d: the
    orientation correlations C1, C2; Fig. 3b: the dipole autocorrelation, each bulk run)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = Path(out)
    paths = []

    def save(fig: Any, name: str) -> None:
        fig.tight_layout()
        paths.append(out / name)
        fig.savefig(paths[-1], dpi=110)
        plt.close(fig)

    sym = results["symmetry"]
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.4))
    labels = ["raw", *GRIDS]
    for key, ax, unit in (("energy_meV", axes[0], "meV"), ("forces_meV_A", axes[1], "meV/Å")):
        for name, colour in (("test", "C0"), ("bulk", "C1"), ("gas", "C2")):
            ax.semilogy(range(len(labels)), [max(sym[name][g][key], 1e-9) for g in labels], "o-", color=colour, label=name)
            ax.axhline(PAPER[name][key], color=colour, ls=":", lw=1)
        ax.set_xticks(range(len(labels)), labels)
        ax.set_xlabel("prediction (dotted: the paper's raw PET)")
        ax.set_ylabel(f"MAE against the 3i average, {unit}")
    axes[0].legend(fontsize=8)
    save(fig, "symmetry.png")
    nvt = results.get("gas_nvt")
    if nvt:
        fig, ax = plt.subplots(figsize=(4.5, 3.4))
        grids = list(nvt["torque"])
        ax.semilogy(range(len(grids)), [max(nvt["torque"][g]["mean_abs_meV"], 1e-12) for g in grids], "o-", label="mean |τ|")
        ax.semilogy(range(len(grids)), [max(nvt["torque"][g]["mean_vector_meV"], 1e-12) for g in grids], "s--", label="|mean τ|")
        ax.set_xticks(range(len(grids)), grids)
        ax.set_xlabel("grid of the average")
        ax.set_ylabel("torque on the gas molecule, meV")
        ax.legend(fontsize=8)
        save(fig, "torque.png")
        fig, ax = plt.subplots(figsize=(4.5, 3.4))
        for name, r in nvt["runs"].items():
            ax.errorbar(r["cos_centres"], r["F_cos"], r["F_cos_err"], fmt="o-", ms=3, capsize=2, label=f"{name}, measured ({r['ps']:.3g} ps)")
        pred = nvt["predicted"]
        ax.plot(pred["cos_centres"], pred["F_cos"], "k-", lw=1.5, label="raw, implied by the model")
        ax.set_xlabel("cos θ of the molecular axis")
        ax.set_ylabel("F / kT (errors: decorrelated blocks)")
        ax.legend(fontsize=7)
        save(fig, "orientation.png")
    z = results["gas"].get("spectrum")
    if z is None and (out / "gas" / "noninvariant_spectrum.npz").exists():  # a run made before the spectra were kept in its record
        npz = np.load(out / "gas" / "noninvariant_spectrum.npz")
        z = {"freq_THz": npz["freq"], "noninvariant": npz["power"], "potential": npz["power_potential"]}
    if z is not None:
        freq = np.asarray(z["freq_THz"])
        fig, ax = plt.subplots(figsize=(4.5, 3.4))
        ax.semilogy(freq[1:], np.asarray(z["potential"])[1:], label="potential energy")
        ax.semilogy(freq[1:], np.asarray(z["noninvariant"])[1:], label="non-invariant part (raw − 2i)")
        ax.set_xlabel("frequency, THz")
        ax.set_ylabel("power spectrum, arbitrary units")
        ax.set_xlim(0, 250)
        ax.legend(fontsize=8)
        save(fig, "spectrum.png")
    series = {}
    for name, r in results["bulk"].items():
        path = out / "bulk" / name / "trajectory.json"
        if isinstance(r, dict) and r.get("correlations"):
            series[name] = r["correlations"]
        elif isinstance(r, dict) and path.exists():  # a run made before the correlations were kept in its record
            series[name] = json.loads(path.read_text()).get("series", {})
    if series:
        fig, axes = plt.subplots(1, 3, figsize=(11, 3.4))
        for name, ser in series.items():
            for ax, key, label in ((axes[0], "C1", "C1(t), molecular axis"), (axes[1], "C2", "C2(t), molecular axis"), (axes[2], "dipole_acf", "dipole autocorrelation")):
                if key in ser:
                    ax.plot(np.asarray(ser[key][0]) / 1e3, ser[key][1], label=name)
                    ax.set_xlabel("lag, ps")
                    ax.set_ylabel(label)
        axes[0].legend(fontsize=8)
        save(fig, "correlations.png")
    return paths
