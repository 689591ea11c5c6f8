"""Metrics: Chamfer distance, EMD, and the symmetry-breaking measure (SBM, SBCD)."""

from ._distances import chamfer_distance, emd
from ._sbm import METRICS, sbcd, symmetry_breaking_measure, transform_labels

__all__ = ["chamfer_distance", "emd", "symmetry_breaking_measure", "sbcd", "transform_labels", "METRICS"]
