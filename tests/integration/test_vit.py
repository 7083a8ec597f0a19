"""The course's tiny ViT: reproducible data and training, a checkpoint that loads and classifies, and
attention scores against the digits' known positions."""
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from xai_helpers import digits as D
from xai_helpers.evaluation import localisation as L
from xai_helpers.interpret import scenes as IS
from xai_helpers.methods import vit as VA
from xai_helpers.models import vit as V
from xai_helpers.models.base import ModelUnavailableError

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools"))
import train_tiny_vit as training  # noqa: E402  (the training code lives in tools/, not in the package)


@pytest.fixture(scope="module")
def test_set():
    return D.make_cluttered_digits("test")


@pytest.fixture(scope="module")
def tiny():
    return V.load_vit_model()


# --- the model ------------------------------------------------------------------------------------------


def test_checkpoint_is_small_loads_safely_and_keeps_its_accuracy(tiny, test_set):
    assert V.CHECKPOINT.exists(), "run tools/train_tiny_vit.py to create the checkpoint"
    assert V.CHECKPOINT.stat().st_size <= 5e6
    assert tiny.name == V.DEFAULT_VIT_MODEL and not tiny.model.training
    assert not any(p.requires_grad for p in tiny.model.parameters())
    assert V.load_vit_model() is tiny                                          # cached per process
    stored = tiny.info["test_accuracy"]
    assert stored >= 0.9, tiny.info                                          # 0.9315 when written
    measured = V.accuracy(tiny, test_set.images, test_set.labels)
    assert measured == pytest.approx(stored, abs=0.01)
    assert tiny.info["train_seconds"] > 0 and tiny.info["settings"]["seed"] == 0


def test_training_is_reproducible(tmp_path):
    """The training code (tools/train_tiny_vit.py): same seed -> identical weights and checkpoint tensors
    (one short epoch); another seed -> different weights."""
    a, info = training.train_tiny_vit(seed=0, epochs=1, threads=1, log=None)
    b, _ = training.train_tiny_vit(seed=0, epochs=1, threads=1, log=None)
    c, _ = training.train_tiny_vit(seed=1, epochs=1, threads=1, log=None)
    for (name, pa), pb, pc in zip(a.state_dict().items(), b.state_dict().values(), c.state_dict().values()):
        torch.testing.assert_close(pa, pb, msg=name, rtol=0, atol=0)
    assert not torch.equal(a.head.weight, c.head.weight)
    digests = [training.tensor_digest(training.save_tiny_vit(m, info, tmp_path / f"{k}.safetensors"))
               for k, m in enumerate((a, b, c))]
    assert digests[0] == digests[1] != digests[2]
    model, read_info = V._read_checkpoint(tmp_path / "0.safetensors")     # the package reads what the tool wrote
    assert read_info["settings"]["epochs"] == 1 and torch.equal(model.head.weight, a.head.weight)


def test_missing_checkpoint_is_an_error_naming_the_rebuild_command(tmp_path, monkeypatch):
    missing = tmp_path / "tiny_vit_digits.safetensors"
    monkeypatch.setattr(V, "CHECKPOINT", missing)
    start = time.process_time()
    with pytest.raises(ModelUnavailableError, match=r"tiny-vit-digits.*is missing.*python tools/train_tiny_vit\.py"):
        V._load_fresh(V.DEFAULT_VIT_MODEL, "cpu")               # bypass the per-process cache
    assert time.process_time() - start < 2 and not missing.exists()        # nothing was trained or written


def test_vision_model_views_and_preprocess(tiny, test_set):
    x = tiny.preprocess(test_set.images[0])
    assert x.shape == (1, 1, 48, 48)
    image = tiny.to_image(x)
    assert image.shape == (48, 48, 3) and np.allclose(image[..., 0], test_set.images[0, 0].numpy())
    with pytest.raises(ValueError, match="1x48x48"):
        tiny.preprocess(torch.zeros(3, 32, 32))
    logits, att = VA.vit_attention(tiny, x)
    assert logits.shape == (1, 10) and att.shape == (4, 4, 37, 37)
    torch.testing.assert_close(att.sum(-1), torch.ones(4, 4, 37))


# --- scoring maps against the truth ---------------------------------------------------------------------------


def test_attention_finds_the_digit_better_than_chance(tiny, test_set):
    scores = L.localisation_scores(tiny, test_set)
    chance = scores.loc["random map (control)", "mass on object"]
    assert scores.loc["random map (control)", "ratio to chance"] == pytest.approx(1.0, abs=0.1)
    assert scores["chance"].nunique() == 1 and chance == pytest.approx(scores["chance"].iloc[0], abs=0.02)
    # Measured when the checkpoint was written: rollout 4.7x chance (pointing game 99 %), layer 0 7.7x.
    assert scores.loc["attention rollout", "ratio to chance"] > 3.0, scores
    assert scores.loc["attention rollout", "pointing game"] > 0.9, scores
    assert scores.loc["[CLS] attention, layer 0", "ratio to chance"] > 5.0, scores
    assert (scores.drop(index="random map (control)")["ratio to chance"] > 2.0).all(), scores


