#!/usr/bin/env python
"""Generate the learners' notebook exercises/chapter4_exercises.ipynb from solutions/chapter4_solutions.ipynb.

The solutions notebook is the single source; never edit the exercises notebook by hand. It is also an
nbgrader source notebook as it stands, and this script produces the same cell sources as
``nbgrader generate_assignment`` (its ClearSolutions step), so exercises/ equals a release.

Conventions (nbgrader's):
* A region between a line containing ``BEGIN SOLUTION`` and one containing ``END SOLUTION`` (in code,
  ``### BEGIN SOLUTION`` / ``### END SOLUTION``) is the reference answer. It becomes
  ``# YOUR CODE HERE`` + ``raise NotImplementedError()`` (code) or ``YOUR ANSWER HERE`` (markdown),
  indented like the first marker. Everything outside the region -- prompts, hints, starter code,
  templates of written answers -- is kept as it is.
* Cells carry nbgrader metadata: answers ``solution``; written answers ``solution`` + ``grade`` with
  ``points`` (graded by hand); checks ``grade`` + ``locked`` with ``points`` (graded automatically).
  A solution region outside a solution cell, a check cell with a region, a grade cell without points
  and a repeated ``grade_id`` are errors here, as they are in nbgrader.
* Hints are markdown ``<details><summary>Hint 1: ...</summary> ... </details>`` blocks in the prompt:
  learners open them one at a time; they are not part of any region.

nbval: every exercise cell that holds a stub, and every later cell that reads a name such a cell
defines (found by parsing the code, followed transitively), is tagged ``raises-exception``, so
``pytest --nbval-lax`` accepts their NotImplementedError / NameError / unanswered checks. Outputs and
execution counts are cleared.

Usage: python tools/make_exercises.py [--check]   (--check: exit 1 if exercises/ is out of date)
"""
import argparse
import ast
import copy
import re
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = ROOT / "solutions" / "chapter4_solutions.ipynb"
EXERCISES = ROOT / "exercises" / "chapter4_exercises.ipynb"
RAISES_TAG = "raises-exception"
CODE_STUB = ["# YOUR CODE HERE", "raise NotImplementedError()"]
TEXT_STUB = ["YOUR ANSWER HERE"]
BEGIN, END = "BEGIN SOLUTION", "END SOLUTION"
_LEGACY = re.compile(r"^\s*#\s*(HINT|STUB):|<!--\s*EXERCISE", re.MULTILINE)


class MarkerError(ValueError):
    """Unbalanced or misplaced solution markers, or nbgrader metadata nbgrader would refuse."""


def _nbgrader(cell):
    return cell.metadata.get("nbgrader", {})


def replace_regions(source, stub, where="a cell"):
    """Source -> (source with each solution region replaced by ``stub``, number of regions), as nbgrader does."""
    out, inside, regions = [], False, 0
    for line in source.split("\n"):
        if BEGIN in line:
            if inside:
                raise MarkerError(f"nested BEGIN SOLUTION in {where}")
            inside, regions = True, regions + 1
            indent = re.match(r"\s*", line).group(0)
            out += [indent + s for s in stub]
        elif END in line:
            if not inside:
                raise MarkerError(f"END SOLUTION without BEGIN SOLUTION in {where}")
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise MarkerError(f"BEGIN SOLUTION without END SOLUTION in {where}")
    return "\n".join(out), regions


def strip_cell(cell, where="a cell"):
    """One solutions cell -> (its exercise source, True if an answer was removed). Checks nbgrader's rules."""
    meta = _nbgrader(cell)
    if _LEGACY.search(cell.source):
        raise MarkerError(f"{where} uses the old '# HINT:' / '# STUB:' / '<!-- EXERCISE' conventions, which nbgrader "
                          "does not know: put hints in the prompt's <details> blocks and starter code outside the "
                          "solution region.")
    stub = CODE_STUB if cell.cell_type == "code" else TEXT_STUB
    source, regions = replace_regions(cell.source, stub, where)
    solution, grade = bool(meta.get("solution")), bool(meta.get("grade"))
    if regions and not solution:
        raise MarkerError(f"{where} has a solution region but is not an nbgrader solution cell: mark it "
                          "'Autograded answer' or 'Manually graded answer' (metadata nbgrader.solution = true).")
    if grade and meta.get("locked") and regions:
        raise MarkerError(f"{where} is a locked autograder test cell with a solution region.")
    if grade and not isinstance(meta.get("points"), (int, float)):
        raise MarkerError(f"{where} is a grade cell without points.")
    if (solution or grade or meta.get("locked")) and not meta.get("grade_id"):
        raise MarkerError(f"{where} has nbgrader metadata but no grade_id.")
    if solution and not regions:      # a whole-cell answer: nbgrader replaces all of it
        return "\n".join(stub), True
    return source, bool(regions)


def _names(source):
    """(names the cell reads, names it defines); IPython magics and shell lines are ignored."""
    lines = ["pass" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines()]
    try:
        tree = ast.parse("\n".join(lines))
    except SyntaxError:
        return set(), set()
    loads, stores = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (stores if isinstance(node.ctx, (ast.Store, ast.Del)) else loads).add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            stores.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            stores.update((a.asname or a.name).split(".")[0] for a in node.names)
    return loads, stores


def _tag(cell, tag):
    tags = list(cell.metadata.get("tags", []))
    if tag not in tags:
        tags.append(tag)
    cell.metadata["tags"] = tags


def make_exercises(solutions):
    """Solutions notebook (NotebookNode) -> exercises notebook (a new NotebookNode)."""
    nb = copy.deepcopy(solutions)
    tainted, ids = set(), set()
    for index, cell in enumerate(nb.cells):
        where = f"cell {index} ({cell.get('id', '?')})"
        grade_id = _nbgrader(cell).get("grade_id")
        if grade_id:
            if grade_id in ids:
                raise MarkerError(f"{where}: grade_id {grade_id!r} is used twice; nbgrader needs unique ids.")
            ids.add(grade_id)
        loads, stores = _names(cell.source) if cell.cell_type == "code" else (set(), set())
        cell.source, changed = strip_cell(cell, where)
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
            if changed or loads & tainted:
                _tag(cell, RAISES_TAG)
                tainted |= stores
            else:
                tainted -= stores
    return nb


def render(solutions_path=SOLUTIONS):
    """The exercises notebook, as the exact text ``make exercises`` writes."""
    solutions = nbformat.read(str(solutions_path), as_version=4)
    return nbformat.writes(make_exercises(solutions)) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the exercises are out of date")
    args = parser.parse_args(argv)
    text = render()
    current = EXERCISES.read_text(encoding="utf-8") if EXERCISES.exists() else None
    if args.check:
        if current != text:
            print(f"{EXERCISES.relative_to(ROOT)} is out of date: run `make exercises`.", file=sys.stderr)
            return 1
        print(f"{EXERCISES.relative_to(ROOT)} is up to date.")
        return 0
    if current == text:
        print(f"{EXERCISES.relative_to(ROOT)} already up to date.")
        return 0
    EXERCISES.parent.mkdir(parents=True, exist_ok=True)
    EXERCISES.write_text(text, encoding="utf-8")
    print(f"wrote {EXERCISES.relative_to(ROOT)} from {SOLUTIONS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
