"""The command-line examples of the README and of the user guide (docs/guide/*.md) print what the
pages say; their Python is run by doctest (pyproject's ``--doctest-glob``), and every Python block
on them is a doctest or says why it is not run."""

import re
import shlex
from pathlib import Path

import pytest

from symbreak.cli import main

ROOT = Path(__file__).parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs" / "guide").glob("*.md"))]
#: a ```console block: one ``$ symbreak ...`` line, then exactly what it prints
CONSOLE = re.compile(r"```console\n\$ (symbreak [^\n]*)\n(.*?)```", flags=re.S)
#: a Python block that is not a doctest must say so, in the text just above it
NOT_RUN = "Not run"


def _name(page: Path) -> str:
    return str(page.relative_to(ROOT))


EXAMPLES = [(_name(page), command, expected) for page in PAGES for command, expected in CONSOLE.findall(page.read_text())]


@pytest.mark.parametrize(("page", "command", "expected"), EXAMPLES, ids=[f"{p}: {c}" for p, c, _ in EXAMPLES])
def test_cli_example(page, command, expected, capsys, monkeypatch):
    if ".cif" in command:
        pytest.importorskip("spglib", reason="crystals need spglib: pip install -e '.[crystal]'")
    monkeypatch.chdir(ROOT)
    assert main(shlex.split(command)[1:]) == 0
    assert capsys.readouterr().out == expected, f"{page}: `{command}` no longer prints what the page shows"


def test_there_are_cli_examples():
    pages = {page for page, _, _ in EXAMPLES}
    assert "README.md" in pages and any(p.startswith("docs/guide/") for p in pages)


@pytest.mark.parametrize("page", PAGES, ids=_name)
def test_every_console_block_is_a_checked_example(page):
    """A ```console block that the pattern above does not read would silently go unchecked."""
    text = page.read_text()
    assert text.count("```console") == len(CONSOLE.findall(text)), f"{_name(page)}: a console block is not one `$ symbreak ...` line and its output"


@pytest.mark.parametrize("page", PAGES, ids=_name)
def test_every_python_block_runs_or_says_why_not(page):
    """Doctest runs the ``>>>`` lines; a Python block without them runs nowhere, so the text just
    above it must say why (``Not run ...``). Doctest reads an example's expected output up to the
    next blank line, so a block's last example is followed by one before the closing fence."""
    text = page.read_text()
    for match in re.finditer(r"```(python|pycon)\n(.*?)```", text, flags=re.S):
        body = match.group(2)
        line = text.count("\n", 0, match.start()) + 1
        if ">>>" in body:
            assert body.endswith("\n\n"), f"{_name(page)}:{line}: end the doctest block with a blank line before the closing ```"
        else:
            above = text[max(0, match.start() - 400) : match.start()]
            assert NOT_RUN in above, f"{_name(page)}:{line}: a Python block that is not a doctest must say why just above it ({NOT_RUN} ...)"
