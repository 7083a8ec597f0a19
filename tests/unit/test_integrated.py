"""Integrated Gradients and expected gradients: parity with Captum, completeness, baselines, errors."""
import numpy as np
import pytest
import torch
from torch import nn

import xai_helpers as xh
from xai_helpers.methods.integrated import integrated_gradients, output_difference, quadrature


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


def test_several_baselines_are_averaged_and_delta_refers_to_their_mean(small):
    net, x = small
    bases = torch.rand(3, *x.shape[1:], generator=torch.Generator().manual_seed(2))
    together, delta = integrated_gradients(net, x, 4, bases, n_steps=8)
    singles = [integrated_gradients(net, x, 4, b[None], n_steps=8)[0] for b in bases]
    torch.testing.assert_close(together, sum(singles) / 3, rtol=1e-5, atol=1e-6)
    with torch.no_grad():
        scores = net(torch.cat([x, bases]))[:, 4]
    assert delta == pytest.approx(float(together.sum() - (scores[0] - scores[1:].mean())), abs=1e-4)


# --- expected gradients: baselines drawn from data, a random point per draw; = Captum GradientShap ----------
def test_expected_gradients_equal_captum_gradient_shap_fed_the_same_draws(small):
    import numpy as np
    from captum.attr import GradientShap
    from xai_helpers.methods import expected_gradients
    net, x = small
    data = torch.randn(7, 3, 16, 16, generator=torch.Generator().manual_seed(4))
    ours, delta = expected_gradients(net, x, 2, baselines=data, n_samples=9, batch_size=4, seed=12)
    np.random.seed(12)
    theirs, deltas = GradientShap(net).attribute(x, baselines=data, n_samples=9, stdevs=0.0, target=2,
                                                 return_convergence_delta=True)
    torch.testing.assert_close(ours, theirs, rtol=1e-4, atol=1e-6)
    assert delta == pytest.approx(float(deltas.mean()), rel=1e-3, abs=1e-4)
    again, _ = expected_gradients(net, x, 2, baselines=data, n_samples=9, batch_size=9, seed=12)
    torch.testing.assert_close(again, ours, rtol=1e-5, atol=1e-7)      # the batch size changes nothing


def test_expected_gradients_complete_in_expectation(small):
    """The completeness error of the Monte-Carlo estimate shrinks as draws are added (on average over seeds)."""
    from xai_helpers.methods import expected_gradients, output_difference
    net, x = small
    data = torch.randn(5, 3, 16, 16, generator=torch.Generator().manual_seed(5))
    scale = abs(output_difference(net, x, 1, baseline=data))
    errors = {n: np.mean([abs(expected_gradients(net, x, 1, baselines=data, n_samples=n, seed=s)[1])
                          for s in range(4)]) / scale for n in (4, 256)}
    assert errors[256] < errors[4] / 2


def test_expected_gradients_clear_errors(small):
    from xai_helpers.methods import expected_gradients
    net, x = small
    with pytest.raises(ValueError, match="K x"):
        expected_gradients(net, x, 0, baselines=torch.zeros(2, 3, 8, 8))
    with pytest.raises(TypeError, match="baselines"):
        expected_gradients(net, x, 0, baselines="noise")


def test_step_convergence_compares_every_pixel_and_sees_what_the_sum_hides(small):
    """The per-pixel change from n to 2n steps falls with n; it is the largest pixel, not the sum, that is checked."""
    from xai_helpers.methods import step_convergence
    net, x = small
    base = torch.zeros_like(x)
    coarse_change, coarse = step_convergence(net, x, 2, baseline=base, n_steps=2, method="riemann_right")
    fine_change, fine = step_convergence(net, x, 2, baseline=base, n_steps=32, method="riemann_right")
    assert fine < coarse and coarse_change.shape == x.shape
    a2, _ = integrated_gradients(net, x, 2, base, n_steps=2, method="riemann_right")
    a4, _ = integrated_gradients(net, x, 2, base, n_steps=4, method="riemann_right")
    torch.testing.assert_close(coarse_change, (a2 - a4).abs())
    assert float((a2 - a4).sum().abs()) < float((a2 - a4).abs().sum())      # errors of opposite sign cancel in a sum
