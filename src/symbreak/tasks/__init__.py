r"""Benchmark tasks behind one registry, each making its own data in code.

>>> len(TASKS.builtin_names()), sorted(TASKS.builtin_names())[:4]
(13, ['canonicalization', 'charged-particle', 'cylinder-wake', 'dipoles'])
>>> [g.y.shape for g in get_task("square-ssb").dataset("")]
[torch.Size([4, 3]), torch.Size([4, 3])]
"""

from .._lazy import lazy_exports
from ._base import TASKS, OwnModelsTask, TableSpec, Task, fit_registered, available_tasks, get_task, grouped_splits, identical_splits, kfold_splits, make_graph, register_task

# each task's module (and what it needs: e3nn, tblite, ...) loads when the task is first used
_EXPORTS = {
    "Canonicalization": "_canonical", "load_qm9": "_canonical", "load_qm9_subset": "_canonical", "pca_canonical": "_canonical",
    "structure_rank": "_canonical", "typed_emd": "_canonical", "FRAMES": "_canonical",
    "Dipoles": "_dipoles", "load_dipoles": "_dipoles",
    "ChargedParticle": "_charged", "lorentz_trajectory": "_charged", "FIELD_E": "_charged", "FIELD_B": "_charged",
    "WaterModesTask": "_h2o", "water_mode_dataset": "_h2o",
    "ShapeDeformation": "_shapes", "cube_targets": "_shapes", "SHAPE_IRREPS": "_shapes",
    "GraphAutoencoding": "_graph_ae", "symmetric_graphs": "_graph_ae",
    "IsingGroundStates": "_ising", "ising_lattice": "_ising", "ground_states": "_ising",
    "SBSExamples": "_sbs_examples", "sbs_example": "_sbs_examples",
    "WaterPET": "_water_pet",
    "SpinGroundStates": "_spins", "spin_ground_state": "_spins", "CylinderWake": "_wake", "QM9Generation": "_qm9_gen",
    "SquareSSB": "_square", "square_and_rectangles": "_square", "SQUARE_STRETCH": "_square",
}  # fmt: skip
_tasks_getattr, __dir__ = lazy_exports(__name__, _EXPORTS)
#: label code that lived here before ``symbreak.labels``: still importable from here
_MOVED = {"broken_by", "dipole_molecules", "generate_dipoles", "gfn2_atomic_dipoles", "nci_smiles", "hirshfeld_dft", "WaterModes", "compute_water_modes", "load_water_modes", "MODE_NAMES"}


def __getattr__(name: str):
    if name in _MOVED:
        from .. import labels

        return getattr(labels, name)
    return _tasks_getattr(name)
__all__ = [
    "Task",
    "OwnModelsTask",
    "fit_registered",
    "WaterPET",
    "IsingGroundStates",
    "ising_lattice",
    "ground_states",
    "GraphAutoencoding",
    "symmetric_graphs",
    "TableSpec",
    "register_task",
    "get_task",
    "available_tasks",
    "TASKS",
    "make_graph",
    "identical_splits",
    "kfold_splits",
    "grouped_splits",
    "SquareSSB",
    "SBSExamples",
    "sbs_example",
    "square_and_rectangles",
    "SQUARE_STRETCH",
    "WaterModesTask",
    "water_mode_dataset",
    "WaterModes",
    "compute_water_modes",
    "load_water_modes",
    "MODE_NAMES",
    "ShapeDeformation",
    "cube_targets",
    "SHAPE_IRREPS",
    "ChargedParticle",
    "lorentz_trajectory",
    "FIELD_E",
    "FIELD_B",
    "Canonicalization",
    "load_qm9",
    "load_qm9_subset",
    "pca_canonical",
    "structure_rank",
    "typed_emd",
    "FRAMES",
    "Dipoles",
    "generate_dipoles",
    "gfn2_atomic_dipoles",
    "dipole_molecules",
    "nci_smiles",
    "load_dipoles",
    "broken_by",
    "hirshfeld_dft",
]
