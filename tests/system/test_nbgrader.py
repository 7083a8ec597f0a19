"""System test: the teacher's nbgrader workflow on the solutions notebook, as the README describes it, offline.

A temporary course directory gets the solutions notebook as source/chapter4/chapter4.ipynb and the README's
nbgrader_config.py settings; ``nbgrader generate_assignment`` must accept it as it is; the release must equal
exercises/ cell by cell (the same sources, so the one generator and nbgrader agree); ``nbgrader autograde``
must give a blank release 0 autograded points and a partly wrong submission every point but those of the check cells
of its wrong answers (a partial score), each of those cells failing with the message that names its mistake.
Together with the nbval run of solutions/ in the same `make test` (every check cell passes with the reference
answers, the three changed ones included), that is the reference solutions' full score; autograding the reference
as a third submission would execute the same notebook a third time (~35 s) to learn nothing more.
Skipped with a reason when nbgrader is not installed (it is in the course's test extra).
"""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

pytest.importorskip("nbgrader", reason="nbgrader is not installed here: pip install nbgrader (part of the course's "
                                       "test extra) to run the teacher's workflow test")

ROOT = Path(__file__).resolve().parents[2]
SOLUTIONS = ROOT / "solutions" / "chapter4_solutions.ipynb"
EXERCISES = ROOT / "exercises" / "chapter4_exercises.ipynb"
ASSIGNMENT, NOTEBOOK = "chapter4", "chapter4"
#: Per-cell timeout for this test on a loaded CI machine; the README recommends 120 s to teachers.
CELL_TIMEOUT = int(os.environ.get("XAI_NBGRADER_TIMEOUT", "600"))


