r"""Benchmark tasks behind one registry, each making its own data in code.

>>> sorted(available_tasks())
['canonicalization', 'charged-particle', 'dipoles', 'h2o-modes', 'shape-deformation', 'square-ssb']
>>> [g.y.shape for g in get_task("square-ssb").dataset("")]
[torch.Size([4, 3]), torch.Size([4, 3])]
"""

from ._canonical import FRAMES, Canonicalization, load_qm9, load_qm9_subset, pca_canonical, structure_rank, typed_emd
from ._dipole_data import broken_by, dipole_molecules, generate_dipoles, gfn2_atomic_dipoles, nci_smiles
from ._dipoles import Dipoles, load_dipoles
from ._hirshfeld import hirshfeld_dft
from ._charged import FIELD_B, FIELD_E, ChargedParticle, lorentz_trajectory
from ._base import TASKS, TableSpec, Task, available_tasks, get_task, grouped_splits, identical_splits, kfold_splits, make_graph, register_task
from ._h2o import WaterModesTask, water_mode_dataset
from ._shapes import SHAPE_IRREPS, ShapeDeformation, cube_targets
from ._square import SQUARE_STRETCH, SquareSSB, square_and_rectangles
from ._water import MODE_NAMES, WaterModes, compute_water_modes, load_water_modes

__all__ = [
    "Task",
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
