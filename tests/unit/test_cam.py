"""Grad-CAM and Grad-CAM++ helpers: parity with Captum / pytorch-grad-cam, hooks, errors, edge cases."""
import pytest
import torch

from helpers import CamNet as _TinyNet
from helpers import all_hooks as _all_hooks
from xai_helpers.methods.cam import grad_cam, grad_cam_plus_plus


def test_empty_map_is_zeros_not_nan():
    net = _TinyNet().eval()
    x = torch.rand(1, 3, 16, 16)
    for method in (grad_cam, grad_cam_plus_plus):
        empty = method(net, x, 0, layer="features")
        assert torch.equal(empty, torch.zeros(16, 16))
        assert method(net, x, 1, layer="features").max() == pytest.approx(1.0)
    # a 1x1 feature map: a constant map, never 0/0
    one_by_one = grad_cam(net, x, 1, layer=net.pool)
    assert torch.isfinite(one_by_one).all() and one_by_one.shape == (16, 16)


@pytest.mark.parametrize("method", [grad_cam, grad_cam_plus_plus])
def test_one_call_shape_model_x_target_and_the_layer_by_keyword(method):
    net = _TinyNet().eval()
    x = torch.rand(1, 3, 16, 16)
    by_keyword = method(net, x, 1, layer="features")
    torch.testing.assert_close(method(net, x, 1, layer=net.features), by_keyword)
    for old_order in ((net, "features", x, 1), (net, x, 1, "features")):   # a layer passed by position
        with pytest.raises(TypeError, match="too many positional arguments"):
            method(*old_order)
    assert _all_hooks(net) == []


def test_backpropagation_stops_at_the_layer():
    class NoBackward(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x.clone()

        @staticmethod
        def backward(ctx, grad):
            raise AssertionError("backpropagated below the target layer")

    class Net(_TinyNet):
        def forward(self, x):
            x = NoBackward.apply(x.requires_grad_(True))
            return super().forward(x)

    net = Net().eval()  # parameters require gradients here, unlike a frozen ImageModel
    cam = grad_cam(net, torch.rand(1, 3, 16, 16), 1, layer="features")
    assert cam.max() == pytest.approx(1.0)
    assert all(p.grad is None for p in net.parameters())
