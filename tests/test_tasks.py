"""The benchmark data generators give what they claim."""

import numpy as np
import pytest
import torch

from symbreak import SymbreakError, detect_symmetry
from symbreak.metrics import chamfer_distance, sbcd
from symbreak.labels import MODE_NAMES, load_water_modes
from symbreak.tasks import available_tasks, get_task, square_and_rectangles, water_mode_dataset


def test_square_is_d4h_and_the_threshold_is_a_quarter():
    square, along_x, along_y = (torch.tensor(a) for a in square_and_rectangles())
    sym = detect_symmetry(square.numpy(), [6] * 4)
    assert sym.point_group == "D4h"
    assert float(chamfer_distance(square, along_x)) == pytest.approx(0.25, abs=1e-12)
    assert float(chamfer_distance(square, along_y)) == pytest.approx(0.25, abs=1e-12)
    # the rectangles are distinct outcomes, equivalent under the square's symmetry
    assert float(chamfer_distance(along_x, along_y)) == pytest.approx(1.0, abs=1e-12)
    assert float(sbcd(along_x, along_y, sym, kind="positions")) == pytest.approx(0.0, abs=1e-12)
    assert detect_symmetry(along_x.numpy(), [6] * 4).point_group == "D2h"


def test_square_task_has_identical_inputs_and_opposite_targets():
    graphs = get_task("square-ssb").dataset("")
    assert torch.equal(graphs[0].pos, graphs[1].pos)
    assert not torch.allclose(graphs[0].y, graphs[1].y)
    assert graphs[0].sym.point_group == "D4h" and len(graphs[0].sym.operations) == 16


def test_water_modes_are_orthonormal_eigenvectors_of_the_mass_weighted_hessian():
    w = load_water_modes()
    assert w.method == "GFN2-xTB" and list(w.numbers) == [8, 1, 1]
    np.testing.assert_allclose(w.modes @ w.modes.T, np.eye(3), atol=1e-10)
    inv = np.repeat(w.masses, 3) ** -0.5
    weighted = w.hessian * inv[:, None] * inv[None, :]
    for v in w.modes:
        lam = v @ weighted @ v
        np.testing.assert_allclose(weighted @ v, lam * v, atol=1e-8)
    eig = np.linalg.eigvalsh(weighted)
    assert np.all(np.abs(eig[:6]) < 1e-2 * eig[-3])  # six near-zero translations/rotations
    assert np.all(np.diff(w.frequencies) > 0) and 1400 < w.frequencies[0] < 1700 and 3400 < w.frequencies[1] < 3900


def _vector_field_group(positions, numbers, vectors):
    # the symmetry of atoms + their arrows: arrow tips as extra pseudo-atoms
    tips = positions + 0.5 * vectors
    return detect_symmetry(np.vstack([positions, tips]), list(numbers) + [99] * len(numbers), tol=1e-3).point_group


@pytest.mark.parametrize(("mode", "group"), [("symmetric", "C2v"), ("bend", "C2v"), ("asymmetric", "Cs")])
def test_modes_keep_or_break_c2v(mode, group):
    w = load_water_modes()
    assert detect_symmetry(w.positions, w.numbers, tol=1e-3).point_group == "C2v"
    assert _vector_field_group(w.positions, w.numbers, w.mode(mode)) == group


def test_water_dataset_rotates_labels_with_the_molecule():
    w = load_water_modes()
    for g in water_mode_dataset("asymmetric", seed=4):
        pos, y = g.pos.double().numpy(), g.y.double().numpy()
        np.testing.assert_allclose(pos.mean(axis=0), 0.0, atol=1e-6)
        # the rotation that takes the reference molecule to this copy takes its mode to the label
        ref = w.positions - w.positions.mean(axis=0)
        u, _, vt = np.linalg.svd(pos.T @ ref)
        rot = u @ vt
        np.testing.assert_allclose(ref @ rot.T, pos, atol=1e-5)
        np.testing.assert_allclose(w.mode("asymmetric") @ rot.T, y, atol=1e-5)
        assert g.sym.point_group == "C2v"


