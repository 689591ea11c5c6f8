"""One group action on a batch: every input field by its declared representation (models._inputs.FIELDS)."""

from types import SimpleNamespace

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from symbreak.models import INPUTS, build_model, transform_batch  # noqa: E402
from symbreak.rotations import random_rotations  # noqa: E402
from symbreak.symmetrize._average import rotated_copies  # noqa: E402
from symbreak.testing import assert_equivariant  # noqa: E402

pytestmark = pytest.mark.usefixtures("float64")


def _two_crystals(seed=0, dtype=torch.float64):
    """Two small periodic structures (3 and 2 atoms) with every input field a batch can carry, a
    label, symmetry records and a field derived from the positions (``+sbs``'s prepared set)."""
    INPUTS["sbs"]  # imports the input, which declares its prepared fields DERIVED
    g = torch.Generator().manual_seed(seed)
    rnd = lambda *shape: torch.randn(*shape, generator=g, dtype=torch.float64).to(dtype)  # noqa: E731
    cell = torch.diag(torch.tensor([3.1, 3.4, 3.7])).to(dtype) + 0.2 * rnd(2, 3, 3)
    return SimpleNamespace(
        z=torch.tensor([8, 1, 1, 6, 1]), pos=2 * rnd(5, 3), batch=torch.tensor([0, 0, 0, 1, 1]), num_graphs=2,
        x=rnd(5, 2), vectors=rnd(5, 2, 3), pseudovectors=rnd(5, 1, 3), cell=cell,
        y=rnd(5, 3), sym=["C1", "C1"], sbs_set=rnd(2, 3),
    )  # fmt: skip


def test_transform_batch_permutes_per_atom_labels_whatever_else_the_batch_carries():
    """y follows a permutation with or without vector inputs, and never gains a dimension without one."""
    y = torch.arange(6.0).reshape(3, 2)
    perm = torch.tensor([2, 0, 1])
    rot = torch.as_tensor(random_rotations(1, improper=True, seed=0)[0])
    for extra in ({}, {"vectors": torch.randn(3, 1, 3)}):
        data = SimpleNamespace(z=torch.tensor([8, 1, 1]), pos=torch.randn(3, 3), y=y, **extra)
        assert torch.equal(transform_batch(data, permutation=perm).y, y[perm])
        assert torch.equal(transform_batch(data, rot, permutation=perm).y, y[perm])
        assert torch.equal(transform_batch(data, rot).y, y)  # labels are not rotated: their representation is the task's
        assert torch.equal(transform_batch(data, translation=torch.ones(3)).y, y)
    # per-structure labels stay where they are
    two = SimpleNamespace(z=torch.tensor([8, 1, 1]), pos=torch.randn(3, 3), batch=torch.tensor([0, 0, 1]), y=torch.tensor([1.0, 2.0]))
    assert torch.equal(transform_batch(two, permutation=torch.tensor([1, 0, 2])).y, two.y)


def test_transform_batch_turns_every_declared_field():
    data = _two_crystals()
    rot = torch.as_tensor(random_rotations(1, improper=True, seed=1)[0])
    assert torch.linalg.det(rot) < 0
    perm = torch.tensor([1, 2, 0, 4, 3])
    out = transform_batch(data, rot, permutation=perm)
    torch.testing.assert_close(out.pos, data.pos[perm] @ rot.T)
    torch.testing.assert_close(out.vectors, data.vectors[perm] @ rot.T)
    torch.testing.assert_close(out.pseudovectors, -data.pseudovectors[perm] @ rot.T)  # det = −1
    torch.testing.assert_close(out.cell, data.cell @ rot.T)  # rows: lattice vectors turn, not permuted
    assert torch.equal(out.x, data.x[perm]) and torch.equal(out.z, data.z[perm]) and out.sym is None and not hasattr(out, "sbs_set")


