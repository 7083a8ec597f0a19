"""Vanilla gradients, Gradient x Input and SmoothGrad: Captum parity, determinism, errors."""
import pytest
import torch
from captum.attr import InputXGradient, NoiseTunnel, Saliency

import xai_helpers as xh

TABBY = 281


def test_vanilla_gradients_equal_captum_saliency_without_abs(image_model, cat_x):
    ours = xh.vanilla_gradients(image_model, cat_x, TABBY)
    theirs = Saliency(image_model.model).attribute(cat_x, target=TABBY, abs=False)
    assert ours.shape == cat_x.shape
    assert torch.allclose(ours, theirs, atol=1e-7, rtol=1e-5)
    assert (ours < 0).any() and (ours > 0).any()  # signed


def test_gradient_x_input_equals_captum(image_model, cat_x):
    ours = xh.gradient_x_input(image_model, cat_x, TABBY)
    theirs = InputXGradient(image_model.model).attribute(cat_x, target=TABBY)
    assert torch.allclose(ours, theirs, atol=1e-7, rtol=1e-5)


def test_target_can_be_a_class_name(image_model, cat_x):
    assert torch.equal(xh.vanilla_gradients(image_model, cat_x, "tabby"),
                       xh.vanilla_gradients(image_model, cat_x, TABBY))


def test_smoothgrad_equals_noise_tunnel_fed_the_same_noise(image_model, cat_x):
    ours = xh.smoothgrad(image_model, cat_x, TABBY, n_samples=6, noise_level=0.15, batch_size=4, seed=7)
    torch.manual_seed(7)
    theirs = NoiseTunnel(Saliency(image_model.model)).attribute(
        cat_x, nt_type="smoothgrad", nt_samples=6, stdevs=xh.methods.noise_sigma(cat_x, 0.15), target=TABBY,
        abs=False)
    assert torch.allclose(ours, theirs, atol=1e-6, rtol=1e-4)


def test_smoothgrad_is_bit_identical_with_the_same_seed_and_differs_with_another(image_model, cat_x):
    a = xh.smoothgrad(image_model, cat_x, TABBY, n_samples=4, seed=1)
    b = xh.smoothgrad(image_model, cat_x, TABBY, n_samples=4, seed=1)
    c = xh.smoothgrad(image_model, cat_x, TABBY, n_samples=4, seed=2)
    assert torch.equal(a, b)
    assert not torch.allclose(a, c)


def test_smoothgrad_chunk_size_does_not_change_the_map(image_model, cat_x):
    a = xh.smoothgrad(image_model, cat_x, TABBY, n_samples=6, batch_size=1, seed=3)
    b = xh.smoothgrad(image_model, cat_x, TABBY, n_samples=6, batch_size=6, seed=3)
    assert torch.allclose(a, b, atol=1e-6, rtol=1e-4)


def test_noise_level_is_relative_to_the_input_range(cat_x):
    assert xh.methods.noise_sigma(cat_x, 0.1) == pytest.approx(0.1 * float(cat_x.max() - cat_x.min()))
    with pytest.raises(ValueError, match="noise_level"):
        xh.methods.noise_sigma(cat_x, -0.1)


def test_smoothgrad_with_zero_noise_is_vanilla_gradients(image_model, cat_x):
    sg = xh.smoothgrad(image_model, cat_x, TABBY, n_samples=2, noise_level=0.0)
    # a batch of two copies vs one: identical maths, float summation order may differ slightly
    assert torch.allclose(sg, xh.vanilla_gradients(image_model, cat_x, TABBY), atol=1e-6, rtol=1e-4)


@pytest.mark.parametrize("target, message", [(1000, "out of range"), (-1, "out of range"),
                                             ("tabby kat", "Did you mean"), (2.5, "class index")])
def test_bad_targets_get_clear_errors(image_model, cat_x, target, message):
    with pytest.raises((ValueError, TypeError), match=message):
        xh.vanilla_gradients(image_model, cat_x, target)


