"""symbreak.md: rotational averaging of calculators, multiple time stepping, trajectory diagnostics."""

from __future__ import annotations

import json

import numpy as np
import pytest
from ase import Atoms, units
from ase.calculators.calculator import Calculator, all_changes
from ase.md.verlet import VelocityVerlet

from symbreak._errors import SymbreakError
from symbreak.md import (
    SymmetrizedCalculator, analyze_trajectory, angular_momentum, diffusion_coefficient, dipole_autocorrelation, drift,
    mean_square_displacement, orientation_correlation, orientation_free_energy, power_spectrum, radial_distribution,
    remove_net_force, remove_net_torque, torque, water_axes, water_molecules,
)  # fmt: skip
from symbreak.rotations import random_rotations

U = np.array([0.3, -0.5, 0.8])


class DirectionalPairs(Calculator):
    r"""Deliberately not rotation-invariant: :math:`E = \sum_{i<j} k(|r_{ij}| - r_0)^2 + (\mathbf u \cdot \mathbf r_{ij})^4`.

    Its orientation dependence is a polynomial of degree 4 in the direction: the SO(3) average is
    :math:`\sum k(|r| - r_0)^2 + |\mathbf u|^4 |r|^4 / 5`, which grid "3" (exact to l = 4) recovers.
    """

    implemented_properties = ["energy", "forces"]

    def __init__(self, k: float = 2.0, r0: float = 1.2, **kw):
        super().__init__(**kw)
        self.k, self.r0 = k, r0
        self.calls = 0

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        self.calls += 1
        x = self.atoms.get_positions()
        i, j = np.triu_indices(len(x), 1)
        r = x[j] - x[i]
        d = np.linalg.norm(r, axis=1)
        ur = r @ U
        e = self.k * (d - self.r0) ** 2 + ur**4
        g = (2 * self.k * (d - self.r0) / d)[:, None] * r + (4 * ur**3)[:, None] * U  # dE/dr_ij
        f = np.zeros_like(x)
        np.add.at(f, j, -g)
        np.add.at(f, i, g)
        self.results = {"energy": float(e.sum()), "free_energy": float(e.sum()), "forces": f}


def averaged_reference(x):
    i, j = np.triu_indices(len(x), 1)
    r = x[j] - x[i]
    d = np.linalg.norm(r, axis=1)
    u4 = (U @ U) ** 2
    e = 2.0 * (d - 1.2) ** 2 + u4 * d**4 / 5
    g = (4.0 * (d - 1.2) / d + 4 * u4 * d**2 / 5)[:, None] * r
    f = np.zeros_like(x)
    np.add.at(f, j, -g)
    np.add.at(f, i, g)
    return e.sum(), f


def water(seed=0):
    rng = np.random.default_rng(seed)
    x = np.array([[0.0, 0.0, 0.12], [0.0, 0.76, -0.47], [0.0, -0.76, -0.47]]) + 0.05 * rng.normal(size=(3, 3))
    return Atoms("OH2", positions=x)


def test_grid_average_is_exact_to_the_grids_degree():
    atoms = water()
    atoms.calc = SymmetrizedCalculator(DirectionalPairs(), mode="grid", grid="3")
    e_ref, f_ref = averaged_reference(atoms.positions)
    assert atoms.get_potential_energy() == pytest.approx(e_ref, abs=1e-10)
    np.testing.assert_allclose(atoms.get_forces(), f_ref, atol=1e-10)
    # and so the averaged calculator is invariant: energies equal, forces turn along, under O(3)
    for rot in random_rotations(3, improper=True, seed=1):
        turned = atoms.copy()
        turned.positions = atoms.positions @ rot.T + 0.7
        turned.calc = SymmetrizedCalculator(DirectionalPairs(), mode="grid", grid="3")
        assert turned.get_potential_energy() == pytest.approx(e_ref, abs=1e-10)
        np.testing.assert_allclose(turned.get_forces(), f_ref @ rot.T, atol=1e-10)
    # a grid exact only to l = 2 misses the l = 4 part of the model
    low = water()
    low.calc = SymmetrizedCalculator(DirectionalPairs(), mode="grid", grid="2")
    assert abs(low.get_potential_energy() - e_ref) > 1e-3
    raw = water()
    raw.calc = DirectionalPairs()
    assert abs(raw.get_potential_energy() - e_ref) > 1e-2  # the raw model is really not invariant


