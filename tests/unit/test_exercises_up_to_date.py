"""exercises/ is generated from solutions/ by tools/make_exercises.py and must be up to date.

Also checks the generator's conventions (nbgrader's) on small hand-made notebooks, so that these tests can
fail, and the solutions notebook's nbgrader metadata and hints.
"""
import importlib.util
import json
import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("make_exercises", ROOT / "tools" / "make_exercises.py")
make_exercises = importlib.util.module_from_spec(spec)
spec.loader.exec_module(make_exercises)


def _meta(kind, gid, points=None):
    meta = {"grade": kind in ("test", "manual"), "solution": kind in ("answer", "manual"), "locked": kind == "test",
            "grade_id": gid, "schema_version": 3, "task": False}
    if points is not None:
        meta["points"] = points
    return {"nbgrader": meta}


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


def test_solutions_carry_nbgrader_metadata_and_only_solution_cells_hold_answers():
    solutions = nbformat.read(str(make_exercises.SOLUTIONS), as_version=4)
    kinds = {"answer": 0, "manual": 0, "test": 0}
    for cell in solutions.cells:
        meta = cell.metadata.get("nbgrader", {})
        has_region = "BEGIN SOLUTION" in cell.source
        assert has_region <= bool(meta.get("solution")), f"{cell.id}: a solution region outside a solution cell"
        if meta.get("grade") and meta.get("locked"):
            kinds["test"] += 1
            assert meta["points"] > 0 and not has_region
            lines = cell.source.splitlines()
            assert re.search(r"importlib\.reload\(xh\.check\w*\)", lines[0]), \
                f"{cell.id}: a check must restore the checkers first"
            calls = [l for l in lines[1:] if not re.match(r"\s|check\w* = importlib\.reload\(xh\.check\w*\)$", l)]
            assert calls and all(re.match(r"check\w*\.\w+\(", l) for l in calls), \
                f"{cell.id}: a check cell holds only the check (no displays nbgrader could not score)"
        elif meta.get("solution"):
            kinds["manual" if meta.get("grade") else "answer"] += 1
            assert has_region, f"{cell.id}: keep starter code outside a solution region, the answer inside one"
    assert kinds["answer"] >= 10 and kinds["manual"] >= 5 and kinds["test"] >= 15, kinds


def test_every_task_prompt_has_three_hidden_hints_and_no_hint_in_the_raise():
    solutions = nbformat.read(str(make_exercises.SOLUTIONS), as_version=4)
    exercises = nbformat.read(str(make_exercises.EXERCISES), as_version=4)
    prompts = [c for c in solutions.cells if c.cell_type == "markdown" and re.match(r"\*\*Task \d[a-z]", c.source)
               and "(written)" not in c.source.splitlines()[0]]
    assert len(prompts) >= 10
    for prompt in prompts:
        assert [int(n) for n in re.findall(r"<details><summary>Hint (\d)", prompt.source)] == [1, 2, 3], prompt.id
    for cell in exercises.cells:
        for line in cell.source.splitlines() if cell.cell_type == "code" else []:
            if "raise NotImplementedError" in line:
                assert line.strip() == "raise NotImplementedError()", line


def test_exercises_hide_every_solution_and_mark_every_stub():
    solutions = nbformat.read(str(make_exercises.SOLUTIONS), as_version=4)
    exercises = nbformat.read(str(make_exercises.EXERCISES), as_version=4)
    stubs = 0
    for cell in exercises.cells:
        assert "BEGIN SOLUTION" not in cell.source and "END SOLUTION" not in cell.source
        if cell.cell_type == "code" and "raise NotImplementedError" in cell.source:
            stubs += 1
            assert "raises-exception" in cell.metadata.get("tags", []), cell.source[:200]
        if cell.metadata.get("nbgrader", {}).get("grade") and cell.metadata["nbgrader"].get("locked"):
            assert "raises-exception" in cell.metadata.get("tags", []), f"{cell.id}: a blank check must fail"
    regions = sum(c.source.count("### BEGIN SOLUTION") for c in solutions.cells if c.cell_type == "code")
    assert stubs == regions >= 15
    headings = [c.source.splitlines()[0] for c in exercises.cells if c.cell_type == "markdown"]
    for n in range(1, 6):
        assert any(h.startswith(f"## Problem {n}") for h in headings)


