"""Test-suite set-up shared by unit tests and notebook execution (nbval).

* Offline: the whole suite runs with networking blocked for every Python process it starts
  (tests/offline_guard/sitecustomize.py) and, where the kernel allows it, inside a network namespace
  with loopback only (tools/offline.sh). tests/system/test_offline.py checks both.
* nbval compares only text outputs of cells marked NBVAL_CHECK_OUTPUT (--nbval-lax); HTML, JavaScript
  and stderr are never compared (BertViz ids are random, warnings vary by machine).
* Tiers: a test's folder (tests/unit, tests/integration, tests/system) declares its tier; the plugin
  tests/tier_folders.py marks each test by it, fails the collection for a test outside those folders, and
  keeps unit tests from loading models or starting processes. Loaded here, at the root, so that it also
  marks the notebooks (system) when they are collected without tests/.
"""
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent
GUARD = ROOT / "tests" / "offline_guard"

os.environ["XAI_BLOCK_NETWORK"] = "1"
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(GUARD), os.environ.get("PYTHONPATH")) if p)
os.environ.setdefault("TORCH_NUM_THREADS", "2")

import sys  # noqa: E402

sys.path.insert(0, str(GUARD))
import xai_offline_guard  # noqa: E402,F401  (pytest started before PYTHONPATH named the guard)

# tests/ is on sys.path (pyproject.toml: pythonpath); pytester runs the small test trees of tests/unit/test_tiers.py
pytest_plugins = ["tier_folders", "pytester"]


def pytest_collectstart(collector):
    """Never compare HTML, JavaScript or stderr outputs of notebook cells."""
    if hasattr(collector, "skip_compare"):
        collector.skip_compare = tuple(collector.skip_compare) + (
            "text/html", "application/javascript", "application/vnd.jupyter.widget-view+json", "stderr")
