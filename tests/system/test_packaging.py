"""Packaging: lower bounds in pyproject, exact versions in one constraints file, data found after `pip install .`.

* pyproject.toml names what `import xai_helpers` needs (lower bounds only) and the extras [lab], [colab], [test];
* requirements/pins.txt pins every one of them exactly once, and is the only file with exact versions;
  make, environment.yml and binder/postBuild install through it;
* a built wheel carries the course photos and data: a non-editable install finds them from any folder.
"""
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


# ------------------------------------------------------------------- non-editable install (system tier)
CHECK_INSTALLED = """
import pathlib, sys, xai_helpers as xh
from xai_helpers import data, digits, evaluation
from xai_helpers.models import sentiment, vit
site = pathlib.Path(sys.argv[1])
assert site in pathlib.Path(xh.__file__).parents, ("not the installed copy", xh.__file__)
assert site in xh.data.DATA_DIR.parents, ("data found outside the installed package", xh.data.DATA_DIR)
assert xh.load_image("cat").size == (451, 300)
for parts in (("boxes.json",), ("SOURCES.md",), ("sentiment", "train.tsv"), ("sentiment", "test.tsv"),
              ("sentiment", "minilm_sentiment_head.safetensors"), ("photo_set.json",), ("photos", "owl.jpg"),
              ("sentences", "corpus.tsv"), ("sentences", "minimal_pairs.tsv")):
    assert data.data_path(*parts).is_file(), parts
assert len(data.load_photo_set()) >= 30 and len(data.load_composite_scenes(n=2)) == 2
assert len(data.load_sentence_corpus()) >= 600 and len(data.load_minimal_pairs()) >= 120
assert evaluation.BOXES_PATH.is_file() and sentiment.SENTIMENT_CHECKPOINT.is_file()
assert len(evaluation.load_boxes()) > 0 and len(sentiment.load_sentiment_data("test")[0]) > 0
assert (pathlib.Path(xh.__file__).parent / "assets" / "vit" / "tiny_vit_digits.safetensors").is_file()
print("installed copy OK", xh.data.DATA_DIR)
"""


def test_non_editable_install_finds_the_photos_and_data_from_any_folder(tmp_path):
    """`pip install .` (a built wheel, not the repository) -> xh.load_image("cat") works from another folder.

    The wheel is built without build isolation (no download) and installed with --no-deps into a fresh venv
    that sees this environment's third-party packages through a .pth line (whose own .pth files, among
    them the editable install of this repository, are therefore not run)."""
    try:
        import setuptools  # noqa: F401
    except ImportError:
        pytest.skip("setuptools is not installed here, so pip cannot build the wheel without a download")
    wheels, venv, source = tmp_path / "wheels", tmp_path / "venv", tmp_path / "source"
    for part in ("xai_helpers", "data"):   # build from a copy: setuptools leaves build/ next to the sources
        shutil.copytree(ROOT / part, source / part, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for part in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / part, source / part)
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                            "--disable-pip-version-check", "-q", "-w", str(wheels), str(source)],
                           capture_output=True, text=True, timeout=600)
    assert build.returncode == 0, build.stderr[-2000:]
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    (site / "zz_course_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    install = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps",
                              "--no-index", "--disable-pip-version-check", "-q", *map(str, wheels.glob("*.whl"))],
                             capture_output=True, text=True, timeout=300)
    assert install.returncode == 0, install.stderr[-2000:]
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PYTHONPATH"] = str(ROOT / "tests" / "offline_guard")   # stay offline, but not on the repository
    run = subprocess.run([str(python), "-c", CHECK_INSTALLED, str(site)], cwd=elsewhere, env=env,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "installed copy OK" in run.stdout
