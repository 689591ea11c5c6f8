r"""Water with PET at the paper's size: train, then bulk NVT MD raw, with MTS 2i averaging and with random rotations.

Langer, Pozdnyakov & Ceriotti (2024), *Probing the effects of broken symmetries in machine
learning* (Supp. Mat. §I, issue 28): PET with :math:`d_\mathrm{PET} = 128`, :math:`N_\mathrm{GNN} = 4`
message-passing layers, each a transformer of :math:`N_\mathrm{TL} = 2` self-attention layers,
cutoff 4.0 Å, trained on bulk water with a random rotation per structure per epoch; then bulk
water in NVT at 300 K in three modes: the raw model, the 2i grid average by multiple time
stepping (the averaged correction every 10 steps, as an impulse) and one random rotation per
step. ``symbreak.md.reproduce_water`` runs the same experiment at CPU sizes (hidden 32, 31
molecules, 1 ps); this script runs it at the paper's model size, in a 64-molecule box, for
``--ps`` picoseconds per mode (default 100).

Steps, each resumable (a finished step's JSON in ``--out`` is the record that it finished, and it
is not rerun):

1. ``train``: PET (``hidden=128, layers=4, transformer_layers=2, cutoff=4.0``) on the shipped
   GFN1-xTB bulk set (``symbreak/tasks/data/water_gfn1``: 900 frames of a 31-molecule box) with
   :func:`symbreak.training.fit_energy`, the splits of :func:`symbreak.md.reproduce_water`
   (15 % test, 15 % validation, 600 training frames). Training resumes from its checkpoint
   (``models/pet-train.pt``, every epoch); the kept model is ``models/pet.pt``
   (:func:`symbreak.models.save_model`).
2. ``box``: a 64-molecule box at the shipped set's density (0.967 g/cm³, the TIP3P box its
   configurations came from; ``--density`` for another), 4×4×4 molecules on a cubic lattice with
   random orientations (drawn until no two atoms of different molecules are closer than 1.7 Å),
   then a short FIRE minimisation under the raw trained PET. GFN1-xTB is not on a GPU machine, so
   nothing is labelled at 64 molecules: PET is local (4 Å cutoff, 4 message-passing steps), so a
   model trained on 31-molecule boxes describes a 64-molecule box of the same liquid; the
   equilibration and the energy drift of step 3 are the check that it does.
3. ``md-equilibrate``: Bussi NVT at 300 K (τ = 10 fs, 0.5 fs steps) with the raw model from the
   minimised box, thermalised velocities; its last state starts every production run.
4. ``md-raw``, ``md-mts-2i``, ``md-random``: ``--ps`` of Bussi NVT each, from the equilibrated
   state, with :class:`symbreak.md.SymmetrizedCalculator` (modes ``raw``, ``mts`` with grid 2i
   and k = 10, ``random``) over a :class:`symbreak.md.ModelCalculator` on ``--device`` in float64;
   a frame every 10 steps; checkpointed every ``segment_ps`` (positions, momenta, the
   thermostat's and the rotations' random states, the calculator's cached forces and MTS
   correction), so a run stopped by ``--max-minutes`` or killed continues where it stopped, on the
   same trajectory. Each finished run is analysed with :func:`symbreak.md.analyze_trajectory`
   (after ``discard_ps``): drift of the conserved quantity, g_OO(r), C_1/C_2, MSD and D,
   dipole autocorrelation, orientational free energy (``md-<mode>/trajectory.json`` and ``.png``).
   A longer ``--ps`` later continues a finished run and analyses it again.

``summary.json`` and ``report.md`` collect everything. ``--estimate`` times instead: a few
training batches and MD steps of each mode with an untrained model of the chosen size, and
extrapolates to the whole run (``estimate.json``); run it first on a new machine.

How to run
----------
Anywhere with the package's dependencies (numpy, scipy, ase, torch; matplotlib for the figures)::

    PYTHONPATH=src python bench/gpu/water_pet_paper.py --out results/water-pet-paper          # CUDA when present
    PYTHONPATH=src python bench/gpu/water_pet_paper.py --tiny --out /tmp/wpp --device cpu     # smoke run, ~20 s

No ``pip install`` is needed: the only compiled part of symbreak, ``symbreak/detect/_ccore``, is
loaded with ctypes when it was built and otherwise replaced by its NumPy path
(:mod:`symbreak.detect._compiled`), and nothing here uses symmetry detection.

On this workplace's device machine (torch 2.11 + CUDA, no network, no ASE): carry ASE as a wheel.
Here, once::

    echo /.whl/ >> .git/info/exclude
    .venv/bin/python -m pip download --no-deps --only-binary=:all: --python-version 3.12 \
        --implementation cp --platform manylinux2014_x86_64 -d .whl ase==3.29.0

then ``run`` with ``carry=[".whl"]`` and the command::

    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl \
      && export PYTHONPATH=/tmp/site:src PYTHONUNBUFFERED=1 \
      && python3 bench/gpu/water_pet_paper.py --estimate --out /tmp/wpp --ps 100 \
      && python3 bench/gpu/water_pet_paper.py --out /tmp/wpp --max-minutes 7; cp /tmp/wpp/*.json /tmp/wpp/*.md $OUT/

(only 8 files, two folders deep, come back from ``$OUT``; the trajectories stay behind). That
machine starts bare on every lease, holds 15 minutes of device time and at most 10 minutes a
command: enough for ``--estimate``, training and a few picoseconds, not for 3 × 100 ps (see the
estimate below). The full run needs a GPU held for hours, or the ``--out`` folder carried from
lease to lease (it resumes).

Run time (an extrapolation, not a measurement of the whole run)
--------------------------------------------------------------
Measured with ``--estimate --device cpu --threads 1 --rotation-batch 4`` at the paper's size
(1.31 M parameters, 64 molecules, float64 MD) on one thread of a shared 2-core x86 container
(torch 2.13 CPU; load average 5-7 from other jobs, so the process had about 60 % of a core):
18 s per training batch of 8 structures (forces by double backward), so about 24 min per epoch
of 600 structures; 2.8 s per raw MD step, 1.9 s per random-rotation step and 8.8 s per MTS step
(averaged over its outer steps: 36 rotated copies every 10 steps). Extrapolated (×200,000 steps
for 100 ps; ×300 epochs): training about 120 h, 100 ps of raw or random MD 100-160 h each, of MTS
about 490 h, on one CPU thread; an unloaded core might halve that. The CPU is not an option at
this size: ``--tiny`` is the CPU path (the smoke test), and ``symbreak.md.reproduce_water`` the
CPU-sized experiment.

On a GPU nothing was measured (this task had no device machine). A raw step is about 50 GFLOP
in float64 (the forward pass over 192 atoms of about 36 tokens each is about 17 GFLOP, the force
backward twice that; at 2.8 s on the loaded CPU thread that is 18 GFLOP/s, consistent), 1-3 ms
of H100 FP64 arithmetic; with a few thousand kernel launches, the neighbour list's host syncs
and ASE's Python, guess 5-15 ms per raw or random step. An MTS outer step adds 36 copies (about
1.8 TFLOP, in 3 passes of 12; about 0.9 GB of float64 activations per copy, measured), about
60 ms, so 1.5-2.5 times a raw step on average. Training (float32, double backward, 75 batches
of 8 × 93 atoms) should take a few seconds per epoch. That is of the order of 0.5 h (raw),
0.5 h (random), 1 h (MTS) for 100 ps each and 0.3 h of training: 2-3 h in all, within a factor
of 3 either way. ``--estimate`` on the GPU measures it in a couple of minutes.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

#: the paper's PET and MD protocol; sizes in ps, fs, Å
FULL: dict[str, Any] = {
    "hidden": 128, "layers": 4, "transformer_layers": 2, "heads": 4, "cutoff": 4.0,
    "epochs": 300, "train": 600, "val": None, "test": None, "batch_size": 8, "lr": 1e-3,
    "molecules": 64, "density_g_cm3": None, "min_distance_A": 1.7, "minimise_steps": 200, "fmax_eV_A": 0.05,
    "equilibrate_ps": 5.0, "ps": 100.0, "discard_ps": 1.0, "dt_fs": 0.5, "every": 10, "segment_ps": 1.0,
    "temperature_K": 300.0, "taut_fs": 10.0, "mts_k": 10, "grid": "2i", "max_lag_ps": 10.0, "rotation_batch": 12,
}  # fmt: skip
#: a CPU smoke run of every code path (two transformer layers kept), in seconds
TINY: dict[str, Any] = {
    **FULL, "hidden": 16, "layers": 2, "epochs": 1, "train": 16, "val": 8, "test": 8, "molecules": 8,
    "minimise_steps": 3, "equilibrate_ps": 0.005, "ps": 0.01, "discard_ps": 0.0, "every": 5, "segment_ps": 0.005, "max_lag_ps": 0.01,
}  # fmt: skip
#: production runs: name → SymmetrizedCalculator options
MODES = {"raw": {"mode": "raw"}, "mts-2i": {"mode": "mts"}, "random": {"mode": "random"}}
#: g/mol of H2O; Avogadro's number
_WATER_G_MOL, _AVOGADRO = 18.01528, 6.02214076e23


# --------------------------------------------------------------------------------------------- data


def _data_dir() -> Path:
    from symbreak.md._paper import _data_dir as shipped

    return shipped()


def _splits(n: int, seed: int, train: int) -> dict[str, np.ndarray]:
    """The splits of :func:`symbreak.md.reproduce_water` (the same function): 15 % test, 15 % validation, then ``train`` frames."""
    from symbreak.md._paper import _splits as paper_splits

    return paper_splits(n, seed, train)


def load_bulk(s: dict[str, Any], seed: int) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """The shipped bulk set (raw arrays) and its train/val/test :class:`~symbreak.training.EnergyData`."""
    from symbreak.labels import load_water
    from symbreak.training import EnergyData

    raw = load_water(_data_dir(), "bulk")
    f = len(raw["energy"])
    data = EnergyData(raw["numbers"], raw["positions"], np.repeat(raw["box"][None], f, 0), raw["energy"], raw["forces"])
    splits = _splits(f, seed, s["train"])
    for key in ("val", "test"):
        if s.get(key):
            splits[key] = splits[key][: s[key]]
    return raw, {k: data.subset(v) for k, v in splits.items()}


def shipped_density(raw: dict[str, np.ndarray]) -> float:
    """g/cm³ of the shipped boxes (31 molecules in a 9.86 Å cube: 0.967)."""
    return float(len(raw["numbers"]) / 3 * _WATER_G_MOL / _AVOGADRO / abs(np.linalg.det(raw["box"])) * 1e24)


def water_box(molecules: int, density_g_cm3: float, *, seed: int = 0, min_distance: float = 1.7, tries: int = 500) -> Any:
    """``molecules`` water molecules (O, H, H; TIP3P geometry) in a periodic cubic box of density
    ``density_g_cm3``: one per site of a cubic lattice (the sites of an n×n×n lattice, n the
    smallest with n³ ≥ molecules, a random subset when it is not a cube), each turned by a random
    rotation, redrawn until no atom is nearer than ``min_distance`` Å to an atom of an already
    placed molecule (the best of ``tries`` draws otherwise). Deterministic for a seed. An ASE ``Atoms``."""
    from ase import Atoms

    from symbreak.rotations import random_rotations

    side = (molecules * _WATER_G_MOL / _AVOGADRO / density_g_cm3 * 1e24) ** (1.0 / 3.0)  # Å
    n = math.ceil(molecules ** (1.0 / 3.0) - 1e-9)
    rng = np.random.default_rng(seed)
    sites = np.array(list(np.ndindex(n, n, n)), dtype=float)
    if len(sites) > molecules:
        sites = sites[np.sort(rng.choice(len(sites), molecules, replace=False))]
    sites = (sites + 0.5) * side / n
    angle = np.radians(104.52)
    mol = np.array([[0.0, 0.0, 0.0], [0.9572, 0.0, 0.0], [0.9572 * np.cos(angle), 0.9572 * np.sin(angle), 0.0]])
    mol -= mol.mean(0)
    placed = np.zeros((0, 3))
    worst = np.inf
    for site in sites:
        best, best_d = None, -np.inf
        for rot in random_rotations(tries, seed=rng):
            cand = site + mol @ rot.T
            if not len(placed):
                best, best_d = cand, np.inf
                break
            diff = cand[:, None, :] - placed[None, :, :]
            diff -= side * np.round(diff / side)  # minimum image
            d = float(np.sqrt((diff**2).sum(-1)).min())
            if d > best_d:
                best, best_d = cand, d
            if d >= min_distance:
                break
        worst = min(worst, best_d)
        placed = np.concatenate([placed, best])
    atoms = Atoms(numbers=[8, 1, 1] * molecules, positions=placed, cell=side * np.eye(3), pbc=True)
    atoms.info["closest_intermolecular_A"] = float(worst)
    return atoms


# -------------------------------------------------------------------------------------------- model


def _device(name: str) -> str:
    import torch

    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise SystemExit(f"--device {name}: torch {torch.__version__} sees no CUDA device (use --device cpu)")
    return name


def build_pet(s: dict[str, Any]) -> Any:
    from symbreak.models import build_model

    return build_model("pet", hidden=s["hidden"], layers=s["layers"], transformer_layers=s["transformer_layers"], heads=s["heads"], cutoff=s["cutoff"])


def _load_pet(out: Path) -> Any:
    """The trained model (``models/pet.pt``), in float64, on the CPU (the calculators move a copy)."""
    from symbreak.models import load_model

    return load_model(out / "models" / "pet.pt").double().eval()


def _calculator(model: Any, mode: str, s: dict[str, Any], seed: int, device: str) -> Any:
    from symbreak.md import ModelCalculator, SymmetrizedCalculator

    # float64 (energy conservation); the 36 copies of an MTS outer step go through in batches of rotation_batch
    inner = ModelCalculator(model, device=device, batch_size=s["rotation_batch"])
    return SymmetrizedCalculator(inner, grid=s["grid"], k=s["mts_k"], seed=seed, **MODES.get(mode, {"mode": "raw"}))


# --------------------------------------------------------------------------------------------- steps


def _write_json(path: Path, obj: Any) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(obj, indent=1, default=_plain) + "\n")
    os.replace(tmp, path)


def _plain(x: Any) -> Any:
    if isinstance(x, np.ndarray):
        return x.tolist()
    if isinstance(x, (np.floating, np.integer)):
        return x.item()
    raise TypeError(f"not JSON: {type(x).__name__}")


def train_step(out: Path, s: dict[str, Any], seed: int, device: str, progress: bool) -> dict[str, Any]:
    """Train PET on the shipped set (resuming from ``models/pet-train.pt``); keep ``models/pet.pt``."""
    import torch

    from symbreak.models import save_model
    from symbreak.training import energy_errors, fit_energy

    _, sets = load_bulk(s, seed)
    torch.manual_seed(seed)
    model = build_pet(s)
    t0 = time.perf_counter()
    fit = fit_energy(model, sets["train"], sets["val"], epochs=s["epochs"], lr=s["lr"], batch_size=s["batch_size"], seed=seed,
                     checkpoint=out / "models" / "pet-train.pt", device=device, progress=progress)  # fmt: skip
    seconds = time.perf_counter() - t0
    model = model.cpu()
    save_model(model, out / "models" / "pet.pt", extra={"best_epoch": fit["best_epoch"], "seed": seed})
    test = energy_errors(_load_pet(out).to(device), sets["test"], device=device)
    return {
        "splits": {k: len(v) for k, v in sets.items()}, "parameters": sum(p.numel() for p in model.parameters()),
        "test": test, "best_epoch": fit["best_epoch"], "history": fit["history"], "train_seconds_this_call": seconds,
    }  # fmt: skip


def box_step(out: Path, s: dict[str, Any], seed: int, device: str, raw: dict[str, np.ndarray]) -> dict[str, Any]:
    """Pack the 64-molecule box and minimise it under the raw model; ``box.npz``."""
    from ase.optimize import FIRE

    density = s["density_g_cm3"] or shipped_density(raw)
    atoms = water_box(s["molecules"], density, seed=seed, min_distance=s["min_distance_A"])
    closest = atoms.info["closest_intermolecular_A"]
    atoms.calc = _calculator(_load_pet(out), "raw", s, seed, device)
    e0 = float(atoms.get_potential_energy())
    f0 = float(np.abs(atoms.get_forces()).max())
    opt = FIRE(atoms, logfile=None)
    opt.run(fmax=s["fmax_eV_A"], steps=s["minimise_steps"])
    np.savez(out / "box.npz", numbers=atoms.numbers, positions=atoms.positions, cell=np.asarray(atoms.cell))
    return {
        "molecules": s["molecules"], "atoms": len(atoms), "side_A": float(atoms.cell[0, 0]), "density_g_cm3": density,
        "closest_intermolecular_A": closest, "energy_eV": [e0, float(atoms.get_potential_energy())],
        "max_force_eV_A": [f0, float(np.abs(atoms.get_forces()).max())], "fire_steps": int(opt.nsteps),
    }  # fmt: skip


def _steps(ps: float, dt_fs: float, unit: int) -> int:
    """``ps`` as MD steps, rounded up to a multiple of ``unit``."""
    return max(unit, unit * math.ceil(round(ps * 1e3 / dt_fs, 6) / unit))


def run_md(folder: Path, start: Any, calc: Any, s: dict[str, Any], *, steps: int, seed: int, deadline: float) -> bool:
    """Bussi NVT from ``start`` (positions, momenta) for ``steps`` steps in ``folder``, resumable.

    A frame every ``every`` steps goes to chunks ``frames-<last step>.npz``; after each chunk,
    ``state.npz`` holds what continues the same trajectory: positions, momenta, the step, the
    thermostat's exchanged energy and generator state, the calculator's generator state, MTS
    correction and cached results (so the resumed run evaluates nothing twice). Chunks end at
    multiples of the MTS outer step. Returns whether all ``steps`` are done (False: stopped at
    ``deadline``, a ``time.monotonic()`` value).
    """
    from ase import units
    from ase.md.bussi import Bussi

    folder.mkdir(parents=True, exist_ok=True)
    every = s["every"]
    unit = math.lcm(every, s["mts_k"])
    segment = _steps(s["segment_ps"], s["dt_fs"], unit)
    atoms = start.copy()
    atoms.calc = calc
    state_path = folder / "state.npz"
    state = dict(np.load(state_path, allow_pickle=False)) if state_path.exists() else None
    dyn = Bussi(atoms, timestep=s["dt_fs"] * units.fs, temperature_K=s["temperature_K"], taut=s["taut_fs"] * units.fs,
                rng=np.random.default_rng([seed, 1]))  # fmt: skip
    buffer: dict[str, list] = {k: [] for k in ("step", "positions", "velocities", "energy", "kinetic", "conserved")}
    t0, before = time.perf_counter(), 0.0  # MD wall time of this call, and of the calls before

    def record(step: int) -> None:
        epot, ekin = float(atoms.get_potential_energy()), float(atoms.get_kinetic_energy())
        buffer["step"].append(step)
        buffer["positions"].append(atoms.get_positions())
        buffer["velocities"].append(atoms.get_velocities() * units.fs)  # Å/fs
        buffer["energy"].append(epot)
        buffer["kinetic"].append(ekin)
        buffer["conserved"].append(epot + ekin - dyn.transferred_energy)

    def save(step: int) -> None:
        chunk = folder / f"frames-{step:09d}.npz"
        np.savez(chunk.with_name(chunk.name + ".tmp.npz"), **{k: np.asarray(v) for k, v in buffer.items()})
        os.replace(chunk.with_name(chunk.name + ".tmp.npz"), chunk)
        for v in buffer.values():
            v.clear()
        res = calc.results
        corr = getattr(calc, "_correction", None)
        np.savez(
            folder / "state.tmp.npz", step=step, positions=atoms.get_positions(), momenta=atoms.get_momenta(), transferred=dyn.transferred_energy,
            thermostat_rng=json.dumps(dyn.rng.bit_generator.state), rotations_rng=json.dumps(calc.rng.bit_generator.state),
            evaluations=calc.evaluations, correction_energy=np.nan if corr is None else corr[0], correction_forces=np.zeros(0) if corr is None else corr[1],
            energy=res["energy"], forces=res["forces"], wall_seconds=before + time.perf_counter() - t0,
        )  # fmt: skip
        os.replace(folder / "state.tmp.npz", state_path)

    if state is None:
        step = 0
        record(0)  # the first evaluation: with MTS, an outer step
    else:
        step, before = int(state["step"]), float(state["wall_seconds"])
        atoms.set_positions(state["positions"])
        atoms.set_momenta(state["momenta"])
        dyn.nsteps = step  # observers and the initial evaluation are skipped: the state has them
        dyn.transferred_energy = float(state["transferred"])
        dyn.rng.bit_generator.state = json.loads(str(state["thermostat_rng"]))
        calc.rng.bit_generator.state = json.loads(str(state["rotations_rng"]))
        calc.evaluations = int(state["evaluations"])
        if np.isfinite(state["correction_energy"]):
            calc._correction = (float(state["correction_energy"]), np.asarray(state["correction_forces"]))
        # the forces at this state were evaluated before the stop: restore them rather than evaluate again
        calc.atoms = atoms.copy()
        calc.results = {"energy": float(state["energy"]), "free_energy": float(state["energy"]), "forces": np.asarray(state["forces"])}
    while step < steps:
        dyn.run(every)
        step += every
        record(step)
        if step % segment == 0 or step >= steps:
            save(step)
            if step < steps and time.monotonic() > deadline:
                return False
    return True


def md_frames(folder: Path) -> dict[str, np.ndarray]:
    """Every chunk of a run, in order: ``step`` (T,), ``positions``, ``velocities`` (T, n, 3), ``energy``, ``kinetic``, ``conserved`` (T,)."""
    state = np.load(folder / "state.npz")
    last = int(state["step"])
    chunks = sorted(p for p in folder.glob("frames-*.npz") if ".tmp" not in p.name and int(p.stem.split("-")[1]) <= last)
    parts = [dict(np.load(p)) for p in chunks]
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def analyse(folder: Path, start: Any, s: dict[str, Any], steps: int) -> dict[str, Any]:
    """:func:`symbreak.md.analyze_trajectory` of a finished run after ``discard_ps``; writes ``trajectory.json``/``.png`` in ``folder``."""
    from symbreak.md import analyze_trajectory

    fr = md_frames(folder)
    keep = (fr["step"] >= s["discard_ps"] * 1e3 / s["dt_fs"]) & (fr["step"] <= steps)
    arrays = {
        "positions": fr["positions"][keep], "velocities": fr["velocities"][keep], "energy": fr["energy"][keep], "kinetic": fr["kinetic"][keep],
        "masses": start.get_masses(), "numbers": start.numbers.copy(), "cell": np.asarray(start.cell), "pbc": np.asarray(start.pbc),
    }  # fmt: skip
    dt_frame = s["every"] * s["dt_fs"]
    a = analyze_trajectory(arrays, dt_fs=dt_frame, temperature_K=s["temperature_K"], conserved=fr["conserved"][keep], max_lag_fs=s["max_lag_ps"] * 1e3, out=folder)
    temperature = 2.0 / 3.0 * fr["kinetic"][keep] / len(start) / 8.617333262e-5
    res = {k: v for k, v in a.items() if k != "series"}
    res.update({"steps": steps, "ps": steps * s["dt_fs"] / 1e3, "analysed_ps": float(keep.sum() * dt_frame / 1e3), "temperature_mean_K": float(temperature.mean())})
    wall = float(np.load(folder / "state.npz")["wall_seconds"])
    res.update({"md_wall_seconds": wall, "ms_per_step": 1e3 * wall / steps})
    return json.loads(json.dumps(res, default=_plain))


# ----------------------------------------------------------------------------------------- estimate


def estimate(out: Path, s: dict[str, Any], seed: int, device: str, *, batches: int = 4, md_steps: int = 20) -> dict[str, Any]:
    """Time training and MD at the sizes ``s`` with an untrained model, and extrapolate to the whole run (``estimate.json``).

    Training: :func:`~symbreak.training.fit_energy` for one epoch over ``batches`` batches (after a
    one-batch warm-up), less the validation it ends with (timed alone), scaled to the training set;
    plus the validation of the whole validation set. MD: ``md_steps`` Bussi steps per mode (after
    one warm-up step; with MTS, ``md_steps / k`` outer steps) on a packed box.
    """
    import torch
    from ase import units
    from ase.md.bussi import Bussi
    from ase.md.velocitydistribution import Stationary, thermalize_momenta

    from symbreak.training import energy_errors, fit_energy

    raw, sets = load_bulk(s, seed)
    train, val = sets["train"], sets["val"]
    bs = s["batch_size"]

    def sync() -> None:
        if device.startswith("cuda"):
            torch.cuda.synchronize(device)

    def timed(fn: Any) -> float:
        sync()
        t0 = time.perf_counter()
        fn()
        sync()
        return time.perf_counter() - t0

    torch.manual_seed(seed)
    model = build_pet(s)
    small_val = val.subset(np.arange(min(bs, len(val))))
    fit_energy(model, train.subset(np.arange(bs)), small_val, epochs=1, batch_size=bs, seed=seed, device=device)  # warm-up
    t_val = timed(lambda: energy_errors(model, small_val, device=device))
    t_fit = timed(lambda: fit_energy(model, train.subset(np.arange(batches * bs) % len(train)), small_val, epochs=1, batch_size=bs, seed=seed, device=device))
    per_batch = max(t_fit - t_val, 0.0) / batches
    epoch = per_batch * math.ceil(len(train) / bs) + t_val * len(val) / len(small_val)
    model = model.cpu().double().eval()
    atoms = water_box(s["molecules"], s["density_g_cm3"] or shipped_density(raw), seed=seed, min_distance=s["min_distance_A"])
    res: dict[str, Any] = {
        "device": device, "torch": torch.__version__, "threads": torch.get_num_threads(), "settings": s,
        "parameters": sum(p.numel() for p in model.parameters()), "train_seconds_per_batch": per_batch, "train_seconds_per_epoch": epoch, "md": {},
    }  # fmt: skip
    if device.startswith("cuda"):
        res["gpu"] = torch.cuda.get_device_name(device)
    unit = math.lcm(s["every"], s["mts_k"])
    run_steps = _steps(s["ps"], s["dt_fs"], unit)
    for mode in MODES:
        a = atoms.copy()
        thermalize_momenta(a, s["temperature_K"], rng=np.random.default_rng(seed))
        Stationary(a)
        a.calc = _calculator(model, mode, s, seed, device)
        dyn = Bussi(a, timestep=s["dt_fs"] * units.fs, temperature_K=s["temperature_K"], taut=s["taut_fs"] * units.fs, rng=np.random.default_rng(seed))
        dyn.run(1)  # warm-up, and with MTS the outer step at 0: the timed steps hold md_steps / k outer steps
        per_step = timed(lambda dyn=dyn: dyn.run(md_steps)) / md_steps
        res["md"][mode] = {"seconds_per_step": per_step, "hours_for_ps": per_step * run_steps / 3600.0}
    eq = _steps(s["equilibrate_ps"], s["dt_fs"], unit)
    res["hours"] = {
        "train": epoch * s["epochs"] / 3600.0, "equilibrate": res["md"]["raw"]["seconds_per_step"] * eq / 3600.0,
        **{f"md-{m}": v["hours_for_ps"] for m, v in res["md"].items()},
    }  # fmt: skip
    res["hours"]["total"] = sum(res["hours"].values())
    res["note"] = f"an extrapolation from {batches} training batches and {md_steps} MD steps per mode to epochs={s['epochs']}, ps={s['ps']}"
    _write_json(out / "estimate.json", res)
    return res


# --------------------------------------------------------------------------------------------- main


def _report(summary: dict[str, Any]) -> str:
    s, lines = summary["settings"], []
    lines.append(f"# Water: PET d={s['hidden']}, {s['layers']} message-passing × {s['transformer_layers']} transformer layers; {s['molecules']} molecules\n")
    tr = summary.get("train")
    if tr:
        t = tr["test"]
        lines.append(f"Test ({tr['splits']['test']} frames): force MAE {t['forces_mae_meV_A']:.1f} meV/Å, energy MAE {t['energy_mae_meV_per_atom']:.2f} meV/atom; "
                     f"best epoch {tr['best_epoch']} of {len(tr['history'])}; {tr['parameters']} parameters.\n")  # fmt: skip
    rows = [(m, summary["md"][m]) for m in MODES if m in summary.get("md", {})]
    if rows:
        lines.append("| mode | ps | T (K) | drift (meV/molecule/ns) | D_O (Å²/ps) | g_OO peak | F(cos θ) range (kT) | ms/step |")
        lines.append("|---|---|---|---|---|---|---|---|")
        for m, r in rows:
            ms = r["ms_per_step"]
            peak = r.get("g_OO_first_peak", {})
            lines.append(f"| {m} | {r['ps']:g} | {r['temperature_mean_K']:.0f} | {r.get('drift_meV_per_molecule_per_ns', float('nan')):.3g} | "
                         f"{r.get('D_O_A2_per_ps', float('nan')):.3g} | {peak.get('g', float('nan')):.2f} at {peak.get('r', float('nan')):.2f} Å | "
                         f"{r.get('orientation_F_cos_range_kT', float('nan')):.3g} | {ms:.1f} |")  # fmt: skip
    lines.append(f"\ndevice {summary['device']}, torch {summary['torch']}; complete: {summary['complete']}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run (or resume) every step; returns the summary, with ``ran`` (the steps that ran in this call) and ``complete``."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True, help="folder for every step's results and checkpoints (resumes from it)")
    p.add_argument("--ps", type=float, default=None, help="picoseconds of production MD per mode (default 100; --tiny: 0.01)")
    p.add_argument("--epochs", type=int, default=None, help=f"training epochs (default {FULL['epochs']}; --tiny: 1)")
    p.add_argument("--density", type=float, default=None, help="g/cm³ of the 64-molecule box (default: the shipped set's, 0.967)")
    p.add_argument("--rotation-batch", type=int, default=None, help=f"rotated copies per pass in an MTS outer step (default {FULL['rotation_batch']}: "
                   "about 1 GB of activations per copy of 64 molecules at the paper's size in float64)")  # fmt: skip
    p.add_argument("--tiny", action="store_true", help="CPU smoke sizes: hidden 16, 2 message-passing layers of 2 transformer layers, 1 epoch, 8 molecules, a few MD steps")
    p.add_argument("--device", default="auto", help="auto (cuda when present), cpu, cuda, cuda:1 ...")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    p.add_argument("--max-minutes", type=float, default=None, help="stop after the MD chunk that crosses this wall time, exit 75 (run again to resume); "
                   "training is not cut short, but a killed run resumes after its last epoch")  # fmt: skip
    p.add_argument("--modes", default=",".join(MODES), help=f"production runs, comma-separated from {', '.join(MODES)}")
    p.add_argument("--estimate", action="store_true", help="time a few batches and MD steps, extrapolate, write estimate.json, and stop")
    p.add_argument("--progress", action="store_true", help="a progress bar over the training epochs")
    args = p.parse_args(argv)

    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    s = dict(TINY if args.tiny else FULL)
    for key, value in (("ps", args.ps), ("epochs", args.epochs), ("density_g_cm3", args.density), ("rotation_batch", args.rotation_batch)):
        if value is not None:
            if not value > 0:
                raise SystemExit(f"--{key.split('_g_')[0].replace('_', '-')} must be > 0, got {value}")
            s[key] = value
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    if not modes or set(modes) - set(MODES):
        raise SystemExit(f"--modes: choose from {', '.join(MODES)}, got {args.modes!r}")
    device = _device(args.device)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.estimate:
        return estimate(out, s, args.seed, device)
    deadline = time.monotonic() + 60.0 * args.max_minutes if args.max_minutes is not None else math.inf
    identity = {"settings": {k: v for k, v in s.items() if k not in ("ps", "discard_ps", "max_lag_ps", "segment_ps", "rotation_batch")}, "seed": args.seed}
    ident_path = out / "settings.json"
    if ident_path.exists():
        old = json.loads(ident_path.read_text())
        if old.get("identity") != identity:
            diff = sorted(k for k in {**old.get("identity", {}).get("settings", {}), **identity["settings"]} if old.get("identity", {}).get("settings", {}).get(k) != identity["settings"].get(k))
            raise SystemExit(f"{out} holds a run of other settings (differing: {diff or ['seed']}); give another --out")
    _write_json(ident_path, {"identity": identity, "settings": s})
    ran: list[str] = []
    raw, _ = load_bulk(s, args.seed)

    def step(name: str, fn: Any) -> dict[str, Any]:
        from symbreak.md._paper import _step  # reproduce_water's steps: a finished step's JSON is its record

        if not (out / f"{name}.json").exists():
            ran.append(name)
        return _step(out, name, fn)

    summary: dict[str, Any] = {"settings": s, "device": device, "torch": torch.__version__, "md": {}}
    if device.startswith("cuda"):
        summary["gpu"] = torch.cuda.get_device_name(device)
    summary["train"] = step("train", lambda: train_step(out, s, args.seed, device, args.progress))
    summary["box"] = step("box", lambda: box_step(out, s, args.seed, device, raw))
    from ase import Atoms
    from ase.md.velocitydistribution import Stationary, thermalize_momenta

    with np.load(out / "box.npz") as b:
        box = Atoms(numbers=b["numbers"], positions=b["positions"], cell=b["cell"], pbc=True)
    model = _load_pet(out)
    unit = math.lcm(s["every"], s["mts_k"])
    complete = True
    eq_folder = out / "md-equilibrate"
    eq_steps = _steps(s["equilibrate_ps"], s["dt_fs"], unit)
    if not (out / "md-equilibrate.json").exists():
        start = box.copy()
        thermalize_momenta(start, s["temperature_K"], rng=np.random.default_rng(args.seed))
        Stationary(start)
        t0 = time.perf_counter()
        done = run_md(eq_folder, start, _calculator(model, "raw", s, args.seed, device), s, steps=eq_steps, seed=args.seed, deadline=deadline)
        ran.append("md-equilibrate")
        if done:
            fr = md_frames(eq_folder)
            temperature = 2.0 / 3.0 * fr["kinetic"] / len(box) / 8.617333262e-5
            _write_json(out / "md-equilibrate.json", {"steps": eq_steps, "ps": eq_steps * s["dt_fs"] / 1e3, "seconds": time.perf_counter() - t0,
                                                       "temperature_mean_K": float(temperature[len(temperature) // 2 :].mean())})  # fmt: skip
        complete = done
    if complete:
        with np.load(eq_folder / "state.npz") as st:
            start = box.copy()
            start.set_positions(st["positions"])
            start.set_momenta(st["momenta"])
        steps = _steps(s["ps"], s["dt_fs"], unit)
        for mode in modes:
            path = out / f"md-{mode}.json"
            if path.exists() and json.loads(path.read_text())["steps"] >= steps:
                summary["md"][mode] = json.loads(path.read_text())
                continue
            folder = out / f"md-{mode}"
            # every mode from the same state, with the same thermostat noise (and, in "random", rotations of that seed)
            done = run_md(folder, start, _calculator(model, mode, s, args.seed + 1, device), s, steps=steps, seed=args.seed + 1, deadline=deadline)
            ran.append(f"md-{mode}")
            if not done:
                complete = False
                break
            res = analyse(folder, start, s, steps)
            _write_json(path, res)
            summary["md"][mode] = res
    summary.update({"ran": ran, "complete": complete})
    _write_json(out / "summary.json", summary)
    (out / "report.md").write_text(_report(summary))
    return summary


if __name__ == "__main__":
    result = main()
    if "hours" in result:
        print(json.dumps({k: result[k] for k in ("device", "train_seconds_per_epoch", "md", "hours")}, indent=1))
    else:
        print(_report(result), end="")
    sys.exit(0 if result.get("complete", True) else 75)  # 75: EX_TEMPFAIL, stopped by --max-minutes; run again to resume
