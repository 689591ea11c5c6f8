"""bench/gpu/water_pet_paper.py (the water/PET experiment at the paper's size, issue 28) on the CPU with
``--tiny``, and PET's ``transformer_layers`` (the paper's N_TL): invariances, and the default's parameter names."""

from __future__ import annotations

import importlib.util
import json
import math
import shutil
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("ase")

from symbreak._errors import SymbreakError  # noqa: E402
from symbreak.models import build_model  # noqa: E402
from symbreak.rotations import random_rotations  # noqa: E402

SCRIPT = Path(__file__).resolve().parent.parent / "bench" / "gpu" / "water_pet_paper.py"
STEPS = ["train", "box", "md-equilibrate", "md-raw", "md-mts-2i", "md-random"]


@pytest.fixture(scope="module")
def script():
    spec = importlib.util.spec_from_file_location("water_pet_paper", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _finite(x) -> bool:
    return x is not None and math.isfinite(x)


def test_tiny_run_writes_finite_results_then_resumes_without_running_anything(script, tmp_path):
    out = tmp_path / "run"
    first = script.main(["--tiny", "--out", str(out), "--device", "cpu", "--threads", "1"])
    assert first["complete"] and first["ran"] == STEPS
    for name in ("train", "box", "md-equilibrate", "md-raw", "md-mts-2i", "md-random", "summary", "settings"):
        assert (out / f"{name}.json").is_file(), name
    assert (out / "models" / "pet.pt").is_file() and (out / "report.md").is_file()
    train = json.loads((out / "train.json").read_text())
    assert all(_finite(v) for v in train["test"].values())
    box = json.loads((out / "box.json").read_text())
    assert box["atoms"] == 3 * box["molecules"] and all(_finite(e) for e in box["energy_eV"])
    for mode in ("raw", "mts-2i", "random"):
        res = json.loads((out / f"md-{mode}.json").read_text())
        assert res["frames"] >= 4 and res["periodic"]
        for key in ("drift_meV_per_molecule_per_ns", "D_O_A2_per_ps", "orientation_F_cos_range_kT", "temperature_mean_K", "ms_per_step"):
            assert _finite(res[key]), (mode, key)
        assert _finite(res["g_OO_first_peak"]["g"]) and (out / f"md-{mode}" / "trajectory.json").is_file()
    # the model is the paper's architecture at tiny width: 2 message-passing layers of 2 transformer layers
    from symbreak.models import load_model

    model = load_model(out / "models" / "pet.pt")
    assert [len(layer.blocks) for layer in model.layers] == [2, 2]
    # a second call finds every step done: nothing runs, nothing is rewritten
    stamps = {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file() and p.name not in ("summary.json", "report.md", "settings.json")}
    second = script.main(["--tiny", "--out", str(out), "--device", "cpu", "--threads", "1"])
    assert second["complete"] and second["ran"] == []
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps
    assert second["md"] == first["md"]

    # an MD run stopped after every chunk (--max-minutes 0) and resumed gives the same trajectories, bit for bit
    again = tmp_path / "again"
    again.mkdir()
    for name in ("settings.json", "train.json", "box.json", "box.npz"):
        shutil.copy(out / name, again / name)
    shutil.copytree(out / "models", again / "models")
    calls = []
    while not calls or not calls[-1]["complete"]:
        calls.append(script.main(["--tiny", "--out", str(again), "--device", "cpu", "--threads", "1", "--max-minutes", "0"]))
        assert len(calls) < 12
    assert len(calls) > 2 and sorted({s for c in calls for s in c["ran"]}) == sorted(STEPS[2:])
    for mode in ("equilibrate", "raw", "mts-2i", "random"):
        a, b = script.md_frames(out / f"md-{mode}"), script.md_frames(again / f"md-{mode}")
        assert a.keys() == b.keys()
        for key in a:
            np.testing.assert_array_equal(a[key], b[key], err_msg=f"{mode}: {key}")


def test_the_box_has_64_molecules_at_the_shipped_density_and_no_close_contacts(script):
    from symbreak.labels import load_water

    raw = load_water(script._data_dir(), "bulk")
    density = script.shipped_density(raw)
    assert density == pytest.approx(0.967, abs=1e-3)
    atoms = script.water_box(64, density, seed=0)
    assert len(atoms) == 192 and list(atoms.numbers[:3]) == [8, 1, 1]
    mass_g = atoms.get_masses().sum() / 6.02214076e23
    assert mass_g / (atoms.get_volume() * 1e-24) == pytest.approx(density, rel=1e-3)
    assert atoms.info["closest_intermolecular_A"] >= 1.7
    pos = atoms.positions.reshape(64, 3, 3)
    np.testing.assert_allclose(np.linalg.norm(pos[:, 1:] - pos[:, :1], axis=-1), 0.9572, atol=1e-9)
    np.testing.assert_array_equal(script.water_box(64, density, seed=0).positions, atoms.positions)
    assert not np.allclose(script.water_box(64, density, seed=1).positions, atoms.positions)


def test_the_script_refuses_another_runs_folder(script, tmp_path):
    (tmp_path / "settings.json").write_text(json.dumps({"identity": {"settings": {"hidden": 128}, "seed": 0}}))
    with pytest.raises(SystemExit, match="other settings"):
        script.main(["--tiny", "--out", str(tmp_path), "--device", "cpu"])
    with pytest.raises(SystemExit, match="--modes"):
        script.main(["--tiny", "--out", str(tmp_path / "x"), "--device", "cpu", "--modes", "raw,grid"])


# ---------------------------------------------------------------------------------- transformer_layers


def _water(n_side: int = 2, a: float = 3.1, seed: int = 0):
    """n_side³ randomly oriented water molecules on a cubic lattice of spacing a (Å), periodic."""
    rng = np.random.default_rng(seed)
    mol = np.array([[0.0, 0.0, 0.0], [0.0, 0.76, 0.59], [0.0, -0.76, 0.59]])
    pos = [mol @ random_rotations(1, seed=rng)[0].T + a * np.array(idx) + rng.normal(scale=0.1, size=3) for idx in np.ndindex(n_side, n_side, n_side)]
    return np.concatenate(pos), np.array([8, 1, 1] * n_side**3), a * n_side * np.eye(3)


def _batch(pos, z, cell):
    t = lambda a: torch.as_tensor(a, dtype=torch.float64)  # noqa: E731
    return SimpleNamespace(z=torch.as_tensor(z), pos=t(pos), batch=torch.zeros(len(z), dtype=torch.long), cell=t(cell)[None], num_graphs=1)


@pytest.mark.parametrize("spec", ["pet", "pet-invariant"])
def test_two_transformer_layers_keep_permutation_and_translation_invariance(spec):
    torch.manual_seed(0)
    model = build_model(spec, hidden=16, layers=2, transformer_layers=2, cutoff=3.5).double()
    assert [len(layer.blocks) for layer in model.layers] == [2, 2]
    pos, z, cell = _water()
    e, f = model.energy_and_forces(_batch(pos, z, cell))
    rng = np.random.default_rng(1)
    perm = rng.permutation(len(z))
    e_perm, f_perm = model.energy_and_forces(_batch(pos[perm], z[perm], cell))
    assert abs(float(e_perm - e)) < 1e-9
    np.testing.assert_allclose(f_perm.detach().numpy(), f.detach().numpy()[perm], atol=1e-9)
    moved = pos + rng.normal(size=3)
    moved[:3] += cell[2]  # one molecule into the next cell: the same structure
    e_move, f_move = model.energy_and_forces(_batch(moved, z, cell))
    assert abs(float(e_move - e)) < 1e-9
    np.testing.assert_allclose(f_move.detach().numpy(), f.detach().numpy(), atol=1e-9)
    # the second transformer layer does something: not the network of one layer with extra weights
    torch.manual_seed(0)
    single = build_model(spec, hidden=16, layers=2, cutoff=3.5).double()
    assert abs(float(single.energy_and_forces(_batch(pos, z, cell))[0] - e)) > 1e-6


def test_two_transformer_layers_make_tensors_only_on_their_inputs_device():
    torch.manual_seed(0)
    model = build_model("pet", hidden=16, layers=2, transformer_layers=2, cutoff=3.5).double()
    batch = _batch(*_water())
    with torch.device("meta"):  # a tensor made without its input's device lands on meta and breaks the run (tests/test_device.py)
        e, f = model.energy_and_forces(batch)
    assert e.device.type == "cpu" and f.shape == batch.pos.shape


def test_one_transformer_layer_is_the_pet_every_checkpoint_holds():
    layer = ["norm1.weight", "norm1.bias", "norm2.weight", "norm2.bias", "qkv.weight", "qkv.bias", "out.weight", "out.bias", "ff.0.weight", "ff.0.bias", "ff.2.weight", "ff.2.bias"]
    edge_in = ["0.weight", "0.bias", "2.weight", "2.bias"]
    head = ["energy_shift", "energy_scale", "embedding.weight", "rbf.freq"] + [f"edge_in.{k}.{p}" for k in range(2) for p in edge_in]
    tail = ["neighbour.weight", "energy_mlp.0.weight", "energy_mlp.0.bias", "energy_mlp.2.weight", "energy_mlp.2.bias"]
    old = head + [f"layers.{k}.{p}" for k in range(2) for p in layer] + tail
    old_invariant = head + [f"layers.{k}.{p}" for k in range(2) for p in layer] + ["angle_bias.weight", "angle_bias.bias"] + tail
    for spec, keys in (("pet", old), ("pet-invariant", old_invariant)):
        torch.manual_seed(0)
        default = build_model(spec, hidden=16, layers=2)
        torch.manual_seed(0)
        explicit = build_model(f"{spec}[transformer_layers=1]", hidden=16, layers=2)
        assert list(default.state_dict()) == keys and list(explicit.state_dict()) == keys
        for (k, a), b in zip(default.state_dict().items(), explicit.state_dict().values(), strict=True):
            assert torch.equal(a, b), k
        build_model(spec, hidden=16, layers=2).load_state_dict(default.state_dict(), strict=True)
    # and one transformer layer leaves a model's identity (job keys) as it was
    from symbreak.models import model_config

    assert "transformer_layers" not in model_config("pet") and model_config("pet[transformer_layers=2]")["transformer_layers"] == 2


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "2"])
def test_transformer_layers_is_checked_in_one_line(bad):
    with pytest.raises(SymbreakError, match=r"^pet: transformer_layers must be an integer >= 1, got") as info:
        build_model("pet", transformer_layers=bad)
    assert "\n" not in str(info.value)
    with pytest.raises(SymbreakError, match="transformer_layers must be an integer >= 1"):
        build_model(f"pet-invariant[transformer_layers={bad!r}]")
    with pytest.raises(SymbreakError, match="takes no option"):
        build_model("egnn", transformer_layers=2)
