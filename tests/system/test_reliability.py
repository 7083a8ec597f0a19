"""Reliability: no hooks or memory left behind, bit-identical seeded results, safe loading and rendering."""
import subprocess
import sys

import pytest
import torch


_DETERMINISM = """
import hashlib, torch, xai_helpers as xh
from xai_helpers.methods.integrated import make_baseline
m = xh.load_image_model(); x = m.preprocess("coffee")
sg = xh.smoothgrad(m, x, "espresso", n_samples=3, seed=11)
noise = make_baseline(m, x, "noise", seed=5)
print(hashlib.sha256(sg.numpy().tobytes()).hexdigest(), hashlib.sha256(noise.numpy().tobytes()).hexdigest())
"""


@pytest.mark.skipif(torch.cuda.is_available(), reason="bit-identity is promised on the CPU")
def test_seeded_smoothgrad_and_noise_baselines_are_bit_identical_across_processes():
    runs = [subprocess.run([sys.executable, "-c", _DETERMINISM], capture_output=True, text=True, timeout=300,
                           env={**__import__("os").environ, "XAI_DEVICE": "cpu"}) for _ in range(2)]
    for r in runs:
        assert r.returncode == 0, r.stderr[-2000:]
    assert runs[0].stdout.split() == runs[1].stdout.split()
    assert len(runs[0].stdout.split()) == 2
