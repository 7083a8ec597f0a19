"""The committed notebooks are clean nbformat 4.5 files: every cell has a unique id (JupyterLab, nbgrader and
nbval key cells by it; nbformat warns, and will refuse, where one is missing), and no code cell carries outputs
or an execution count (the repository holds sources; `make html` and the tests execute them)."""
import json
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted(p.relative_to(ROOT).as_posix() for folder in ("notebooks", "solutions", "exercises")
                   for p in (ROOT / folder).glob("*.ipynb"))


def test_the_course_notebooks_are_found():
    assert len([n for n in NOTEBOOKS if n.startswith("notebooks/")]) >= 6 and len(NOTEBOOKS) >= 8


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_every_cell_has_a_unique_id_and_no_output(name):
    raw = json.loads((ROOT / name).read_text(encoding="utf-8"))
    assert (raw["nbformat"], raw["nbformat_minor"]) >= (4, 5)
    ids = [cell.get("id") for cell in raw["cells"]]
    assert None not in ids, f"{name}: cells {[i for i, v in enumerate(ids) if v is None]} have no id"
    assert len(set(ids)) == len(ids), f"{name}: repeated cell ids"
    nbformat.validate(nbformat.reads(json.dumps(raw), as_version=4))
    dirty = [i for i, cell in enumerate(raw["cells"]) if cell["cell_type"] == "code"
             and (cell.get("outputs") or cell.get("execution_count") is not None)]
    assert not dirty, f"{name}: code cells {dirty} were committed with outputs or an execution count"


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_no_markdown_cell_shows_an_unfilled_placeholder(name):
    """A `{name}` left in prose (outside math and code) is a format field that was never filled: the learner would
    read it literally."""
    import re
    found = []
    for index, cell in enumerate(nbformat.read(str(ROOT / name), as_version=4).cells):
        if cell.cell_type == "markdown":
            prose = re.sub(r"`[^`]*`", "", re.sub(r"\$[^$]*\$", "", re.sub(r"\$\$.*?\$\$", "", cell.source, flags=re.S)))
            found += [(index, m) for m in re.findall(r"\{[A-Za-z_][A-Za-z_0-9.]*\}", prose)]
    assert not found, f"{name}: unfilled placeholders (cell, text): {found}"
