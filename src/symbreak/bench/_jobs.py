r"""A benchmark job: what names one training run (:class:`Job`), its key, and its record."""

from __future__ import annotations

import json
import zlib
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["Job", "job_record", "RESULTS_VERSION", "NOISE_SIGMAS"]

#: the symbreak version whose numbers the job records reproduce: part of every job's key. It moves
#: when a change moves any result (tests/test_golden.py fails then: bump this with the golden file),
#: not with every release, so records stay reusable across versions that compute the same numbers
RESULTS_VERSION = "0.2.0"

#: σ values (Å) tried for every "+noise" model; the table reports the best (SANN paper, §6)
NOISE_SIGMAS = (0.001, 0.01, 0.1)


@dataclass(frozen=True)
class Job:
    """One training run. Its :meth:`key` identifies it in ``results.jsonl``: equal keys are not rerun.

    The identity fields (task … limit) name the run and seed its random numbers (:meth:`run_seed`,
    unchanged when settings are added, so a rerun draws the same numbers). ``settings`` holds
    everything else that changes the result: batch size, patience, which epoch is kept, the
    schedule, the measures recorded, the model's resolved options (defaults included) and the
    symbreak version. Both go into the key, so a record written under other settings is never reused.
    ``model`` is the spec as written, not its canonical form (``str(ModelSpec.parse(model))``): the
    keys and seeds of stored records depend on the spelling, so ``"sann[layers=3,num_radial=6]"``
    and ``"sann[layers=3, num_radial=6]"`` are two jobs of one model, with their own seeds.
    """

    task: str
    subtask: str
    model: str
    loss: str
    fold: int
    epochs: int
    lr: float
    seed: int
    sigma: float | None = None
    limit: int | None = None
    settings: dict[str, Any] = field(default_factory=dict, compare=False)

    def _identity(self) -> dict[str, Any]:
        fields = {k: v for k, v in asdict(self).items() if k != "settings"}
        if fields["limit"] is None:  # seeds of jobs planned before `limit` existed stay the same
            del fields["limit"]
        return fields

    def key(self) -> str:
        return json.dumps({**self._identity(), "settings": self.settings}, sort_keys=True, default=str)

    def run_seed(self) -> int:
        """A seed derived from what names the job: reruns repeat it exactly."""
        return zlib.crc32(json.dumps(self._identity(), sort_keys=True).encode())

    def options(self) -> dict[str, Any]:
        extra = dict(self.settings.get("model_options", {}))
        return extra if self.sigma is None else {**extra, "sigma": self.sigma, "seed": self.run_seed()}


def job_record(job: Job, record: dict[str, Any], seconds: float, **extra: Any) -> dict[str, Any]:
    """The line ``results.jsonl`` holds for a finished ``job``: its identity, its key, what it
    measured (``record``), its wall time and any ``extra`` (written once here, for every engine)."""
    return {**asdict(job), "key": job.key(), **record, "seconds": round(seconds, 3), **extra}