@pytest.mark.parametrize("cell_layout", ["(B, 3, 3)", "(3B, 3)"])
def test_rotated_copies_turn_every_declared_field_about_each_centroid(cell_layout):
    """Copy m of structure b is structure m·B + b: positions turn about their own centroid, vectors
    by R, pseudovectors by det(R)·R, the lattice rows by R; labels, symmetry records and derived
    fields are left out rather than carried unturned."""
    data = _two_crystals()
    if cell_layout == "(3B, 3)":
        data.cell = data.cell.reshape(-1, 3)
    rots = torch.as_tensor(random_rotations(3, seed=2))
    rots[1] *= -1.0  # proper and improper elements both
    out = rotated_copies(rots, data)
    assert out.num_graphs == 6 and torch.equal(out.batch, torch.cat([data.batch + 2 * m for m in range(3)]))
    assert not any(hasattr(out, key) for key in ("y", "sym", "sbs_set"))
    cells = out.cell.reshape(3, 2, 3, 3)
    for m, r in enumerate(rots):
        atoms = slice(5 * m, 5 * m + 5)
        det = torch.linalg.det(r)
        for b in range(2):
            mine = data.batch == b
            c = data.pos[mine].mean(0)
            torch.testing.assert_close(out.pos[atoms][mine], (data.pos[mine] - c) @ r.T + c)
            torch.testing.assert_close(cells[m, b], data.cell.reshape(2, 3, 3)[b] @ r.T)
        torch.testing.assert_close(out.vectors[atoms], data.vectors @ r.T)
        torch.testing.assert_close(out.pseudovectors[atoms], det * data.pseudovectors @ r.T)
        assert torch.equal(out.x[atoms], data.x) and torch.equal(out.z[atoms], data.z)
    assert out.cell.shape[1:] == data.cell.shape[1:]


def test_float64_checks_cast_the_cell_and_the_pseudovectors():
    """assert_equivariant runs on float64 copies of every input field: a float32 cell or
    pseudovector turned in float32 left deviations of 1e-9 (PaiNN 1.8e-9, e3nn 1.1e-9; 1e-16 in float64)."""
    data = _two_crystals(dtype=torch.float32)
    torch.manual_seed(0)
    painn = build_model("painn", hidden=8, layers=1, cutoff=3.0).float().eval()
    assert_equivariant(painn, SimpleNamespace(z=data.z, pos=data.pos, batch=data.batch, cell=data.cell), n_rotations=2, atol=1e-12)
    e3nn = build_model("e3nn", hidden=8, layers=1, in_pseudovectors=1).float().eval()
    assert_equivariant(e3nn, SimpleNamespace(z=data.z, pos=data.pos, batch=data.batch, pseudovectors=data.pseudovectors), n_rotations=2, atol=1e-12)
    assert data.cell.dtype == data.pseudovectors.dtype == torch.float32  # the caller's batch is left as it was


def _energy_data(frames=4, seed=0):
    """Four frames of a 5-atom periodic box with random energy and force labels."""
    from symbreak.training import EnergyData

    rng = np.random.default_rng(seed)
    cells = np.diag([3.1, 3.4, 3.7]) + 0.2 * rng.normal(size=(frames, 3, 3))
    pos = np.einsum("fna,fab->fnb", rng.uniform(size=(frames, 5, 3)), cells)
    return EnergyData(np.array([8, 1, 1, 6, 1]), pos, cells, rng.normal(size=frames), rng.normal(size=(frames, 5, 3)))


