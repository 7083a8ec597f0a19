"""Checks of explanations: randomisation sanity check, deletion/insertion, pointing game."""

import numpy as np
import pytest
import torch

import xai_helpers as xh
from xai_helpers import evaluation as ev
from xai_helpers.methods.cam import grad_cam


def _params_checksum(module):
    return float(sum(p.double().abs().sum() for p in module.parameters()))


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


def test_signed_maps_equal_the_one_image_functions(image_model, cat_x, dog_x):
    x = torch.cat([cat_x, dog_x])
    targets = [image_model.labels.index("tabby"), image_model.labels.index("German shepherd")]
    maps = ev.signed_maps(image_model, x, targets, n_samples=4, batch_size=3)
    coarse = ev.signed_maps(image_model, x, targets, methods=("grad_cam",), upsample=False)["grad_cam"]
    for i, t in enumerate(targets):
        xi = x[i:i + 1]
        grad = xh.vanilla_gradients(image_model, xi, t)
        assert np.allclose(maps["vanilla_gradients"][i], grad[0].sum(0).cpu().numpy(), atol=1e-5)
        assert np.allclose(maps["gradient_x_input"][i], xh.gradient_x_input(image_model, xi, t)[0].sum(0).cpu().numpy(),
                           atol=1e-5)
        smooth = xh.smoothgrad(image_model, xi, t, n_samples=4, batch_size=4, seed=0)[0].sum(0).cpu().numpy()
        assert np.allclose(maps["smoothgrad"][i], smooth, atol=1e-5)
        cam = grad_cam(image_model, xi, t, upsample=False, normalize=False).numpy()
        assert np.allclose(np.maximum(coarse[i], 0), cam, atol=1e-5)      # Grad-CAM = ReLU of the signed map
    assert maps["grad_cam"].shape == (2, 224, 224)
    with pytest.raises(ValueError, match="Unknown method"):
        ev.signed_maps(image_model, x, targets, methods=("lime",))


def test_cascading_randomisation_over_seeds_and_images(image_model):
    before = _params_checksum(image_model.model)
    out = ev.model_randomisation_test(image_model, ["cat", "coffee"], targets=["tabby", "espresso"],
                                      depths=("_fc", "_conv_stem"), seeds=(0, 1),
                                      methods=("grad_cam", "vanilla_gradients"),
                                      explainers={"edge": ev.edge_map})
    assert _params_checksum(image_model.model) == before          # the cached model is never touched
    table = out["table"]
    assert out["depths"] == [1, len(out["stages"])] and out["labels"] == ["_fc", "_conv_stem"]
    assert len(table) == 2 * 2 * 3 * 2                              # seeds x depths x methods x images
    assert set(table["image"]) == {"cat", "coffee"}
    edge = table[table["method"] == "edge"]
    assert np.allclose(edge["rho"], 1.0) and np.allclose(edge["rho_abs"], 1.0)   # model-blind: never changes
    full = table[(table["method"] == "vanilla_gradients") & (table["depth"] == len(out["stages"]))]
    assert full["rho_abs"].abs().max() < 0.5                        # every layer random: the gradient map changes
    assert out["maps"]["vanilla_gradients"].shape == (3, 2, 224, 224)        # trained + 2 depths, 2 images, first seed
    floor = out["floor"]                                             # fully random copies of two seeds compared
    assert len(floor) == 1 * 3 * 2 and set(floor["seeds"]) == {"0 vs 1"}
    assert np.allclose(floor[floor["method"] == "edge"]["rho"], 1.0)
    assert floor[floor["method"] == "vanilla_gradients"]["rho_abs"].abs().max() < 0.5
    trained = ev.signed_maps(image_model, image_model.preprocess("cat"), [image_model.labels.index("tabby")],
                             methods=("vanilla_gradients",))["vanilla_gradients"][0]
    assert np.allclose(out["maps"]["vanilla_gradients"][0, 0], trained, atol=1e-6)
    with pytest.raises(ValueError, match="not a randomisation stage"):
        ev.model_randomisation_test(image_model, ["cat"], depths=("layer4",), methods=("vanilla_gradients",))
    fig = ev.show_randomisation(out)
    assert len(fig.axes) == 2 and all(len(ax.lines) >= 3 for ax in fig.axes)
    import matplotlib.pyplot as plt
    plt.close(fig)