def test_water_modes_regenerate_from_gfn2():
    pytest.importorskip("tblite", reason="tblite (GFN2-xTB) not installed: pip install -e '.[chem]'")
    from symbreak.labels import compute_water_modes

    fresh, shipped = compute_water_modes(), load_water_modes()
    np.testing.assert_allclose(fresh.frequencies, shipped.frequencies, rtol=1e-4)
    np.testing.assert_allclose(np.abs(fresh.modes @ shipped.modes.T), np.eye(3), atol=1e-4)


def test_registry():
    assert set(available_tasks()) >= {"square-ssb", "h2o-modes"}
    assert get_task("h2o-modes").subtasks == MODE_NAMES[1:2] + MODE_NAMES[:1] + MODE_NAMES[2:]
    with pytest.raises(SymbreakError, match="unknown task"):
        get_task("cube")


def test_shape_targets_have_the_claimed_symmetry():
    from symbreak.tasks import cube_targets

    groups = {k: detect_symmetry(v, [6] * 8, tol=0.01).point_group for k, v in cube_targets().items()}
    assert groups == {"input": "Oh", "cube": "Oh", "prism": "D4h", "asymmetric": "C1"}


def test_lorentz_trajectory_obeys_the_force_law():
    from symbreak.tasks import FIELD_B, FIELD_E, lorentz_trajectory

    x, v, f = lorentz_trajectory(200, dt=0.01, seed=3)
    np.testing.assert_allclose(f, FIELD_E + np.cross(v, FIELD_B), atol=1e-12)
    # RK4: the velocity change over a step matches the mean force at both ends to O(dt²)
    np.testing.assert_allclose((v[1:] - v[:-1]) / 0.01, 0.5 * (f[1:] + f[:-1]), atol=1e-4)
    np.testing.assert_allclose((x[1:] - x[:-1]) / 0.01, 0.5 * (v[1:] + v[:-1]), atol=1e-3)


@pytest.mark.slow
def test_charged_particle_recovers_the_fields_and_equivariance_cannot(tmp_path):
    from symbreak.bench import run_benchmark

    res = run_benchmark("charged-particle", out=tmp_path, quick=True, progress=False)
    by = {r["model"]: r for r in res.records}
    assert by["relaxed-e3nn"]["test"]["mse"] < 1e-4
    assert by["relaxed-e3nn"]["fields"]["E_error"] < 1e-2 and by["relaxed-e3nn"]["fields"]["B_axis_error"] < 1e-2
    assert by["e3nn"]["test"]["mse"] > 0.05  # Curie: no fixed direction without breaking symmetry


@pytest.mark.slow
def test_shape_deformation_prism_keeps_d4h(tmp_path):
    from symbreak.bench import run_benchmark, write_outputs

    res = run_benchmark("shape-deformation", out=tmp_path, subtasks=["prism"], models=["relaxed-e3nn"], folds=1, epochs=250, progress=False)
    (rec,) = res.records
    assert rec["kept"] == "D4h" and rec["test"]["mse"] < 1e-3
    for layer in rec["layers"]:
        assert set(layer["nonzero"]) <= {"0e", "2e", "4e"}  # every odd-parity block stays 0
    outputs = write_outputs(res.task, res.records, res.out, res.settings)
    assert (tmp_path / "shape-deformation-prism-signals.png").exists()
    assert "D4h" in outputs["texts"][-1]


def test_qm9_subset_and_ranks():
    from symbreak.tasks import load_qm9_subset, structure_rank

    mols = load_qm9_subset()
    assert len(mols) == 191
    assert np.bincount([structure_rank(p) for _, _, p in mols], minlength=4).tolist() == [0, 11, 40, 140]
    assert all(len(z) == len(p) and set(z) <= {1, 6, 7, 8, 9} for _, z, p in mols)


