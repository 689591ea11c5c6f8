r"""Molecular dynamics with models that are not exactly rotation-invariant (Langer, Pozdnyakov & Ceriotti).

- :class:`SymmetrizedCalculator`: wrap any ASE calculator or symbreak energy model; energy, forces
  and stress averaged over a rotation grid, one random rotation per call, or by multiple time
  stepping; optional removal of the net force and torque; the spread over rotations as a result.
- :class:`ModelCalculator`: a symbreak energy model (PET, SchNet, PaiNN...) as an ASE calculator.
- diagnostics of a trajectory (:mod:`symbreak.md._diagnostics`): angular momentum, torque, power
  spectra, orientational free energy, g(r), orientation correlations, MSD and diffusion, dipole
  autocorrelation, drift; :func:`analyze_trajectory` runs them all and plots.
- :func:`symmetry_report`: how any calculator or model depends on orientation, by Wigner-D degree
  l and parity (character projections over a rotation grid), raw-against-average errors, and the
  smallest averaging grid that removes what it measured (``symbreak probe`` on the command line).
- the orientational free energy of a molecule (:mod:`symbreak.md._orientation`): measured along a
  trajectory with errors from decorrelated blocks, and predicted from the model without sampling noise.

Needs ASE (a core dependency) and, for models, the ``ml`` extra.
"""

from .._lazy import lazy_exports

_EXPORTS = {
    "SymmetrizedCalculator": "_calculator", "ModelCalculator": "_calculator", "remove_net_force": "_calculator", "remove_net_torque": "_calculator", "MODES": "_calculator",
    "trajectory_arrays": "_diagnostics", "angular_momentum": "_diagnostics", "torque": "_diagnostics", "power_spectrum": "_diagnostics",
    "water_molecules": "_diagnostics", "water_axes": "_diagnostics", "water_dipoles": "_diagnostics", "orientation_free_energy": "_diagnostics",
    "radial_distribution": "_diagnostics", "orientation_correlation": "_diagnostics", "mean_square_displacement": "_diagnostics",
    "diffusion_coefficient": "_diagnostics", "dipole_autocorrelation": "_diagnostics", "drift": "_diagnostics",
    "analyze_trajectory": "_analysis", "plot_analysis": "_analysis",
    "symmetry_report": "_probe", "SymmetryReport": "_probe", "recommend_grid": "_probe", "plot_symmetry_report": "_probe",
    "get_calculator": "_probe", "CALCULATORS": "_probe", "AnisotropicCalculator": "_probe",
    "ice_cells": "_ice", "ice_test": "_ice",
    "orientation_anisotropy": "_orientation", "predicted_orientation_free_energy": "_orientation", "integrated_autocorrelation_time": "_orientation",
    "real_spherical_harmonics": "_orientation", "frames_needed": "_orientation", "random_force_drift": "_diagnostics",
}  # fmt: skip
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
__all__ = sorted(_EXPORTS)
