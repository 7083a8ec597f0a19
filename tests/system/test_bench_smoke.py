"""Smoke tests of bench/: its correctness checks, its harness and its sections' plumbing, on a tiny CNN.

No timing is asserted (speed is measured by `make bench`, never by the tests); this checks that the
benchmark's implementations agree where they must, that its harness computes paired ratios and picks
defaults as documented, that the IG step search follows its one rule, and that the bench keeps its
shape (sections found by run.py, no function over ~50 lines), so a broken benchmark is caught before
anyone reads its numbers.
"""
import os

import nbformat

from bench import harness, notebooks


# ------------------------------------------------------------------------------------------ the harness


def test_spawn_runs_the_function_in_another_process():
    pid = harness.spawn("os:getpid", {})
    assert isinstance(pid, int) and pid != os.getpid()
    assert "failed" in harness.spawn("bench.harness:no_such_function", {})


# ------------------------------------------------------------------------------------- notebooks section


def test_notebook_worker_times_cells_and_measures_the_kernel(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("x = sum(range(10**5))"), nbformat.v4.new_code_cell("1 / 0")]
    nbformat.write(nb, tmp_path / "t.ipynb")
    out = notebooks.run_notebook(str(tmp_path / "t.ipynb"), timeout=120)
    assert out["seconds"] > 0 and out["kernel_maxrss"] > 0 and "ZeroDivisionError" in out["error"]
    assert [c["index"] for c in out["cells"]] == [0, 1]


# ------------------------------------------------------------------------------------- classroom section
# (its end-to-end path needs root and starts a hub: `python bench/run.py --only classroom --quick`, ~2 min)


def test_classroom_reads_the_kernels_messages_as_jupyterlab_does():
    from bench import classroom
    out = {"status": None, "stdout": "", "error": ""}
    mine = {"msg_id": "a"}
    assert not classroom._handle({"msg_type": "stream", "parent_header": {"msg_id": "b"},
                                  "content": {"name": "stdout", "text": "not ours"}}, "a", out)
    assert not classroom._handle({"msg_type": "stream", "parent_header": mine,
                                  "content": {"name": "stdout", "text": "42\n"}}, "a", out)
    classroom._handle({"msg_type": "error", "parent_header": mine,
                       "content": {"ename": "ZeroDivisionError", "evalue": "division by zero"}}, "a", out)
    classroom._handle({"msg_type": "execute_reply", "parent_header": mine, "content": {"status": "error"}}, "a", out)
    assert classroom._handle({"msg_type": "status", "parent_header": mine,
                              "content": {"execution_state": "idle"}}, "a", out)
    assert out == {"status": "error", "stdout": "42\n", "error": "ZeroDivisionError: division by zero"}
    classroom._handle({"msg_type": "status", "parent_header": {}, "content": {"execution_state": "restarting"}},
                      "a", out)
    assert out["status"] == "dead"


def test_classroom_capacity_is_the_stated_arithmetic():
    from bench import classroom
    gb = harness.GB
    learner = {"kernel_peak": 1.8 * gb, "server_peak": 0.2 * gb}
    results = [{"learners": [learner, dict(learner, kernel_peak=1.6 * gb)], "hub_peak": 0.5 * gb}]
    n, text = classroom.capacity(results, 16)
    assert n == int((16 - 2 - 0.5) // (classroom.SAFETY * 2.0)) == 5
    assert text.endswith("= 5") and "1.80 GB kernel" in text
    assert classroom.capacity([{"learners": [{"errors": ["x"]}], "hub_peak": 0}], 16)[0] is None


def test_classroom_command_line_appends_to_results_and_runs_image_changes():
    from bench import classroom, run
    args = run.parse_args(["--only", "classroom", "--quick"])
    assert args.classroom_learners == [1] and args.classroom_cells == 3 and args.classroom_explorer_changes == 1
    assert args.results == "" and args.classroom_append.endswith("RESULTS.md")   # appended, not rewritten
    args = run.parse_args(["--only", "classroom,cam", "--classroom-learners", "1,2,4,8", "--results", ""])
    assert args.classroom_learners == [1, 2, 4, 8] and not args.classroom_append
    cells = classroom.explorer_cells(3)
    assert len(cells) == 4 and "explore_image" in cells[0]
    assert "integrated_gradients" in cells[1] and all("smoothgrad" in c for c in cells[2:])
    assert len(classroom.lesson_cells(classroom.LESSON, 2)) == 2
