import json
from pathlib import Path

import numpy as np

from symbreak.cli import main

EXAMPLES = Path(__file__).parent.parent / "examples"


def test_analyze_table(capsys):
    assert main(["analyze", str(EXAMPLES / "water.xyz"), str(EXAMPLES / "sulfur_hexafluoride.xyz")]) == 0
    out = capsys.readouterr().out
    assert "point group  C2v   order 4" in out
    assert "point group  Oh   order 48" in out
    assert "canonical frame" in out


def test_analyze_json_has_operations_and_permutations(capsys):
    assert main(["analyze", "--json", "--tol", "0.05", str(EXAMPLES / "ammonia.xyz")]) == 0
    (rec,) = json.loads(capsys.readouterr().out)
    assert rec["point_group"] == "C3v" and rec["order"] == 6 and rec["tol"] == 0.05
    ops, perms = np.array(rec["operations"]), np.array(rec["permutations"])
    assert ops.shape == (6, 3, 3) and perms.shape == (6, 4)
    assert sorted(map(len, rec["orbits"])) == [1, 3]


def test_bad_input_exits_2_with_one_line(tmp_path, capsys):
    assert main(["analyze", str(tmp_path / "nope.xyz")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("symbreak: error:") and err.count("\n") == 1 and "Traceback" not in err
    assert main(["analyze", "--tol", "-1", str(EXAMPLES / "water.xyz")]) == 2
    assert "tol must be a positive" in capsys.readouterr().err


def test_hostile_and_bad_files_are_named_and_do_not_hide_good_ones(tmp_path, capsys):
    from pathlib import Path

    hostile = tmp_path / "hostile.xyz"
    hostile.write_text("100000000\nx\nH 0 0 0\n")  # 20 bytes claiming 10^8 atoms: refused at once
    garbage = tmp_path / "garbage.xyz"
    garbage.write_text("three\n\nH 0 0 0\n")
    good = str(Path(__file__).parent.parent / "examples" / "ammonia.xyz")
    code = main(["analyze", str(hostile), good, str(tmp_path), str(garbage)])
    out, err = capsys.readouterr()
    assert code == 2
    assert "H3N" in out and "C3v" in out  # the good file still reports
    assert "claims 100,000,000 atoms but the file has only 20 bytes" in err
    assert f"{tmp_path}: is a directory" in err
    assert "garbage.xyz: line 1 should be the number of atoms" in err
