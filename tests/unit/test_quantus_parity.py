"""The course's metrics computed by Quantus: pointing game, model-parameter randomisation and deletion (pixel
flipping) -- equal where ``xai_helpers.evaluation.quantus_bridge`` says they are, different where it says why."""
import copy

import numpy as np
import pytest
import torch
from torch import nn

import xai_helpers as xh
from xai_helpers.evaluation import (deletion_insertion_curves, pixel_space_model, pointing_game_hit, pointing_masks,
                                    randomised_copy, spearman_rank_correlation)

quantus = pytest.importorskip("quantus")
QUIET = dict(disable_warnings=True, display_progressbar=False)


def _toy(seed=0, size=16):
    torch.manual_seed(seed)
    net = nn.Sequential(nn.Conv2d(3, 6, 3, padding=1), nn.ReLU(), nn.Conv2d(6, 6, 3, padding=1), nn.ReLU(),
                        nn.AdaptiveAvgPool2d(2), nn.Flatten(), nn.Linear(24, 4)).eval()
    return xh.models.ImageModel("toy", net, ["a", "b", "c", "d"], net[3], "3", mean=(0.485, 0.456, 0.406),
                                std=(0.229, 0.224, 0.225), resize=size, crop=size, device=torch.device("cpu"))


def test_pointing_game_equals_quantus_on_maps_with_one_maximum_and_differs_on_ties_and_flat_maps():
    rng = np.random.default_rng(0)
    maps = rng.random((40, 1, 24, 24)).astype(np.float32)
    boxes = [sorted(rng.integers(0, 24, 2).tolist()) for _ in range(40)]
    boxes = [[b[0], b2[0], b[1], b2[1]] for b, b2 in zip(boxes, boxes[::-1])]
    masks = pointing_masks(boxes, size=(24, 24), tolerance=2)
    theirs = quantus.PointingGame(**QUIET)(model=None, x_batch=np.zeros((40, 3, 24, 24), np.float32),
                                           y_batch=np.zeros(40, int), a_batch=maps, s_batch=masks.astype(np.float32))
    ours = [pointing_game_hit(m[0], box, tolerance=2) for m, box in zip(maps, boxes)]
    assert ours == [bool(h) for h in theirs] and 0 < sum(ours) < 40
    tie = np.zeros((1, 1, 24, 24), np.float32)         # two maxima: the first (row-major) outside, one inside
    tie[0, 0, 0, 0] = tie[0, 0, 23, 23] = 1.0
    box = [20, 20, 23, 23]
    hit = quantus.PointingGame(**QUIET)(model=None, x_batch=np.zeros((1, 3, 24, 24), np.float32),
                                        y_batch=np.zeros(1, int), a_batch=tie,
                                        s_batch=pointing_masks([box], (24, 24), 0).astype(np.float32))
    assert bool(hit[0]) is True and pointing_game_hit(tie[0, 0], box, tolerance=0) is False
    with pytest.raises(AssertionError, match="all equal"):   # a flat map: Quantus refuses it, the course says miss
        quantus.PointingGame(**QUIET)(model=None, x_batch=np.zeros((1, 3, 24, 24), np.float32),
                                      y_batch=np.zeros(1, int), a_batch=np.ones((1, 1, 24, 24), np.float32),
                                      s_batch=masks[:1].astype(np.float32))
    assert pointing_game_hit(np.ones((24, 24)), boxes[0], tolerance=2) is False


def _abs_gradient(model, inputs, targets, **kwargs):
    """Quantus's explain_func: the course's vanilla gradient, |.| max over channels -> N x 1 x H x W."""
    x = torch.as_tensor(inputs, dtype=torch.float32)
    maps = [xh.max_abs_over_channels(xh.vanilla_gradients(model, x[i:i + 1], int(t))) for i, t in enumerate(targets)]
    return torch.stack(maps)[:, None].numpy()


