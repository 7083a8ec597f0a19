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
