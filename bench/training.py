"""Training throughput: structures per second per model, and the share of each step spent in the loss.

    python bench/training.py [--quick] [--device auto|cpu|cuda|all] [--compile] [--out DIR]

On the dipole set (DFT labels), for each model at batch 16 and 128, with the batches already on
the device (collated once, symmetries padded in the data pipeline):

- a full training step (forward, SBCD, backward, AdamW step), timed over several steps with the
  device synchronised: structures/s;
- the loss alone (SBCD forward and backward on a prediction of the same shape): its share of a
  step, and, as the reference measured in the same run, the per-molecule Python loop that the
  padded loss replaced (``symmetry_breaking_measure`` with a callable metric): the ratio.

``--device all`` measures every device present (the CPU, and CUDA when there is a GPU); the GPU
figures are also compared with the same machine's CPU. ``--compile`` adds a
``torch.compile(mode="reduce-overhead")`` run of each model (CUDA). Results: a table on the
terminal and ``training-<devices>.json`` in ``--out`` (default ``results/bench``).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import torch

from symbreak.training import collate
from symbreak.metrics import chamfer_distance, measure, symmetry_breaking_measure
from symbreak.models import build_model
from symbreak.tasks import get_task

MODELS = ("schnet", "dimenet++", "egnn", "painn", "sann", "egnn+mlp")


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def _timed(fn, steps: int, device: str) -> float:
    """Seconds per call, after two warm-up calls."""
    for _ in range(2):
        fn()
    _sync(device)
    start = time.perf_counter()
    for _ in range(steps):
        fn()
    _sync(device)
    return (time.perf_counter() - start) / steps


def measure_model(spec: str, graphs: list, batch_size: int, device: str, steps: int, compile_: bool = False) -> dict:
    torch.manual_seed(0)
    model = build_model(spec).to(device)
    prepare = getattr(model, "prepare_data", lambda g: g)
    prepared = [prepare(g) for g in graphs]
    count = min(steps + 2, max(1, len(graphs) // batch_size))  # distinct batches, reused in turn
    batches = [collate(prepared[i * batch_size : (i + 1) * batch_size]).to(device) for i in range(count)]
    if compile_:
        model = torch.compile(model, mode="reduce-overhead", dynamic=True)  # atom counts differ from batch to batch
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    state = {"k": 0}

    def step() -> None:
        batch = batches[state["k"] % len(batches)]
        state["k"] += 1
        opt.zero_grad()
        measure("sbcd", model(batch), batch.y, batch, "vectors").backward()
        opt.step()

    def loss_only(batch) -> None:
        pred = batch.y.detach().clone().mul_(0.9).requires_grad_(True)
        measure("sbcd", pred, batch.y, batch, "vectors").backward()

    def loss_loop(batch) -> None:  # the reference: one Python iteration per molecule
        pred = batch.y.detach().clone().mul_(0.9).requires_grad_(True)
        symmetry_breaking_measure(pred, batch.y, list(batch.sym), metric=chamfer_distance, kind="vectors", batch=batch.batch).backward()

    model.train()
    t_step = _timed(step, steps, device)
    t_loss = _timed(lambda: loss_only(batches[0]), steps, device)
    t_loop = _timed(lambda: loss_loop(batches[0]), steps, device)
    return {
        "model": spec, "batch": batch_size, "device": device, "compiled": compile_,
        "structures_per_s": batch_size / t_step, "step_ms": 1e3 * t_step, "loss_ms": 1e3 * t_loss,
        "loss_share": t_loss / t_step, "loop_loss_ms": 1e3 * t_loop, "loss_speedup": t_loop / t_loss,
    }  # fmt: skip


def _devices(choice: str) -> list[str]:
    if choice == "all":
        return ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    if choice == "auto":
        return ["cuda" if torch.cuda.is_available() else "cpu"]
    return [choice]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="two models, few steps: a smoke run")
    ap.add_argument("--device", default="all", help="auto, cpu, cuda or all (default: every device present)")
    ap.add_argument("--compile", action="store_true", help="also time torch.compile(mode='reduce-overhead') runs")
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--batches", default="16,128")
    ap.add_argument("--out", default="results/bench")
    args = ap.parse_args()
    models = ["egnn", "sann"] if args.quick else args.models.split(",")
    sizes = [int(b) for b in args.batches.split(",")]
    graphs = get_task("dipoles").dataset("dft")
    print(f"dipole set: {len(graphs)} structures, {sum(g.num_nodes for g in graphs) / len(graphs):.1f} atoms each on average; "
          f"torch {torch.__version__}, {torch.get_num_threads()} CPU threads, OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', '-')}")  # fmt: skip
    rows = []
    header = f"{'device':6s} {'model':10s} {'batch':>5s} {'comp':>4s} {'struct/s':>9s} {'step ms':>8s} {'loss ms':>8s} {'loss %':>7s} {'loop ms':>8s} {'loop/padded':>11s}"
    print(header)
    for device in _devices(args.device):
        for compile_ in (False, True) if args.compile else (False,):
            for spec in models:
                for size in sizes:
                    steps = 3 if args.quick else (20 if size <= 16 else 8)
                    row = measure_model(spec, graphs, size, device, steps, compile_)
                    rows.append(row)
                    print(f"{device:6s} {spec:10s} {size:5d} {'yes' if compile_ else 'no':>4s} {row['structures_per_s']:9.0f} {row['step_ms']:8.1f} "
                          f"{row['loss_ms']:8.2f} {100 * row['loss_share']:6.1f}% {row['loop_loss_ms']:8.2f} {row['loss_speedup']:10.1f}x", flush=True)  # fmt: skip
    cpu = {(r["model"], r["batch"]): r for r in rows if r["device"] == "cpu" and not r["compiled"]}
    gpu = [r for r in rows if r["device"].startswith("cuda")]
    if gpu and cpu:
        print("\nGPU vs this machine's CPU (structures/s ratio):")
        for r in gpu:
            ref = cpu.get((r["model"], r["batch"]))
            if ref:
                print(f"  {r['model']:10s} batch {r['batch']:4d} {'compiled' if r['compiled'] else 'eager':8s} {r['structures_per_s'] / ref['structures_per_s']:6.1f}x")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    name = "training-" + "-".join(sorted({r["device"].split(":")[0] for r in rows})) + ".json"
    (out / name).write_text(json.dumps({"torch": str(torch.__version__), "threads": torch.get_num_threads(), "rows": rows}, indent=1) + "\n")
    print(f"\nwritten {out / name}")


if __name__ == "__main__":
    main()