def test_spread_is_reported_and_zero_for_an_invariant_calculator():
    atoms = water()
    atoms.calc = SymmetrizedCalculator(DirectionalPairs(), grid="2i")
    atoms.get_forces()
    assert atoms.calc.results["energy_spread"] > 1e-3 and atoms.calc.results["forces_spread"].shape == (3,)
    from ase.calculators.lj import LennardJones

    lj = water()
    lj.calc = SymmetrizedCalculator(LennardJones(sigma=1.0, epsilon=0.1, rc=5.0), grid="2i")
    lj.get_forces()
    assert lj.calc.results["energy_spread"] < 1e-12 and lj.calc.results["forces_spread"].max() < 1e-12


def test_net_force_and_torque_removal():
    rng = np.random.default_rng(0)
    x, f, m = rng.normal(size=(7, 3)), rng.normal(size=(7, 3)), rng.uniform(1, 16, size=7)
    g = remove_net_torque(f, x, m)
    com = (m[:, None] * x).sum(0) / m.sum()
    assert np.abs(np.cross(x - com, g).sum(0)).max() < 1e-12
    np.testing.assert_allclose(g.sum(0), f.sum(0), atol=1e-12)  # the net force is untouched
    h = remove_net_force(g, m)
    assert np.abs(h.sum(0)).max() < 1e-12 and np.abs(np.cross(x - com, h).sum(0)).max() < 1e-12
    # through the calculator, on a model that exerts a torque
    atoms = water()
    atoms.calc = SymmetrizedCalculator(DirectionalPairs(), mode="raw", remove_net_torque=True, remove_net_force=True)
    ft = atoms.get_forces()
    assert np.abs(torque(atoms.positions[None], ft[None], atoms.get_masses())).max() < 1e-12
    assert np.abs(ft.sum(0)).max() < 1e-12


def run(atoms, steps, dt=0.5):
    traj = []
    dyn = VelocityVerlet(atoms, timestep=dt * units.fs)
    dyn.attach(lambda: traj.append(atoms.get_positions().copy()), interval=1)
    dyn.run(steps)
    return np.array(traj)


def test_mts_with_k_1_equals_plain_averaging():
    a, b = water(), water()
    for at in (a, b):
        at.set_velocities(np.random.default_rng(3).normal(size=(3, 3)) * 0.01)
    a.calc = SymmetrizedCalculator(DirectionalPairs(), mode="grid", grid="2i")
    b.calc = SymmetrizedCalculator(DirectionalPairs(), mode="mts", grid="2i", k=1)
    np.testing.assert_allclose(run(a, 20), run(b, 20), atol=1e-12)


