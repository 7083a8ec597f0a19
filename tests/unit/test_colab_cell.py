"""The Colab set-up cell: at most 3 lines, first in every notebook; on Colab one pip install of the course
package's ``colab`` extra (install logic in pyproject.toml, Colab's PyTorch kept); elsewhere nothing."""
import sys
import tomllib
import types
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))
import colab_cell  # noqa: E402


def _run_cell(monkeypatch, on_colab, url_env=None):
    """Execute the cell as a kernel would -> the commands it ran."""
    calls = []
    if on_colab:
        monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    else:
        monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    if url_env is None:
        monkeypatch.delenv("COURSE_GIT_URL", raising=False)
    else:
        monkeypatch.setenv("COURSE_GIT_URL", url_env)
    monkeypatch.setattr("subprocess.run", lambda cmd, **k: calls.append(cmd))
    exec(colab_cell.cell_source(), {})
    return calls


def test_the_cell_is_at_most_three_lines():
    assert len(colab_cell.cell_source().splitlines()) <= 3


def test_every_notebook_starts_with_the_current_colab_cell():
    assert colab_cell.notebooks(), "no notebooks found"
    assert colab_cell.main(["--check"]) == 0


def test_outside_colab_the_cell_does_nothing(monkeypatch):
    assert _run_cell(monkeypatch, on_colab=False, url_env="https://example.org/course.git") == []


def test_on_colab_it_pip_installs_the_colab_extra_from_the_repository(monkeypatch):
    calls = _run_cell(monkeypatch, on_colab=True, url_env="https://example.org/course.git")
    assert calls == [[sys.executable, "-m", "pip", "install", "-q",
                      "xai-helpers[colab] @ git+https://example.org/course.git"]]


def test_on_colab_without_an_address_it_asks_for_one(monkeypatch):
    if colab_cell.repository_url():
        pytest.skip("pyproject.toml names the repository, so the cell always has an address")
    with pytest.raises(SystemExit, match="COURSE_GIT_URL"):
        _run_cell(monkeypatch, on_colab=True)


def test_the_colab_extra_keeps_colabs_pytorch():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = project["dependencies"] + project["optional-dependencies"]["colab"]
    torch_reqs = [r for r in names if r.split(">")[0].split("=")[0].strip() in ("torch", "torchvision")]
    assert torch_reqs and all("==" not in r and "<" not in r for r in torch_reqs), torch_reqs
    assert project["optional-dependencies"]["colab"], "the lessons need more than the package on Colab"


def test_the_tool_replaces_an_old_set_up_cell_and_keeps_its_id(tmp_path, monkeypatch):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("# Colab set-up: old\nimport os\n" + "x = 1\n" * 12),
                nbformat.v4.new_markdown_cell("# Title")]
    old_id = nb.cells[0].id
    nbformat.write(nb, tmp_path / "n.ipynb")
    assert colab_cell.update(tmp_path / "n.ipynb") and not colab_cell.update(tmp_path / "n.ipynb")
    cells = nbformat.read(tmp_path / "n.ipynb", as_version=4).cells
    assert cells[0].source == colab_cell.cell_source() and cells[0].id == old_id and len(cells) == 2
    assert cells[0].metadata["tags"] == ["colab-setup"]
