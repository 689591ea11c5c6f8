"""Batched rotational averaging and the symmetry-breaking measure, against naive loops, in one run.

    python bench/averaging.py [--quick]

1. RotationalAverage (all M rotated copies in one forward) vs a Python loop calling the model once
   per rotation, for a small MLP on a 20-atom structure: same result, time ratio.
2. SBCD over a molecule's whole group (one batched metric call) vs a Python loop of |G| Chamfer
   calls, for groups of order 4 to 120.
3. SBCD and SB-MSE of a whole batch of the dipole set (molecules padded to one tensor) vs the
   per-molecule loop, forward and backward, at batch 16 and 128: same value, time ratio.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from symbreak import detect_symmetry
from symbreak.metrics import chamfer_distance, sbcd, transform_labels
from symbreak.rotations import grid
from symbreak.symmetrize import RotationalAverage
from symbreak.testing import random_symmetric_structure


def best_time(fn, repeat: int) -> float:
    fn()
    best = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    repeat = 3 if args.quick else 10
    torch.manual_seed(0)
    mlp = torch.nn.Sequential(torch.nn.Linear(3, 64), torch.nn.SiLU(), torch.nn.Linear(64, 64), torch.nn.SiLU(), torch.nn.Linear(64, 1)).double()
    model = lambda x: mlp(x - x.mean(dim=-2, keepdim=True)).sum(dim=(-2, -1))  # noqa: E731
    x = torch.as_tensor(np.random.default_rng(0).normal(size=(20, 3)))

    print("RotationalAverage: one batched forward vs a loop over rotations (20 atoms, MLP 3-64-64-1)")
    print(f"  {'grid':>5s} {'M':>5s} {'batched ms':>11s} {'loop ms':>9s} {'ratio':>6s} {'|diff|':>8s}")
    with torch.no_grad():
        for spec in ("2i", "3i", "4i") if args.quick else ("2i", "3i", "4i", "6i"):
            avg = RotationalAverage(model, grid=spec, output="0e")
            rots, w = grid(spec)
            r, wt = torch.as_tensor(rots), torch.as_tensor(w)

            def loop():
                c = x.mean(0)
                return sum(wt[m] * model(((x - c) @ r[m].T + c)[None])[0] for m in range(len(r)))

            tb, tl = best_time(lambda: avg(x), repeat), best_time(loop, repeat)
            diff = float((avg(x) - loop()).abs())
            print(f"  {spec:>5s} {len(r):5d} {1e3 * tb:11.2f} {1e3 * tl:9.2f} {tl / tb:6.1f} {diff:8.1e}")

    print("\nSBCD over the whole group: one batched call vs a loop of |G| Chamfer calls")
    print(f"  {'group':>6s} {'|G|':>4s} {'atoms':>5s} {'batched ms':>11s} {'loop ms':>9s} {'ratio':>6s}")
    rng = np.random.default_rng(1)
    for name in ("C2v", "D6h", "Oh", "Ih"):
        pos, z = random_symmetric_structure(name, n_seeds=1, special=False, seed=2)
        sym = detect_symmetry(pos, z)
        pred, target = torch.as_tensor(rng.normal(size=pos.shape)), torch.as_tensor(rng.normal(size=pos.shape))

        def loop():
            images = transform_labels(target, sym.operations, sym.permutations, "vectors")
            return min(chamfer_distance(pred, img) for img in images)

        tb, tl = best_time(lambda: sbcd(pred, target, sym), repeat), best_time(loop, repeat)
        assert abs(float(sbcd(pred, target, sym)) - float(loop())) < 1e-9
        print(f"  {sym.point_group:>6s} {sym.order:4d} {len(pos):5d} {1e3 * tb:11.2f} {1e3 * tl:9.2f} {tl / tb:6.1f}")

    print("\nBatch losses on the dipole set (forward + backward): padded batch vs a loop over molecules")
    print(f"  {'metric':>7s} {'batch':>5s} {'padded ms':>10s} {'loop ms':>9s} {'ratio':>6s} {'|diff|':>8s}")
    from torch_geometric.loader import DataLoader

    from symbreak.metrics import symmetry_breaking_measure
    from symbreak.tasks import get_task

    graphs = get_task("dipoles").dataset("dft")
    for metric in ("chamfer", "mse"):
        for size in (16, 128):
            b = next(iter(DataLoader(graphs, batch_size=size)))
            pred = torch.randn_like(b.y).requires_grad_(True)
            syms, counts = list(b.sym), torch.bincount(b.batch).tolist()

            def padded():
                value = symmetry_breaking_measure(pred, b.y, syms, metric=metric, batch=b.batch)
                value.backward()
                return value

            def per_molecule():
                value = symmetry_breaking_measure(list(torch.split(pred, counts)), list(torch.split(b.y, counts)), syms, metric=metric)
                value.backward()
                return value

            tb, tl = best_time(padded, repeat), best_time(per_molecule, repeat)
            diff = float((padded() - per_molecule()).detach().abs())
            print(f"  {metric:>7s} {size:5d} {1e3 * tb:10.2f} {1e3 * tl:9.2f} {tl / tb:6.1f} {diff:8.1e}")


if __name__ == "__main__":
    main()