def _nbgrader(course, *args, timeout=3600):
    executable = Path(sys.executable).with_name("nbgrader")
    command = [str(executable) if executable.exists() else "nbgrader", *args, f"--Execute.timeout={CELL_TIMEOUT}"]
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])   # nbgrader runs `alembic`
    done = subprocess.run(command, cwd=course, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "PATH": path, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, f"nbgrader {' '.join(args)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-6000:]}"
    return done


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    course = tmp_path_factory.mktemp("course")
    (course / "nbgrader_config.py").write_text(
        "c = get_config()\n"
        "c.CourseDirectory.course_id = 'xai-chapter4'\n"
        f"c.Execute.timeout = {CELL_TIMEOUT}\n"
        "c.Execute.kernel_name = 'python3'\n", encoding="utf-8")
    source = course / "source" / ASSIGNMENT
    source.mkdir(parents=True)
    shutil.copy(SOLUTIONS, source / f"{NOTEBOOK}.ipynb")
    _nbgrader(course, "generate_assignment", ASSIGNMENT, "--force")
    return course


def test_generate_assignment_matches_the_exercises(course):
    release = nbformat.read(str(course / "release" / ASSIGNMENT / f"{NOTEBOOK}.ipynb"), as_version=4)
    exercises = nbformat.read(str(EXERCISES), as_version=4)
    assert [c.id for c in release.cells] == [c.id for c in exercises.cells]
    for ours, theirs in zip(exercises.cells, release.cells):
        assert (ours.cell_type, ours.source) == (theirs.cell_type, theirs.source), f"cell {ours.id} differs"
    text = "\n".join(c.source for c in release.cells)
    assert "BEGIN SOLUTION" not in text and "<details><summary>Hint 3" in text
    code = "\n".join(c.source for c in release.cells if c.cell_type == "code")
    assert code.count("raise NotImplementedError()") == sum(
        c.source.count("### BEGIN SOLUTION") for c in nbformat.read(str(SOLUTIONS), as_version=4).cells)


def _test_cells():
    """grade_ids of the autograder test cells (graded, not answers) in the solutions notebook."""
    cells = nbformat.read(str(SOLUTIONS), as_version=4).cells
    return {c.metadata["nbgrader"]["grade_id"] for c in cells
            if c.metadata.get("nbgrader", {}).get("grade") and not c.metadata["nbgrader"].get("solution")}


def _autograded(course, student):
    from nbgrader.api import Gradebook
    tests = _test_cells()
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        notebook = gradebook.find_submission_notebook(NOTEBOOK, ASSIGNMENT, student)
        grades = [g for g in notebook.grades if g.name in tests]
        return sum(g.auto_score or 0 for g in grades), sum(g.max_score for g in grades), len(grades)


#: A partly wrong submission: the solutions with three answers changed as a learner might get them wrong, each in a
#: task whose result no later check cell reads (grade_id -> (the right line, the wrong one), points lost).
PARTLY_WRONG = {
    "p2c-code": ("n_needed = math.ceil(", "n_needed = math.floor("),
    "p3c-code": ('per_pixel = ig[name]["attributions"][0].sum(0)', 'per_pixel = ig[name]["attributions"][0].abs().sum(0)'),
    "p5d-code": ("largest_margin = max(", "largest_margin = min("),
}
LOST = {"p2c-check": 2, "p3c-check": 2, "p5d-check": 1}
#: What each of those check cells must say: the message of the mistake, not some other error.
DIAGNOSES = {"p2c-check": "n_needed'] is rounded down", "p3c-check": "uses |attribution|",
             "p5d-check": "largest_margin is not the largest margin"}


def _partly_wrong(path):
    notebook = nbformat.read(str(SOLUTIONS), as_version=4)
    for cell in notebook.cells:
        change = PARTLY_WRONG.get(cell.metadata.get("nbgrader", {}).get("grade_id"))
        if change:
            assert change[0] in cell.source, f"the solutions no longer hold {change[0]!r}"
            cell.source = cell.source.replace(change[0], change[1])
    nbformat.write(notebook, str(path))


@pytest.fixture(scope="module")
def autograded(course):
    """Two submissions autograded in one run: the blank release and a partly wrong one."""
    for student in ("blank", "partly"):
        (course / "submitted" / student / ASSIGNMENT).mkdir(parents=True, exist_ok=True)
    target = lambda student: course / "submitted" / student / ASSIGNMENT / f"{NOTEBOOK}.ipynb"  # noqa: E731
    shutil.copy(course / "release" / ASSIGNMENT / f"{NOTEBOOK}.ipynb", target("blank"))
    _partly_wrong(target("partly"))
    _nbgrader(course, "autograde", ASSIGNMENT, "--force", "--create")
    return course


def _scores_by_cell(course, student):
    from nbgrader.api import Gradebook
    tests = _test_cells()
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        notebook = gradebook.find_submission_notebook(NOTEBOOK, ASSIGNMENT, student)
        return {g.name: (g.auto_score or 0, g.max_score) for g in notebook.grades if g.name in tests}


def test_autograde_gives_a_blank_release_zero_points(autograded):
    blank, maximum, n_tests = _autograded(autograded, "blank")
    print(f"autograded points: blank release {blank:g}/{maximum:g} ({n_tests} check cells)")
    assert n_tests >= 15 and maximum >= 30
    assert blank == 0
    assert {score for score, _ in _scores_by_cell(autograded, "blank").values()} == {0}


def _errors(course, student):
    """grade_id -> (error name, message) of every cell of the autograded notebook that raised."""
    notebook = nbformat.read(str(course / "autograded" / student / ASSIGNMENT / f"{NOTEBOOK}.ipynb"), as_version=4)
    return {c.metadata.get("nbgrader", {}).get("grade_id", c.id): (o.ename, o.evalue)
            for c in notebook.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"}


def test_autograde_a_partly_wrong_submission_loses_exactly_the_points_of_its_wrong_answers(autograded):
    partly, maximum, _ = _autograded(autograded, "partly")
    scores = _scores_by_cell(autograded, "partly")
    print(f"autograded points: partly wrong submission {partly:g}/{maximum:g}")
    assert 0 < partly < maximum
    assert {name: scores[name] for name in LOST} == {name: (0, points) for name, points in LOST.items()}
    assert all(score == top for name, (score, top) in scores.items() if name not in LOST)
    assert partly == maximum - sum(LOST.values())
    errors = _errors(autograded, "partly")
    assert set(errors) == set(LOST), errors                       # only the checks of the wrong answers raised
    for name, text in DIAGNOSES.items():
        assert errors[name][0] == "CheckFailed" and text in errors[name][1], errors[name]
