r"""The experiment runner behind ``symbreak bench``: folds, resume, tables beside the paper's, plots.

Example (the same as ``symbreak bench square-ssb --quick --out runs/square``)::

    from symbreak.bench import run_benchmark, write_outputs
    result = run_benchmark("square-ssb", quick=True, out="runs/square")
    print(write_outputs(result.task, result.records, result.out, result.settings)["texts"][0])
"""

# the training and metrics names this package exported before they had their own: still importable
# from here, documented there (symbreak.training, symbreak.metrics)
from ..metrics import LOSSES, measure  # noqa: F401
from ._engines import ENGINES, import_plugins
from ._search import SearchResult, load_space, run_search
from ._report import Cell, format_table, summarize, write_outputs, write_report
from ._runner import NOISE_SIGMAS, PLATEAU_MIN_DELTA, BenchResult, Job, load_records, plan_jobs, run_benchmark, run_one, train_to_plateau
from ..training import FitResult, collate, evaluate, fit, train_epochs  # noqa: F401

__all__ = [
    "run_benchmark",
    "train_to_plateau",
    "PLATEAU_MIN_DELTA",
    "ENGINES",
    "import_plugins",
    "run_search",
    "load_space",
    "SearchResult",
    "run_one",
    "plan_jobs",
    "load_records",
    "Job",
    "BenchResult",
    "NOISE_SIGMAS",
    "summarize",
    "format_table",
    "write_outputs",
    "write_report",
    "Cell",
]
