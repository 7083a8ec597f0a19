"""Grad-CAM and Grad-CAM++ helpers: parity with Captum / pytorch-grad-cam, hooks, errors, edge cases."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

import xai_helpers as xh
from helpers import CamNet as _TinyNet
from helpers import all_hooks as _all_hooks
from xai_helpers.methods.cam import grad_cam, grad_cam_plus_plus, layer_activation_and_gradient


def _reference_plus_plus(A, g, eps):
    """Eq. 19 of Chattopadhay et al. 2018, written out as in pytorch-grad-cam (eps added to the denominator)."""
    sum_A = A.sum(dim=(2, 3), keepdim=True)
    alpha = g ** 2 / (2 * g ** 2 + sum_A * g ** 3 + eps)
    alpha = torch.where(g != 0, alpha, torch.zeros_like(alpha))
    weights = (torch.relu(g) * alpha).sum(dim=(2, 3), keepdim=True)
    return torch.relu((weights * A).sum(dim=1))[0]


def test_grad_cam_equals_captum_layer_grad_cam(image_model, dog_x):
    from captum.attr import LayerAttribution, LayerGradCam
    layer = image_model.target_layer
    raw = grad_cam(image_model, dog_x, "German shepherd", upsample=False, normalize=False)
    ref = LayerGradCam(image_model.model, layer).attribute(dog_x, target=235, relu_attributions=True)
    assert raw.shape == (7, 7) and raw.max() > 0
    torch.testing.assert_close(raw, ref[0, 0].cpu(), rtol=1e-5, atol=1e-6)
    up = LayerAttribution.interpolate(ref, (224, 224), interpolate_mode="bilinear")[0, 0].cpu()
    torch.testing.assert_close(grad_cam(image_model, dog_x, 235, layer=layer), up / up.max(), rtol=1e-5, atol=1e-6)


def test_map_is_input_sized_cpu_tensor_in_unit_range(image_model, dog_x):
    for method in (grad_cam, grad_cam_plus_plus):
        cam = method(image_model, dog_x, 235, layer="_blocks.15")
        assert isinstance(cam, torch.Tensor) and cam.device.type == "cpu"
        assert cam.shape == (224, 224) and not torch.isnan(cam).any()
        assert cam.min() >= 0 and cam.max() == pytest.approx(1.0)


def test_grad_cam_plus_plus_matches_closed_form_and_pytorch_grad_cam(image_model, dog_x):
    from pytorch_grad_cam import GradCAMPlusPlus
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget
    A, g, _, _ = layer_activation_and_gradient(image_model, dog_x, 235)
    raw = grad_cam_plus_plus(image_model, dog_x, 235, upsample=False, normalize=False)
    torch.testing.assert_close(raw, _reference_plus_plus(A, g, eps=0.0).cpu(), rtol=1e-4, atol=1e-6)

    with GradCAMPlusPlus(model=image_model.model, target_layers=[image_model.target_layer]) as cam:
        library = cam(dog_x.clone().requires_grad_(True), targets=[ClassifierOutputTarget(235)])[0]

    def as_library_scales(m):  # min-max, bilinear resize, min-max again, as pytorch-grad-cam does
        m = (m - m.min()) / (m.max() - m.min() + 1e-7)
        m = F.interpolate(m[None, None], size=(224, 224), mode="bilinear", align_corners=False)[0, 0]
        return ((m - m.min()) / (m.max() - m.min() + 1e-7)).numpy()

    # With the library's eps the closed form reproduces it; without, it stays close (eps effect only).
    np.testing.assert_allclose(as_library_scales(_reference_plus_plus(A, g, 1e-6).cpu()), library, atol=1e-4)
    np.testing.assert_allclose(as_library_scales(raw), library, atol=0.05)


def test_works_on_torchvision_resnets(resnet18_random):
    x = torch.randn(1, 3, 224, 224, generator=torch.Generator().manual_seed(0))
    for method in (grad_cam, grad_cam_plus_plus):
        for layer in (None, "layer3", resnet18_random.model.layer4[-1]):
            cam = method(resnet18_random, x, 3, layer=layer)
            assert cam.shape == (224, 224) and torch.isfinite(cam).all() and cam.max() <= 1.0
    resnet50 = xh.load_image_model("resnet50", random_weights=True)
    cam = grad_cam(resnet50.model, x[..., :128, :128], 7, layer=resnet50.model.layer4)  # plain nn.Module too
    assert cam.shape == (128, 128) and torch.isfinite(cam).all()


def test_hooks_removed_after_success_and_after_errors(image_model, dog_x):
    net = _TinyNet().eval()
    x = torch.rand(1, 3, 16, 16)
    grad_cam(net, x, 1, layer="features")
    grad_cam_plus_plus(net, x, 1, layer="features.1")
    assert _all_hooks(net) == []
    with pytest.raises(ValueError, match="out of range"):
        grad_cam(net, x, 5, layer="features")        # raised inside the hook's context, after the forward pass
    assert _all_hooks(net) == []

    class Broken(nn.Module):
        def forward(self, x):
            raise RuntimeError("boom")
    net.fc = nn.Sequential(Broken())
    with pytest.raises(RuntimeError, match="boom"):
        grad_cam(net, x, 1, layer="features")        # raised by the model's forward pass
    assert _all_hooks(net) == []
    with pytest.raises(ValueError, match="called 2 times"):   # a block's activation: expansion + depthwise
        grad_cam(image_model, dog_x, 235, layer="_blocks.15._swish")   # raised after a forward pass that hooked it twice
    assert _all_hooks(image_model.model) == []


def test_clear_errors_for_bad_layer_and_target(image_model, dog_x, resnet18_random):
    with pytest.raises(ValueError, match="no layer named 'layer5'"):
        grad_cam(resnet18_random, dog_x, 0, layer="layer5")
    with pytest.raises(ValueError, match="not part of this model"):
        grad_cam(image_model, dog_x, 0, layer=resnet18_random.model.layer4)
    with pytest.raises(ValueError, match="only an ImageModel"):
        grad_cam(image_model.model, dog_x, 0)
    with pytest.raises(TypeError, match="layer must be"):
        grad_cam(image_model, dog_x, 0, layer=3)
    with pytest.raises(ValueError, match="not a class name"):
        grad_cam_plus_plus(image_model, dog_x, "bicycle")
    with pytest.raises(ValueError, match="out of range"):
        grad_cam(image_model, dog_x, 1000)
    with pytest.raises(ValueError, match="batch"):
        grad_cam(image_model, dog_x.repeat(2, 1, 1, 1), 0)


def test_maps_are_class_discriminative(image_model, dog_x):
    dog_map = grad_cam(image_model, dog_x, "German shepherd")
    bike_map = grad_cam(image_model, dog_x, "bicycle-built-for-two")
    assert not torch.allclose(dog_map, bike_map, atol=0.1)


def test_default_efficientnet_layer_is_post_activation_and_grad_cam_equals_cam(image_model, dog_x):
    """On the map a global-average-pool + linear head reads, dS/dA^k = W[c,k]/hw everywhere: Grad-CAM = CAM."""
    A, g, target, name = layer_activation_and_gradient(image_model, dog_x, "pickup")
    assert name == "_head_activation" and A.shape[1:] == (1280, 7, 7) and A.min() >= 0
    W = image_model.model._fc.weight.detach()
    hw = A.shape[2] * A.shape[3]
    torch.testing.assert_close(g[0], (W[target] / hw)[:, None, None].expand_as(g[0]), rtol=1e-4, atol=1e-10)
    cam = torch.relu((W[target][:, None, None] * A[0]).sum(dim=0)).cpu() / hw       # Zhou et al. 2016
    raw = grad_cam(image_model, dog_x, "pickup", upsample=False, normalize=False)
    assert raw.max() > 0
    torch.testing.assert_close(raw, cam, rtol=1e-4, atol=1e-7)


def test_grad_cam_plus_plus_on_a_pooled_linear_head_is_cam_with_positive_weights(image_model, dog_x):
    """Constant gradients per channel make alpha constant per channel: w_k = ReLU(W_ck) / (2 + W_ck mean A^k)."""
    A, _, target, _ = layer_activation_and_gradient(image_model, dog_x, "pickup")
    W = image_model.model._fc.weight.detach()[target]
    weights = torch.relu(W) / (2 + W * A[0].mean(dim=(1, 2)))
    expected = torch.relu((weights[:, None, None] * A[0]).sum(dim=0)).cpu()
    raw = grad_cam_plus_plus(image_model, dog_x, "pickup", upsample=False, normalize=False)
    torch.testing.assert_close(raw, expected, rtol=1e-4, atol=1e-7)
    # ... which is why it is less class-discriminative than Grad-CAM here: it keeps no negative evidence
    plain = grad_cam(image_model, dog_x, "pickup", upsample=False)
    assert not torch.allclose(raw / raw.max(), plain, atol=0.1)


def test_grad_cam_plus_plus_warns_on_a_layer_with_negative_activations(image_model, dog_x):
    import warnings
    A, _, _, _ = layer_activation_and_gradient(image_model, dog_x, "pickup", layer="_bn1")
    assert A.min() < 0                                  # the head's batch norm, before the ReLU6
    with pytest.warns(UserWarning, match="non-negative activations.*'_bn1'"):
        grad_cam_plus_plus(image_model, dog_x, "pickup", layer="_bn1")
    with warnings.catch_warnings():
        warnings.simplefilter("error")                  # the post-activation default layer: no warning
        grad_cam_plus_plus(image_model, dog_x, "pickup")


def test_resnet_default_layer_is_post_relu():
    resnet50 = xh.load_image_model("resnet50", random_weights=True)
    x = torch.randn(1, 3, 64, 64, generator=torch.Generator().manual_seed(0)).to(resnet50.device)
    A, _, _, name = layer_activation_and_gradient(resnet50, x, 0)
    assert name == "layer4" and A.min() >= 0 and (A > 0).any()   # Bottleneck ends with relu(out + identity)


def _library_scales(raw, size):
    m = (raw - raw.min()) / (1e-7 + raw.max() - raw.min())
    m = F.interpolate(m[None, None], size=size, mode="bilinear", align_corners=False)[0, 0]
    return ((m - m.min()) / (1e-7 + m.max() - m.min())).numpy()


@pytest.mark.parametrize("name,layer", [("hires_cam", None), ("hires_cam", "_blocks.5"), ("layer_cam", None),
                                        ("layer_cam", "_blocks.5")])
def test_hires_cam_and_layer_cam_equal_pytorch_grad_cam_on_the_default_model(image_model, dog_x, name, layer):
    import pytorch_grad_cam
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget
    cls = {"hires_cam": pytorch_grad_cam.HiResCAM, "layer_cam": pytorch_grad_cam.LayerCAM}[name]
    module = image_model.target_layer if layer is None else image_model.model.get_submodule(layer)
    raw = getattr(xh.methods, name)(image_model, dog_x, 235, layer=layer, upsample=False, normalize=False)
    with cls(model=image_model.model, target_layers=[module]) as cam:
        library = cam(dog_x.clone().requires_grad_(True), targets=[ClassifierOutputTarget(235)])[0]
    np.testing.assert_allclose(_library_scales(raw, (224, 224)), library, atol=1e-5)
    if layer is None and name == "hires_cam":     # the default layer feeds global average pooling: = Grad-CAM
        torch.testing.assert_close(raw, grad_cam(image_model, dog_x, 235, upsample=False, normalize=False),
                                   rtol=1e-5, atol=1e-7)
    assert _all_hooks(image_model.model) == []


def test_ablation_cam_equals_pytorch_grad_cam_on_the_default_model(image_model, dog_x):
    """pytorch-grad-cam runs the whole network once per channel (1280 here); the helper runs the head only, so the
    reference is computed on the centre 64x64 crop (a 2x2 map at the layer) to keep the test short: 112x112 cost
    about three times as much and checked the same code."""
    from pytorch_grad_cam import AblationCAM
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget
    x = dog_x[..., 80:144, 80:144].contiguous()
    raw = xh.methods.ablation_cam(image_model, x, 235, upsample=False, normalize=False)
    assert raw.shape == (2, 2) and raw.abs().max() > 0
    with AblationCAM(model=image_model.model, target_layers=[image_model.target_layer], batch_size=64) as cam:
        library = cam(x, targets=[ClassifierOutputTarget(235)])[0]
    np.testing.assert_allclose(_library_scales(raw, (64, 64)), library, atol=1e-5)
    assert _all_hooks(image_model.model) == []
