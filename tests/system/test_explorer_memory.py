"""The explorers' memory under heavy use, in a fresh Jupyter kernel (the setting where they run widgets).

``bench.explorer_memory.drive`` builds the image and the text explorer in a new kernel and sends 24
alternating heavy changes, one cell each (``explorer.update(...)`` as a widget change calls it, then a
wait for the redraw), reading the kernel's /proc status after each. The mix hits every path that can
grow, with 14 changes to settle and 10 to judge: 12 image changes -- 3 of them Integrated Gradients with
200 steps (~12 s each; one falls among the last 10), the other 9 SmoothGrad with 50 samples at
alternating noise levels -- and 12 text changes cycling through two long sentences and their
concatenation (~130 tokens), so tensor shapes keep changing between redraws. ``make bench`` (section
explorer_memory) runs the 100-change version and records its numbers.

Asserted: the kernel's peak (VmHWM) stays below 2 GB (Binder's limit); the last 10 changes add nothing
(RSS never rises more than 50 MB above its value before them: a leak of the kind this guards against
added 100-400 MB per heavy redraw, while a flat kernel moves by ~15 MB between redraws of different
shapes); and after the 24 changes the kernel has the same threads (by name and as native threads,
with exactly one long-lived explorer worker) and the same number of hooks on the models as after the
first change.
"""
import sys

import pytest

from bench import explorer_memory
from bench.harness import GB

pytest.importorskip("jupyter_client")
pytest.importorskip("ipywidgets")

PEAK_LIMIT = 2 * GB
LAST_10_GROWTH = 50 * 1024 ** 2


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads the kernel's /proc/<pid>/status")
def test_heavy_changes_keep_the_kernel_flat_and_below_2_gb():
    changes = explorer_memory.heavy_changes(24, ig_every=10)
    assert sum(settings.get("n_steps") == 200 for _, settings in changes[-10:]) == 1   # IG is among the judged
    run = explorer_memory.drive(changes)
    rss = [sample["VmRSS"] for sample in run["samples"]]
    mb = [round(r / 1024 ** 2) for r in rss]
    peak = run["samples"][-1]["VmHWM"]
    assert peak < PEAK_LIMIT, f"kernel peak {peak / GB:.2f} GB; RSS after each change (MB): {mb}"
    assert max(rss[-10:]) - rss[-11] < LAST_10_GROWTH, f"memory still grows at the end; RSS (MB): {mb}"
    before, after = run["before"], run["after"]
    assert after["hooks"] == before["hooks"], "hooks left on the models"
    assert after["threads"] == before["threads"] and after["native_threads"] == before["native_threads"]
    assert after["threads"].count("explorer-worker") == 1
    assert not [name for name in after["threads"] if name.startswith("explorer-") and name != "explorer-worker"]
