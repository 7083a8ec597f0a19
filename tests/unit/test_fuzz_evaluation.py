"""Every public function of ``xai_helpers.evaluation`` given wrong kinds of arguments (harness: fuzz_support.py).

Tiny inputs throughout: a 16x16 CNN wrapped as an ``ImageModel``, a one-layer ViT with random weights, a digit CNN
with random weights and a few ground-truth scenes.
"""
import matplotlib
import pandas as pd
import pytest
import torch
from matplotlib import pyplot as plt
from torch import nn

import xai_helpers as xh
from fuzz_support import Case, fuzz
from xai_helpers.digits import make_cluttered_digits
from xai_helpers.evaluation import groundtruth as gt
from xai_helpers.models.image import ImageModel
from xai_helpers.models.vit import TinyViT, VisionModel

matplotlib.use("Agg")

E = xh.evaluation
LABELS = ["cat", "dog", "fox"]


def _image_model():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                        nn.Linear(4, 3)).eval()
    return ImageModel(name="toy", model=net, labels=LABELS, target_layer=net[1], target_layer_name="1",
                      mean=(0.5,) * 3, std=(0.25,) * 3, resize=16, crop=16, device=torch.device("cpu"))


def _vision_model():
    torch.manual_seed(0)
    return VisionModel(name="tiny", model=TinyViT(depth=1, dim=16, heads=2, mlp_dim=16).eval(),
                       labels=[str(d) for d in range(10)], image_size=48, patch_size=8, device=torch.device("cpu"))


TOY, VIT = _image_model(), _vision_model()
DIGITS = make_cluttered_digits("test", n=6)
CNN = gt.DigitCNN(channels=(4, 4, 4)).eval()


def _x(n=1):
    return torch.randn(n, 3, 16, 16, generator=torch.Generator().manual_seed(n))


def _peak():
    m = torch.zeros(16, 16)
    m[3, 4] = 1.0
    return m


def _randomisation():
    table = pd.DataFrame({"method": ["grad_cam"] * 2, "depth": [1, 2], "rho": [0.5, 0.1], "rho_abs": [0.6, 0.2]})
    return E.RandomisationResult(table, pd.DataFrame(), [1, 2], ["4", "0"], ["4", "0"], {}, [], {})


def _curves():
    return E.Curves(torch.tensor([0.0, 1.0]).numpy(), torch.tensor([0.9, 0.1]).numpy(),
                    torch.tensor([0.1, 0.9]).numpy(), 0.5, 0.5, 0, "black")


def _scenes(kind="own"):
    return gt.make_scenes(2, marks=kind)


def _sets():
    return {kind: _scenes(kind) for kind in ("none", "own", "other")}


def _maps():
    return gt.AttributionMaps({"edge_map": torch.rand(2, 48, 48)}, torch.tensor([1, 2]))


def _axes():
    plt.close("all")  # one valid call's figure at a time: each call makes its arguments afresh
    return plt.subplots(1, 2)[1]


