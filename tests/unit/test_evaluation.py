"""Checks of explanations: randomisation sanity check, deletion/insertion, pointing game."""
import math

import numpy as np
import pytest
import torch
from PIL import Image
from scipy.stats import spearmanr
from torch import nn

from xai_helpers import evaluation as ev
from xai_helpers.models.image import ImageModel


class _TopLeftNet(nn.Module):
    """Class 1's logit = 10 x mean of the top-left 8x8 pixels; class 0's = 0. Known ground truth."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 1, 1, bias=False)
        nn.init.constant_(self.conv.weight, 1 / 3)

    def forward(self, x):
        s = self.conv(x)[:, 0, :8, :8].mean((1, 2)) * 10
        return torch.stack([torch.zeros_like(s), s], 1)


@pytest.fixture(scope="module")
def toy_model():
    net = _TopLeftNet().eval()
    return ImageModel(name="toy", model=net, labels=["off", "on"], target_layer=net.conv, target_layer_name="conv",
                      mean=(0.0, 0.0, 0.0), std=(1.0, 1.0, 1.0), resize=16, crop=16, device=torch.device("cpu"))


def test_spearman_matches_scipy_and_flags_flat_maps():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(8, 8)), rng.normal(size=(8, 8))
    assert ev.spearman_rank_correlation(a, b) == pytest.approx(spearmanr(a.ravel(), b.ravel())[0], abs=1e-12)
    assert ev.spearman_rank_correlation(a, a) == pytest.approx(1.0)
    assert ev.spearman_rank_correlation(a, -a) == pytest.approx(-1.0)
    assert math.isnan(ev.spearman_rank_correlation(a, np.zeros((8, 8))))


def test_deletion_and_insertion_reward_the_map_that_matches_the_model(toy_model):
    pixels = np.zeros((16, 16, 3), np.uint8)
    pixels[:8, :8] = 60                                   # a dim square where the model looks
    x = toy_model.preprocess(Image.fromarray(pixels))
    right = torch.zeros(16, 16)
    right[:8, :8] = 1.0
    wrong = 1.0 - right
    good = ev.deletion_insertion_curves(toy_model, x, "on", right, fractions=8)
    bad = ev.deletion_insertion_curves(toy_model, x, "on", wrong, fractions=8)
    assert good["deletion_auc"] < bad["deletion_auc"]
    assert good["insertion_auc"] > bad["insertion_auc"]
    with torch.no_grad():
        p_x = toy_model.model(x).softmax(-1)[0, 1].item()
        p_black = toy_model.model(torch.zeros_like(x)).softmax(-1)[0, 1].item()
        blurred = ev.replacement_image(toy_model, x, "blur")
        p_blur = toy_model.model(blurred).softmax(-1)[0, 1].item()
    assert good["deletion"][0] == pytest.approx(p_x, abs=1e-6)
    assert good["deletion"][-1] == pytest.approx(p_black, abs=1e-6)
    assert good["insertion"][0] == pytest.approx(p_black, abs=1e-6)
    assert good["insertion"][-1] == pytest.approx(p_x, abs=1e-6)
    soft = ev.deletion_insertion_curves(toy_model, x, "on", right, fractions=8, replacement="blur")
    assert soft["deletion"][-1] == pytest.approx(p_blur, abs=1e-6) and soft["insertion"][0] == pytest.approx(p_blur, abs=1e-6)
    assert p_black < p_blur < p_x                                  # blur keeps part of the square's light
    uneven = ev.deletion_insertion_curves(toy_model, x, "on", right, fractions=[0, 0.1, 0.5, 1.0])
    assert len(uneven["deletion"]) == 4
    with pytest.raises(ValueError, match="increasing"):
        ev.deletion_insertion_curves(toy_model, x, "on", right, fractions=[0, 0.5])
    with pytest.raises(ValueError, match="replacement"):
        ev.deletion_insertion_curves(toy_model, x, "on", right, replacement="grey")


def test_pointing_game_hit_and_tolerance():
    m = np.zeros((224, 224))
    m[100, 50] = 1.0                                  # row 100 = y, column 50 = x
    assert ev.pointing_game_hit(m, [40, 90, 60, 110])
    assert ev.pointing_game_hit(m, [60, 90, 80, 110])       # 10 px left of the box: within tolerance
    assert not ev.pointing_game_hit(m, [80, 90, 100, 110])  # 30 px away
    assert not ev.pointing_game_hit(m, [80, 90, 100, 110], tolerance=0)
    assert not ev.pointing_game_hit(np.zeros((224, 224)), [0, 0, 223, 223])   # a flat map points nowhere


def test_pointing_game_chance_is_the_share_of_pixels_that_count():
    assert ev.pointing_game_chance([0, 0, 223, 223]) == 1.0
    assert ev.pointing_game_chance([100, 100, 109, 109], tolerance=0) == pytest.approx(100 / 224 ** 2)
    assert ev.pointing_game_chance([0, 0, 9, 9], tolerance=5) == pytest.approx(15 * 15 / 224 ** 2)   # clipped
    box = [40, 60, 120, 150]
    hits = [ev.pointing_game_hit(ev.random_map(None, torch.zeros(1, 3, 224, 224), seed=s), box) for s in range(400)]
    assert np.mean(hits) == pytest.approx(ev.pointing_game_chance(box), abs=0.08)   # a random map hits at chance


def test_format_table():
    text = ev.format_table([{"method": "a", "x": 0.123}, {"method": "bb", "x": float("nan")}])
    lines = text.splitlines()
    assert lines[0].split() == ["method", "x"] and "0.12" in lines[2] and "flat" in lines[3]


def test_evaluation_records_read_as_attributes_and_by_key_and_show_themselves():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from xai_helpers.evaluation.results import Curves, PointingResult
    f = np.linspace(0, 1, 5)
    curves = Curves(fractions=f, deletion=1 - f, insertion=f, deletion_auc=0.5, insertion_auc=0.5, target=3,
                    replacement="black")
    assert curves["deletion_auc"] == curves.deletion_auc == 0.5 and "insertion" in curves
    assert list(curves.to_frame().columns) == ["fraction", "deletion", "insertion"]
    ax = curves.show()
    assert ax.get_title() and len(ax.lines) == 2
    plt.close(ax.figure)
    with pytest.raises(KeyError, match="has fractions, deletion"):
        curves["auc"]
    import pandas as pd
    table = pd.DataFrame({"hits": [1]}, index=["m"])
    result = PointingResult(hits={"m": [("cat", "tabby", True)]}, score={"m": 1.0}, table=table, tolerance=15)
    assert result.to_frame() is table and result["score"] == {"m": 1.0}


def test_signed_maps_chunk_by_the_measured_smoothgrad_default_and_refuse_a_zero_batch(toy_model):
    x = torch.rand(2, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    default = ev.signed_maps(toy_model, x, [1, 1], methods=("smoothgrad",), n_samples=3)["smoothgrad"]
    one_by_one = ev.signed_maps(toy_model, x, [1, 1], methods=("smoothgrad",), n_samples=3, batch_size=1)["smoothgrad"]
    np.testing.assert_allclose(default, one_by_one, rtol=1e-5, atol=1e-7)
    assert np.abs(default).max() > 0
    with pytest.raises(ValueError, match="batch_size must be a positive integer, got 0"):
        ev.signed_maps(toy_model, x, [1, 1], methods=("smoothgrad",), batch_size=0)


def test_signed_maps_of_smoothgrad_alone_make_no_plain_pass(toy_model):
    calls = []
    handle = toy_model.model.conv.register_forward_hook(lambda module, inputs, output: calls.append(len(output)))
    try:
        ev.signed_maps(toy_model, torch.rand(1, 3, 16, 16), [1], methods=("smoothgrad",), n_samples=3, batch_size=3)
        assert calls == [3]                                   # one chunk of 3 noisy copies, nothing else
        calls.clear()
        ev.signed_maps(toy_model, torch.rand(1, 3, 16, 16), [1], methods=("vanilla_gradients", "smoothgrad"),
                       n_samples=3,
                       batch_size=3)
        assert calls == [1, 3]                                # the plain pass, then the noisy chunk
    finally:
        handle.remove()


def test_the_centre_prior_hits_exactly_the_boxes_that_hold_the_centre():
    """A map that always points at the middle: its pointing-game hit rate is the share of boxes around the centre."""
    from xai_helpers.evaluation import pointing_game_hit
    from xai_helpers.methods import centre_map
    prior = centre_map(None, torch.zeros(1, 3, 224, 224))
    assert divmod(int(prior.argmax()), 224) == (112, 112)
    boxes = [[100, 100, 120, 120], [0, 0, 50, 50], [90, 130, 200, 220], [113, 0, 223, 223]]
    hits = [pointing_game_hit(prior, box, tolerance=0) for box in boxes]
    assert hits == [True, False, False, False]
    assert pointing_game_hit(prior, [0, 0, 97, 97], tolerance=15) is True     # within the tolerance
