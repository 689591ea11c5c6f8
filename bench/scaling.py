"""Scaling out on this machine: a benchmark grid on the local engine and on Ray with 1 and 2 workers,
and data-parallel training with 1 and 2 processes. Prints wall times and speed-ups against the
one-process run measured in the same run; writes results/bench/scaling.json.

    python bench/scaling.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SYMBREAK = [sys.executable, "-m", "symbreak.cli"]


def wall(cmd: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{done.stderr[-3000:]}")
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a smaller grid")
    parser.add_argument("--out", default="results/bench")
    args = parser.parse_args()
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    scratch = Path(tempfile.mkdtemp())
    grid = ["square-ssb", "--quick", "--folds", "2", "--models", "egnn,painn,schnet,egnn+mlp", "--loss", "sbcd,sbmse", "--no-progress", "--epochs", "5" if args.quick else "100"]
    rows = {}
    try:
        rows["local engine, 1 process"] = wall(SYMBREAK + ["bench", *grid, "--out", str(scratch / "local")], env)
        for workers in (1, 2):
            rows[f"ray engine, {workers} worker(s)"] = wall(SYMBREAK + ["bench", *grid, "--engine", "ray", "--workers", str(workers), "--out", str(scratch / f"ray{workers}")], env)
        script = str(ROOT / "tests" / "data" / "ddp_fit.py")
        env = {**env, "DDP_COPIES": "32" if args.quick else "256", "DDP_EPOCHS": "3" if args.quick else "4", "DDP_HIDDEN": "128", "DDP_BATCH": "64"}
        rows["fit, 1 process"] = wall([sys.executable, script, str(scratch / "one.json")], env)
        rows["fit, 2 processes (torchrun, gloo)"] = wall([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", script, str(scratch / "two.json")], env)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print(f"Scaling on this machine ({os.cpu_count()} cores), {'quick' if args.quick else 'full'}: square-ssb, 16 jobs (4 models × 2 losses × 2 folds) of "
          f"{grid[-1]} epochs; EGNN fit on {env['DDP_COPIES']} × 2 structures, hidden 128, global batch 64, {env['DDP_EPOCHS']} epochs")
    base = {"ray": rows["local engine, 1 process"], "fit": rows["fit, 1 process"]}
    for name, seconds in rows.items():
        ref = base["fit"] if name.startswith("fit") else base["ray"]
        print(f"  {name:36s} {seconds:7.1f} s   speed-up {ref / seconds:4.2f}×")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "scaling.json").write_text(json.dumps({"cores": os.cpu_count(), "quick": args.quick, "seconds": rows}, indent=1) + "\n")


if __name__ == "__main__":
    main()
