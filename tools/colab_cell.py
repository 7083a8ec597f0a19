"""Put the same Colab set-up cell first in every notebook of the course (idempotent).

    python tools/colab_cell.py          # insert or update the cell everywhere
    python tools/colab_cell.py --check  # exit 1 if a notebook lacks the current cell (used by the tests)

On Google Colab the cell clones the course repository and installs it with the Colab runtime's own
PyTorch (re-installing a multi-GB CUDA build would take minutes); anywhere else it does nothing. The
repository address comes from pyproject.toml ([project.urls] Repository) or env COURSE_GIT_URL.
"""
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = ("notebooks", "solutions", "exercises")
MARKER = "# Colab set-up"

CELL = '''# Colab set-up: on Google Colab this fetches and installs the course; anywhere else it does nothing.
import os, subprocess, sys
if "google.colab" in sys.modules and not os.path.isdir("/content/course"):
    import tomllib
    url = os.environ.get("COURSE_GIT_URL") or "{url}"
    if not url:
        raise RuntimeError("Set COURSE_GIT_URL to the address of the course repository (git clone URL).")
    subprocess.run(["git", "clone", "--depth", "1", url, "/content/course"], check=True)
    deps = tomllib.load(open("/content/course/pyproject.toml", "rb"))["project"]["dependencies"]
    keep = [d for d in deps if not d.startswith(("torch", "jupyterlab"))]  # keep Colab's own PyTorch
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", *keep], check=True)
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "-e", "/content/course"], check=True)
    sys.path.insert(0, "/content/course")
    os.chdir("/content/course/notebooks")'''


def repository_url():
    import tomllib
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return project.get("urls", {}).get("Repository", "")


def cell_source():
    return CELL.replace("{url}", repository_url())


def notebooks():
    return [p for folder in FOLDERS for p in sorted((ROOT / folder).glob("*.ipynb"))]


def has_current_cell(nb):
    return bool(nb.cells) and nb.cells[0].cell_type == "code" and nb.cells[0].source == cell_source()


def update(path):
    nb = nbformat.read(path, as_version=4)
    if has_current_cell(nb):
        return False
    if nb.cells and nb.cells[0].cell_type == "code" and nb.cells[0].source.startswith(MARKER):
        nb.cells[0].source = cell_source()
    else:
        nb.cells.insert(0, nbformat.v4.new_code_cell(cell_source()))
    nb.cells[0].metadata["tags"] = ["colab-setup"]
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
