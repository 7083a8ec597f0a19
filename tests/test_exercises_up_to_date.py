"""exercises/ is generated from solutions/ by tools/make_exercises.py and must be up to date.

Also checks the generator's conventions on small hand-made notebooks, so that these tests can fail.
"""
import importlib.util
import json
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("make_exercises", ROOT / "tools" / "make_exercises.py")
make_exercises = importlib.util.module_from_spec(spec)
spec.loader.exec_module(make_exercises)


def test_exercises_are_up_to_date():
    expected = make_exercises.render(make_exercises.SOLUTIONS)
    current = make_exercises.EXERCISES.read_text(encoding="utf-8")
    assert current == expected, ("exercises/chapter4_exercises.ipynb is out of date with "
                                 "solutions/chapter4_solutions.ipynb: run `make exercises` "
                                 "(python tools/make_exercises.py) and commit the result.")


def test_a_changed_solution_makes_the_exercises_stale(tmp_path):
    solutions = nbformat.read(str(make_exercises.SOLUTIONS), as_version=4)
    markdown = next(c for c in solutions.cells if c.cell_type == "markdown")
    markdown.source += "\n\nOne more sentence."
    changed = tmp_path / "solutions.ipynb"
    nbformat.write(solutions, str(changed))
    assert make_exercises.render(changed) != make_exercises.EXERCISES.read_text(encoding="utf-8")


@pytest.mark.parametrize("path", [make_exercises.SOLUTIONS, make_exercises.EXERCISES])
def test_notebooks_are_committed_without_outputs(path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [] and cell["execution_count"] is None, f"{path.name}: clear the outputs"


def test_exercises_hide_every_solution_and_mark_every_stub():
    solutions = nbformat.read(str(make_exercises.SOLUTIONS), as_version=4)
    exercises = nbformat.read(str(make_exercises.EXERCISES), as_version=4)
    stubs = 0
    for cell in exercises.cells:
        assert "BEGIN SOLUTION" not in cell.source and "END SOLUTION" not in cell.source
        if cell.cell_type == "code" and "raise NotImplementedError" in cell.source:
            stubs += 1
            assert "raises-exception" in cell.metadata.get("tags", []), cell.source[:200]
    regions = sum(c.source.count("### BEGIN SOLUTION") for c in solutions.cells if c.cell_type == "code")
    assert stubs == regions >= 10
    # every problem keeps its heading
    headings = [c.source.splitlines()[0] for c in exercises.cells if c.cell_type == "markdown"]
    for n in range(1, 6):
        assert any(h.startswith(f"## Problem {n}") for h in headings)


def _nb(*cells):
    nb = nbformat.v4.new_notebook()
    for i, (kind, source) in enumerate(cells):
        cell = nbformat.v4.new_code_cell(source) if kind == "code" else nbformat.v4.new_markdown_cell(source)
        cell.id = f"c{i}"
        nb.cells.append(cell)
    return nb


def test_code_regions_become_stubs_with_hints_and_indentation():
    source = ("def f(x):\n    \"\"\"Doc.\"\"\"\n    ### BEGIN SOLUTION\n    # HINT: add one\n"
              "    # STUB: y = ...\n    return x + 1\n    ### END SOLUTION\n")
    out, changed = make_exercises.strip_code(source)
    assert changed
    assert "return x + 1" not in out
    assert "    # Hint: add one\n    y = ...\n    raise NotImplementedError('add one')" in out
    assert make_exercises.strip_code("a = 1\n") == ("a = 1", False)
    with pytest.raises(make_exercises.MarkerError):
        make_exercises.strip_code("### BEGIN SOLUTION\nx = 1\n")
    with pytest.raises(make_exercises.MarkerError):
        make_exercises.strip_code("x = 1\n### END SOLUTION\n")


def test_markdown_answers_become_prompts():
    source = "Question?\n<!-- BEGIN SOLUTION -->\nThe answer.\n<!-- END SOLUTION -->\n<!-- EXERCISE\nWrite 3 sentences.\n-->"
    out = make_exercises.strip_markdown(source)
    assert "The answer." not in out and "Write 3 sentences." in out and "<!--" not in out
    assert make_exercises.DEFAULT_TEXT_PROMPT in make_exercises.strip_markdown(
        "Q\n<!-- BEGIN SOLUTION -->\nA\n<!-- END SOLUTION -->")
    with pytest.raises(make_exercises.MarkerError):
        make_exercises.strip_markdown("<!-- BEGIN SOLUTION -->\nA")


def test_cells_that_depend_on_a_stub_are_marked_and_others_are_not():
    nb = _nb(("code", "import math\nbase = 2"),
             ("code", "### BEGIN SOLUTION\nanswer = base + 1\n### END SOLUTION"),
             ("code", "doubled = answer * 2"),            # reads the stub's name
             ("code", "print(doubled)"),                  # transitively
             ("code", "answer = 5\nprint(math.pi, base)"),  # redefines it: independent again
             ("code", "print(answer)"),
             ("markdown", "text"))
    nb.cells[1].metadata["tags"] = ["keep-me"]
    out = make_exercises.make_exercises(nb)
    tags = [c.metadata.get("tags", []) for c in out.cells]
    assert tags[0] == [] and tags[4] == [] and tags[5] == []
    assert tags[1] == ["keep-me", "raises-exception"]
    assert "raises-exception" in tags[2] and "raises-exception" in tags[3]


def test_solution_only_cells_are_dropped_and_outputs_cleared():
    nb = _nb(("code", "x = 1"), ("markdown", "teacher note"))
    nb.cells[0].outputs = [nbformat.v4.new_output("stream", text="1\n")]
    nb.cells[0].execution_count = 3
    nb.cells[1].metadata["tags"] = ["solution-only"]
    out = make_exercises.make_exercises(nb)
    assert len(out.cells) == 1 and out.cells[0].outputs == [] and out.cells[0].execution_count is None
