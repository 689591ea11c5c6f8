"""The Python blocks of docs/extending.md run as written (in order, one namespace)."""

import re
from pathlib import Path

DOC = Path(__file__).parent.parent / "docs" / "extending.md"


def test_extending_page_runs():
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)
    assert len(blocks) >= 2
    namespace: dict = {}
    for block in blocks:
        exec(compile(block, str(DOC), "exec"), namespace)  # noqa: S102 - our own documentation
    from symbreak.models import INPUTS

    assert "direction" in INPUTS
    del INPUTS["direction"]  # leave the registry as the other tests expect it