def test_model_randomisation_scores_equal_quantus_mprt_on_its_own_randomised_models():
    toy = _toy()
    x = torch.randn(3, 3, 16, 16, generator=torch.Generator().manual_seed(1))
    y = toy.model(x).argmax(1).numpy()
    seed = 7
    scores = quantus.MPRT(seed=seed, layer_order="top_down", **QUIET)(
        model=toy.model, x_batch=x.numpy(), y_batch=y, a_batch=None, explain_func=_abs_gradient, channel_first=True,
        device="cpu")
    scores = scores if isinstance(scores, dict) else scores[0]
    original = _abs_gradient(toy.model, x.numpy(), y)
    # Quantus's cascade: every module with reset_parameters, from the output down, torch.manual_seed(seed + 1) each
    randomised = copy.deepcopy(toy.model)
    layers = [(n, m) for n, m in randomised.named_modules() if hasattr(m, "reset_parameters")][::-1]
    assert [n for n, _ in layers] == [k for k in scores if k != "original"]
    for name, layer in layers:
        torch.manual_seed(seed + 1)
        layer.reset_parameters()
        maps = _abs_gradient(randomised, x.numpy(), y)
        ours = [spearman_rank_correlation(original[i], maps[i]) for i in range(len(x))]
        np.testing.assert_allclose(ours, scores[name], rtol=1e-6, atol=1e-9)
    # the course's first stage (the output layer) with seed + 1 is Quantus's first step
    first = randomised_copy(toy, 1, seed=seed + 1)
    maps = _abs_gradient(first.model, x.numpy(), y)
    np.testing.assert_allclose([spearman_rank_correlation(original[i], maps[i]) for i in range(len(x))],
                               scores[layers[0][0]], rtol=1e-6, atol=1e-9)


def test_deletion_curve_equals_quantus_pixel_flipping_with_pixel_zero_as_baseline():
    """Quantus needs features_in_step to divide H*W but flips the map's values broadcast over the C channels: on
    RGB, 3 of its steps remove the pixels of one of the course's, so the curves meet at every third step."""
    toy, n = _toy(seed=2), 4
    pixels = torch.rand(1, 3, 16, 16, generator=torch.Generator().manual_seed(3))
    x = toy.normalize(pixels)
    saliency = torch.rand(16, 16, generator=torch.Generator().manual_seed(4))
    target = int(toy.model(x).argmax())
    ours = deletion_insertion_curves(toy, x, target, saliency, fractions=n, replacement="black")
    metric = quantus.PixelFlipping(features_in_step=16 * 16 // n, perturb_baseline=0.0, return_auc_per_sample=False,
                                   **QUIET)
    call = dict(model=pixel_space_model(toy), x_batch=pixels.numpy(), y_batch=np.array([target]),
                a_batch=saliency[None, None].numpy(), channel_first=True, softmax=True, device="cpu")
    curve = np.asarray(metric(**call)[0])
    assert len(curve) == 3 * n
    np.testing.assert_allclose(curve[2::3], ours.deletion[1:], rtol=1e-4, atol=1e-6)
    # the course's area: the trapezoid over f = 0, 1/n, ..., 1 (Quantus: dx = 1 over its steps, without f = 0)
    assert ours.deletion_auc == pytest.approx(np.trapezoid(np.r_[ours.deletion[0], curve[2::3]], dx=1 / n), rel=1e-4)
    if not hasattr(np, "trapz"):      # Quantus 0.6.0 integrates with np.trapz, which NumPy 2.4 removed
        with pytest.raises(AttributeError, match="trapz"):
            quantus.PixelFlipping(features_in_step=16 * 16 // n, perturb_baseline=0.0, return_auc_per_sample=True,
                                  **QUIET)(**call)


def test_quantus_black_is_the_images_minimum_not_pixel_zero():
    from quantus.helpers.utils import get_baseline_value
    arr = np.array([[0.2, 0.7], [0.4, 0.9]], dtype=np.float32)
    assert get_baseline_value("black", arr, (2,)).tolist() == pytest.approx([0.2, 0.2])