def test_typed_emd_and_frames():
    from symbreak.tasks import FRAMES, load_qm9_subset, typed_emd
    from symbreak.rotations import random_rotations

    _, z, p = load_qm9_subset()[-1]
    rng = np.random.default_rng(0)
    perm = rng.permutation(len(z))
    assert typed_emd(p[perm], p, z[perm], z) == pytest.approx(0.0, abs=1e-12)
    assert typed_emd(p + [0.1, 0, 0], p, z, z) == pytest.approx(0.1, abs=1e-12)
    other = z.copy()
    other[np.flatnonzero(z == 1)[0]] = 6
    with pytest.raises(SymbreakError, match="not the same molecule"):
        typed_emd(p, p, z, other)
    for rot in random_rotations(3, improper=True, seed=1):
        moved = p[perm] @ rot.T + 3.0
        for name in ("pca", "symbreak"):
            ref = FRAMES[name](p, z)
            assert typed_emd(FRAMES[name](moved, z[perm]), ref, z[perm], z) < 1e-8, name


def test_canonicalization_quick_run(tmp_path):
    from symbreak.bench import run_benchmark, write_outputs

    res = run_benchmark("canonicalization", out=tmp_path, quick=True, limit=30, models=["pca-raw", "symbreak"], subtasks=["exact"], progress=False)
    by = {r["model"]: r for r in res.records}
    assert by["symbreak"]["test"]["emd_2"] < 1e-8 < by["pca-raw"]["test"]["emd_2"]  # signs flip for the naive frame
    assert by["symbreak"]["molecules"] == 30
    text = "\n".join(write_outputs(res.task, res.records, res.out, res.settings)["texts"])
    # our value beside the paper's in the same row, not only the paper's constant somewhere
    row = next(line for line in text.splitlines() if line.startswith("symbreak "))
    assert f"{by['symbreak']['test']['emd_3']:.1e}" in row and "0.00009" in row and "forms/s" in text
    assert "Table 4" in text and "under 0.01 Å noise" not in text  # no noise jobs ran: that table is left out


def test_canonicalization_resumes_mid_job_with_the_same_numbers(tmp_path):
    import json

    from symbreak.bench import Job
    from symbreak.tasks import load_qm9_subset

    task = get_task("canonicalization")
    task.checkpoint_every = 7
    graphs = load_qm9_subset()[:20]
    job = Job("canonicalization", "noise", "pca", "emd", 0, 1, 1e-4, 0, None, 20)
    whole = task.run_job(job, graphs)

    class Stop(Exception):
        pass

    class InterruptedOnce(list):  # the 16th molecule raises the first time: saves after 7 and 14 are on disk
        raised = False
        read: list[int] = []

        def __getitem__(self, k):
            InterruptedOnce.read.append(k)
            if k == 15 and not InterruptedOnce.raised:
                InterruptedOnce.raised = True
                raise Stop
            return list.__getitem__(self, k)

    checkpoint = tmp_path / "partial" / "job.json"
    with pytest.raises(Stop):
        task.run_job(job, InterruptedOnce(graphs), None, checkpoint)
    assert json.loads(checkpoint.read_text())["next"] == 14
    InterruptedOnce.read.clear()
    resumed = task.run_job(job, InterruptedOnce(graphs), None, checkpoint)
    assert InterruptedOnce.read == list(range(14, 20))  # finished work is not redone
    assert resumed["per_rank"] == whole["per_rank"]
    for key in ("emd_1", "emd_2", "emd_3"):
        assert resumed["test"][key] == pytest.approx(whole["test"][key], rel=1e-12, nan_ok=True)


@pytest.mark.parametrize("source", ["dft", "gfn2"])
def test_dipole_data_set_is_what_it_claims(source):
    from symbreak.labels import broken_by
    from symbreak.tasks import load_dipoles

    frames = load_dipoles(source)
    names = {f.info["name"] for f in frames}
    assert len(frames) >= 225 and len(names) >= 50 and any(n.startswith("NCI:") for n in names)
    for atoms in frames[::25]:
        group, worst = broken_by(atoms.positions, atoms.numbers, atoms.arrays["dipoles"])
        assert group != "C1" and group == atoms.info["point_group"]
        # recomputed independently of the writer (no transform_labels): atom i carried to π(i), so compare R μ_i with μ_π(i)
        sym = detect_symmetry(atoms.positions, atoms.numbers, tol=0.2)
        mu = atoms.arrays["dipoles"]
        direct = max(np.abs(mu @ r.T - mu[p]).max() for r, p in zip(sym.operations, sym.permutations))
        assert direct == pytest.approx(atoms.info["dipole_break"], abs=1e-6) and worst == pytest.approx(direct, abs=1e-6)
    # the labels break the (approximate) symmetry of the geometry: all GFN2-xTB ones (the selection),
    # and all but a few DFT ones (the selection used GFN2-xTB; the DFT grid is accurate to ~1e-4)
    breaks = np.array([f.info["dipole_break"] for f in frames])
    assert np.mean(breaks > 1e-3) >= (1.0 if source == "gfn2" else 0.98)
    # neutral molecules: Hirshfeld charges sum to 0 up to the grid's integration error
    sums = np.abs([f.arrays["atomic_charges"].sum() for f in frames])
    assert sums.max() < (1e-6 if source == "gfn2" else 1e-3) and np.median(sums) < (1e-6 if source == "gfn2" else 1e-4)


