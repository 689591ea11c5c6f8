r"""Liquid and gas-phase water with xTB labels: the data of the PET symmetry paper, made offline.

The paper's revPBE0-D3 set (1,593 bulk frames) cannot be downloaded here; this makes the same kind
of set with physics that installs from PyPI:

1. configurations from flexible-water molecular dynamics in OpenMM (TIP3P with harmonic bonds and
   angle, PME, Langevin at each temperature, 0.5 fs steps, a frame every ``stride`` steps), with
   some frames from a hot trajectory for distorted geometries, as the paper's training set has;
2. energies, forces and stress of every frame from periodic GFN1-xTB (tblite);
3. a gas-phase set: one molecule from a hot NVT run in vacuum, labelled the same way.

Configurations are drawn first (seconds) and stored; labelling (about 1 s per bulk frame on one
core) appends to the output frame by frame, so an interrupted run resumes where it stopped and
loses nothing. Output: ``bulk.npz`` and ``gas.npz`` (float32 positions, forces; float64 energies),
small enough to ship.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from .._errors import SymbreakError

__all__ = ["generate_water", "load_water", "WATER_METHODS"]

_BOHR = 0.52917721092  # Å
_HARTREE = 27.211386245988  # eV
#: the xTB levels :func:`generate_water` can label with (``method=``)
WATER_METHODS = ("GFN1-xTB", "GFN2-xTB")


def _openmm():
    try:
        import openmm
        import openmm.app
        import openmm.unit
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise SymbreakError("water configurations need OpenMM: pip install -e '.[md]'") from exc
    return openmm, openmm.app, openmm.unit


def _trajectory(box_nm: float | None, temperatures: list[tuple[float, int]], stride: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Frames (F, n, 3) Å, the box (3, 3) Å (zeros in vacuum) and atomic numbers, from OpenMM."""
    mm, app, u = _openmm()
    ff = app.ForceField("amber14/tip3p.xml")
    if box_nm is None:  # one molecule in vacuum
        top = app.Topology()
        chain = top.addChain()
        res = top.addResidue("HOH", chain)
        o = top.addAtom("O", app.Element.getBySymbol("O"), res)
        h1 = top.addAtom("H1", app.Element.getBySymbol("H"), res)
        h2 = top.addAtom("H2", app.Element.getBySymbol("H"), res)
        top.addBond(o, h1)
        top.addBond(o, h2)
        positions = [mm.Vec3(0, 0, 0), mm.Vec3(0.09572, 0, 0), mm.Vec3(-0.024, 0.0927, 0)] * u.nanometer
        system = ff.createSystem(top, nonbondedMethod=app.NoCutoff, rigidWater=False, constraints=None)
    else:
        modeller = app.Modeller(app.Topology(), [])
        modeller.addSolvent(ff, model="tip3p", boxSize=mm.Vec3(box_nm, box_nm, box_nm) * u.nanometer)
        top, positions = modeller.topology, modeller.positions
        system = ff.createSystem(top, nonbondedMethod=app.PME, nonbondedCutoff=min(0.45, 0.45 * box_nm) * u.nanometer, rigidWater=False, constraints=None)
    numbers = np.array([a.element.atomic_number for a in top.atoms()])
    frames = []
    state = None
    for k, (temperature, n_frames) in enumerate(temperatures):
        integ = mm.LangevinMiddleIntegrator(temperature * u.kelvin, 1.0 / u.picosecond, 0.5 * u.femtosecond)
        integ.setRandomNumberSeed(seed + 1000 * k + 1)
        # one CPU thread: the same seed gives the same frames
        sim = app.Simulation(top, system, integ, mm.Platform.getPlatformByName("CPU"), {"Threads": "1"})
        if box_nm is not None:
            sim.context.setPeriodicBoxVectors(*[mm.Vec3(*(box_nm * np.eye(3)[i])) for i in range(3)])
        sim.context.setPositions(positions if state is None else state)
        if state is None:
            sim.minimizeEnergy()
        sim.context.setVelocitiesToTemperature(temperature * u.kelvin, seed + 1000 * k + 2)
        sim.step(20 * stride)  # equilibrate at this temperature
        for _ in range(n_frames):
            sim.step(stride)
            st = sim.context.getState(getPositions=True)
            frames.append(st.getPositions(asNumpy=True).value_in_unit(u.angstrom))
        state = sim.context.getState(getPositions=True).getPositions()
    box = np.zeros((3, 3)) if box_nm is None else 10.0 * box_nm * np.eye(3)
    return np.asarray(frames), box, numbers


