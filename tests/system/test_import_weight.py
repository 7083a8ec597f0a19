"""What ``import xai_helpers`` loads in a fresh interpreter: torch and the light libraries it uses everywhere, not
the heavy or optional ones, which load when a function that needs them is first called (the static side, no
module imports one at its top: tests/unit/test_import_weight.py).

Measured on the course machine (CPU, torch 2.14 cu130): ``import torch`` 510 MB resident; ``import xai_helpers``
770 MB while it imported torchvision at the top of its modules (torchvision imports ``torch._dynamo``, sympy and
triton: ~170 MB and ~2.5 s), 606 MB without. A lesson that loads a torchvision model pays for it then.
"""
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

#: Libraries ``import xai_helpers`` must not load: each is loaded by the functions that use it.
DEFERRED = ("torchvision", "torch._dynamo", "sympy", "transformers", "captum", "quantus", "pytorch_grad_cam",
            "seaborn", "sklearn", "ipywidgets", "cv2", "bertviz")


def _modules_after(code):
    """Top-level names and ``torch._dynamo`` in ``sys.modules`` after running ``code`` in a fresh interpreter."""
    script = f"import json, sys\n{code}\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=ROOT)
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


def test_import_loads_no_heavy_or_optional_library():
    loaded = _modules_after("import xai_helpers as xh\nassert callable(xh.load_image_model)")
    assert "torch" in loaded and "xai_helpers.explore" in loaded
    assert [name for name in DEFERRED if name in loaded] == []


def test_the_deferred_library_loads_when_a_function_needs_it():
    loaded = _modules_after("import xai_helpers as xh\nassert len(xh.data.imagenet_labels()) == 1000")
    assert "torchvision" in loaded