def test_faithfulness_averages_over_images_and_replacements(image_model):
    explainers = {"grad_cam": lambda m, x, t: grad_cam(m, x, t), "random": ev.random_map}
    out = ev.faithfulness(image_model, ["cat", "coffee"], explainers, fractions=[0, 0.25, 1.0])
    assert set(out["per_image"]) == {"cat", "coffee"}
    assert set(out["per_image"]["cat"]) == {"black", "blur"}
    table = out["table"]
    assert len(table) == 2 * 2 * 2
    for name in explainers:
        for replacement in ("black", "blur"):
            rows = table[(table["method"] == name) & (table["replacement"] == replacement)]
            assert out["mean"].loc[name, f"deletion {replacement}"] == pytest.approx(rows["deletion_auc"].mean())
            assert out["mean"].loc[name, f"insertion {replacement}"] == pytest.approx(rows["insertion_auc"].mean())
    cat = out["per_image"]["cat"]["black"]
    assert cat["grad_cam"]["deletion"][0] == cat["random"]["deletion"][0]      # same end points for every map
    assert cat["grad_cam"]["deletion"][-1] == cat["random"]["deletion"][-1]
    given = {"cat": {"m": torch.rand(224, 224)}, "coffee": {"other": torch.rand(224, 224)}}
    with pytest.raises(ValueError, match="same methods"):
        ev.faithfulness(image_model, ["cat", "coffee"], maps=given, fractions=2)


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
    chance = np.mean([ev.pointing_game_chance(b) for b in boxes["dog"].values()])
    assert out["table"].loc["oracle", "chance"] == pytest.approx(chance)
    assert out["table"].loc["oracle", "trials"] == 3 and out["table"].loc["oracle", "hits"] == 3
    chances = [ev.pointing_game_chance(b) for b in boxes["dog"].values()]
    assert out["table"].loc["oracle", "p (luck)"] == pytest.approx(np.prod(chances))      # all three by luck
    assert out["table"].loc["flat", "p (luck)"] == pytest.approx(1.0)                    # >= 0 hits: certain
    skipped = ev.pointing_game(image_model, {"oracle": peak_in_box}, boxes=boxes,
                               maps={"dog": {"pickup": {"oracle": None}}})
    assert ("dog", "pickup", None) in skipped["hits"]["oracle"]                # a map given as None is not scored
    assert skipped["table"].loc["oracle", "trials"] == 2 and skipped["score"]["oracle"] == 1.0
    assert skipped["table"].loc["oracle", "chance"] == pytest.approx(
        np.mean([ev.pointing_game_chance(boxes["dog"][k]) for k in ("German shepherd", "bicycle-built-for-two")]))


@pytest.mark.parametrize("order", ["morf", "lerf"])
def test_road_equals_pytorch_grad_cam_on_the_default_model(image_model, cat_x, order):
    import numpy as np
    from pytorch_grad_cam.metrics import road as reference
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget
    cam = xh.grad_cam(image_model, cat_x, 281)
    single = {"morf": reference.ROADMostRelevantFirst, "lerf": reference.ROADLeastRelevantFirst}[order]
    torch.manual_seed(4)
    expected = single(percentile=50)(cat_x, cam[None].numpy(), [ClassifierOutputTarget(281)], image_model.model)[0]
    got = xh.evaluation.road(image_model, cat_x, "tabby", cam, percentiles=(50,), order=order, seed=4)
    assert got.scores[0] == pytest.approx(float(expected), rel=1e-3, abs=1e-3)
    assert abs(got.removed[0] - 0.5) < 0.01
