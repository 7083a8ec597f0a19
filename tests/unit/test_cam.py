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


# --- HiResCAM, LayerCAM, Ablation-CAM: equal to pytorch-grad-cam; where HiResCAM and Grad-CAM differ ----------
def _library_scales(raw, size):
    """pytorch-grad-cam's post-processing of a raw map: min-max, bilinear resize, min-max again."""
    import torch.nn.functional as F
    m = raw - raw.min()
    m = m / (1e-7 + m.max())
    m = F.interpolate(m[None, None], size=size, mode="bilinear", align_corners=False)[0, 0]
    return ((m - m.min()) / (1e-7 + m.max() - m.min())).numpy()


def _library_map(cls, net, layer, x, target, **kwargs):
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget
    with cls(model=net, target_layers=[layer], **kwargs) as cam:
        return cam(x.clone().requires_grad_(True), targets=[ClassifierOutputTarget(target)])[0]


@pytest.mark.parametrize("name", ["hires_cam", "layer_cam", "ablation_cam"])
@pytest.mark.parametrize("head", ["pool", "flatten"])
def test_hires_layer_and_ablation_cam_equal_pytorch_grad_cam(name, head):
    import numpy as np
    import pytorch_grad_cam
    import xai_helpers as xh
    cls = {"hires_cam": pytorch_grad_cam.HiResCAM, "layer_cam": pytorch_grad_cam.LayerCAM,
           "ablation_cam": pytorch_grad_cam.AblationCAM}[name]
    net = xh.models.cam_head_net(head, size=12, channels=6, classes=4, seed=1)
    x = torch.rand(1, 3, 12, 12, generator=torch.Generator().manual_seed(2))
    target = int(net(x).argmax())      # a positive logit: Ablation-CAM divides by it
    raw = getattr(xh.methods, name)(net, x, target, layer="features", upsample=False, normalize=False,
                                    **({"batch_size": 4} if name == "ablation_cam" else {}))
    library = _library_map(cls, net, net.features, x, target, **({"batch_size": 4} if name == "ablation_cam" else {}))
    assert raw.shape == (12, 12) and raw.max() > 0
    np.testing.assert_allclose(_library_scales(raw, (12, 12)), library, atol=1e-5)
    assert _all_hooks(net) == []


def test_hires_cam_equals_grad_cam_under_global_pooling_and_differs_under_a_flatten_head():
    """Pooling: every position of map k has the gradient W[c, k] / hw, so HiResCAM = Grad-CAM. Flatten: the
    gradient is a weight per position; HiResCAM (before its ReLU) sums to the score minus the bias, Grad-CAM does not."""
    import xai_helpers as xh
    from xai_helpers.methods.cam import hires_cam, layer_activation_and_gradient
    x = torch.rand(1, 3, 10, 10, generator=torch.Generator().manual_seed(0))
    pool, flat = (xh.models.cam_head_net(h, size=10, seed=3) for h in ("pool", "flatten"))
    for target in range(3):
        torch.testing.assert_close(hires_cam(pool, x, target, layer="features", normalize=False),
                                   grad_cam(pool, x, target, layer="features", normalize=False), rtol=1e-5, atol=1e-7)
    differs = [float((hires_cam(flat, x, t, layer="features") - grad_cam(flat, x, t, layer="features")).abs().max())
               for t in range(3)]
    assert min(differs) > 0.1, differs
    A, g, _, _ = layer_activation_and_gradient(flat, x, 1, layer="features")
    score = flat(x)[0, 1] - flat.head[1].bias[1]
    torch.testing.assert_close((g * A).sum(), score, rtol=1e-5, atol=1e-5)            # exact share of the score
    assert abs(float((g.mean(dim=(2, 3), keepdim=True) * A).sum() - score)) > 1e-3    # Grad-CAM's is not
    with pytest.raises(ValueError, match="head must be one of"):
        xh.models.cam_head_net("max")


def test_ablation_cam_runs_only_the_layers_above_the_target_layer_on_the_batch():
    """Below the layer: one image per pass, even where the head reshapes by the input's batch size."""
    import xai_helpers as xh
    from torch import nn

    class ViewHead(nn.Module):      # like EfficientNet-Lite0: the head reshapes with the input's batch size
        def __init__(self):
            super().__init__()
            self.features, self.fc = nn.Sequential(nn.Conv2d(3, 5, 3, padding=1), nn.ReLU()), nn.Linear(5, 3)
            self.seen = []

        def forward(self, x):
            bs = x.size(0)
            below = self.features[0](x)
            self.seen.append(below.shape[0])       # images the layer below the CAM layer ran on
            a = self.features[1](below)
            return self.fc(a.mean(dim=(2, 3)).view(bs, -1))

    torch.manual_seed(0)
    net = ViewHead().eval()
    x = torch.rand(1, 3, 8, 8)
    target = int(net(x).argmax())
    net.seen.clear()
    cam = xh.methods.ablation_cam(net, x, target, layer="features.1", batch_size=2, normalize=False)
    assert cam.shape == (8, 8) and net.seen == [1] * 4          # one recording pass + ceil(5 / 2) = 3 ablation passes
    reference = _library_map(__import__("pytorch_grad_cam").AblationCAM, net, net.features[1], x, target, batch_size=2)
    import numpy as np
    raw = xh.methods.ablation_cam(net, x, target, layer="features.1", upsample=False, normalize=False)
    np.testing.assert_allclose(_library_scales(raw, (8, 8)), reference, atol=1e-5)
    assert _all_hooks(net) == []