def test_extra_maps_are_scored_like_attention(tiny, test_set):
    sub = test_set[:40]
    perfect = L.box_patch_overlap(sub.boxes)                               # all mass on the box
    scores = L.localisation_scores(tiny, sub, extra_maps={"the box itself": perfect})
    by_hand = ((perfect ** 2).sum((-2, -1)) / perfect.sum((-2, -1))).mean().item()   # partly covered patches count
    assert scores.loc["the box itself", "mass on object"] == pytest.approx(by_hand, rel=1e-5)
    assert scores.loc["the box itself", "pointing game"] == 1.0
    assert (scores.drop(index="the box itself")["mass on object"] < by_hand).all()
    with pytest.raises(ValueError, match="one map per scene"):
        L.localisation_scores(tiny, sub, extra_maps={"wrong": perfect[:3]})


def test_head_localisation_scores_each_head(tiny, test_set):
    sub = test_set[:60]
    table = L.head_localisation(tiny, sub, layer=-1, batch_size=25)
    assert list(table.index) == [f"head {h}" for h in range(4)]
    _, att = VA.vit_attention(tiny, sub.images)
    mass, chance = L.object_attention_mass(VA.cls_attention_map(att, 6, layer=-1, head=2), sub.boxes)
    assert table.loc["head 2", "mass on object"] == pytest.approx(mass.mean().item(), rel=1e-5)
    assert table.loc["head 2", "ratio to chance"] == pytest.approx((mass.mean() / chance.mean()).item(), rel=1e-5)


def test_first_layer_cls_query_is_input_independent_and_hooks_are_released(tiny, test_set):
    images = test_set.images[:30]
    q0, q1 = VA.cls_queries(tiny, images, layer=0), VA.cls_queries(tiny, images, layer=1)
    assert q0.shape == (30, 4, 16) and q0.device.type == "cpu"
    assert (q0 - q0[:1]).abs().max() < 1e-5 < 0.1 < (q1 - q1[:1]).abs().max()
    assert all(not block.attn.qkv._forward_hooks for block in tiny.model.blocks)
    # the hooked query reproduces the model's own layer-0 [CLS] attention row
    net = tiny.model
    with torch.no_grad():
        tokens = net.patch_embed(net.stem((images[:2] - 0.5) / 0.5)).flatten(2).transpose(1, 2)
        x = torch.cat([net.cls_token.expand(2, -1, -1), tokens], 1) + net.pos_embed
        k = net.blocks[0].attn.qkv(net.blocks[0].norm1(x))[..., 64:128].view(2, 37, 4, 16).transpose(1, 2)
    row = ((q0[:2, :, None, :] @ k.transpose(-2, -1)) / 4.0).softmax(-1)[:, :, 0]
    _, att = VA.vit_attention(tiny, images[:2])
    torch.testing.assert_close(row, att[:, 0, :, 0], rtol=1e-4, atol=1e-5)
    with pytest.raises(TypeError, match="TinyViT"):
        VA.cls_queries(torch.nn.Linear(2, 2), images)


def test_first_layer_cls_map_follows_patch_brightness(tiny, test_set):
    from scipy.stats import spearmanr
    sub = test_set[:100]
    _, att = VA.vit_attention(tiny, sub.images)
    brightness = VA.patch_brightness(sub.images)
    rho = {layer: np.median([spearmanr(m.flatten(), b.flatten()).statistic
                             for m, b in zip(VA.cls_attention_map(att, 6, layer=layer), brightness)])
           for layer in (0, -1)}
    assert rho[0] > 0.5 and rho[0] > rho[-1] + 0.15, rho
    erased = L.localisation_scores(tiny, D.erase_digits(sub)).loc["[CLS] attention, layer 0"]
    assert erased["mass on object"] < erased["chance"]                   # with the digit gone it finds clutter


def test_hub_vit_offline_fails_fast_and_names_the_default():
    try:
        from huggingface_hub import try_to_load_from_cache
        if isinstance(try_to_load_from_cache(V.HUB_VIT, "config.json"), str):
            pytest.skip("google/vit-base-patch16-224 is cached here, so it loads")
    except ImportError:
        pass
    start = time.perf_counter()
    with pytest.raises(ModelUnavailableError, match="tiny-vit-digits"):
        V.load_vit_model("google/vit-base-patch16-224")
    assert time.perf_counter() - start < 15
    with pytest.raises(ValueError, match="tiny-vit-digits"):
        V.load_vit_model("vit-huge")


