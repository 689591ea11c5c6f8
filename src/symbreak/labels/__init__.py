r"""Physical labels, computed with real quantum chemistry: what the tasks' data sets are made of.

- GFN2-xTB atomic dipoles and charges (tblite): :func:`gfn2_atomic_dipoles`;
- Hirshfeld atomic dipoles and charges of PBE0/def2-SVP densities (PySCF): :func:`hirshfeld_dft`;
- Hessians and normal modes (:func:`normal_modes`, water's shipped modes :func:`load_water_modes`);
- molecules and conformers: :func:`dipole_molecules`, :func:`conformers`, :func:`broken_by`;
- the symmetry-breaking dipole data set: :func:`generate_dipoles` (``symbreak generate dipoles``);
- classical dipolar spin clusters and their verified degenerate ground states: :func:`ground_states` (NumPy, SciPy);
- flow past a cylinder by lattice Boltzmann (D2Q9 BGK), the Kármán wake data: :class:`CylinderChannel`,
  :func:`wake_sample` (torch only, no extra);
- liquid and gas-phase water with GFN1-xTB energies, forces and stress: :func:`generate_water`
  (``symbreak generate water``; configurations from OpenMM, the ``md`` extra).

Each needs its extra (``pip install -e '.[chem]'``) only when it runs; importing this package
needs none.
"""

from .._lazy import lazy_exports

_EXPORTS = {
    "gfn2_atomic_dipoles": "_xtb", "hirshfeld_dft": "_hirshfeld",
    "WaterModes": "_modes", "compute_water_modes": "_modes", "load_water_modes": "_modes", "symmetrize_hessian": "_modes", "normal_modes": "_modes", "MODE_NAMES": "_modes",
    "dipole_molecules": "_molecules", "nci_smiles": "_molecules", "broken_by": "_molecules", "conformers": "_molecules",
    "generate_dipoles": "_dipoles", "SOURCES": "_dipoles",
    "generate_water": "_water", "load_water": "_water", "WATER_METHODS": "_water",
    "dipolar_coupling": "_spins", "spin_energy": "_spins", "ground_states": "_spins", "spin_cluster": "_spins", "GroundStates": "_spins", "SPIN_CLUSTERS": "_spins",
    "CylinderChannel": "_lbm", "wake_sample": "_lbm", "WakeSample": "_lbm", "strouhal_number": "_lbm", "mirror_fields": "_lbm", "vorticity": "_lbm",
    "coarse_fields": "_lbm", "FIELD_PARITIES": "_lbm",
}  # fmt: skip
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
__all__ = sorted(_EXPORTS)
