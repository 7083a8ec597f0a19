"""ROAD (noisy linear imputation, MoRF / LeRF): equal to pytorch_grad_cam.metrics.road fed the same noise."""
import numpy as np
import pytest
import torch
from torch import nn

import xai_helpers as xh
from helpers import hook_count


def _net():
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                         nn.Linear(4, 3)).eval()


@pytest.mark.parametrize("channels", [1, 3])
def test_noisy_linear_imputation_equals_pytorch_grad_cams_imputer(channels):
    from pytorch_grad_cam.metrics.road import NoisyLinearImputer
    image = torch.randn(channels, 18, 23, generator=torch.Generator().manual_seed(1))
    keep = torch.rand(18, 23, generator=torch.Generator().manual_seed(2)) > 0.55
    torch.manual_seed(5)
    reference = NoisyLinearImputer()(image, keep.float())
    ours = xh.evaluation.noisy_linear_imputation(image, keep, generator=torch.Generator().manual_seed(5))
    torch.testing.assert_close(ours, reference, rtol=1e-5, atol=1e-6)
    assert torch.equal(ours[:, keep], image[:, keep])                    # kept pixels untouched


def test_imputation_solves_the_neighbour_equations_and_recovers_a_linear_ramp():
    ramp = (torch.arange(8.0)[:, None] * 0.5 + torch.arange(9.0)[None, :]).expand(2, 8, 9).clone()
    keep = torch.ones(8, 9, dtype=torch.bool)
    keep[2:6, 3:7] = False                                                # an interior hole
    filled = xh.evaluation.noisy_linear_imputation(ramp, keep, noise=0.0)
    torch.testing.assert_close(filled, ramp, rtol=0, atol=1e-4)
    with pytest.raises(ValueError, match="shaped like the image"):
        xh.evaluation.noisy_linear_imputation(ramp, keep[:4])


@pytest.mark.parametrize("order", ["morf", "lerf"])
def test_road_equals_pytorch_grad_cam_per_percentile_and_averaged(order):
    from pytorch_grad_cam.metrics import road as reference
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget
    net = _net()
    x = torch.randn(1, 3, 14, 17, generator=torch.Generator().manual_seed(3))
    cam = np.random.default_rng(4).random((14, 17)).astype(np.float32)
    single = {"morf": reference.ROADMostRelevantFirst, "lerf": reference.ROADLeastRelevantFirst}[order]
    average = {"morf": reference.ROADMostRelevantFirstAverage, "lerf": reference.ROADLeastRelevantFirstAverage}[order]
    targets = [ClassifierOutputTarget(2)]
    for p in (20, 70):
        torch.manual_seed(8)
        expected = single(percentile=p)(x, cam[None], targets, net)[0]
        got = xh.evaluation.road(net, x, 2, cam, percentiles=(p,), order=order, seed=8)
        assert got.scores[0] == pytest.approx(float(expected), rel=1e-4, abs=1e-6)
    torch.manual_seed(9)
    expected = average()(x, cam[None], targets, net)[0]
    got = xh.evaluation.road(net, x, 2, cam, order=order, seed=9, batch_size=4)
    assert got.mean_score == pytest.approx(float(expected), rel=1e-4, abs=1e-6)
    assert got.percentiles.tolist() == list(xh.evaluation.ROAD_PERCENTILES)
    np.testing.assert_allclose(got.removed, 1 - got.percentiles / 100, atol=0.01)   # p keeps the lowest p %
    assert hook_count(net) == 0 and not net.training


def test_road_rejects_bad_settings():
    net, x = _net(), torch.rand(1, 3, 8, 8)
    with pytest.raises(ValueError, match="order must be one of"):
        xh.evaluation.road(net, x, 0, torch.rand(8, 8), order="best")
    with pytest.raises(ValueError, match="percentiles must be numbers in"):
        xh.evaluation.road(net, x, 0, torch.rand(8, 8), percentiles=(0, 50))
    with pytest.raises(ValueError, match="NaN"):
        xh.evaluation.road(net, x, 0, torch.full((8, 8), float("nan")))
