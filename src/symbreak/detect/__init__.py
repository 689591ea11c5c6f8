"""Symmetry of a structure: operations, orbits, asymmetric unit, canonical frame, and canonicalization methods."""

from ._canonicalizers import CANONICALIZERS, canonicalize, pca_canonical, pca_raw_canonical, register_canonicalizer
from ._crystal import CrystalSymmetry, detect_crystal, is_periodic
from ._detect import DEFAULT_TOL, Symmetrized, Symmetry, detect_many, detect_symmetry, symmetrize
from ._kernel import inversion_kernel, sample_inversion_kernel
from ._diagnose import DatasetDiagnosis, LabelDiagnosis, diagnose, diagnose_labels, plot_diagnosis

__all__ = ["detect_symmetry", "detect_many", "symmetrize", "Symmetrized", "Symmetry", "DEFAULT_TOL", "detect_crystal", "CrystalSymmetry", "is_periodic", "diagnose", "diagnose_labels", "plot_diagnosis", "DatasetDiagnosis", "LabelDiagnosis", "canonicalize", "register_canonicalizer", "CANONICALIZERS", "pca_canonical", "pca_raw_canonical", "inversion_kernel", "sample_inversion_kernel"]