def _xtb(method: str, numbers: np.ndarray, positions: np.ndarray, box: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """Energy (eV), forces (n, 3) eV/Å and stress (3, 3) eV/Å³ (zeros in vacuum) from tblite."""
    try:
        from tblite.interface import Calculator
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise SymbreakError("xTB labels need tblite: pip install -e '.[chem]'") from exc
    periodic = bool(np.abs(box).sum() > 0)
    kw = {"lattice": box / _BOHR, "periodic": np.array([True] * 3)} if periodic else {}
    calc = Calculator(method, numbers, positions / _BOHR, **kw)
    calc.set("verbosity", 0)
    res = calc.singlepoint()
    energy = float(res.get("energy")) * _HARTREE
    forces = -np.asarray(res.get("gradient")) * _HARTREE / _BOHR
    stress = np.zeros((3, 3))
    if periodic:  # tblite's virial is -dE/dε in Hartree; the stress is its negative over the volume
        stress = -np.asarray(res.get("virial")) * _HARTREE / abs(np.linalg.det(box))
    return energy, forces, stress


def _label(kind: str, out: Path, configs: dict, method: str, progress: bool) -> dict:
    """Label the stored configurations of one set, resuming from the frames already labelled."""
    from tqdm.auto import tqdm

    part = out / f"{kind}.labels.jsonl"  # one line per labelled frame: the resumable record
    done = part.read_text().splitlines() if part.exists() else []
    frames, box, numbers = configs["positions"], configs["box"], configs["numbers"]
    seconds = 0.0
    with open(part, "a") as fh:
        for i in tqdm(range(len(done), len(frames)), disable=not progress, desc=f"{kind} ({method})", initial=len(done), total=len(frames)):
            t0 = time.perf_counter()
            e, f, s = _xtb(method, numbers, frames[i], box)
            seconds += time.perf_counter() - t0
            fh.write(json.dumps({"i": i, "energy": e, "forces": f.tolist(), "stress": s.tolist()}) + "\n")
            fh.flush()
    rows = [json.loads(line) for line in part.read_text().splitlines()]
    np.savez_compressed(
        out / f"{kind}.npz", numbers=numbers, box=box, positions=frames.astype(np.float32),
        energy=np.array([r["energy"] for r in rows]), forces=np.array([r["forces"] for r in rows], dtype=np.float32),
        stress=np.array([r["stress"] for r in rows]), temperature=configs["temperature"], method=np.array(method),
    )
    return {"frames": len(rows), "atoms": len(numbers), "label_seconds": seconds}


def generate_water(
    out: str | Path,
    *,
    bulk_frames: tuple[int, int, int] = (450, 350, 100),
    gas_frames: int = 300,
    box_nm: float = 0.986,
    stride: int = 100,
    method: str = "GFN1-xTB",
    seed: int = 0,
    progress: bool = False,
) -> dict[str, Any]:
    """Make (or finish) the water sets in folder ``out``: ``bulk.npz`` and ``gas.npz``.

    bulk_frames: frames at 300 K, 400 K and, for distorted geometries, 600 K (a cubic box of side
    ``box_nm``, 31 molecules at 0.986 nm, liquid density). gas_frames: one molecule in vacuum at
    400 K. stride: MD steps of 0.5 fs between frames. Interrupted runs resume; a finished set is
    not recomputed. Returns a summary.
    """
    if method not in WATER_METHODS:
        raise SymbreakError(f"method must be one of {WATER_METHODS}, got {method!r}")
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise SymbreakError(f"{out} is a file; give a folder")
    out.mkdir(parents=True, exist_ok=True)
    temps = {"bulk": [(300.0, bulk_frames[0]), (400.0, bulk_frames[1]), (600.0, bulk_frames[2])], "gas": [(400.0, gas_frames)]}
    summary: dict[str, Any] = {"method": method, "seed": seed}
    t0 = time.perf_counter()
    for kind, box in (("bulk", box_nm), ("gas", None)):
        cfg_path = out / f"{kind}.configs.npz"
        if not cfg_path.exists():
            frames, cell, numbers = _trajectory(box, [t for t in temps[kind] if t[1] > 0], stride, seed + (0 if kind == "bulk" else 7))
            temperature = np.concatenate([np.full(n, t) for t, n in temps[kind] if n > 0])
            np.savez_compressed(cfg_path, positions=frames, box=cell, numbers=numbers, temperature=temperature)
        cfg = dict(np.load(cfg_path))
        summary[kind] = _label(kind, out, cfg, method, progress)
    summary["seconds"] = time.perf_counter() - t0
    return summary


def load_water(path: str | Path, kind: str = "bulk") -> dict[str, np.ndarray]:
    """A water set written by :func:`generate_water`: ``numbers`` (n,), ``box`` (3, 3) Å (zeros:
    gas phase), ``positions`` (F, n, 3) Å, ``energy`` (F,) eV, ``forces`` (F, n, 3) eV/Å,
    ``stress`` (F, 3, 3) eV/Å³, ``temperature`` (F,) K of the MD run each frame came from."""
    path = Path(path)
    file = path / f"{kind}.npz" if path.is_dir() else path
    if not file.exists():
        raise SymbreakError(f"no water set at {file}: make it with `symbreak generate water --out {path}`")
    with np.load(file) as d:
        data = {k: d[k] for k in d.files}
    data["positions"] = data["positions"].astype(np.float64)
    data["forces"] = data["forces"].astype(np.float64)
    return data