def test_energy_batch_augmentation_turns_forces_as_vectors_and_keeps_energies():
    """fit_energy's augmentation (training._energy._batch): structure b of the batch turned by its own
    element R_b of O(3): positions and force labels R_b x (1o), lattice rows L R_bᵀ, energies and
    atomic numbers unchanged, as LABELS declares; the order of the structures (a permutation of the
    batch) commutes with it; and one element for the whole batch (the symmetry penalty's copy) is
    transform_batch's action on the inputs, with the forces turned too."""
    from symbreak.training._energy import LABELS, _batch, _turn

    assert LABELS == {"energy": ("0e", False), "forces": ("1o", True)}
    data = _energy_data()
    idx = np.array([2, 0, 3])
    rots = random_rotations(3, improper=True, seed=3)
    rots[0] = -rots[0] if np.linalg.det(rots[0]) > 0 else rots[0]  # an improper element for sure
    plain, turned = _batch(data, idx, None, torch.float64, "cpu"), _batch(data, idx, rots, torch.float64, "cpu")
    assert turned.num_graphs == 3 and turned.atoms == 5 and torch.equal(turned.batch, plain.batch) and torch.equal(turned.z, plain.z)
    for b, (f, r) in enumerate(zip(idx, rots)):
        atoms = slice(5 * b, 5 * b + 5)
        np.testing.assert_allclose(turned.pos[atoms].numpy(), data.positions[f] @ r.T, atol=1e-14)
        np.testing.assert_allclose(turned.forces[atoms].numpy(), data.forces[f] @ r.T, atol=1e-14)
        np.testing.assert_allclose(turned.cell[b].numpy(), data.cells[f] @ r.T, atol=1e-14)
    assert torch.equal(turned.energy, plain.energy) and torch.equal(plain.energy, torch.as_tensor(data.energy[idx]))
    # permuting the structures, then turning each by its element = turning, then permuting
    perm = np.array([2, 0, 1])
    swapped = _batch(data, idx[perm], rots[perm], torch.float64, "cpu")
    atom_perm = torch.cat([torch.arange(5 * p, 5 * p + 5) for p in perm])
    for key in ("pos", "forces", "z"):
        torch.testing.assert_close(getattr(swapped, key), getattr(turned, key)[atom_perm], atol=1e-14, rtol=0)
    torch.testing.assert_close(swapped.cell, turned.cell[perm], atol=1e-14, rtol=0)
    torch.testing.assert_close(swapped.energy, turned.energy[perm], atol=0, rtol=0)
    # one element for the whole batch: the inputs as transform_batch turns them, the forces as 1o
    g = torch.as_tensor(rots[0])
    whole, expected = _turn(plain, g), transform_batch(plain, g)
    for key in ("pos", "cell", "z"):
        assert torch.equal(getattr(whole, key), getattr(expected, key))
    assert torch.equal(whole.forces, plain.forces @ g.T) and torch.equal(whole.energy, plain.energy)
    per_structure = _turn(plain, g.expand(3, 3, 3))  # the same element given to every structure
    for key in ("pos", "cell", "forces"):
        torch.testing.assert_close(getattr(per_structure, key), getattr(whole, key), atol=1e-14, rtol=0)


def test_augmented_batches_leave_an_invariant_models_loss_unchanged():
    """For painn-vector (an exactly invariant periodic energy model, float64) the energy-and-force errors of
    fit_energy's loss are the same on a batch and on its augmented copy (improper elements included),
    because the force labels turn with the predicted forces: turning the inputs alone moves them."""
    from symbreak.training._energy import _batch

    torch.manual_seed(0)
    painn = build_model("painn-vector", hidden=8, layers=1, cutoff=3.0).double().eval()
    data, idx = _energy_data(), np.array([1, 3])
    rots = random_rotations(2, improper=True, seed=5)
    rots[1] = -rots[1] if np.linalg.det(rots[1]) > 0 else rots[1]

    def errors(batch):
        e, f = painn.energy_and_forces(batch, create_graph=False)
        return (e - batch.energy).detach(), ((f - batch.forces) ** 2).sum(-1).detach()

    plain, turned = _batch(data, idx, None, torch.float64, "cpu"), _batch(data, idx, rots, torch.float64, "cpu")
    for a, b in zip(errors(plain), errors(turned)):
        torch.testing.assert_close(a, b, atol=1e-10, rtol=0)
    unturned_labels = SimpleNamespace(**{**vars(turned), "forces": plain.forces})
    assert (errors(unturned_labels)[1] - errors(plain)[1]).abs().max() > 1e-3
