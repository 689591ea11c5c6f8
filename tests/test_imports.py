"""Light imports: listing models and tasks loads neither e3nn nor torch-geometric; a missing extra is named."""

import json
import subprocess
import sys

import pytest


def _loaded_after(code: str) -> set[str]:
    out = subprocess.run([sys.executable, "-c", code + "\nimport sys, json; print(json.dumps(sorted(m.split('.')[0] for m in sys.modules)))"],
                         capture_output=True, text=True, check=True)  # fmt: skip
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


@pytest.mark.parametrize(
    "code",
    [
        "import symbreak.models; symbreak.models.available_models(); symbreak.models.model_config('egnn+mlp')",
        "from symbreak.cli import main; main(['bench', '--list'])",
        "import symbreak.tasks, symbreak.nn",
    ],
)
def test_listing_imports_neither_e3nn_nor_torch_geometric(code):
    loaded = _loaded_after(code)
    assert "symbreak" in loaded
    assert not {"e3nn", "torch_geometric"} & loaded


def test_building_a_model_imports_only_what_it_needs():
    loaded = _loaded_after("from symbreak.models import build_model; build_model('egnn+mlp')")
    assert "torch" in loaded and "e3nn" not in loaded
    assert "e3nn" in _loaded_after("from symbreak.models import build_model; build_model('sann')")


def test_a_missing_extra_is_named():
    code = "import sys; sys.modules['e3nn'] = None\nfrom symbreak.models import build_model\ntry:\n    build_model('relaxed-e3nn')\nexcept Exception as e:\n    print(type(e).__name__, e)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.startswith("SymbreakError") and "pip install -e '.[ml]'" in out and "e3nn" in out
