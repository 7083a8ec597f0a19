"""Test-suite set-up shared by unit tests and notebook execution (nbval).

* Offline: the whole suite runs with networking blocked for every Python process it starts
  (tests/offline_guard/sitecustomize.py) and, where the kernel allows it, inside a network namespace
  with loopback only (tools/offline.sh). tests/test_offline.py checks both.
* nbval compares only text outputs of cells marked NBVAL_CHECK_OUTPUT (--nbval-lax); HTML, JavaScript
  and stderr are never compared (BertViz ids are random, warnings vary by machine).
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


def pytest_collectstart(collector):
    """Never compare HTML, JavaScript or stderr outputs of notebook cells."""
    if hasattr(collector, "skip_compare"):
        collector.skip_compare = tuple(collector.skip_compare) + (
            "text/html", "application/javascript", "application/vnd.jupyter.widget-view+json", "stderr")
