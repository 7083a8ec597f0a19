"""Checks of explanations: randomisation sanity check, deletion/insertion, pointing game."""
import math

import numpy as np
import pytest
import torch
from PIL import Image
from scipy.stats import spearmanr
from torch import nn

import xai_helpers as xh
from xai_helpers import evaluation as ev
from xai_helpers.cam import grad_cam
from xai_helpers.models import ImageModel


def _params_checksum(module):
    return float(sum(p.double().abs().sum() for p in module.parameters()))


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


def test_stages_go_from_the_output_down(image_model, tiny_net):
    assert [n for n, _ in ev.randomisation_stages(tiny_net)] == ["6", "2", "0"]
    names = [n for n, _ in ev.randomisation_stages(image_model.model)]
    assert names[0] == "_fc" and names[-1] == "_conv_stem" and "_blocks.15" in names
    assert names.index("_blocks.15") < names.index("_blocks.0")


def test_randomised_copy_never_touches_the_cached_model(image_model):
    before = _params_checksum(image_model.model)
    copy2 = ev.randomised_copy(image_model, 2, seed=0)
    assert _params_checksum(image_model.model) == before
    assert xh.load_image_model().model is image_model.model
    assert not torch.equal(copy2.model._fc.weight, image_model.model._fc.weight)
    assert torch.equal(copy2.model._blocks[0]._depthwise_conv.weight, image_model.model._blocks[0]._depthwise_conv.weight)
    assert copy2.target_layer is copy2.model.get_submodule(image_model.target_layer_name)
    again = ev.randomised_copy(image_model, 2, seed=0)
    assert torch.equal(again.model._fc.weight, copy2.model._fc.weight)  # seeded


def test_randomisation_test_separates_a_model_blind_map_from_grad_cam(image_model, cat_x):
    explainers = {"grad_cam": lambda m, x, t: grad_cam(m, None, x, t), "edge": ev.edge_map}
    out = ev.model_randomisation_test(image_model, cat_x, "tabby", explainers, n_checkpoints=2)
    assert out["checkpoints"] == [1, len(out["stages"])]
    assert out["correlations"]["edge"] == pytest.approx([1.0, 1.0])
    rho = out["correlations"]["grad_cam"][-1]
    assert math.isnan(rho) or rho < 0.5   # every layer random: the map must change
    assert len(out["maps"]["grad_cam"]) == 3


def test_deletion_and_insertion_reward_the_map_that_matches_the_model(toy_model):
    pixels = np.zeros((16, 16, 3), np.uint8)
    pixels[:8, :8] = 60                                   # a dim square where the model looks
    x = toy_model.preprocess(Image.fromarray(pixels))
    right = torch.zeros(16, 16)
    right[:8, :8] = 1.0
    wrong = 1.0 - right
    good = ev.deletion_insertion_curves(toy_model, x, "on", right, steps=8)
    bad = ev.deletion_insertion_curves(toy_model, x, "on", wrong, steps=8)
    assert good["deletion_auc"] < bad["deletion_auc"]
    assert good["insertion_auc"] > bad["insertion_auc"]
    with torch.no_grad():
        p_x = toy_model.model(x).softmax(-1)[0, 1].item()
        p_black = toy_model.model(torch.zeros_like(x)).softmax(-1)[0, 1].item()
    assert good["deletion"][0] == pytest.approx(p_x, abs=1e-6)
    assert good["deletion"][-1] == pytest.approx(p_black, abs=1e-6)
    assert good["insertion"][-1] == pytest.approx(p_x, abs=1e-6)
    uneven = ev.deletion_insertion_curves(toy_model, x, "on", right, steps=[0, 0.1, 0.5, 1.0])
    assert len(uneven["deletion"]) == 4
    with pytest.raises(ValueError, match="increasing"):
        ev.deletion_insertion_curves(toy_model, x, "on", right, steps=[0, 0.5])


def test_faithfulness_averages_over_images(image_model):
    explainers = {"grad_cam": lambda m, x, t: grad_cam(m, None, x, t), "random": ev.random_map}
    out = ev.faithfulness(image_model, ["cat", "coffee"], explainers, steps=[0, 0.25, 1.0])
    assert set(out["per_image"]) == {"cat", "coffee"}
    for name in explainers:
        aucs = [out["per_image"][i][name]["deletion_auc"] for i in ("cat", "coffee")]
        assert out["mean"][name]["deletion_auc"] == pytest.approx(np.mean(aucs))


def test_pointing_game_hit_and_tolerance():
    m = np.zeros((224, 224))
    m[100, 50] = 1.0                                  # row 100 = y, column 50 = x
    assert ev.pointing_game_hit(m, [40, 90, 60, 110])
    assert ev.pointing_game_hit(m, [60, 90, 80, 110])       # 10 px left of the box: within tolerance
    assert not ev.pointing_game_hit(m, [80, 90, 100, 110])  # 30 px away
    assert not ev.pointing_game_hit(m, [80, 90, 100, 110], tolerance=0)
    assert not ev.pointing_game_hit(np.zeros((224, 224)), [0, 0, 223, 223])   # a flat map points nowhere


def test_boxes_are_valid_imagenet_classes_inside_the_view(image_model):
    boxes = ev.load_boxes()
    assert {"dog", "squirrel", "giraffe"} <= set(boxes)
    for photo, objects in boxes.items():
        for label, (x0, y0, x1, y1) in objects.items():
            assert label in image_model.labels, label
            assert 0 <= x0 < x1 <= 223 and 0 <= y0 < y1 <= 223


def test_pointing_game_with_a_map_that_peaks_in_each_box(image_model):
    boxes = {"dog": ev.load_boxes()["dog"]}

    def peak_in_box(model, x, target):
        label = model.labels[target] if isinstance(target, int) else target
        x0, y0, x1, y1 = boxes["dog"][label]
        m = torch.zeros(224, 224)
        m[(y0 + y1) // 2, (x0 + x1) // 2] = 1
        return m

    out = ev.pointing_game(image_model, {"oracle": peak_in_box, "flat": lambda m, x, t: torch.zeros(224, 224)},
                           boxes=boxes)
    assert out["score"] == {"oracle": 1.0, "flat": 0.0}


def test_format_table():
    text = ev.format_table([{"method": "a", "x": 0.123}, {"method": "bb", "x": float("nan")}])
    lines = text.splitlines()
    assert lines[0].split() == ["method", "x"] and "0.12" in lines[2] and "flat" in lines[3]