def test_hub_vit_code_path_on_a_small_local_vit(tmp_path, monkeypatch):
    """The ViT-Base route (AutoImageProcessor, eager attention, 224 resize without crop), exercised
    offline on a tiny randomly initialised ViT saved in the Hugging Face format."""
    from PIL import Image
    from transformers import ViTConfig, ViTForImageClassification, ViTImageProcessor
    from xai_helpers.data import load_image
    config = ViTConfig(image_size=32, patch_size=8, hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
                       intermediate_size=32, num_labels=3)
    torch.manual_seed(0)
    ViTForImageClassification(config).save_pretrained(tmp_path)
    processor = ViTImageProcessor(size={"height": 32, "width": 32}, image_mean=[0.5] * 3, image_std=[0.5] * 3)
    processor.save_pretrained(tmp_path)
    monkeypatch.setattr(V, "HUB_VIT", str(tmp_path))
    hub = V._load_hub_vit("cpu")
    assert hub.model.config._attn_implementation == "eager" and (hub.grid, hub.image_size) == (4, 32)
    x = hub.preprocess("cat")
    logits, att = VA.vit_attention(hub, x)
    assert x.shape == (1, 3, 32, 32) and logits.shape == (1, 3) and att.shape == (2, 2, 17, 17)
    assert VA.rollout_map(att, hub.grid).shape == (4, 4)
    # to_image gives back the whole photo squeezed to 32x32 (no centre crop), in [0, 1].
    photo = load_image("cat")
    squeezed = np.asarray(photo.resize((32, 32), Image.BILINEAR), dtype=np.float32) / 255
    side = min(photo.size)
    cropped = photo.crop(((photo.width - side) // 2, (photo.height - side) // 2,
                          (photo.width + side) // 2, (photo.height + side) // 2)).resize((32, 32), Image.BILINEAR)
    cropped = np.asarray(cropped, dtype=np.float32) / 255
    seen = hub.to_image(x)
    assert np.abs(seen - squeezed).mean() < 0.03 < np.abs(seen - cropped).mean()
    with pytest.raises(TypeError, match="PIL"):
        hub.preprocess(torch.zeros(1, 3, 32, 32))


def test_vit_helpers_run_on_a_device_and_give_the_cpus_result(tiny, test_set):
    """The ViT helpers on the fake accelerator of tests/fake_device.py (CUDA's and MPS's rules, CPU's
    arithmetic): no CPU constant meets a device tensor, nothing calls .numpy() there, same numbers."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from fake_device import FAKE, FactoriesOnDevice, to_fake_device
    sub = test_set[:12]
    on_device = V.VisionModel(name=tiny.name, model=to_fake_device(tiny.model), labels=tiny.labels,
                              image_size=tiny.image_size, patch_size=tiny.patch_size, info=tiny.info, device=FAKE)
    with FactoriesOnDevice():
        logits, att = VA.vit_attention(on_device, sub.images)
        queries = VA.cls_queries(on_device, sub.images, layer=0)
        predicted = on_device.predict(sub.images, k=1)
        scores = L.localisation_scores(on_device, sub, batch_size=5)
        heads = L.head_localisation(on_device, sub, batch_size=5)
        fig = IS.plot_scene_attention(on_device, sub, indices=[0, 1], extra_maps={"ink": VA.brightness_map(sub.images[:2])})
        plt.close(fig)
    cpu_logits, cpu_att = VA.vit_attention(tiny, sub.images)
    assert att.device.type == "cpu" and queries.device.type == "cpu"
    torch.testing.assert_close(logits, cpu_logits)
    torch.testing.assert_close(att, cpu_att)
    torch.testing.assert_close(queries, VA.cls_queries(tiny, sub.images, layer=0))
    assert predicted == tiny.predict(sub.images, k=1) and len(predicted) == 12 and predicted[0][0].label in tiny.labels
    np.testing.assert_allclose(scores.drop(index="random map (control)").values,
                               L.localisation_scores(tiny, sub).drop(index="random map (control)").values, rtol=1e-5)
    np.testing.assert_allclose(heads.values, L.head_localisation(tiny, sub).values, rtol=1e-5)


# --- gradient-weighted rollout, value norms and patch occlusion on the course's ViT ---------------------------
def test_gradient_rollout_and_patch_occlusion_on_the_course_vit(tiny, test_set):
    import xai_helpers as xh
    from captum.attr import Occlusion
    from helpers import hook_count
    image = torch.as_tensor(test_set.images[:1]).float()
    label = int(test_set.labels[0])
    x = tiny.preprocess(image).requires_grad_(True)
    logits, attentions = tiny.model(x, output_attentions=True)
    grads = torch.autograd.grad(logits[0, label], attentions)
    expected = torch.eye(37)
    for A, g in zip(attentions, grads):
        expected = expected + (g * A).clamp(min=0).mean(1)[0].detach() @ expected
    R = xh.methods.gradient_rollout(tiny, image, label)
    torch.testing.assert_close(R, expected, rtol=1e-5, atol=1e-6)
    ours = xh.methods.patch_occlusion(tiny, image, label)
    theirs = Occlusion(tiny.model).attribute(tiny.preprocess(image), sliding_window_shapes=(1, 8, 8),
                                             strides=(1, 8, 8), baselines=0.0, target=label)
    torch.testing.assert_close(ours, theirs[0, 0, ::8, ::8], rtol=1e-4, atol=1e-5)
    norms = xh.methods.value_norm_attention(tiny, image)
    assert norms.shape == (4, 4, 37, 37) and hook_count(tiny.model) == 0
