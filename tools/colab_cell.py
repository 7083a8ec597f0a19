"""Put the same three-line Colab set-up cell first in every notebook of the course (idempotent).

    python tools/colab_cell.py          # insert or update the cell everywhere
    python tools/colab_cell.py --check  # exit 1 if a notebook lacks the current cell (used by the tests)

On Google Colab the cell pip-installs the course package from its git repository with the ``colab``
extra (pyproject.toml): the package carries the photos and data, and since pyproject gives only lower
bounds, Colab's own PyTorch stays. Anywhere else it does nothing. The install logic lives in one place,
pyproject.toml; the cell only names it. The repository address comes from pyproject.toml's
[project.urls] Repository (set it once the course is published, then rerun this tool); on Colab, env
COURSE_GIT_URL overrides it, and without either the cell asks the learner to set COURSE_GIT_URL.
"""
import sys
import tomllib
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = ("notebooks", "solutions", "exercises")
MARKER = "# Colab set-up"
TAG = "colab-setup"

CELL = '''# Colab set-up: on Google Colab this installs the course package (photos included, Colab's PyTorch kept); elsewhere it does nothing.
import os, subprocess, sys
if "google.colab" in sys.modules: subprocess.run([sys.executable, "-m", "pip", "install", "-q", "xai-helpers[colab] @ git+" + (os.environ.get("COURSE_GIT_URL") or "{url}" or sys.exit("Set COURSE_GIT_URL to the git address of the course repository, then rerun this cell."))], check=True)'''


def repository_url():
    """pyproject.toml's [project.urls] Repository, or "" when the course has no published address yet."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return project.get("urls", {}).get("Repository", "")


def cell_source():
    address = repository_url()
    if any(c in address for c in "\"'\\\n"):
        raise ValueError(f"{address!r} is not a plain git address (quotes, backslashes or newlines).")
    return CELL.replace("{url}", address)


def notebooks():
    return sorted(p for folder in FOLDERS for p in (ROOT / folder).rglob("*.ipynb")
                  if ".ipynb_checkpoints" not in p.parts)


def has_current_cell(nb):
    return bool(nb.cells) and nb.cells[0].cell_type == "code" and nb.cells[0].source == cell_source()


def update(path):
    """Replace the notebook's set-up cell (keeping its id) or insert one first -> True if it changed."""
    nb = nbformat.read(path, as_version=4)
    if has_current_cell(nb):
        return False
    first = nb.cells[0] if nb.cells else None
    if first is not None and first.cell_type == "code" and (
            first.source.startswith(MARKER) or TAG in first.metadata.get("tags", [])):
        first.source = cell_source()
    else:
        nb.cells.insert(0, nbformat.v4.new_code_cell(cell_source()))
    nb.cells[0].metadata["tags"] = [TAG]
    nbformat.write(nb, path)
    return True


def main(argv):
    if "--check" in argv:
        stale = [p for p in notebooks() if not has_current_cell(nbformat.read(p, as_version=4))]
        for p in stale:
            print(f"{p.relative_to(ROOT)}: Colab set-up cell missing or outdated; run python tools/colab_cell.py")
        return 1 if stale else 0
    for p in notebooks():
        if update(p):
            print(f"updated {p.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
