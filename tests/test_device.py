"""Device-cleanness without a GPU: every tensor a model, loss or tool creates follows its input.

Run under ``with torch.device("meta")``, any tensor made without an explicit device lands on the
meta device and the first operation mixing it with the CPU inputs fails ("cannot copy out of meta
tensor"); code that creates everything on its input's device runs unchanged. On a CUDA machine the
same code paths are what keep a GPU run from failing on a stray CPU tensor.
"""

from types import SimpleNamespace

import pytest
import torch

from symbreak.models import build_model

SPECS = ["schnet", "dimenet++", "egnn", "painn", "painn-vector", "e3nn", "relaxed-e3nn", "sann", "egnn+mlp", "painn+noise", "egnn+randvec", "sann+randvec"]


def _batch():
    from symbreak.training import collate
    from symbreak.tasks import get_task

    return collate(get_task("dipoles").dataset("dft")[:6])


@pytest.mark.parametrize("spec", SPECS)
def test_models_create_tensors_only_on_their_inputs_device(spec):
    torch.manual_seed(0)
    model = build_model(spec)
    batch = _batch()
    for mode in ("train", "eval"):
        getattr(model, mode)()
        with torch.device("meta"):
            out = model(batch)
        assert out.device.type == "cpu" and out.shape == batch.pos.shape


@pytest.mark.parametrize("loss", ["cd", "cd2", "mse", "sbcd", "sbcd2", "sbmse"])
def test_losses_create_tensors_only_on_their_inputs_device(loss):
    from symbreak.metrics import measure

    batch = _batch()
    pred = torch.randn(batch.pos.shape, requires_grad=True)
    with torch.device("meta"):
        value = measure(loss, pred, batch.y, batch, "vectors")
        value.backward()
    assert value.device.type == "cpu" and pred.grad.device.type == "cpu"


def test_training_averaging_and_testing_kit_are_device_clean():
    from symbreak.bench import fit
    from symbreak.symmetrize import RandomRotation, RotationalAverage, equivariance_error
    from symbreak.tasks import get_task
    from symbreak.testing import assert_equivariant

    torch.manual_seed(0)
    graphs = get_task("dipoles").dataset("dft")[:6]
    model = build_model("egnn", hidden=8, layers=1)
    batch = _batch()
    data = SimpleNamespace(z=batch.z, pos=batch.pos, batch=batch.batch, num_graphs=batch.num_graphs)
    average, random = RotationalAverage(model, "1i"), RandomRotation(model, seed=0)
    with torch.device("meta"):
        fit(model, graphs, graphs, predict=lambda m, b: m(b), loss="sbcd", kind="vectors", epochs=1, lr=1e-3, batch_size=3)
        assert average(data).device.type == "cpu" and random(data).device.type == "cpu"
        assert equivariance_error(model, data, rotations=2, reference_grid="1i").mean < 1e-4
        assert_equivariant(model.eval(), data, n_rotations=2, atol=1e-4)


def test_device_option_is_checked():
    from symbreak import SymbreakError
    from symbreak.bench._runner import resolve_device

    assert resolve_device("cpu") == "cpu"
    assert resolve_device("auto") == ("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(SymbreakError, match="unknown device"):
        resolve_device("gpu0")
    if not torch.cuda.is_available():
        with pytest.raises(SymbreakError, match="sees no GPU"):
            resolve_device("cuda")