def test_mts_is_r_respa():
    """k > 1 gives the impulse multiple-time-step integrator, written out by hand here."""
    k, dt, steps = 3, 0.5 * units.fs, 12
    atoms = water()
    v0 = np.random.default_rng(4).normal(size=(3, 3)) * 0.01
    atoms.set_velocities(v0)
    atoms.calc = SymmetrizedCalculator(DirectionalPairs(), mode="mts", grid="2i", k=k)
    got = run(atoms, steps)[1:]

    raw, avg = DirectionalPairs(), SymmetrizedCalculator(DirectionalPairs(), mode="grid", grid="2i")
    ref = water()
    m = ref.get_masses()[:, None]
    x, p = ref.get_positions(), v0 * m
    force = lambda c, x: (ref.set_positions(x), setattr(ref, "calc", c), ref.get_forces())[2]  # noqa: E731
    expected = []
    for _ in range(steps // k):
        p = p + 0.5 * k * dt * (force(avg, x) - force(raw, x))  # outer half kick
        for _ in range(k):
            p = p + 0.5 * dt * force(raw, x)
            x = x + dt * p / m
            p = p + 0.5 * dt * force(raw, x)
            expected.append(x.copy())
        p = p + 0.5 * k * dt * (force(avg, x) - force(raw, x))
    np.testing.assert_allclose(got, np.array(expected), atol=1e-10)


def test_random_mode_is_seeded_and_turns_every_call():
    e = []
    for seed in (5, 5, 6):
        atoms = water()
        atoms.calc = SymmetrizedCalculator(DirectionalPairs(), mode="random", seed=seed)
        vals = []
        for _ in range(3):
            atoms.positions = atoms.positions + 1e-9  # a new evaluation
            vals.append(atoms.get_potential_energy())
        e.append(vals)
    assert e[0] == e[1] and e[0] != e[2] and len(set(np.round(e[0], 6))) == 3


def test_bad_options_are_refused():
    with pytest.raises(SymbreakError, match="mode"):
        SymmetrizedCalculator(DirectionalPairs(), mode="average")
    with pytest.raises(SymbreakError, match="k must"):
        SymmetrizedCalculator(DirectionalPairs(), mode="mts", k=0)
    box = Atoms("OH2", positions=water().positions, cell=[5, 5, 5], pbc=True)
    box.calc = SymmetrizedCalculator(DirectionalPairs(), mode="raw", remove_net_torque=True)
    with pytest.raises(SymbreakError, match="finite"):
        box.get_forces()


# --- a symbreak model as a calculator: every input field turned by its representation ---


def _torch():
    return pytest.importorskip("torch", reason="ModelCalculator needs torch (install the 'ml' extra)")


def _toy_energy_model():
    r"""A torch energy model (``gradient_output``) whose orientation dependence is a polynomial of degree 4
    and which reads the lattice rows and axial inputs a (n, 1, 3):

    .. math:: E = \sum_{i<j} (\mathbf u \cdot \mathbf r_{ij})^4
              + \sum_i (\mathbf u \cdot \mathbf a_i)\,(\mathbf u \cdot \mathbf r_{i,i+1} \times \mathbf r_{i,i+2})
              + \sum_{\text{rows } L} (\mathbf u \cdot L)^2.

    The middle term is a product of two axial vectors: turned as pseudovectors the inputs keep it
    O(3)-covariant; turned as polar vectors an improper element flips its sign. Its O(3) average is
    :math:`|u|^2 \mathbf a_i \cdot \mathbf c_i / 3`, which grid 3i (exact to l = 4) recovers."""
    torch = _torch()

    class Toy(torch.nn.Module):
        gradient_output = True

        def __init__(self):
            super().__init__()
            self.register_buffer("u", torch.tensor(U, dtype=torch.float64))

        def energy_and_forces(self, data, *, create_graph=None):
            b = data.num_graphs
            with torch.enable_grad():
                x = data.pos.detach().requires_grad_(True)
                u = self.u.to(x)
                pos, axial = x.reshape(b, -1, 3), data.pseudovectors[:, 0].reshape(b, -1, 3)
                n = pos.shape[1]
                i, j = torch.triu_indices(n, n, 1)
                pairs = (((pos[:, j] - pos[:, i]) @ u) ** 4).sum(-1)
                ring = torch.arange(n)
                c = torch.linalg.cross(pos[:, (ring + 1) % n] - pos, pos[:, (ring + 2) % n] - pos)
                energy = pairs + ((axial @ u) * (c @ u)).sum(-1) + ((data.cell @ u) ** 2).sum(-1)
                (grad,) = torch.autograd.grad(energy.sum(), x, create_graph=bool(create_graph))
            return energy, -grad

    return Toy()


def _crystal_atoms(seed=3, n=4, axial=True):
    """n atoms in a small skewed periodic cell, with one axial input per atom (``atoms.arrays``)."""
    rng = np.random.default_rng(seed)
    cell = np.diag([3.1, 3.4, 3.7]) + 0.2 * rng.normal(size=(3, 3))
    atoms = Atoms(numbers=[8, 1, 1, 6][:n], scaled_positions=rng.uniform(size=(n, 3)), cell=cell, pbc=True)
    if axial:
        atoms.set_array("pseudovectors", rng.normal(size=(n, 1, 3)))
    return atoms


def _turned(atoms, g):
    """``atoms`` acted on by g ∈ O(3) by hand: positions and lattice rows R x, axial inputs det(g) g a."""
    out = atoms.copy()
    out.set_cell(np.asarray(atoms.cell) @ g.T, scale_atoms=False)
    out.set_positions(atoms.get_positions() @ g.T)
    if "pseudovectors" in atoms.arrays:
        out.set_array("pseudovectors", np.linalg.det(g) * atoms.arrays["pseudovectors"] @ g.T)
    return out


def test_model_calculator_averages_a_periodic_pet_over_turned_crystals():
    """SymmetrizedCalculator of a periodic PET is the weighted sum over the grid of PET on the turned
    crystal (atoms and lattice rows, each turned crystal evaluated on its own), energies and
    back-turned forces, to 1e-12; the cell is kept (averaged as a molecule it is another number)."""
    torch = _torch()
    from symbreak.md import ModelCalculator
    from symbreak.models import build_model
    from symbreak.rotations import grid

    torch.manual_seed(0)
    pet = build_model("pet", hidden=8, heads=2, layers=1, cutoff=3.0)
    crystal = _crystal_atoms(n=3, axial=False)
    avg = crystal.copy()
    avg.calc = SymmetrizedCalculator(pet, grid="2")
    rots, w = grid("2")
    energies, forces = [], []
    for r in rots:
        turned = _turned(crystal, r)
        turned.calc = ModelCalculator(pet)
        energies.append(turned.get_potential_energy())
        forces.append(turned.get_forces() @ r)  # R⁻¹ F, forces as rows
    assert avg.get_potential_energy() == pytest.approx(float(w @ np.array(energies)), abs=1e-12)
    np.testing.assert_allclose(avg.get_forces(), np.einsum("k,kni->ni", w, np.array(forces)), atol=1e-12)
    assert np.ptp(energies) > 1e-4  # PET alone depends on the orientation: the average is not trivial
    molecule = crystal.copy()
    molecule.pbc = False
    molecule.calc = SymmetrizedCalculator(pet, grid="2")
    assert abs(molecule.get_potential_energy() - avg.get_potential_energy()) > 1e-3


def test_model_calculator_turns_axial_inputs_and_the_lattice():
    """evaluate(atoms, R) is the model on the crystal turned by hand (positions, lattice rows, axial
    inputs by det(R)·R) for proper and improper R, to 1e-12; averaged on grid 3i (degree 4, the
    model's) the calculator is O(3)-invariant (energy) and equivariant (forces) to 1e-10 and equals the
    closed-form average, while grid 2i (degree 2) is not: the average is exact as the grid's degree says."""
    _torch()
    from symbreak.md import ModelCalculator
    from symbreak.models._inputs import FIELDS

    assert FIELDS["pseudovectors"][0] == "1e"
    toy, crystal = _toy_energy_model(), _crystal_atoms()
    calc = ModelCalculator(toy, batch_size=3)  # several chunks
    rots = random_rotations(5, improper=True, seed=1)
    assert {np.sign(np.linalg.det(r)) for r in rots} == {-1.0, 1.0}
    e, f, _ = calc.evaluate(crystal, rots)
    for r, er, fr in zip(rots, e, f):
        ref = calc.as_batch(_turned(crystal, r))
        e_ref, f_ref = toy.energy_and_forces(ref)
        assert er == pytest.approx(float(e_ref[0]), abs=1e-12)
        np.testing.assert_allclose(fr, f_ref.numpy(), atol=1e-12)
    k = int(np.flatnonzero(np.linalg.det(rots) < 0)[0])  # turned as polar vectors, the axial term flips sign
    polar = _turned(crystal, rots[k])
    polar.set_array("pseudovectors", crystal.arrays["pseudovectors"] @ rots[k].T)
    assert abs(float(toy.energy_and_forces(calc.as_batch(polar))[0][0]) - e[k]) > 1e-3

    # the O(3) average in closed form: <(u·R r)^4> = |u|^4 |r|^4 / 5, <(u·R a)(u·R c)> = |u|^2 a·c / 3, <(u·R L)^2> = |u|^2 |L|^2 / 3
    x, a, cell = crystal.get_positions(), crystal.arrays["pseudovectors"][:, 0], np.asarray(crystal.cell)
    i, j = np.triu_indices(4, 1)
    c = np.cross(np.roll(x, -1, 0) - x, np.roll(x, -2, 0) - x)
    uu = U @ U
    closed = (uu**2 * np.linalg.norm(x[j] - x[i], axis=1) ** 4 / 5).sum() + uu * (a * c).sum() / 3 + uu * (cell**2).sum() / 3
    avg = crystal.copy()
    avg.calc = SymmetrizedCalculator(toy, grid="3i")
    base_e, base_f = avg.get_potential_energy(), avg.get_forces()
    assert base_e == pytest.approx(closed, abs=1e-10)
    low = crystal.copy()
    low.calc = SymmetrizedCalculator(toy, grid="2i")
    assert abs(low.get_potential_energy() - closed) > 1e-3
    for g in rots[:2]:
        moved = _turned(crystal, g)
        moved.calc = SymmetrizedCalculator(toy, grid="3i")
        assert moved.get_potential_energy() == pytest.approx(base_e, abs=1e-10)
        np.testing.assert_allclose(moved.get_forces(), base_f @ g.T, atol=1e-10)
    assert np.ptp(e) > 1e-3  # the model alone is not invariant


# --- diagnostics on trajectories with known answers ---


def rigid_rotor(steps=200, dt=1.0, w=0.01):
    """Water turning freely about a principal axis n of its inertia through its centre of mass at
    angular speed w (rad/fs): exact positions and velocities. Returns them, the masses and n."""
    atoms = water()
    m = atoms.get_masses()
    x0 = atoms.positions - (m[:, None] * atoms.positions).sum(0) / m.sum()
    inertia = (m[:, None, None] * ((x0 * x0).sum(1)[:, None, None] * np.eye(3) - x0[:, :, None] * x0[:, None, :])).sum(0)
    n = np.linalg.eigh(inertia)[1][:, 0]
    k = np.array([[0, -n[2], n[1]], [n[2], 0, -n[0]], [-n[1], n[0], 0]])
    pos, vel = [], []
    for t in dt * np.arange(steps):
        rot = np.eye(3) + np.sin(w * t) * k + (1 - np.cos(w * t)) * k @ k  # Rodrigues
        x = x0 @ rot.T
        pos.append(x)
        vel.append(np.cross(w * n, x))
    return np.array(pos), np.array(vel), m, n


def test_free_rotor_keeps_its_angular_momentum_and_feels_no_torque():
    pos, vel, m, n = rigid_rotor()
    L = angular_momentum(pos, vel, m)
    assert np.abs(L - L[0]).max() < 1e-12 and np.linalg.norm(L[0]) > 1e-3
    np.testing.assert_allclose(np.cross(L[0], n), 0, atol=1e-12)  # about a principal axis, L is along it
    assert np.abs(torque(pos, np.zeros_like(pos), m)).max() == 0.0
    mol = water_molecules(np.array([8, 1, 1]), pos[0])
    axes = water_axes(pos, mol)
    c1 = orientation_correlation(axes, 50, l=1)
    # the dipole axis u turns about n at w: C1(τ) = (u·n)² + (1 − (u·n)²) cos(wτ)
    un = axes[0, 0] @ n
    np.testing.assert_allclose(c1, un**2 + (1 - un**2) * np.cos(0.01 * np.arange(51)), atol=1e-12)


def test_isotropic_orientations_have_a_flat_free_energy():
    rng = np.random.default_rng(0)
    u = rng.normal(size=(40000, 3))
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    fe = orientation_free_energy(u, 300.0, bins=20)
    assert np.all(np.abs(fe["F_cos"]) < 4 * fe["F_cos_err"]) and np.all(np.abs(fe["F_phi"]) < 4 * fe["F_phi_err"])
    # an ordered distribution is not flat: a preference for +z of a few kT
    biased = u[rng.uniform(size=len(u)) < np.exp(2.0 * (u[:, 2] - 1))]
    fb = orientation_free_energy(biased, 300.0, bins=20)
    assert fb["F_cos"][0] - fb["F_cos"][-1] == pytest.approx(4.0 * (1 - 1 / 20), abs=0.3)


def test_ideal_gas_g_of_r_is_one_and_brownian_motion_gives_its_diffusion_coefficient():
    rng = np.random.default_rng(1)
    cell = np.diag([10.0, 11.0, 12.0])
    pos = rng.uniform(0, 1, size=(200, 60, 3)) @ cell
    r, g = radial_distribution(pos, cell, np.arange(60))
    assert abs(g[r > 1.0].mean() - 1.0) < 0.03
    d_true, dt = 0.25, 2.0  # Å²/ps, fs
    steps = rng.normal(scale=np.sqrt(2 * d_true * 1e-3 * dt), size=(4000, 50, 3))
    msd = mean_square_displacement(np.cumsum(steps, axis=0), 400)
    assert diffusion_coefficient(msd, dt) == pytest.approx(d_true, rel=0.1)


def test_spectrum_drift_and_autocorrelation_known_answers():
    dt = 0.5
    t = dt * np.arange(4000)
    f, p = power_spectrum(np.sin(2 * np.pi * 0.02 * t), dt)  # 0.02 cycles/fs = 20 THz
    assert f[np.argmax(p)] == pytest.approx(20.0, abs=0.3)
    assert drift(1e-3 * t / 1e6 * 64 * 7.0, dt, molecules=64) == pytest.approx(7.0)  # 7 meV per molecule per ns
    acf = dipole_autocorrelation(np.tile([0.0, 0.0, 2.0], (100, 1)), 10)
    np.testing.assert_allclose(acf, 1.0)


def test_analyze_trajectory_of_a_gas_phase_run(tmp_path):
    frames = _moving_water(400, calc=SymmetrizedCalculator(DirectionalPairs(), mode="raw"), dt_fs=0.25, every=2)
    res = analyze_trajectory(frames, dt_fs=0.5, out=tmp_path)
    assert res["torque_rms_eV"] > 1e-4  # the raw model turns the molecule
    assert res["angular_momentum_change"] > 0 and abs(res["drift_meV_per_molecule_per_ns"]) < 1e5
    saved = json.loads((tmp_path / "trajectory.json").read_text())
    assert saved["frames"] == len(frames) and (tmp_path / "trajectory.png").stat().st_size > 1000
    with pytest.raises(SymbreakError, match="too short"):
        analyze_trajectory(frames[:2], dt_fs=0.5)


def test_trajectory_command(tmp_path, capsys):
    from ase.io import write

    from symbreak.cli import main

    atoms = water()
    atoms.set_velocities(np.random.default_rng(2).normal(size=(3, 3)) * 0.02)
    atoms.calc = DirectionalPairs()
    frames = []
    dyn = VelocityVerlet(atoms, timestep=0.5 * units.fs)
    dyn.attach(lambda: frames.append(atoms.copy()), interval=1)
    dyn.run(20)
    write(tmp_path / "run.extxyz", frames)
    assert main(["trajectory", str(tmp_path / "run.extxyz"), "--dt", "0.5", "--out", str(tmp_path / "diag")]) == 0
    assert "angular_momentum_change" in capsys.readouterr().out and (tmp_path / "diag" / "trajectory.png").exists()
    assert main(["trajectory", str(tmp_path), "--dt", "0.5"]) == 2  # a directory, said so


@pytest.mark.slow
def test_water_pet_quick_reproduction_runs_and_resumes(tmp_path):
    """water-pet is a registered task: the runner runs it like any other, keeps its record, and
    does not rerun it; its steps live in the job's work folder and are read back, not rerun."""
    pytest.importorskip("torch")
    from symbreak.bench import run_benchmark, write_outputs

    result = run_benchmark("water-pet", quick=True, out=tmp_path, progress=False)
    assert result.ran == 1 and len(result.records) == 1
    (folder,) = [p for p in (tmp_path / "partial").iterdir() if p.is_dir()]
    for step in ("train", "gas", "gas_nvt", "bulk", "symmetry", "ice"):
        assert (folder / f"{step}.json").exists()
    record = result.records[0]
    sym = record["symmetry"]["test"]
    assert sym["2i"]["forces_meV_A"] < sym["raw"]["forces_meV_A"]  # averaging brings the model toward invariance
    outputs = write_outputs(result.task, result.records, result.out, result.settings)
    assert "Table II" in outputs["texts"][0] and "| 5.1 |" in outputs["texts"][0]  # the paper's number printed beside ours
    assert {p.name for p in outputs["plots"]} == {"symmetry.png", "torque.png", "spectrum.png", "orientation.png", "correlations.png"}
    nvt = record["gas_nvt"]
    assert nvt["torque"]["3i"]["mean_abs_meV"] < 1e-2 * nvt["torque"]["raw"]["mean_abs_meV"]  # averaging removes the torque
    assert set(record["bulk"]) - {"seconds"} == {"raw", "mts-2i", "random", "2i"} and "species_temperature" in record["bulk"]["random"]
    assert "Fig. 1b" in outputs["texts"][0] and "meV/molecule" in outputs["texts"][0]
    again = run_benchmark("water-pet", quick=True, out=tmp_path, progress=False)
    assert again.ran == 0 and again.records[0]["symmetry"] == record["symmetry"]


def test_generate_water_tiny_and_resumable(tmp_path):
    pytest.importorskip("openmm")
    pytest.importorskip("tblite")
    from symbreak.labels import generate_water, load_water

    generate_water(tmp_path, bulk_frames=(1, 1, 0), gas_frames=2, stride=10, box_nm=0.7)
    bulk, gas = load_water(tmp_path, "bulk"), load_water(tmp_path, "gas")
    assert bulk["positions"].shape[0] == 2 and gas["positions"].shape == (2, 3, 3)
    assert np.abs(bulk["box"]).sum() > 0 and np.abs(gas["box"]).sum() == 0
    assert np.isfinite(bulk["energy"]).all() and np.abs(gas["forces"]).max() > 0.01
    # a second call finds everything labelled and recomputes nothing
    summary = generate_water(tmp_path, bulk_frames=(1, 1, 0), gas_frames=2, stride=10, box_nm=0.7)
    assert summary["bulk"]["label_seconds"] == 0.0 and summary["gas"]["frames"] == 2
    with pytest.raises(SymbreakError, match="no water set"):
        load_water(tmp_path / "missing")


# --- issue 28: `symbreak trajectory` and analyze_trajectory on input they cannot analyse -----------------


def _moving_water(steps=12, calc=None, dt_fs=0.5, every=1):
    """Frames of one water molecule in NVE (a frame every ``every`` steps) under ``calc`` (default: DirectionalPairs)."""
    atoms = water()
    atoms.set_velocities(np.random.default_rng(2).normal(size=(3, 3)) * 0.02)
    atoms.calc = calc if calc is not None else DirectionalPairs()
    frames = []
    dyn = VelocityVerlet(atoms, timestep=dt_fs * units.fs)

    def keep():
        from ase.calculators.singlepoint import SinglePointCalculator

        a = atoms.copy()
        a.calc = SinglePointCalculator(a, energy=atoms.get_potential_energy(), forces=atoms.get_forces())
        frames.append(a)

    dyn.attach(keep, interval=every)
    dyn.run(steps)
    return frames


def test_trajectory_refuses_an_empty_out(tmp_path, capsys, monkeypatch):
    """--out '' was dropped silently (no trajectory.json anywhere); now it is refused before any work."""
    from ase.io import write

    from symbreak.cli import main

    write(tmp_path / "run.extxyz", _moving_water())
    monkeypatch.chdir(tmp_path)
    assert main(["trajectory", "run.extxyz", "--dt", "0.5", "--out", ""]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == "symbreak: error: --out is empty: name a folder for trajectory.json and trajectory.png, or leave --out off\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.extxyz"]
    with pytest.raises(SymbreakError, match="out is empty"):
        analyze_trajectory(_moving_water(), dt_fs=0.5, out="")


def test_trajectory_results_that_cannot_be_written_are_one_line(tmp_path, capsys):
    """The folder exists, but trajectory.json cannot be written there (a folder of that name): a
    traceback (IsADirectoryError) before; one line naming the file now."""
    from ase.io import write

    from symbreak.cli import main

    write(tmp_path / "run.extxyz", _moving_water())
    (tmp_path / "diag" / "trajectory.json").mkdir(parents=True)
    assert main(["trajectory", str(tmp_path / "run.extxyz"), "--dt", "0.5", "--out", str(tmp_path / "diag")]) == 2
    err = capsys.readouterr().err
    assert err == f"symbreak: error: cannot write {tmp_path / 'diag' / 'trajectory.json'} (Is a directory)\n"
    with pytest.raises(SymbreakError, match=r"cannot write .*trajectory.json \(Is a directory\)"):
        analyze_trajectory(_moving_water(), dt_fs=0.5, out=tmp_path / "diag")


@pytest.mark.parametrize("field", ["velocities", "energy", "forces"])
def test_non_finite_velocities_energies_or_forces_are_refused(field, tmp_path, capsys):
    """A NaN velocity (or energy, or force) in one frame gave a quiet wrong answer: the angular
    momentum change compares the first and last frames only, and printed 0.0. Now it is named."""
    from ase.calculators.singlepoint import SinglePointCalculator
    from ase.io import write

    from symbreak.cli import main

    frames = _moving_water()
    bad = frames[5]
    energy, forces = bad.calc.results["energy"], bad.calc.results["forces"].copy()
    if field == "velocities":
        v = bad.get_velocities()
        v[1, 1] = np.nan
        bad.set_velocities(v)
    elif field == "energy":
        energy = np.inf
    else:
        forces[2, 0] = np.nan
    bad.calc = SinglePointCalculator(bad, energy=energy, forces=forces)
    what = {"velocities": "velocities", "energy": "energies", "forces": "forces"}[field]
    with pytest.raises(SymbreakError, match=rf"^{what} contain NaN or inf \(first in frame 5\)$"):
        analyze_trajectory(frames, dt_fs=0.5)
    write(tmp_path / "run.extxyz", frames)
    assert main(["trajectory", str(tmp_path / "run.extxyz"), "--dt", "0.5"]) == 2
    assert capsys.readouterr().err == f"symbreak: error: {what} contain NaN or inf (first in frame 5)\n"


def test_frames_with_other_atoms_are_refused():
    """Frames of the same size but other elements were analysed with the first frame's masses and
    elements; now the trajectory is refused, naming the frame."""
    frames = _moving_water()
    frames[4].numbers = [8, 1, 6]
    with pytest.raises(SymbreakError, match=r"frame 4 is CHO, frame 0 H2O"):
        analyze_trajectory(frames, dt_fs=0.5)
    frames = _moving_water()
    frames.append(Atoms("OH", positions=[[0, 0, 0], [1, 0, 0]]))
    with pytest.raises(SymbreakError, match=rf"frame {len(frames) - 1} has 2, frame 0 has 3"):
        analyze_trajectory(frames, dt_fs=0.5)


def test_angular_momentum_and_torque_panels_have_axis_labels(monkeypatch):
    """trajectory.png: the angular-momentum and torque panels name their axes, units and components."""
    import matplotlib.pyplot as plt

    from symbreak.md import plot_analysis

    figures, close = [], plt.close
    monkeypatch.setattr(plt, "close", lambda fig=None: figures.append(fig))
    res = analyze_trajectory(_moving_water(), dt_fs=0.5)
    plot_analysis(res, "/dev/null")
    (fig,) = figures
    panels = {ax.get_title(): ax for ax in fig.axes if ax.get_title()}
    L = panels["angular momentum about the centre of mass"]
    tau = panels["total torque of the forces"]
    assert (L.get_xlabel(), L.get_ylabel()) == ("t / ps", "L / amu Å² fs⁻¹")
    assert (tau.get_xlabel(), tau.get_ylabel()) == ("t / ps", "τ / meV")
    assert [t.get_text() for t in L.get_legend().get_texts()] == ["L$_x$", "L$_y$", "L$_z$"]
    close(fig)


def test_symmetrized_calculator_refuses_a_grid_too_large_with_its_size():
    with pytest.raises(SymbreakError, match=r"grid '99' has 3,842,091 rotations, above the limit of 250,000"):
        SymmetrizedCalculator(DirectionalPairs(), grid="99")
