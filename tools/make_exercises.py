#!/usr/bin/env python
"""Generate the learners' notebook exercises/chapter4_exercises.ipynb from solutions/chapter4_solutions.ipynb.

The solutions notebook is the single source; never edit the exercises notebook by hand. Conventions
(compatible with nbgrader's ``BEGIN SOLUTION`` / ``END SOLUTION`` delimiters):

Code cells
    ``### BEGIN SOLUTION`` ... ``### END SOLUTION``: the lines between the markers are the reference
    answer. In the exercises they become ``# YOUR CODE HERE`` + ``raise NotImplementedError("hint")``,
    indented like the markers (a region may sit inside a function body). Inside a region,
    ``# HINT: text`` lines give the hint (shown as comments and in the error message) and
    ``# STUB: code`` lines are code the learner starts from (e.g. a template for a written answer).
Markdown cells
    ``<!-- BEGIN SOLUTION -->`` ... ``<!-- END SOLUTION -->`` encloses a model answer; it is removed.
    ``<!-- EXERCISE`` ... ``-->`` is invisible in the solutions and unwrapped in the exercises (the
    structured prompt for a written answer, or text meant for learners only).
Cells tagged ``solution-only`` are dropped from the exercises.

nbval: every exercise cell that contains a stub, and every later cell that reads a name such a cell
defines (found by parsing the code, followed transitively), is tagged ``raises-exception``, so
``pytest --nbval-lax`` accepts their NotImplementedError / NameError until the learner solves them.
Outputs and execution counts are cleared.

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
SOLUTION_ONLY_TAG = "solution-only"
DEFAULT_HINT = "write your solution here, then delete this line"
DEFAULT_TEXT_PROMPT = "**Your answer:** _write it here._"
_EXERCISE_BLOCK = re.compile(r"<!--\s*EXERCISE\s*\n?(.*?)-->", re.DOTALL)


class MarkerError(ValueError):
    """Unbalanced or nested solution markers in the solutions notebook."""


def _is_marker(line, word):
    stripped = line.strip()
    return stripped.startswith("#") and f"{word} SOLUTION" in stripped


def strip_code(source, where="a code cell"):
    """Code cell source -> (exercise source, True if a solution region was replaced)."""
    out, region, changed = [], None, False
    for line in source.splitlines():
        if _is_marker(line, "BEGIN"):
            if region is not None:
                raise MarkerError(f"nested BEGIN SOLUTION in {where}")
            region = {"indent": line[:len(line) - len(line.lstrip())], "hints": [], "stub": []}
        elif _is_marker(line, "END"):
            if region is None:
                raise MarkerError(f"END SOLUTION without BEGIN SOLUTION in {where}")
            indent, hints = region["indent"], region["hints"]
            out.append(f"{indent}# YOUR ANSWER HERE: fill in the template, then delete the raise line"
                       if region["stub"] else f"{indent}# YOUR CODE HERE")
            out += [f"{indent}# Hint: {h}" for h in hints]
            out += region["stub"]
            message = " ".join(hints) if hints else DEFAULT_HINT
            out.append(f"{indent}raise NotImplementedError({message!r})")
            region, changed = None, True
        elif region is not None:
            text = line.strip()
            if text.startswith("# HINT:"):
                region["hints"].append(text[len("# HINT:"):].strip())
            elif text.startswith("# STUB:"):
                stub = line.split("# STUB:", 1)[1]
                region["stub"].append(region["indent"] + (stub[1:] if stub.startswith(" ") else stub))
        else:
            out.append(line)
    if region is not None:
        raise MarkerError(f"BEGIN SOLUTION without END SOLUTION in {where}")
    return "\n".join(out), changed


def _is_md_marker(line, word):
    return re.fullmatch(rf"<!--\s*{word} SOLUTION\s*-->", line.strip()) is not None


def strip_markdown(source, where="a markdown cell"):
    """Markdown cell source -> exercise source (model answers removed, EXERCISE blocks unwrapped)."""
    out, inside, removed = [], False, False
    for line in source.splitlines():
        if _is_md_marker(line, "BEGIN"):
            if inside:
                raise MarkerError(f"nested BEGIN SOLUTION in {where}")
            inside, removed = True, True
        elif _is_md_marker(line, "END"):
            if not inside:
                raise MarkerError(f"END SOLUTION without BEGIN SOLUTION in {where}")
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise MarkerError(f"BEGIN SOLUTION without END SOLUTION in {where}")
    text = "\n".join(out)
    has_prompt = bool(_EXERCISE_BLOCK.search(text))
    text = _EXERCISE_BLOCK.sub(lambda m: m.group(1).strip("\n"), text)
    if removed and not has_prompt:
        text = text.rstrip("\n") + ("\n\n" if text.strip() else "") + DEFAULT_TEXT_PROMPT
    return text.strip("\n")


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
    cells, tainted = [], set()
    for index, cell in enumerate(nb.cells):
        where = f"cell {index} ({cell.get('id', '?')})"
        if SOLUTION_ONLY_TAG in cell.metadata.get("tags", []):
            continue
        if cell.cell_type == "markdown":
            cell.source = strip_markdown(cell.source, where)
        elif cell.cell_type == "code":
            loads, stores = _names(cell.source)
            cell.source, changed = strip_code(cell.source, where)
            cell.outputs, cell.execution_count = [], None
            if changed or loads & tainted:
                _tag(cell, RAISES_TAG)
                tainted |= stores
            else:
                tainted -= stores
        cells.append(cell)
    nb.cells = cells
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
