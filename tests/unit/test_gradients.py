"""Vanilla gradients, Gradient x Input and SmoothGrad: Captum parity, determinism, errors."""
import pytest
import torch

import xai_helpers as xh


def test_no_parameter_gradients_are_computed_even_for_trainable_models(tiny_net):
    for p in tiny_net.parameters():
        p.requires_grad_(True)
        p.grad = None
    x = torch.rand(1, 3, 16, 16)
    xh.smoothgrad(tiny_net, x, 3, n_samples=3)
    xh.vanilla_gradients(tiny_net, x, 3)
    assert all(p.grad is None for p in tiny_net.parameters())


def test_plain_module_and_class_index(tiny_net):
    x = torch.rand(1, 3, 16, 16)
    assert xh.gradient_x_input(tiny_net, x, 9).shape == x.shape
    with pytest.raises(ValueError, match="out of range"):
        xh.vanilla_gradients(tiny_net, x, 10)
    with pytest.raises(ValueError, match="no class names"):
        xh.vanilla_gradients(tiny_net, x, "tabby")


def test_model_left_in_train_mode_is_explained_in_eval_mode_and_restored(tiny_net):
    x = torch.rand(1, 3, 16, 16)
    expected = xh.vanilla_gradients(tiny_net, x, 2)
    tiny_net.train()
    try:
        with pytest.warns(UserWarning, match="train mode"):
            got = xh.vanilla_gradients(tiny_net, x, 2)
        assert tiny_net.training
    finally:
        tiny_net.eval()
    assert torch.equal(got, expected)


def test_seed_to_seed_difference_of_signed_maps_falls_as_one_over_sqrt_n(tiny_net):
    # the copies are independent across chunks: 16x the samples -> the difference / sqrt(16) = 4
    x = torch.rand(1, 3, 16, 16, generator=torch.Generator().manual_seed(0))

    def seed_difference(n):
        a, b = (xh.smoothgrad(tiny_net, x, 3, n_samples=n, noise_level=0.2, batch_size=5, seed=s) for s in (0, 1))
        return float((a - b).norm())

    ratio = seed_difference(8) / seed_difference(128)
    assert 3.2 < ratio < 5.0, ratio


# --- SmoothGrad², VarGrad and Guided Backprop: equal to Captum on small networks ---------------------------
@pytest.mark.parametrize("nt_type", ["smoothgrad_sq", "vargrad"])
def test_smoothgrad_sq_and_vargrad_equal_noise_tunnel_fed_the_same_noise(tiny_net, nt_type):
    from captum.attr import NoiseTunnel, Saliency
    x = torch.rand(1, 3, 16, 16, generator=torch.Generator().manual_seed(2))
    ours = getattr(xh.methods, nt_type)(tiny_net, x, 4, n_samples=7, noise_level=0.2, batch_size=3, seed=11)
    torch.manual_seed(11)
    theirs = NoiseTunnel(Saliency(tiny_net)).attribute(x, nt_type=nt_type, nt_samples=7, target=4, abs=False,
                                                       stdevs=xh.methods.noise_sigma(x, 0.2))
    torch.testing.assert_close(ours, theirs.clamp(min=0), rtol=1e-4, atol=1e-9)
    assert ours.shape == x.shape and (ours >= 0).all() and ours.max() > 0


def test_smoothgrad_sq_and_vargrad_are_the_moments_of_smoothgrads_draws(tiny_net):
    """Same seed -> same noisy copies: VarGrad = SmoothGrad² - SmoothGrad² of the mean, and one copy has no variance."""
    x = torch.rand(1, 3, 16, 16)
    kw = dict(n_samples=6, batch_size=4, seed=5)
    mean, sq, var = (f(tiny_net, x, 1, **kw) for f in (xh.smoothgrad, xh.methods.smoothgrad_sq, xh.methods.vargrad))
    torch.testing.assert_close(var, (sq - mean ** 2).clamp(min=0), rtol=1e-5, atol=1e-10)
    assert torch.equal(xh.methods.vargrad(tiny_net, x, 1, n_samples=1), torch.zeros_like(x))
    torch.testing.assert_close(xh.methods.smoothgrad_sq(tiny_net, x, 1, n_samples=2, noise_level=0.0),
                               xh.vanilla_gradients(tiny_net, x, 1) ** 2)


def test_guided_backprop_equals_captum_on_a_relu_network_and_leaves_no_hooks(tiny_net):
    from captum.attr import GuidedBackprop
    from helpers import hook_count
    x = torch.rand(1, 3, 16, 16, generator=torch.Generator().manual_seed(3))
    ours = xh.methods.guided_backprop(tiny_net, x, 6)
    with pytest.warns(UserWarning):
        theirs = GuidedBackprop(tiny_net).attribute(x, target=6)
    torch.testing.assert_close(ours, theirs, rtol=1e-5, atol=1e-8)
    assert not torch.allclose(ours, xh.vanilla_gradients(tiny_net, x, 6))   # the guided rule changed something
    assert hook_count(tiny_net) == 0 and not tiny_net.training


def test_guided_backprop_hooks_relu6_and_in_place_relus_which_captum_skips_or_mishandles():
    """ReLU6 (EfficientNet-Lite0's activation) is not an nn.ReLU: Captum leaves it alone; the helper applies the rule."""
    from captum.attr import GuidedBackprop
    from captum._utils.common import _register_backward_hook
    from torch import nn

    class GuidedBackpropWithReLU6(GuidedBackprop):       # Captum's own hook and rule, on ReLU6 too
        def _register_hooks(self, module):
            if isinstance(module, (nn.ReLU, nn.ReLU6)):
                self.backward_hooks.extend(_register_backward_hook(module, self._backward_hook, self))

    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 6, 3, padding=1), nn.ReLU6(), nn.Conv2d(6, 6, 3, padding=1),
                        nn.ReLU(inplace=True), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(6, 4)).eval()
    x = torch.randn(1, 3, 12, 12) * 3
    ours = xh.methods.guided_backprop(net, x, 2)
    with pytest.warns(UserWarning):
        theirs = GuidedBackpropWithReLU6(net).attribute(x, target=2)
        relu_only = GuidedBackprop(net).attribute(x, target=2)
    torch.testing.assert_close(ours, theirs, rtol=1e-5, atol=1e-8)
    assert not torch.allclose(ours, relu_only)
    assert all(not m._forward_hooks and not m._forward_pre_hooks for m in net.modules())


def test_guided_backprop_refuses_a_model_without_relu_modules():
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 2, 3), torch.nn.Softplus(), torch.nn.Flatten(),
                              torch.nn.Linear(2 * 6 * 6, 3)).eval()
    with pytest.raises(ValueError, match="none runs in this model"):
        xh.methods.guided_backprop(net, torch.rand(1, 3, 8, 8), 0)