def test_both_label_sources_label_the_same_structures():
    from symbreak.tasks import load_dipoles

    dft, gfn2 = load_dipoles("dft"), load_dipoles("gfn2")
    assert len(dft) == len(gfn2)
    for a, b in zip(dft, gfn2):
        assert a.info["name"] == b.info["name"]
        # the same structures; relaxations on different thread counts differ in the last digits
        np.testing.assert_allclose(a.positions, b.positions, atol=1e-5)
    # two different methods, one physics: the dipoles correlate but are not the same numbers
    x = np.concatenate([a.arrays["dipoles"].ravel() for a in dft])
    y = np.concatenate([b.arrays["dipoles"].ravel() for b in gfn2])
    assert 0.5 < np.corrcoef(x, y)[0, 1] < 0.999


def _regenerated(tmp_path, source, pick):
    from symbreak.labels import generate_dipoles
    from symbreak.tasks import load_dipoles

    committed = load_dipoles(source)
    names = list(dict.fromkeys(f.info["name"] for f in committed))
    chosen = [names[i] for i in pick]
    summary = generate_dipoles(tmp_path / "again.xyz", source=source, names=chosen)
    import ase.io

    again = ase.io.read(tmp_path / "again.xyz", ":")
    expected = [f for f in committed if f.info["name"] in chosen]
    assert summary["molecules"] == 2 and len(again) == len(expected) > 2
    return again, expected


@pytest.mark.slow
def test_gfn2_dipoles_regenerate_and_rotate_with_the_molecule(tmp_path):
    pytest.importorskip("tblite", reason="tblite (GFN2-xTB) not installed: pip install -e '.[chem]'")
    pytest.importorskip("rdkit", reason="RDKit not installed: pip install -e '.[chem]'")
    from symbreak.rotations import random_rotations
    from symbreak.labels import gfn2_atomic_dipoles

    again, expected = _regenerated(tmp_path, "gfn2", [0, -1])  # a G2 and an NCI molecule
    for a, b in zip(again, expected):
        assert a.info["conformer"] == b.info["conformer"]
        np.testing.assert_allclose(a.positions, b.positions, atol=1e-5)  # BFGS on another thread count: last digits
        np.testing.assert_allclose(a.arrays["dipoles"], b.arrays["dipoles"], atol=1e-5)
        np.testing.assert_allclose(a.arrays["atomic_charges"], b.arrays["atomic_charges"], atol=1e-5)
    atoms = expected[0]
    for rot in random_rotations(2, improper=True, seed=7):
        moved, _ = gfn2_atomic_dipoles(atoms.numbers, atoms.positions @ rot.T + 1.0)
        np.testing.assert_allclose(moved, atoms.arrays["dipoles"] @ rot.T, atol=1e-6)


@pytest.mark.slow
def test_dft_dipoles_regenerate(tmp_path):
    pytest.importorskip("pyscf", reason="PySCF not installed: pip install -e '.[chem]'")
    pytest.importorskip("rdkit", reason="RDKit not installed: pip install -e '.[chem]'")
    from symbreak.tasks import load_dipoles

    names = list(dict.fromkeys(f.info["name"] for f in load_dipoles("dft")))
    smallest = sorted(range(len(names)), key=lambda i: len(names[i]))[:2]  # short names: few atoms, fast DFT
    again, expected = _regenerated(tmp_path, "dft", smallest)
    for a, b in zip(again, expected):
        np.testing.assert_allclose(a.positions, b.positions, atol=1e-5)
        # same structure, same grid: the labels agree to the SCF convergence
        np.testing.assert_allclose(a.arrays["dipoles"], b.arrays["dipoles"], atol=1e-4)
        np.testing.assert_allclose(a.arrays["atomic_charges"], b.arrays["atomic_charges"], atol=1e-4)


