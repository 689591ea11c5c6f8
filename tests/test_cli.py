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


def test_sbs_of_large_groups_answers_at_once_or_refuses_by_name(capsys):
    # each took 17 s to minutes (or asked for 4 to 67 GiB) before; now under a second or two
    for group, target, line in [
        ("D30h", "C1", "120 unit vectors, each keeping C1 of D30h (ideal)"),
        ("C60v", "C1", "120 unit vectors, each keeping C1 of C60v (ideal)"),
        ("C1000", "C1", "1000 unit vectors, each keeping C1 of C1000 (ideal)"),
        ("D100h", "D50h", "200 unit vectors, each keeping C2v of D100h"),
    ]:
        assert main(["sbs", group, target]) == 0
        assert line in capsys.readouterr().out
    assert main(["sbs", "C1000h", "C1"]) == 0  # too large to list every subgroup type, not too large to answer
    assert "subgroup types are not listed above order 1000" in capsys.readouterr().out
    assert main(["sbs", "D1000h", "C1"]) == 2
    err = capsys.readouterr().err
    assert err == "symbreak: error: symmetry_breaking_set: |G| = 4000 (D1000h) exceeds the limit of 2000 elements (MAX_TABLE_ORDER)\n"
    assert main(["sbs", "C1000000", "C1"]) == 2
    assert "exceeds the limit of 1000 (MAX_AXIAL_ORDER)" in capsys.readouterr().err


def test_closed_pipe_exits_quietly(monkeypatch, capsys):
    import io
    import sys

    class Closed(io.TextIOBase):  # a reader that went away: every write fails as on a closed pipe
        def write(self, text):
            raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr(sys, "stdout", Closed())
    assert main(["sbs", "D3h", "Cs"]) == 141
    assert main(["analyze", "--json", str(EXAMPLES / "water.xyz")]) == 141
    monkeypatch.undo()
    assert capsys.readouterr().err == ""


def test_closed_pipe_in_a_shell_gives_no_traceback(tmp_path):
    import subprocess
    import sys

    from ase import Atoms

    angles = 2 * np.pi * np.arange(60) / 60  # a ring of 60 atoms: D60h, a JSON record of about 170 kB
    Atoms("C60", positions=np.stack([5 * np.cos(angles), 5 * np.sin(angles), 0 * angles], axis=1)).write(tmp_path / "ring.xyz")
    cli = f"'{sys.executable}' -m symbreak.cli"
    for command in (f"{cli} analyze --json {tmp_path / 'ring.xyz'} | head -c 100", f"{cli} sbs C1000h C1 | head -c 10"):
        done = subprocess.run(["bash", "-c", f"set -o pipefail; {command}"], capture_output=True, text=True, timeout=120)
        assert "Traceback" not in done.stderr and "BrokenPipeError" not in done.stderr, done.stderr
        assert done.returncode in (0, 141) and len(done.stdout) in (10, 100)
