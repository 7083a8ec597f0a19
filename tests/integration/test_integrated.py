"""Integrated Gradients helper: parity with Captum, completeness, baselines in pixel space, errors."""
import pytest
import torch

from xai_helpers.methods.integrated import BLUR_SIGMA, integrated_gradients, make_baseline


@pytest.mark.parametrize("method", ["riemann_right", "gausslegendre"])
def test_equals_captum_integrated_gradients(image_model, cat_x, method):
    from captum.attr import IntegratedGradients
    x = cat_x[..., 56:168, 56:168].contiguous()  # the centre 112x112: same code path, a quarter of the cost
    baseline = make_baseline(image_model, x, "black")
    ours, delta = integrated_gradients(image_model, x, "tabby", n_steps=5, method=method)
    ref, ref_delta = IntegratedGradients(image_model.model).attribute(
        x, baselines=baseline, target=281, n_steps=5, method=method, internal_batch_size=5,
        return_convergence_delta=True)
    torch.testing.assert_close(ours, ref, rtol=1e-4, atol=1e-6)
    assert delta == pytest.approx(ref_delta.item(), rel=1e-3, abs=1e-4)


def test_named_baselines_are_built_in_pixel_space(image_model, cat_x):
    black, white = make_baseline(image_model, cat_x, "black"), make_baseline(image_model, cat_x, "white")
    assert black.shape == white.shape == cat_x.shape
    assert image_model.denormalize(black).abs().max() < 1e-6
    assert (image_model.denormalize(white) - 1).abs().max() < 1e-6
    assert black.abs().min() > 0.5      # black is not the zero tensor of the normalised space
    blur = image_model.denormalize(make_baseline(image_model, cat_x, "blur"))
    pixels = image_model.denormalize(cat_x)
    assert blur.shape == cat_x.shape and blur.min() >= -1e-6 and blur.max() <= 1 + 1e-6
    assert (blur - pixels).abs().mean() > 0.02                      # actually blurred
    assert (blur.mean((2, 3)) - pixels.mean((2, 3))).abs().max() < 0.05  # colours kept
    noise = image_model.denormalize(make_baseline(image_model, cat_x, "noise", n_draws=3, seed=5))
    assert noise.shape == (3, 3, 224, 224) and noise.min() >= -1e-6 and noise.max() <= 1 + 1e-6
    assert torch.equal(noise, image_model.denormalize(make_baseline(image_model, cat_x, "noise", n_draws=3, seed=5)))
    assert not torch.equal(noise, image_model.denormalize(make_baseline(image_model, cat_x, "noise", n_draws=3, seed=6)))
    with pytest.raises(ValueError, match="tap kernel"):
        make_baseline(image_model, cat_x, "blur", sigma=50)  # 301-tap kernel on a 224-px image
    assert BLUR_SIGMA * 6 + 1 <= 224


def test_clear_errors(image_model, cat_x, small):
    net, x = small
    with pytest.raises(TypeError, match="pixel space"):
        integrated_gradients(net, x, 0, "black")
    with pytest.raises(ValueError, match="Unknown baseline"):
        integrated_gradients(image_model, cat_x, 0, "grey")
    with pytest.raises(ValueError, match="shaped like x"):
        integrated_gradients(net, x, 0, torch.zeros(1, 3, 8, 8))
    with pytest.raises(ValueError, match="out of range"):
        integrated_gradients(net, x, 7, torch.zeros_like(x), n_steps=2)
    with pytest.raises(ValueError, match="not a class name"):
        integrated_gradients(image_model, cat_x, "kitty", n_steps=2)
    with pytest.raises(ValueError, match="batch_size"):
        integrated_gradients(net, x, 0, torch.zeros_like(x), batch_size=0)
    with pytest.raises(ValueError, match="n_steps"):
        integrated_gradients(net, x, 0, torch.zeros_like(x), n_steps=0)


def test_expected_gradients_equal_captum_gradient_shap_with_photos_as_baselines(image_model, cat_x):
    import numpy as np
    from captum.attr import GradientShap
    from xai_helpers.methods import expected_gradients
    crop = (..., slice(56, 168), slice(56, 168))       # the centre 112x112: same code path, a quarter of the cost
    x = cat_x[crop].contiguous()
    data = torch.cat([image_model.preprocess(p) for p in ("dog", "coffee")])[crop].contiguous()
    ours, delta = expected_gradients(image_model, x, "tabby", baselines=data, n_samples=6, seed=3)
    np.random.seed(3)
    theirs, deltas = GradientShap(image_model.model).attribute(x, baselines=data, n_samples=6, stdevs=0.0, target=281,
                                                               return_convergence_delta=True)
    torch.testing.assert_close(ours, theirs, rtol=1e-4, atol=1e-6)
    assert delta == pytest.approx(float(deltas.mean()), rel=1e-3, abs=1e-3)
