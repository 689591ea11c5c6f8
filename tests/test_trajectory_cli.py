"""`symbreak trajectory` and `analyze_trajectory` refuse what they cannot analyse, in one line."""

import numpy as np
import pytest
from ase import Atoms, units
from ase.io import write
from ase.md.verlet import VelocityVerlet

from symbreak import SymbreakError
from symbreak.cli import main
from symbreak.md import analyze_trajectory


class Springs:
    """A tiny invariant calculator (harmonic bonds to the first atom), enough to move atoms."""

    implemented_properties = ("energy", "forces")

    def __init__(self):
        self.results = {}

    def get_property(self, name, atoms, allow_calculation=True):
        x = atoms.get_positions() - atoms.get_positions()[0]
        r = np.linalg.norm(x[1:], axis=1)
        energy = float(((r - 1.0) ** 2).sum())
        f = np.zeros_like(x)
        f[1:] = -2 * (r - 1.0)[:, None] * x[1:] / r[:, None]
        f[0] = -f[1:].sum(0)
        self.results = {"energy": energy, "forces": f}
        return self.results[name]

    def get_potential_energy(self, atoms=None, force_consistent=False):
        return self.get_property("energy", atoms)

    def get_forces(self, atoms=None):
        return self.get_property("forces", atoms)


def _frames(spin=True):
    atoms = Atoms("OH2", positions=[[0, 0, 0], [0.95, 0, 0], [-0.3, 0.9, 0.1]])
    v = np.random.default_rng(0).normal(size=(3, 3)) * 0.02
    if not spin:  # a pure translation: no angular momentum about the centre of mass
        v = np.tile(v[0], (3, 1))
    atoms.set_velocities(v)
    atoms.calc = Springs()
    frames = []
    dyn = VelocityVerlet(atoms, timestep=0.5 * units.fs)
    dyn.attach(lambda: frames.append(atoms.copy()), interval=1)
    dyn.run(12)
    return frames


@pytest.mark.parametrize("dt", ["0", "nan", "inf", "-5"])
def test_a_time_step_that_makes_no_sense_is_refused(tmp_path, dt, capsys):
    write(tmp_path / "run.extxyz", _frames())
    with pytest.raises(SystemExit) as exc:
        main(["trajectory", str(tmp_path / "run.extxyz"), "--dt", dt])
    assert exc.value.code == 2 and "positive" in capsys.readouterr().err
    with pytest.raises(SymbreakError, match="dt_fs must be a positive finite"):
        analyze_trajectory(_frames(), dt_fs=float(dt))


@pytest.mark.parametrize("temperature", ["0", "-10", "nan"])
def test_a_temperature_that_makes_no_sense_is_refused(tmp_path, temperature, capsys):
    write(tmp_path / "run.extxyz", _frames())
    with pytest.raises(SystemExit):
        main(["trajectory", str(tmp_path / "run.extxyz"), "--dt", "0.5", "--temperature", temperature])
    assert "positive" in capsys.readouterr().err


def test_a_header_that_lies_about_its_size_is_refused_at_once(tmp_path, capsys):
    (tmp_path / "big.xyz").write_text("100000000\n\nH 0 0 0\n")
    assert main(["trajectory", str(tmp_path / "big.xyz"), "--dt", "0.5"]) == 2
    assert "claims 100,000,000 atoms" in capsys.readouterr().err


def test_an_unwritable_out_is_refused_before_any_work(tmp_path, capsys):
    write(tmp_path / "run.extxyz", _frames())
    assert main(["trajectory", str(tmp_path / "run.extxyz"), "--dt", "0.5", "--out", "/proc/x"]) == 2
    err = capsys.readouterr().err
    assert "cannot create the folder" in err and "Traceback" not in err


def test_frames_without_velocities_are_named_not_analysed_as_zeros(tmp_path, capsys):
    # positions only, as a plain xyz file stores them
    still = [Atoms("OH2", positions=[[0, 0, 0], [0.95 + 0.01 * k, 0, 0], [-0.3, 0.9, 0.1]]) for k in range(8)]
    with pytest.raises(SymbreakError, match="no velocities"):
        analyze_trajectory(still, dt_fs=0.5)
    write(tmp_path / "still.xyz", still)
    assert main(["trajectory", str(tmp_path / "still.xyz"), "--dt", "0.5"]) == 2
    assert "no velocities" in capsys.readouterr().err


def test_nan_positions_are_refused():
    frames = _frames()
    frames[3].positions[1, 0] = np.nan
    with pytest.raises(SymbreakError, match="NaN or inf .*frame 3"):
        analyze_trajectory(frames, dt_fs=0.5)


def test_no_spin_has_no_direction_to_change():
    res = analyze_trajectory(_frames(spin=False), dt_fs=0.5)
    assert res["angular_momentum_direction_change_deg"] is None
    spinning = analyze_trajectory(_frames(), dt_fs=0.5)
    assert 0.0 <= spinning["angular_momentum_direction_change_deg"] < 180.0


@pytest.mark.parametrize("calc", [None, 3.0, "emt"])
def test_symmetrized_calculator_names_what_it_cannot_wrap(calc):
    from symbreak.md import SymmetrizedCalculator

    with pytest.raises(SymbreakError, match="calc must be an ASE calculator or a symbreak model"):
        SymmetrizedCalculator(calc)
