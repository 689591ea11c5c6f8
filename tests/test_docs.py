"""The documentation: docs/extending.md runs as written, and the Sphinx site (docs/) builds without
a warning, with every public name in the API reference and every command in the CLI reference."""

import contextlib
import importlib
import io
import os
import pkgutil
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
DOCS = ROOT / "docs"
DOC = DOCS / "extending.md"

#: the public modules the API reference must cover (docs/conf.py finds them itself: these must be among them)
PUBLIC = ["symbreak", "symbreak.groups", "symbreak.detect", "symbreak.rotations", "symbreak.metrics", "symbreak.symmetrize", "symbreak.models", "symbreak.nn",
          "symbreak.training", "symbreak.tasks", "symbreak.bench", "symbreak.md", "symbreak.labels", "symbreak.graphs", "symbreak.io", "symbreak.testing"]  # fmt: skip


def test_extending_page_runs():
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)
    assert len(blocks) >= 2
    namespace: dict = {}
    for block in blocks:
        exec(compile(block, str(DOC), "exec"), namespace)  # noqa: S102 - our own documentation
    from symbreak.models import INPUTS

    assert "direction" in INPUTS
    del INPUTS["direction"]  # leave the registry as the other tests expect it


def public_modules() -> list[str]:
    """``symbreak`` and every module or package under it without a leading underscore, but the CLI."""
    import symbreak

    return ["symbreak"] + sorted(f"symbreak.{m.name}" for m in pkgutil.iter_modules(symbreak.__path__) if not m.name.startswith("_") and m.name != "cli")


def cli_commands() -> list[str]:
    """The subcommands, as ``symbreak --help`` lists them (independent of how docs/conf.py finds them)."""
    from symbreak.cli import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit):
        main(["--help"])
    return re.search(r"\{([\w,-]+)\}", out.getvalue()).group(1).split(",")


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> tuple[Path, int, str]:
    """The site built as CI's ``make docs`` builds it, but fast: the gallery not executed
    (``plot_gallery=0``), Sphinx's basic theme (furo computes a full navigation tree for each of
    the ~350 pages, several times the whole build), no network (``SYMBREAK_DOCS_OFFLINE=1``).

    The build runs on a copy of docs/ (it writes generated pages into its source folder) beside
    links to the rest of the repository (the results pages show figures from results/), in a
    separate process: pytest's ``filterwarnings = error`` is not Sphinx's business, ``-W`` is.
    """
    for module in ("sphinx", "furo", "myst_parser", "sphinx_gallery", "sphinx_copybutton"):
        pytest.importorskip(module, reason=f"{module} is not installed: pip install -e '.[docs]' (make docs does)")
    tmp = tmp_path_factory.mktemp("site")
    shutil.copytree(DOCS, tmp / "docs", ignore=shutil.ignore_patterns("_build", "auto_examples", "generated", "sg_execution_times.rst", "symbreak*.rst"))
    for entry in ROOT.iterdir():
        if entry.name not in {"docs", ".git", ".venv"}:
            (tmp / entry.name).symlink_to(entry)
    html = tmp / "html"
    command = [sys.executable, "-m", "sphinx", "-b", "html", "-q", "-W", "--keep-going", "-D", "plot_gallery=0", "-D", "html_theme=basic",
               "-d", str(tmp / "doctrees"), str(tmp / "docs"), str(html)]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "SYMBREAK_DOCS_OFFLINE": "1"}, timeout=900)
    return html, done.returncode, done.stderr.replace(str(tmp / "docs"), "docs")


@pytest.mark.slow
def test_site_builds_without_warnings(site):
    html, returncode, warnings = site
    assert returncode == 0 and "WARNING" not in warnings and "ERROR" not in warnings, f"the docs build has warnings (-W):\n{warnings}"
    for page in ("index", "guide/index", "auto_examples/index", "conventions", "extending", "results/index", "api/index", "api/cli", "cite"):
        assert (html / f"{page}.html").exists(), page


@pytest.mark.slow
def test_every_public_name_in_api_reference(site):
    html = site[0]
    modules = public_modules()
    assert set(PUBLIC) <= set(modules)
    missing = []
    for module in modules:
        page = (html / "api" / f"{module}.html").read_text()
        for name in importlib.import_module(module).__all__:
            stub = html / "api" / "generated" / f"{module}.{name}.html"
            if f'href="generated/{module}.{name}.html' not in page or not stub.exists() or f'id="{module}.{name}"' not in stub.read_text():
                missing.append(f"{module}.{name}")
    assert not missing, f"public names without a page in the API reference: {missing}"


@pytest.mark.slow
def test_every_command_in_cli_reference(site):
    page = (site[0] / "api" / "cli.html").read_text()
    commands = cli_commands()
    assert "analyze" in commands
    for command in commands:
        assert f'id="cli-{command}"' in page and f"usage: symbreak {command}" in page, command
