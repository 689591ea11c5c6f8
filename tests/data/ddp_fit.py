"""Train EGNN on the square-ssb structures with ``symbreak.training.fit``; run alone or under torchrun.

Usage: python ddp_fit.py OUT.json  |  torchrun --nproc_per_node 2 ddp_fit.py OUT.json
Writes the validation curve (rank 0). The global batch is 4 either way; DDP_COPIES, DDP_EPOCHS,
DDP_HIDDEN and DDP_BATCH make it larger (bench/scaling.py).
"""

import json
import os
import sys

import torch

from symbreak.models import build_model
from symbreak.tasks import get_task
from symbreak.training import fit, init_distributed

rank, world = init_distributed()
task = get_task("square-ssb")
copies, epochs, hidden, batch = (int(os.environ.get(k, d)) for k, d in (("DDP_COPIES", 2), ("DDP_EPOCHS", 6), ("DDP_HIDDEN", 16), ("DDP_BATCH", 4)))
graphs = task.dataset("") * copies  # 2 structures per copy: global batches of 4, two per process under two processes
torch.manual_seed(0)
model = build_model("egnn", hidden=hidden)
result = fit(model, graphs, graphs[:4], predict=task.predict, loss="sbmse", kind="positions", epochs=epochs, lr=1e-2, batch_size=batch, seed=3, select="last", schedule="onecycle")
if rank == 0:
    json.dump({"world": world, "val": [h["val"] for h in result.history], "train": [h["train"] for h in result.history]}, open(sys.argv[1], "w"))
