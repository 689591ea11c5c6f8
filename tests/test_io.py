import numpy as np
import pytest
from ase.collections import g2

import symbreak
from symbreak import FileFormatError, detect_symmetry


@pytest.mark.parametrize("fmt,ext", [("xyz", "xyz"), ("extxyz", "extxyz"), ("proteindatabank", "pdb"), ("cif", "cif"), ("traj", "traj")])
def test_read_formats_round_trip(tmp_path, fmt, ext):
    atoms = g2["CH4"].copy()
    if fmt == "cif":
        atoms.set_cell([10, 10, 10])
        atoms.center()
    path = tmp_path / f"methane.{ext}"
    atoms.write(path, format=fmt)
    (back,) = symbreak.read(path)
    if fmt == "cif":  # a CIF is periodic: a molecule in it is analysed as one only when asked
        with pytest.raises(symbreak.StructureError, match="periodic"):
            detect_symmetry(back)
        back = (back.positions, back.numbers)
        assert detect_symmetry(*back).point_group == "Td"
        return
    assert detect_symmetry(back).point_group == "Td"


def test_read_sdf(tmp_path):
    sdf = """water
  made by hand

  3  2  0  0  0  0  0  0  0  0999 V2000
    0.0000    0.0000    0.1173 O   0  0  0  0  0  0  0  0  0  0  0  0
    0.0000    0.7572   -0.4692 H   0  0  0  0  0  0  0  0  0  0  0  0
    0.0000   -0.7572   -0.4692 H   0  0  0  0  0  0  0  0  0  0  0  0
  1  2  1  0
  1  3  1  0
M  END
$$$$
"""
    path = tmp_path / "water.sdf"
    path.write_text(sdf)
    (water,) = symbreak.read(path)
    assert detect_symmetry(water).point_group == "C2v"


def test_every_frame_of_a_trajectory(tmp_path):
    path = tmp_path / "traj.xyz"
    frames = [g2["H2O"], g2["NH3"], g2["C6H6"]]
    for f in frames:
        f.write(path, format="extxyz", append=True)
    got = [detect_symmetry(a).point_group for a in symbreak.read(path)]
    assert got == ["C2v", "C3v", "D6h"]


def test_unreadable_files(tmp_path):
    with pytest.raises(FileFormatError, match="no such file"):
        symbreak.read(tmp_path / "missing.xyz")
    empty = tmp_path / "empty.xyz"
    empty.write_text("")
    with pytest.raises(FileFormatError, match="empty"):
        symbreak.read(empty)
    bad = tmp_path / "bad.xyz"
    bad.write_text("3\ncomment\nO 0 0 zero\nH 1 2\n")
    with pytest.raises(FileFormatError, match="bad.xyz"):
        symbreak.read(bad)
    assert issubclass(FileFormatError, ValueError)
