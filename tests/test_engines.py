"""``symbreak bench --engine ray``: the same records as the local engine, a dead worker's job retried,
a killed driver resumed. Skipped without Ray (``pip install -e '.[scale]'``)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ray = pytest.importorskip("ray", reason="the Ray engine needs ray: pip install -e '.[scale]'")
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::ResourceWarning", "ignore::pytest.PytestUnraisableExceptionWarning")

from symbreak.bench import run_benchmark  # noqa: E402

PLUGIN = str(Path(__file__).parent / "data" / "flaky_task.py")


@pytest.fixture(scope="module", autouse=True)
def cluster():
    """One local Ray cluster for the in-process tests (the engine reuses a running one and leaves it running)."""
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield
    ray.shutdown()


def _records(path):
    return {r["key"]: r for r in map(json.loads, Path(path).read_text().splitlines())}


def test_ray_gives_the_records_of_the_local_engine(tmp_path):
    common = dict(models=["egnn", "painn"], losses=["sbmse"], folds=1, epochs=3, progress=False, device="cpu")
    local = run_benchmark("square-ssb", out=tmp_path / "local", **common)
    remote = run_benchmark("square-ssb", out=tmp_path / "ray", engine="ray", workers=2, **common)
    assert remote.ran == local.ran == 2
    a, b = _records(tmp_path / "local" / "results.jsonl"), _records(tmp_path / "ray" / "results.jsonl")
    assert a.keys() == b.keys()
    for key in a:
        assert a[key]["test"] == pytest.approx(b[key]["test"], rel=1e-6)


def test_a_dead_worker_has_its_job_retried(tmp_path):
    result = run_benchmark("flaky", out=tmp_path / "out", engine="ray", workers=2, plugins=[PLUGIN], progress=False)
    assert result.ran == 6 and len(_records(tmp_path / "out" / "results.jsonl")) == 6
    assert sorted(p.name for p in (tmp_path / "out" / "partial").glob("died-*")) == ["died-0", "died-1"]  # both "dies" jobs lost a worker, then finished


def test_a_killed_driver_loses_only_the_jobs_in_flight(tmp_path):
    env = {**os.environ, "FLAKY_SLEEP": "1.0", "OMP_NUM_THREADS": "1"}
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "symbreak.cli", "bench", "flaky", "--plugins", PLUGIN, "--engine", "ray", "--workers", "1", "--out", str(out), "--no-progress"]
    driver = subprocess.Popen(cmd, env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    results = out / "results.jsonl"
    start = time.time()
    while time.time() - start < 180 and (not results.exists() or len(results.read_text().splitlines()) < 2):
        time.sleep(0.1)
    os.killpg(driver.pid, signal.SIGKILL)  # the driver and the local cluster it started, mid-run
    driver.wait()
    before = _records(results)
    assert 2 <= len(before) < 6
    rerun = run_benchmark("flaky", out=out, engine="ray", workers=1, plugins=[PLUGIN], progress=False)
    after = _records(results)
    assert len(after) == 6 and rerun.ran == 6 - len(before)  # nothing finished was run again
    assert all(after[k] == v for k, v in before.items())


def test_a_long_job_in_shards_merges_to_the_unsharded_record(tmp_path):
    """Canonicalization split into 3 Ray tasks: each shard replays the job's random stream up to its
    first molecule, so the merged record equals the one-piece job's, up to the order of float sums."""
    common = dict(models=["symbreak", "pca"], subtasks=["noise"], limit=14, progress=False)
    whole = _records(run_benchmark("canonicalization", out=tmp_path / "whole", **common).out / "results.jsonl")
    split = _records(run_benchmark("canonicalization", out=tmp_path / "split", engine="ray", shards=3, **common).out / "results.jsonl")
    assert whole.keys() == split.keys()
    for key, rec in whole.items():
        assert split[key]["shards"] == 3 and split[key]["per_rank"] == rec["per_rank"] and split[key]["molecules"] == rec["molecules"] == 14
        for m, v in rec["test"].items():
            assert split[key]["test"][m] == pytest.approx(v, rel=1e-12, nan_ok=True)
