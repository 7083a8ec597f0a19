"""Every notebook starts with the Colab set-up cell; it does nothing outside Colab, installs the course on it."""
import os
import sys
import types
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import colab_cell  # noqa: E402


def test_every_notebook_starts_with_the_current_colab_cell():
    assert colab_cell.notebooks(), "no notebooks found"
    assert colab_cell.main(["--check"]) == 0


def test_outside_colab_the_cell_does_nothing(monkeypatch):
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    monkeypatch.setattr("subprocess.run", lambda *a, **k: pytest.fail("ran a command outside Colab"))
    cwd = os.getcwd()
    exec(colab_cell.cell_source(), {})
    assert os.getcwd() == cwd


def test_on_colab_it_clones_and_installs_without_replacing_pytorch(monkeypatch, tmp_path):
    calls = []
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    monkeypatch.setenv("COURSE_GIT_URL", "https://example.org/course.git")
    monkeypatch.setattr("subprocess.run", lambda cmd, **k: calls.append(cmd))
    monkeypatch.setattr("os.chdir", lambda path: calls.append(["chdir", path]))
    real_open = open
    monkeypatch.setitem(__builtins__ if isinstance(__builtins__, dict) else __builtins__.__dict__, "open",
                        lambda p, *a, **k: real_open(ROOT / "pyproject.toml", *a, **k)
                        if str(p).endswith("pyproject.toml") else real_open(p, *a, **k))
    path_before = list(sys.path)
    try:
        exec(colab_cell.cell_source(), {})
    finally:
        sys.path[:] = path_before
    assert calls[0][:2] == ["git", "clone"] and "https://example.org/course.git" in calls[0]
    installed = [arg for cmd in calls[1:] for arg in cmd]
    assert not any(a.startswith(("torch==", "torchvision==")) for a in installed), "must keep Colab's PyTorch"
    assert "captum>=0.9" in installed and "/content/course" in installed
    assert calls[-1] == ["chdir", "/content/course/notebooks"]
