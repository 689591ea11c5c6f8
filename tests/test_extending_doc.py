"""The files of docs/extending.md (an input, a model, a task and their tests) run as written.

Each file is a code block captioned with its name (``{code-block} python`` with ``:caption: name.py``),
or a ``python`` block whose first line is ``# name.py``. They are written to a folder and
``test_mine.py`` runs there with pytest, in a fresh process, so what the files register stays out
of this session's registries. (``tests/test_docs.py`` runs the page's ``python`` blocks in this
process.)
"""

import os
import re
import subprocess
import sys
from pathlib import Path

DOC = Path(__file__).parent.parent / "docs" / "extending.md"
ROOT = Path(__file__).parent.parent


def doc_files() -> dict[str, str]:
    """name → text of every file the page writes out."""
    text = DOC.read_text()
    files = {}
    for name, body in re.findall(r"```\{code-block\} python\n:caption: (\S+)\n\n(.*?)```", text, flags=re.S):
        files[name] = body
    for body in re.findall(r"```python\n(.*?)```", text, flags=re.S):
        first = body.splitlines()[0]
        if re.fullmatch(r"# \w+\.py", first):
            files[first[2:]] = body
    return files


def test_the_page_names_each_file_once():
    assert set(doc_files()) == {"my_input.py", "my_model.py", "my_task.py", "test_mine.py"}
    for name, body in doc_files().items():
        compile(body, name, "exec")


def test_the_files_pass_their_own_tests(tmp_path):
    for name, body in doc_files().items():
        (tmp_path / name).write_text(body)
    # the project's pytest settings (warnings are errors), none of its conftest; the page's files importable
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")])}
    command = [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", "-c", str(ROOT / "pyproject.toml"), "--rootdir", str(tmp_path),
               "--noconftest", str(tmp_path / "test_mine.py")]  # fmt: skip
    done = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert re.search(r"\d+ passed", done.stdout) and " failed" not in done.stdout