def _nb(*cells):
    nb = nbformat.v4.new_notebook()
    for i, spec_ in enumerate(cells):
        kind, source = spec_[:2]
        cell = nbformat.v4.new_code_cell(source) if kind == "code" else nbformat.v4.new_markdown_cell(source)
        cell.id = f"c{i}"
        if len(spec_) > 2:
            cell.metadata.update(spec_[2])
        nb.cells.append(cell)
    return nb


def test_code_regions_become_nbgrader_stubs_with_indentation():
    cell = nbformat.v4.new_code_cell("def f(x):\n    \"\"\"Doc.\"\"\"\n    ### BEGIN SOLUTION\n    return x + 1\n"
                                     "    ### END SOLUTION\n")
    cell.metadata.update(_meta("answer", "f"))
    out, changed = make_exercises.strip_cell(cell)
    assert changed and "return x + 1" not in out
    assert out == "def f(x):\n    \"\"\"Doc.\"\"\"\n    # YOUR CODE HERE\n    raise NotImplementedError()\n"
    plain = nbformat.v4.new_code_cell("a = 1")
    assert make_exercises.strip_cell(plain) == ("a = 1", False)
    for broken in ("### BEGIN SOLUTION\nx = 1\n", "x = 1\n### END SOLUTION\n",
                   "### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION\n"):
        bad = nbformat.v4.new_code_cell(broken)
        bad.metadata.update(_meta("answer", "b"))
        with pytest.raises(make_exercises.MarkerError):
            make_exercises.strip_cell(bad)


def test_nbgrader_rules_are_enforced():
    region = "### BEGIN SOLUTION\nx = 1\n### END SOLUTION"
    for source, meta, message in [
        (region, {}, "not an nbgrader solution cell"),
        (region, _meta("test", "t", 1), "not an nbgrader solution cell"),
        ("check.x()", _meta("test", "t"), "without points"),
        ("# HINT: old style\n" + region, _meta("answer", "a"), "old"),
    ]:
        cell = nbformat.v4.new_code_cell(source)
        cell.metadata.update(meta)
        with pytest.raises(make_exercises.MarkerError, match=message):
            make_exercises.strip_cell(cell)
    twice = _nb(("code", region, _meta("answer", "same")), ("code", region, _meta("answer", "same")))
    with pytest.raises(make_exercises.MarkerError, match="used twice"):
        make_exercises.make_exercises(twice)


def test_markdown_answers_become_nbgrader_text_stubs():
    cell = nbformat.v4.new_markdown_cell("Question?\n<!-- BEGIN SOLUTION -->\nThe answer.\n<!-- END SOLUTION -->")
    cell.metadata.update(_meta("manual", "m", 2))
    out, changed = make_exercises.strip_cell(cell)
    assert changed and out == "Question?\nYOUR ANSWER HERE"
    whole = nbformat.v4.new_markdown_cell("A full model answer.")
    whole.metadata.update(_meta("manual", "w", 2))
    assert make_exercises.strip_cell(whole) == ("YOUR ANSWER HERE", True)


def test_cells_that_depend_on_a_stub_are_marked_and_others_are_not():
    nb = _nb(("code", "import math\nbase = 2"),
             ("code", "### BEGIN SOLUTION\nanswer = base + 1\n### END SOLUTION", _meta("answer", "a")),
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


def test_outputs_are_cleared():
    nb = _nb(("code", "x = 1"))
    nb.cells[0].outputs = [nbformat.v4.new_output("stream", text="1\n")]
    nb.cells[0].execution_count = 3
    out = make_exercises.make_exercises(nb)
    assert out.cells[0].outputs == [] and out.cells[0].execution_count is None
