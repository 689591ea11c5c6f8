"""Metrics: Chamfer distance, EMD, and the symmetry-breaking measure (SBM, SBCD, SB-MSE), collapse."""

from ._collapse import distinct_vectors, is_collapsed
from ._distances import chamfer_distance, emd
from ._sbm import METRICS, sbcd, sbmse, symmetry_breaking_measure, transform_labels

__all__ = ["chamfer_distance", "emd", "symmetry_breaking_measure", "sbcd", "sbmse", "transform_labels", "METRICS", "distinct_vectors", "is_collapsed"]
