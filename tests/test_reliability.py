"""Reliability: no hooks or memory left behind, bit-identical seeded results, safe loading and rendering."""
import ast
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import xai_helpers as xh
from helpers import hook_count, live_tensors  # noqa: E402  (tests/helpers.py)
from xai_helpers.methods.cam import grad_cam, grad_cam_plus_plus

ROOT = Path(__file__).resolve().parents[1]


def _rss_mb():
    import psutil
    return psutil.Process().memory_info().rss / 2**20


def test_a_thousand_cam_calls_including_failures_leave_no_hooks_and_no_memory_behind():
    image_model = xh.load_image_model("resnet18", random_weights=True)
    net = image_model.model
    x = torch.randn(1, 3, 64, 64, device=image_model.device)  # small input: the hook logic is the same
    hooks_before = hook_count(net)

    def calls(n):
        for i in range(n):
            cam_fn = grad_cam if i % 2 else grad_cam_plus_plus
            if i % 10 == 9:
                with pytest.raises(ValueError):
                    cam_fn(image_model, x, 5000)  # raises after the hooks were registered
            elif i % 10 == 4:
                with pytest.raises(ValueError):
                    bad = x.clone()
                    bad[0, 0, 0, 0] = float("nan")
                    cam_fn(image_model, bad, 1)
            else:
                cam_fn(image_model, x, i % 1000, layer="layer4")

    calls(100)  # warm-up: allocator pools, lazy imports
    tensors, rss = live_tensors(), _rss_mb()
    calls(900)
    assert hook_count(net) == hooks_before == 0
    assert live_tensors() <= tensors, "tensors accumulate across CAM calls"
    assert _rss_mb() - rss < 100, "resident memory grew by more than 100 MB over 900 CAM calls"


def test_hooks_are_removed_when_the_model_itself_raises():
    image_model = xh.load_image_model("resnet18", random_weights=True)
    with pytest.raises(ValueError, match="cannot read this input.*channels"):
        grad_cam(image_model, torch.randn(1, 4, 64, 64), 1)  # 4 channels: conv1 fails inside torch, named by the package
    assert hook_count(image_model.model) == 0


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


def _torch_load_calls():
    for path in list((ROOT / "xai_helpers").rglob("*.py")) + list((ROOT / "tools").rglob("*.py")) \
            + list((ROOT / "bench").rglob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "load" \
                    and isinstance(node.func.value, ast.Name) and node.func.value.id == "torch":
                yield path, node


def test_every_checkpoint_is_loaded_with_weights_only():
    calls = list(_torch_load_calls())
    for path, node in calls:
        kw = {k.arg: k.value for k in node.keywords}
        assert "weights_only" in kw and isinstance(kw["weights_only"], ast.Constant) \
            and kw["weights_only"].value is True, f"{path.name}:{node.lineno} torch.load without weights_only=True"
    assert calls, "expected at least the EfficientNet checkpoint to be loaded with torch.load"


def test_no_pickle_based_loading_in_the_package():
    for path in (ROOT / "xai_helpers").rglob("*.py"):
        text = path.read_text()
        assert "pickle.load" not in text and "joblib.load" not in text, path
