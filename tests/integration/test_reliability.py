"""Reliability: no hooks or memory left behind, bit-identical seeded results, safe loading and rendering."""

import pytest
import torch

import xai_helpers as xh
from helpers import hook_count, live_tensors  # noqa: E402  (tests/helpers.py)
from xai_helpers.methods.cam import grad_cam, grad_cam_plus_plus


def _rss_mb():
    import psutil
    return psutil.Process().memory_info().rss / 2**20


def test_a_thousand_cam_calls_including_failures_leave_no_hooks_and_no_memory_behind():
    image_model = xh.load_image_model("resnet18", random_weights=True)
    net = image_model.model
    x = torch.randn(1, 3, 32, 32, device=image_model.device)  # small input (1x1 at layer4): the hook logic is the same
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
