"""Integrated Gradients helper: parity with Captum, completeness, baselines in pixel space, errors."""
import pytest
import torch
from torch import nn

import xai_helpers as xh
from xai_helpers.methods.integrated import (BLUR_SIGMA, integrated_gradients, make_baseline, output_difference,
                                    quadrature)



class _SmoothNet(nn.Module):
    """A small non-linear CNN (softplus), fast enough to integrate with many steps."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.body = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.Softplus(beta=4), nn.Conv2d(8, 8, 3, padding=1),
                                  nn.Softplus(beta=4), nn.AdaptiveAvgPool2d(2), nn.Flatten(), nn.Linear(32, 5))

    def forward(self, x):
        return self.body(x) * 20


@pytest.fixture(scope="module")
def small():
    net = _SmoothNet().eval()
    x = torch.randn(1, 3, 16, 16, generator=torch.Generator().manual_seed(1))
    return net, x


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


def test_quadrature_rules():
    for method in ("gausslegendre", "riemann_right", "riemann_left", "riemann_middle"):
        nodes, weights = quadrature(method, 7)
        assert weights.sum() == pytest.approx(1.0) and 0 <= nodes.min() and nodes.max() <= 1
    nodes, _ = quadrature("riemann_right", 4)
    assert list(nodes) == [0.25, 0.5, 0.75, 1.0]
    nodes, weights = quadrature("gausslegendre", 5)  # exact for polynomials of degree < 10
    assert (weights * nodes ** 9).sum() == pytest.approx(1 / 10)
    with pytest.raises(ValueError, match="not one of"):
        quadrature("simpson", 10)
    with pytest.raises(ValueError, match=">= 2"):
        quadrature("gausslegendre", 1)


def test_completeness_improves_with_steps(small):
    net, x = small
    baseline = torch.zeros_like(x)
    gap = output_difference(net, x, 4, baseline)
    assert abs(gap) > 0.1
    for method in ("riemann_right", "gausslegendre"):
        errors = [abs(integrated_gradients(net, x, 4, baseline, n_steps=n, method=method)[1]) / abs(gap)
                  for n in (2, 8, 64)]
        assert errors[0] > 1e-3 and errors[0] > errors[1], (method, errors)
        assert errors[2] <= errors[1] + 1e-5 and errors[2] < 0.03, (method, errors)


class _Saturating(nn.Module):
    """The toy of notebook 4.3: min(1, x1 + x2) written as 1 - ReLU(1 - x1 - x2); input 1x2x1x1, one output."""

    def forward(self, x):
        return (1 - torch.relu(1 - x.sum(dim=(1, 2, 3)))).unsqueeze(1)


class _SameFunction(nn.Module):
    """The same function written differently: s - ReLU(s - 1) with s = x1 + x2."""

    def forward(self, x):
        s = x.sum(dim=(1, 2, 3))
        return (s - torch.relu(s - 1)).unsqueeze(1)


def test_saturation_toy_gradient_is_zero_but_ig_keeps_the_axioms():
    x = torch.tensor([1.5, 0.5]).view(1, 2, 1, 1)
    baseline = torch.zeros_like(x)
    f, g = _Saturating(), _SameFunction()
    assert float(f(x) - f(baseline)) == 1.0
    assert torch.all(xh.vanilla_gradients(f, x, 0) == 0) and torch.all(xh.gradient_x_input(f, x, 0) == 0)
    # midpoint nodes never sit on the kink at alpha = 0.5, so the sum is the exact integral here
    ig_f, delta_f = integrated_gradients(f, x, 0, baseline, n_steps=100, method="riemann_middle")
    ig_g, delta_g = integrated_gradients(g, x, 0, baseline, n_steps=100, method="riemann_middle")
    torch.testing.assert_close(ig_f.flatten(), torch.tensor([0.75, 0.25]))     # sensitivity, shares 3 : 1
    torch.testing.assert_close(ig_f, ig_g)                                      # implementation invariance
    assert abs(delta_f) < 1e-5 and abs(delta_g) < 1e-5                           # completeness
    # Gauss-Legendre, exact for polynomials of degree < 14 with 7 nodes, is far off on this kinked integrand
    _, delta_gl = integrated_gradients(f, x, 0, baseline, n_steps=7)
    assert abs(delta_gl) > 0.05


def test_linear_model_is_exact():
    net = nn.Sequential(nn.Flatten(), nn.Linear(12, 3)).eval()
    x, b = torch.randn(1, 3, 2, 2), torch.randn(1, 3, 2, 2)
    attributions, delta = integrated_gradients(net, x, 1, b, n_steps=3)
    expected = (x - b) * net[1].weight[1].detach().view(1, 3, 2, 2)
    torch.testing.assert_close(attributions, expected)
    assert abs(delta) < 1e-5


def test_batch_size_does_not_change_the_result(small):
    net, x = small
    b = torch.zeros_like(x)
    one, d1 = integrated_gradients(net, x, 0, b, n_steps=20, batch_size=20)
    chunks, d2 = integrated_gradients(net, x, 0, b, n_steps=20, batch_size=3)
    torch.testing.assert_close(one, chunks, rtol=1e-5, atol=1e-6)
    assert d1 == pytest.approx(d2, abs=1e-4)


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


def test_several_baselines_are_averaged_and_delta_refers_to_their_mean(small):
    net, x = small
    bases = torch.rand(3, *x.shape[1:], generator=torch.Generator().manual_seed(2))
    together, delta = integrated_gradients(net, x, 4, bases, n_steps=8)
    singles = [integrated_gradients(net, x, 4, b[None], n_steps=8)[0] for b in bases]
    torch.testing.assert_close(together, sum(singles) / 3, rtol=1e-5, atol=1e-6)
    with torch.no_grad():
        scores = net(torch.cat([x, bases]))[:, 4]
    assert delta == pytest.approx(float(together.sum() - (scores[0] - scores[1:].mean())), abs=1e-4)


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
