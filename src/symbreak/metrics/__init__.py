"""Metrics: Chamfer distance, EMD, the symmetry-breaking measure (SBM, SBCD, SB-MSE), collapse, and the batch losses."""

from ._collapse import distinct_vectors, is_collapsed
from ._distances import chamfer_distance, emd
from ._losses import LOSSES, REPORTED, measure
from ._sets import set_breaking_measures
from ._sbm import METRICS, pad_symmetries, padded_measure, sbcd, sbmse, symmetry_breaking_measure, transform_labels

__all__ = ["chamfer_distance", "emd", "symmetry_breaking_measure", "sbcd", "sbmse", "transform_labels", "METRICS", "LOSSES", "REPORTED", "measure", "pad_symmetries", "padded_measure", "distinct_vectors", "is_collapsed", "set_breaking_measures"]