def test_dipoles_task_has_both_label_sources_and_both_splits():
    """A split that checked only index disjointness passes with 96 % of test structures having a
    conformer in training; the molecule split must leave none."""
    task = get_task("dipoles")
    assert task.subtasks == ("dft", "dft-by-molecule", "gfn2", "gfn2-by-molecule")
    graphs = task.dataset("dft")
    names = [g.molecule for g in graphs]
    (train, val, test), *_ = task.splits(graphs, "dft", 2, 0)
    assert len(train) == round(0.6 * len(graphs)) and not set(train) & set(test) and not set(val) & set(test)
    assert np.mean([names[i] in {names[j] for j in train} for i in test]) > 0.9  # the paper's random split leaks
    for train, val, test in task.splits(graphs, "dft-by-molecule", 3, 0):
        parts = [{names[i] for i in idx} for idx in (train, val, test)]
        assert not parts[0] & parts[2] and not parts[1] & parts[2] and not parts[0] & parts[1]
        assert sorted(train + val + test) == list(range(len(graphs)))
        assert 0.5 < len(parts[0]) / len(set(names)) < 0.7
    assert all(g.sym.point_group != "C1" for g in graphs)
    assert task.leakage(["dft-by-molecule"], 3) == ["dft-by-molecule: 0 % of test structures have a conformer of their molecule in training"]
    with pytest.raises(SymbreakError, match="source must be one of"):
        task.dataset("qm7x")


def test_generate_dipoles_rejects_bad_settings(tmp_path):
    from symbreak.labels import generate_dipoles

    with pytest.raises(SymbreakError, match="source must be one of"):
        generate_dipoles(tmp_path / "x.xyz", source="ccsd")
    with pytest.raises(SymbreakError, match="amplitude"):
        generate_dipoles(tmp_path / "x.xyz", amplitude=-0.1)
    pytest.importorskip("tblite", reason="tblite (GFN2-xTB) not installed: pip install -e '.[chem]'")
    with pytest.raises(SymbreakError, match="not molecules of the data set: nope"):
        generate_dipoles(tmp_path / "x.xyz", names=["nope"])


def test_hirshfeld_charges_sum_to_the_total_charge_and_dipoles_rotate():
    pytest.importorskip("pyscf", reason="PySCF not installed: pip install -e '.[chem]'")
    from symbreak.rotations import random_rotations
    from symbreak.labels import hirshfeld_dft, load_water_modes

    from pyscf import dft, gto

    w = load_water_modes()
    q, mu, _ = hirshfeld_dft(w.numbers, w.positions, basis="def2-SVP")
    assert abs(q.sum()) < 1e-4
    # the identity that validates atomic dipoles: Σ_A q_A R_A + μ_A is the molecule's DFT dipole
    # (a wrong sign of μ_A, or μ_A about another centre, misses it by ~0.1 au)
    mol = gto.M(atom=[[s, p] for s, p in zip(["O", "H", "H"], w.positions.tolist())], basis="def2-SVP", verbose=0)
    mf = dft.RKS(mol)
    mf.xc, mf.grids.level, mf.chkfile = "PBE0", 3, None
    mf.kernel()
    molecular = mf.dip_moment(unit="AU", verbose=0)
    np.testing.assert_allclose(q @ mol.atom_coords() + mu.sum(0), molecular, atol=1e-6)
    assert -0.45 < q[0] < -0.25 and q[1] == pytest.approx(q[2], abs=1e-5)  # Hirshfeld water: O ≈ −0.34
    rot = random_rotations(1, improper=True, seed=3)[0]
    q2, mu2, _ = hirshfeld_dft(w.numbers, w.positions @ rot.T)
    np.testing.assert_allclose(q2, q, atol=1e-4)
    np.testing.assert_allclose(mu2, mu @ rot.T, atol=1e-4)  # the DFT grid is fixed in the lab frame