def test_bad_inputs_get_clear_errors(image_model, cat_x):
    with pytest.raises(ValueError, match="unsqueeze"):
        xh.vanilla_gradients(image_model, cat_x[0], TABBY)
    with pytest.raises(ValueError, match="batch of 2"):
        xh.vanilla_gradients(image_model, cat_x.repeat(2, 1, 1, 1), TABBY)
    bad = cat_x.clone()
    bad[0, 0, 0, 0] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        xh.smoothgrad(image_model, bad, TABBY, n_samples=2)
    with pytest.raises(ValueError, match="n_samples"):
        xh.smoothgrad(image_model, cat_x, TABBY, n_samples=0)


def test_reductions_to_two_dimensional_maps(image_model, cat_x):
    g = xh.gradient_x_input(image_model, cat_x, TABBY)
    mx, sm = xh.max_abs_over_channels(g), xh.sum_over_channels(g)
    assert mx.shape == sm.shape == (224, 224)
    assert (mx >= 0).all() and (sm < 0).any()
    assert torch.allclose(sm.sum(), g.sum())


def test_input_on_another_device_than_the_model_gets_a_clear_error(image_model, cat_x):
    elsewhere = cat_x.to("meta")  # stands for "a GPU tensor and a CPU model" on a CPU-only machine
    for method in (xh.vanilla_gradients, xh.gradient_x_input, xh.smoothgrad):
        with pytest.raises(ValueError, match=r"x\.to\('cpu'\)"):
            method(image_model, elsewhere, TABBY)


def test_reductions_reject_batches_and_wrong_shapes(cat_x):
    for reduce in (xh.max_abs_over_channels, xh.sum_over_channels):
        assert reduce(cat_x[0]).shape == (224, 224)  # CxHxW is fine
        with pytest.raises(ValueError, match=r"attribution\[i:i\+1\]"):
            reduce(cat_x.repeat(2, 1, 1, 1))
        with pytest.raises(ValueError, match="1xCxHxW"):
            reduce(cat_x[0, 0])
        with pytest.raises(TypeError, match="torch.Tensor"):
            reduce(cat_x.numpy())


def test_noise_level_must_be_a_number(cat_x):
    with pytest.raises(TypeError, match="noise_level must be a number"):
        xh.methods.noise_sigma(cat_x, "15%")


@pytest.mark.parametrize("nt_type", ["smoothgrad_sq", "vargrad"])
def test_smoothgrad_sq_and_vargrad_equal_noise_tunnel_on_the_default_model(image_model, cat_x, nt_type):
    ours = getattr(xh.methods, nt_type)(image_model, cat_x, TABBY, n_samples=6, batch_size=4, seed=7)
    torch.manual_seed(7)
    theirs = NoiseTunnel(Saliency(image_model.model)).attribute(
        cat_x, nt_type=nt_type, nt_samples=6, stdevs=xh.methods.noise_sigma(cat_x, 0.15), target=TABBY, abs=False)
    torch.testing.assert_close(ours, theirs.clamp(min=0), rtol=1e-4, atol=1e-8)


def test_guided_backprop_on_efficientnet_equals_captums_rule_applied_to_its_relu6(image_model, cat_x):
    """EfficientNet-Lite0's activations are ReLU6 modules, which Captum's GuidedBackprop does not hook: there it
    returns the plain gradient. With Captum's own hook registered on ReLU6 too it equals the helper."""
    from captum._utils.common import _register_backward_hook
    from captum.attr import GuidedBackprop
    from torch import nn
    from helpers import hook_count

    class GuidedBackpropWithReLU6(GuidedBackprop):
        def _register_hooks(self, module):
            if isinstance(module, (nn.ReLU, nn.ReLU6)):
                self.backward_hooks.extend(_register_backward_hook(module, self._backward_hook, self))

    ours = xh.methods.guided_backprop(image_model, cat_x, TABBY)
    with pytest.warns(UserWarning):
        theirs = GuidedBackpropWithReLU6(image_model.model).attribute(cat_x, target=TABBY)
        captum_as_is = GuidedBackprop(image_model.model).attribute(cat_x, target=TABBY)
    torch.testing.assert_close(ours, theirs, rtol=1e-5, atol=1e-7)
    assert torch.equal(captum_as_is, xh.vanilla_gradients(image_model, cat_x, TABBY))   # no ReLU module to hook
    assert hook_count(image_model.model) == 0
