"""Every ```python block in docs/*.md runs, in order, in one namespace per page.

Blocks whose first line is a comment naming a file (``# config/beans.py``) show a file of a
user's project and are not run.
"""

from __future__ import annotations

import re
import sys
import types
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[2] / "docs"
BLOCK = re.compile(r"```python\n(.*?)```", re.S)
FILE_HEADER = re.compile(r"#\s*[\w./-]+\.py\s*$")


def runnable_blocks(page: Path) -> list[str]:
    blocks = BLOCK.findall(page.read_text())
    return [b for b in blocks if not FILE_HEADER.match(b.splitlines()[0] if b else "")]


PAGES = sorted(p for p in DOCS.glob("*.md") if runnable_blocks(p))


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_doc_examples_run(page: Path) -> None:
    # A real module, so dataclasses and type hints can find the example's globals.
    module = types.ModuleType(f"docs_{page.stem}")
    sys.modules[module.__name__] = module
    try:
        for block in runnable_blocks(page):
            exec(compile(block, str(page), "exec"), module.__dict__)
    finally:
        del sys.modules[module.__name__]
