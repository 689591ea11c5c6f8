"""PET and PET-invariant on periodic water: invariances, the periodic graph, forces, training."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from symbreak.models import build_model  # noqa: E402
from symbreak.models._graph import periodic_radius_edges  # noqa: E402
from symbreak.rotations import random_rotations  # noqa: E402


def water_box(n_side=2, a=3.1, seed=0):
    """n_side³ randomly oriented water molecules on a cubic lattice of spacing a (Å), periodic."""
    rng = np.random.default_rng(seed)
    mol = np.array([[0.0, 0.0, 0.0], [0.0, 0.76, 0.59], [0.0, -0.76, 0.59]])
    pos, z = [], []
    for idx in np.ndindex(n_side, n_side, n_side):
        rot = random_rotations(1, seed=rng)[0]
        pos.append(mol @ rot.T + a * np.array(idx) + rng.normal(scale=0.1, size=3))
        z += [8, 1, 1]
    return np.concatenate(pos), np.array(z), a * n_side * np.eye(3)


def batch(pos, z, cell, dtype=torch.float64):
    return SimpleNamespace(z=torch.as_tensor(z), pos=torch.as_tensor(pos, dtype=dtype), batch=torch.zeros(len(z), dtype=torch.long), cell=torch.as_tensor(cell, dtype=dtype)[None])


def test_periodic_graph_matches_ase():
    from ase import Atoms
    from ase.neighborlist import neighbor_list

    pos, z, cell = water_box(a=2.4)  # a small cell: the cutoff reaches several images
    i, j, d = neighbor_list("ijd", Atoms(numbers=z, positions=pos, cell=cell, pbc=True), 3.5)
    edge, shift = periodic_radius_edges(torch.as_tensor(pos), torch.zeros(len(z), dtype=torch.long), 3.5, torch.as_tensor(cell)[None])
    ours = (torch.as_tensor(pos)[edge[0]] + shift - torch.as_tensor(pos)[edge[1]]).norm(dim=-1).numpy()
    assert edge.shape[1] == len(i)
    np.testing.assert_allclose(np.sort(ours), np.sort(d), atol=1e-12)
    np.testing.assert_array_equal(np.sort(edge[1].numpy() * 1000 + edge[0].numpy()), np.sort(i * 1000 + j))


@pytest.mark.parametrize("spec", ["pet", "pet-invariant"])
def test_translation_permutation_and_lattice_wrap_invariance(spec):
    torch.manual_seed(0)
    model = build_model(spec, hidden=32, cutoff=3.5).double()
    pos, z, cell = water_box()
    e, f = model.energy_and_forces(batch(pos, z, cell))
    rng = np.random.default_rng(1)
    perm = rng.permutation(len(z))
    moved = pos + rng.normal(size=3)
    moved[perm[:3]] += cell[1]  # some atoms into the next cell
    e2, f2 = model.energy_and_forces(batch(moved[perm], z[perm], cell))
    assert float(e2 - e) == pytest.approx(0.0, abs=1e-9)
    np.testing.assert_allclose(f2.detach().numpy(), f.detach().numpy()[perm], atol=1e-9)


def test_pet_invariant_is_exactly_o3_invariant_and_pet_is_not():
    torch.manual_seed(0)
    pos, z, cell = water_box()
    for spec, invariant in (("pet-invariant", True), ("pet", False)):
        model = build_model(spec, hidden=32, cutoff=3.5).double()
        e, f = model.energy_and_forces(batch(pos, z, cell))
        errs = []
        for rot in random_rotations(3, improper=True, seed=2):
            e2, f2 = model.energy_and_forces(batch(pos @ rot.T, z, cell @ rot.T))
            errs.append(max(abs(float(e2 - e)), float((f2 - f @ torch.as_tensor(rot).T).abs().max())))
        if invariant:
            assert max(errs) < 1e-9
        else:
            assert min(errs) > 1e-5  # raw Cartesian edge vectors: the energy depends on orientation


def test_forces_are_the_negative_gradient():
    torch.manual_seed(0)
    model = build_model("pet", hidden=16, cutoff=3.5).double()
    pos, z, cell = water_box(seed=3)
    _, f = model.energy_and_forces(batch(pos, z, cell))
    h = 1e-5
    for atom, axis in ((0, 0), (5, 2), (13, 1)):
        p, m = pos.copy(), pos.copy()
        p[atom, axis] += h
        m[atom, axis] -= h
        num = -(float(model.energy_and_forces(batch(p, z, cell))[0]) - float(model.energy_and_forces(batch(m, z, cell))[0])) / (2 * h)
        assert float(f[atom, axis]) == pytest.approx(num, rel=1e-5, abs=1e-8)


def test_fit_energy_learns_and_resumes(tmp_path):
    from symbreak.training import EnergyData, energy_errors, fit_energy

    frames = [water_box(seed=s) for s in range(12)]
    pos = np.stack([f[0] for f in frames])
    z, cell = frames[0][1], frames[0][2]
    # labels from a simple invariant pair potential: something learnable with known forces
    x = torch.tensor(pos, requires_grad=True)
    d = (x[:, :, None] - x[:, None]).norm(dim=-1) + torch.eye(len(z))
    energy = (torch.exp(-d) * (1 - torch.eye(len(z)))).sum((1, 2))
    (grad,) = torch.autograd.grad(energy.sum(), x)
    data = EnergyData(z, pos, np.repeat(cell[None], 12, 0), energy.detach().numpy(), -grad.numpy())
    train, val = data.subset(np.arange(9)), data.subset(np.arange(9, 12))
    torch.manual_seed(0)
    model = build_model("pet", hidden=16, cutoff=3.5)
    before = energy_errors(model, val)
    out = fit_energy(model, train, val, epochs=2, batch_size=4, checkpoint=tmp_path / "ckpt.pt", seed=0)
    assert len(out["history"]) == 2 and (tmp_path / "ckpt.pt").exists()
    after = energy_errors(model, val)
    assert after["forces_mae_meV_A"] < before["forces_mae_meV_A"]
    # a rerun with more epochs continues from the checkpoint, keeping the finished epochs
    again = fit_energy(build_model("pet", hidden=16, cutoff=3.5), train, val, epochs=3, batch_size=4, checkpoint=tmp_path / "ckpt.pt", seed=0)
    assert [h["epoch"] for h in again["history"]] == [0, 1, 2] and again["history"][:2] == out["history"]


def test_fit_energy_refuses_models_it_cannot_fit_and_the_calculator_leaves_the_model_alone():
    from symbreak._errors import SymbreakError
    from symbreak.md import ModelCalculator
    from symbreak.training import EnergyData, fit_energy

    pos, z, cell = water_box()
    data = EnergyData(z, pos[None], cell[None], np.zeros(1), np.zeros((1, len(z), 3)))
    with pytest.raises(SymbreakError, match="energy_shift"):
        fit_energy(build_model("schnet", hidden=16), data, data, epochs=1)
    with pytest.raises(SymbreakError, match="not an energy model"):
        fit_energy(build_model("egnn", hidden=16), data, data, epochs=1)
    model = build_model("pet", hidden=16, cutoff=3.5)
    ModelCalculator(model)
    assert next(model.parameters()).dtype == torch.float32 and model.training
