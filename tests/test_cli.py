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