def test_equivariant_cube_to_cube_of_seed_1_escapes_its_saddle():
    """Seed 1 of the equivariant cube → cube baseline sits on a saddle (loss 0.34, gradient norm ~0.015)
    for ~300 epochs, then converges. A plateau rule that compared each epoch with the previous best
    (200 epochs without one epoch that gains 0.1 %) stopped it at 0.332; measured from the last gain,
    as the trainer now does, the slow descent off the saddle counts as progress and the run escapes,
    as it does with the paper's fixed epochs."""
    from symbreak.bench import plan_jobs
    from symbreak.tasks._relaxed_common import train_with_penalty

    task = get_task("shape-deformation")
    job = plan_jobs(task, models=["e3nn"], losses=["mse"], subtasks=["cube"], folds=2, epochs=2500, lr=0.1, seed=0)[1]
    data = task.dataset("cube")[0]

    def run(patience):
        torch.manual_seed(job.run_seed())
        net = task.build("e3nn")
        x = torch.ones(len(data.pos), 1, dtype=torch.float64)
        opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
        loss = lambda _: ((net(x, data.pos, data.edge_index).mean(0) - data.target) ** 2).mean()  # noqa: E731
        return train_with_penalty(net, lambda e: [None], loss, opt, epochs=600, lam=task.lam, patience=patience, target=1e-10)

    best, history = run(200)
    assert best < 1e-6 and history[200] > 0.3  # patience 200 at 0.1 %: the saddle, escaped (the old rule stopped here at 0.332)
    best, history = run(task.patience)
    assert task.patience is None and best < 1e-6 and history[200] > 0.3  # the paper's fixed epochs: the same saddle, escaped


def test_label_code_moved_to_labels_is_still_importable_from_tasks():
    import symbreak.labels as labels
    import symbreak.tasks as tasks

    for name in ("generate_dipoles", "load_water_modes", "hirshfeld_dft", "broken_by"):
        assert getattr(tasks, name) is getattr(labels, name)


def test_shape_deformation_records_the_loss_of_the_weights_it_keeps():
    """The best epoch's logged loss belongs to the weights before its step; the record must hold the
    kept network's own loss (the θ it reports come from that network)."""
    from symbreak.bench._jobs import Job
    from symbreak.tasks import get_task

    task = get_task("shape-deformation")
    (data,) = task.dataset("prism")
    job = Job(task.name, "prism", "relaxed-e3nn", "mse", 0, 6, 0.1, 0)
    net, mse = task.fit(job, data)
    x = torch.ones(len(data.pos), 1, dtype=torch.float64)
    with torch.no_grad():
        again = float(((net(x, data.pos, data.edge_index).mean(0) - data.target) ** 2).mean())
    assert mse == pytest.approx(again, rel=1e-12, abs=0)
    assert "measured" in task.job_settings()  # older records (the best epoch's logged loss) are not reused


@pytest.mark.parametrize("name", ["shape-deformation", "charged-particle"])
def test_relaxed_tasks_key_the_schedule_they_train_with(name):
    """The relaxed tasks train at the task's ``schedule``; ``--until-plateau`` switches it to
    warm-up, so it must be in the job settings, or a warm-up record would be reused as the paper's."""
    from symbreak.tasks import get_task

    task = get_task(name)
    assert task.schedule == "constant" and task.job_settings()["schedule"] == "constant"
    task.schedule = "warmup"
    assert task.job_settings()["schedule"] == "warmup"


def test_shape_deformation_trains_at_its_schedule():
    from symbreak.bench._jobs import Job
    from symbreak.tasks import get_task

    task = get_task("shape-deformation")
    (data,) = task.dataset("prism")
    job = Job(task.name, "prism", "relaxed-e3nn", "mse", 0, 6, 0.1, 0)
    torch.manual_seed(0)  # fit builds the network from the global generator, as the runner seeds it
    _, constant = task.fit(job, data)
    task.schedule = "warmup"
    torch.manual_seed(0)
    _, warmup = task.fit(job, data)
    assert warmup > constant * 1.002  # warm-up starts at lr/25: less progress in 6 epochs
