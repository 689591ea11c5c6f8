"""symbreak: symmetry and symmetry breaking in machine learning on molecules and 3D point clouds."""

from ._errors import FileFormatError, GroupError, StructureError, SymbreakError, ToleranceError
from .detect import DEFAULT_TOL, Symmetry, detect_symmetry
from .groups import PointGroup
from .io import read

__version__ = "0.5.0"

__all__ = [
    "detect_symmetry",
    "Symmetry",
    "PointGroup",
    "read",
    "DEFAULT_TOL",
    "SymbreakError",
    "StructureError",
    "ToleranceError",
    "GroupError",
    "FileFormatError",
    "__version__",
]