SCENE_MAPS = dict(maps=lambda: torch.rand(2, 48, 48), boxes=lambda: [[0, 0, 4, 4], [1, 1, 5, 5]])
CASES = {
    # --- evaluation ---------------------------------------------------------------------------------------
    "spearman_rank_correlation": Case(E.spearman_rank_correlation, lambda: dict(a=torch.rand(4, 4),
                                                                                b=torch.rand(4, 4))),
    "format_table": Case(E.format_table, lambda: dict(rows=[{"m": "a", "x": 0.5}], columns=["m", "x"], digits=2)),
    "replacement_image": Case(E.replacement_image, lambda: dict(image_model=TOY, x=_x(), replacement="blur")),
    "deletion_insertion_curves": Case(E.deletion_insertion_curves, lambda: dict(
        image_model=TOY, x=_x(), target=1, saliency=torch.rand(16, 16), fractions=4, replacement="black",
        batch_size=4)),
    "faithfulness": Case(E.faithfulness, lambda: dict(
        image_model=TOY, images=[_x()], explainers={"random": E.random_map}, targets=[0], fractions=2, maps=None,
        replacements=("black",), batch_size=4), aliases={"images": ["image"]}, max_examples=25),
    "road": Case(E.road, lambda: dict(model=TOY, x=_x(), target="dog", saliency=torch.rand(16, 16), percentiles=(30, 70),
                                      order="lerf", noise=0.01, seed=1, batch_size=2),
                 aliases={"model": ["image_model", "wrapped model"], "target": ["class"]}),
    "noisy_linear_imputation": Case(E.noisy_linear_imputation, lambda: dict(
        image=torch.rand(3, 8, 8), keep=torch.rand(8, 8) > 0.5, noise=0.0, generator=torch.Generator().manual_seed(0))),
    "pointing_masks": Case(E.pointing_masks, lambda: dict(boxes=[[1, 1, 3, 3]], size=(8, 8), tolerance=1),
                           aliases={"boxes": ["box"]}),
    "pixel_space_model": Case(E.pixel_space_model, lambda: dict(image_model=TOY)),
    "PixelSpaceModel": Case(E.PixelSpaceModel, lambda: dict(image_model=TOY)),
    "pointing_game_hit": Case(E.pointing_game_hit, lambda: dict(saliency=_peak(), box=[1, 1, 5, 5], tolerance=1)),
    "pointing_game_chance": Case(E.pointing_game_chance, lambda: dict(box=[1, 1, 5, 5], tolerance=1, size=(16, 16))),
    "pointing_game": Case(E.pointing_game, lambda: dict(
        image_model=TOY, explainers=None, boxes={"cat": {"cat": [2, 2, 6, 6]}},
        maps={"cat": {"cat": {"peak": _peak()}}}, tolerance=0)),
    "load_boxes": Case(E.load_boxes, lambda: dict(path=E.BOXES_PATH)),
    "box_patch_overlap": Case(E.box_patch_overlap, lambda: dict(boxes=[[0, 0, 12, 8]], image_size=16, patch_size=8)),
    "object_attention_mass": Case(E.object_attention_mass, lambda: dict(
        patch_maps=torch.rand(1, 2, 2), boxes=[[0, 0, 8, 8]], image_size=16, patch_size=8)),
    "localisation_scores": Case(E.localisation_scores, lambda: dict(
        vision_model=VIT, data=DIGITS, batch_size=4, random_seed=0, extra_maps={"k": torch.rand(6, 6, 6)})),
    "head_localisation": Case(E.head_localisation, lambda: dict(vision_model=VIT, data=DIGITS, layer=0, batch_size=4)),
    "randomisation_stages": Case(E.randomisation_stages, lambda: dict(module=_image_model().model)),
    "randomised_copy": Case(E.randomised_copy, lambda: dict(image_model=TOY, n_stages=1, seed=0)),
    "model_randomisation_test": Case(E.model_randomisation_test, lambda: dict(
        image_model=TOY, images=[_x()], targets=[0], depths=[1], seeds=(0,), methods=("grad_cam",), explainers=None,
        n_samples=2, noise_level=0.1, batch_size=4), aliases={"images": ["image"]}, max_examples=25),
    "signed_maps": Case(E.signed_maps, lambda: dict(
        image_model=TOY, x=_x(2), targets=[0, 1], methods=("grad_cam", "smoothgrad"), n_samples=2, noise_level=0.1,
        seed=0, batch_size=4, upsample=False)),
    "show_randomisation": Case(E.show_randomisation, lambda: dict(result=_randomisation(), titles=None, ax=_axes()),
                               max_examples=10),
    "Curves.show": Case(E.Curves.show, lambda: dict(self=_curves(), ax=_axes()[0], title="t"),
                        fixed={"self": "the record the method is called on"}, max_examples=10),
    "RandomisationResult.show": Case(E.RandomisationResult.show, lambda: dict(self=_randomisation(), titles=None,
                                                                              ax=_axes()),
                                     fixed={"self": "the record the method is called on"}, max_examples=10),
    # --- evaluation.stats and its figures ----------------------------------------------------------------
    "interval": Case(E.interval, lambda: dict(values=[0.1, 0.4, 0.3, 0.2], statistic="mean", level=0.9, n_boot=200,
                                              seed=0)),
    "compare": Case(E.compare, lambda: dict(a=[0.1, 0.4, 0.3], b=[0.2, 0.1, 0.0], names=("a", "b"),
                                            higher_is_better=True, unit="photos", level=0.9, n_boot=200, seed=0)),
    "spread": Case(E.spread, lambda: dict(values=[0.1, 0.4, 0.3, 0.2], level=0.9)),
    "holm": Case(E.holm, lambda: dict(p_values={"a": 0.01, "b": 0.2}, alpha=0.05)),
    "Interval": Case(E.Interval, lambda: dict(estimate=0.5, low=0.4, high=0.6, n=3, level=0.95)),
    "Interval.format": Case(E.Interval.format, lambda: dict(self=E.Interval(0.5, 0.4, 0.6, 3), digits=1,
                                                            percent=True), fixed={"self": "the record"}),
    "Interval.excludes": Case(E.Interval.excludes, lambda: dict(self=E.Interval(0.5, 0.4, 0.6, 3), value=0.0),
                              fixed={"self": "the record"}),
    "Interval.contains": Case(E.Interval.contains, lambda: dict(self=E.Interval(0.5, 0.4, 0.6, 3), value=0.5),
                              fixed={"self": "the record"}),
    "Comparison": Case(E.Comparison, lambda: dict(a="a", b="b", a_score=E.Interval(0.5, 0.4, 0.6, 3),
                                                  b_score=E.Interval(0.3, 0.2, 0.4, 3),
                                                  difference=E.Interval(0.2, 0.1, 0.3, 3), p_value=0.2,
                                                  higher_is_better=True, unit="photos")),
    "Spread": Case(E.Spread, lambda: dict(mean=0.5, low=0.1, high=0.9, minimum=0.0, maximum=1.0, n=20, level=0.95)),
    "Spread.position": Case(E.Spread.position, lambda: dict(self=E.spread([0.1, 0.2, 0.3]), value=0.2),
                            fixed={"self": "the record"}),
    "show_intervals": Case(E.show_intervals, lambda: dict(
        scores={"a": [0.1, 0.4, 0.3], "b": [0.2, 0.1, 0.0]}, items=["x", "y", "z"], ax=_axes()[0], ylabel="s",
        title="t", chance=0.2, chance_label="c", highlight="x", unit="photos", level=0.9, n_boot=200, seed=0,
        yscale="log"), max_examples=10),
    "legend_above": Case(E.legend_above, lambda: dict(ax=_axes()[0]), max_examples=5),
    "show_differences": Case(E.show_differences, lambda: dict(
        scores={"a": [0.1, 0.4, 0.3], "b": [0.2, 0.1, 0.0]}, against="b", items=["x", "y", "z"], ax=_axes()[0],
        ylabel="d", title="t", higher_is_better=True, unit="photos", level=0.9, n_boot=200, seed=0),
        max_examples=10),
    # --- evaluation.groundtruth ---------------------------------------------------------------------------
    "DigitCNN": Case(gt.DigitCNN, lambda: dict(channels=(4, 4, 4), num_classes=3)),
    "make_mark": Case(gt.make_mark, lambda: dict(seed=0, top=1, left=1, size=4)),
    "add_mark": Case(gt.add_mark, lambda: dict(images=torch.rand(2, 1, 48, 48), mark=gt.LESSON_MARK, classes=[3, -1],
                                               seed=0)),
    "make_scenes": Case(gt.make_scenes, lambda: dict(n=3, marks="own", mark=None, split="test", seed=None),
                        max_examples=12),
    "predict_classes": Case(gt.predict_classes, lambda: dict(model=CNN, images=torch.rand(3, 1, 48, 48),
                                                             batch_size=2, threads=1)),
    "accuracy_table": Case(gt.accuracy_table, lambda: dict(models={"m": CNN}, n=3, sets=_sets()), max_examples=15),
    "attribution_maps": Case(gt.attribution_maps, lambda: dict(
        model=CNN, images=torch.rand(2, 1, 48, 48), targets=[1, 2], methods=("vanilla_gradients", "edge_map"),
        n_steps=2, n_samples=2, noise_level=0.1, blur_sigma=1.0, ig_method="gausslegendre", chunk=2, per_pass=4,
        threads=1, seed=0), max_examples=40),
    "box_masks": Case(gt.box_masks, lambda: dict(boxes=[[1, 0, 3, 2]], size=4)),
    "mass_in_boxes": Case(gt.mass_in_boxes, lambda: dict({k: v() for k, v in SCENE_MAPS.items()}, cell=4)),
    "mark_scores": Case(gt.mark_scores, lambda: dict(result=_maps(), scenes=_scenes(), cell=4, relative=True)),
    "random_digit_cnn": Case(gt.random_digit_cnn, lambda: dict(seed=3)),
    "seed_table": Case(gt.seed_table, lambda: {}),     # no argument: the valid call is the whole case
    "pointing_hits": Case(gt.pointing_hits, lambda: dict({k: v() for k, v in SCENE_MAPS.items()}, tolerance=1)),
    "score_maps": Case(gt.score_maps, lambda: dict(result=_maps(), scenes=_scenes())),
    "method_table": Case(gt.method_table, lambda: dict(model=CNN, scenes=_scenes(), methods=["edge_map"])),
    "plot_mark_mass": Case(gt.plot_mark_mass, lambda: dict(table=gt.seed_table(), column="mark / chance",
                                                               methods=["grad_cam"], ax=_axes()[0])),
    "plot_scene_kinds": Case(gt.plot_scene_kinds, lambda: dict(sets=_sets(), index=0, mark=None), max_examples=15),
    "plot_scene_maps": Case(gt.plot_scene_maps, lambda: dict(
        scenes=_scenes(), maps_by_row={"r": _maps()}, index=0, methods=["edge_map"], row_titles=None,
        panel_size=1.0)),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_wrong_kinds_of_arguments_get_a_clear_error(name):
    try:
        fuzz(CASES[name])
    finally:
        plt.close("all")   # the figures of the plotting cases
