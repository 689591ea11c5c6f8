"""The README's command-line examples print what the README says (its Python is run by doctest)."""

import re
import shlex
from pathlib import Path

import pytest

from symbreak.cli import main

ROOT = Path(__file__).parent.parent
EXAMPLES = re.findall(r"```console\n\$ (symbreak [^\n]*)\n(.*?)```", (ROOT / "README.md").read_text(), flags=re.S)


@pytest.mark.parametrize(("command", "expected"), EXAMPLES, ids=[c for c, _ in EXAMPLES])
def test_readme_cli_example(command, expected, capsys, monkeypatch):
    if ".cif" in command:
        pytest.importorskip("spglib", reason="crystals need spglib: pip install 'symbreak[crystal]'")
    monkeypatch.chdir(ROOT)
    assert main(shlex.split(command)[1:]) == 0
    assert capsys.readouterr().out == expected


def test_there_are_cli_examples():
    assert EXAMPLES
