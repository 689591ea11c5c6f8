"""Short benchmark jobs reach the stored numbers: refactors keep every published page reproducible."""

import json
import math
import sys
from pathlib import Path

HERE = Path(__file__).parent / "golden"
sys.path.insert(0, str(HERE))

from make_golden import golden_jobs  # noqa: E402


def test_short_jobs_reach_the_stored_numbers():
    """When a change moves these numbers on purpose, regenerate golden.json and bump
    ``symbreak.bench._runner.RESULTS_VERSION``: records of the old numbers must not be reused.

    rtol 1e-5: three epochs of float32 training land within 3e-6 of each other on different x86
    CPUs (their vector paths round sums differently); a real change moves them by far more."""
    stored = json.loads((HERE / "golden.json").read_text())
    got = dict(golden_jobs())
    assert set(got) == set(stored)
    for name, measures in stored.items():
        for key, value in measures.items():
            assert math.isclose(got[name][key], value, rel_tol=1e-5, abs_tol=1e-12), (name, key, got[name][key], value)
