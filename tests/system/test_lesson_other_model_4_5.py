"""Lesson 4.5 runs to its end with an image model other than the default, and says which readings it skipped.

The stand-in (tests/helpers.py: a re-initialised MobileNet-V3-Small, other layer names, no trained readings) is
loaded through XAI_IMAGE_MODEL, as a learner would load their own classifier. Every assert that pins a value of
EfficientNet-Lite0 is guarded by ``xh.models.for_default_model``, which prints a "Not checked" line instead.
"""
import os
import subprocess
import sys
from pathlib import Path

import nbformat

from tests.helpers import save_other_image_model

ROOT = Path(__file__).resolve().parents[2]
LESSON = ROOT / "notebooks" / "4.5_end_to_end.ipynb"


def test_lesson_4_5_runs_with_another_image_model(tmp_path):
    model_file = tmp_path / "other.pt"
    save_other_image_model(model_file)
    out = tmp_path / "executed.ipynb"
    env = {**os.environ, "XAI_IMAGE_MODEL": str(model_file), "PYTHONPATH": str(ROOT)}
    run = subprocess.run([sys.executable, "-m", "jupyter", "nbconvert", "--to", "notebook", "--execute",
                          "--ExecutePreprocessor.timeout=600", "--output", str(out), str(LESSON)],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stderr[-4000:]
    executed = nbformat.read(out, as_version=4)
    printed = "".join(o.get("text", "") for c in executed.cells if c.cell_type == "code"
                      for o in c.get("outputs", []) if o.get("output_type") == "stream")
    not_checked = [line for line in printed.splitlines() if line.startswith("Not checked")]
    assert len(not_checked) >= 10, printed[-3000:]
    assert any("cap" in line for line in not_checked) and any("every layer is random" in line for line in not_checked)
