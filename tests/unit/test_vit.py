"""The course's tiny ViT: reproducible data and training, a checkpoint that loads and classifies, and
attention scores against the digits' known positions."""
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from xai_helpers import digits as D
from xai_helpers.evaluation import localisation as L
from xai_helpers.methods import vit as VA
from xai_helpers.models import vit as V


@pytest.fixture(scope="module")
def test_set():
    return D.make_cluttered_digits("test")


# --- data -------------------------------------------------------------------------------------------
def test_scenes_are_reproducible_and_test_digits_are_unseen(test_set):
    again = D.make_cluttered_digits("test")
    assert torch.equal(test_set.images, again.images) and torch.equal(test_set.boxes, again.boxes)
    assert test_set.images.shape == (540, 1, 48, 48) and test_set.images.min() >= 0 and test_set.images.max() <= 1
    train = D.make_cluttered_digits("train", seed=3, n=50)
    assert not set(test_set.digit_index.tolist()) & set(D._digits_split()[2]["train"].tolist())
    assert not torch.equal(train.images, D.make_cluttered_digits("train", seed=4, n=50).images)
    assert np.bincount(test_set.labels.numpy()).min() >= 50                   # every class is tested


def test_boxes_hold_the_digit_and_nothing_else(test_set):
    top, left, bottom, right = test_set.boxes.T
    assert ((bottom - top) >= 4).all() and ((bottom - top) <= 16).all() and ((right - left) <= 16).all()
    assert (top >= 0).all() and (bottom <= 48).all() and (left >= 0).all() and (right <= 48).all()
    # Without pixel noise, the digit's 16x16 square on the canvas is exactly the upscaled digit: the
    # clutter never overlaps it, and the box is the tight box of its ink.
    digits = D._digits_split()[0][:30]
    canvas, boxes = D._render(digits, torch.Generator().manual_seed(7), noise=0.0)
    big = F.interpolate(digits[:, None], scale_factor=2, mode="bilinear", align_corners=False)[:, 0]
    for i in range(30):
        ink = (big[i] > 0.1).nonzero()
        r0, c0 = ink.min(0).values.tolist()
        r1, c1 = (ink.max(0).values + 1).tolist()
        t, l, b, r = boxes[i].tolist()
        assert (b - t, r - l) == (r1 - r0, c1 - c0)
        torch.testing.assert_close(canvas[i, 0, t - r0:t - r0 + 16, l - c0:l - c0 + 16], big[i])
    assert canvas.sum() > big.sum() * 1.2                                     # ... and there is clutter


# --- the model ------------------------------------------------------------------------------------------
def test_attention_module_is_softmax_qk_and_matches_torch_sdpa():
    torch.manual_seed(0)
    attn = V.Attention(dim=16, heads=4)
    x = torch.randn(2, 5, 16)
    out, weights = attn(x)
    q, k, v = attn.qkv(x).view(2, 5, 3, 4, 4).permute(2, 0, 3, 1, 4)
    reference = F.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(2, 5, 16)
    torch.testing.assert_close(out, attn.proj(reference))
    torch.testing.assert_close(weights.sum(-1), torch.ones(2, 4, 5))


def test_the_package_does_not_train():
    """Training lives in tools/; xai_helpers.vit keeps the model, the data and checkpoint reading only."""
    source = Path(V.__file__).read_text()
    assert ".backward(" not in source and "torch.optim" not in source and "save_file" not in source
    assert not hasattr(V, "train_tiny_vit") and not hasattr(V, "save_tiny_vit")


# --- scoring maps against the truth ---------------------------------------------------------------------------
def test_box_overlap_and_mass_by_hand():
    cover = L.box_patch_overlap(torch.tensor([[0, 0, 8, 4]]), image_size=48, patch_size=8)[0]
    assert cover[0, 0] == 0.5 and cover.sum() == 0.5                        # half of patch (0, 0)
    on_object = torch.zeros(1, 6, 6)
    on_object[0, 2, 3] = 1.0
    mass, chance = L.object_attention_mass(on_object, torch.tensor([[16, 24, 24, 32]]))
    assert mass.item() == pytest.approx(1.0) and chance.item() == pytest.approx(1 / 36)
    mass, chance = L.object_attention_mass(torch.ones(1, 6, 6), torch.tensor([[16, 24, 24, 32]]))
    assert mass.item() == pytest.approx(chance.item())                      # uniform map == chance
    with pytest.raises(ValueError, match="boxes"):
        L.object_attention_mass(torch.ones(2, 6, 6), torch.tensor([[0, 0, 8, 8]]))


def test_cls_and_rollout_maps():
    att = torch.rand(3, 2, 37, 37).softmax(-1)
    cls = VA.cls_attention_map(att, grid=6, layer=-1)
    assert cls.shape == (6, 6) and cls.sum().item() == pytest.approx(1.0)
    torch.testing.assert_close(VA.cls_attention_map(att, layer=0, head=1).flatten(),
                               att[0, 1, 0, 1:] / att[0, 1, 0, 1:].sum())
    roll = VA.rollout_map(att)
    assert roll.shape == (6, 6) and roll.sum().item() == pytest.approx(1.0)
    assert VA.rollout_map(torch.stack([att, att])).shape == (2, 6, 6)
    with pytest.raises(ValueError, match="grid"):
        VA.cls_attention_map(torch.rand(1, 1, 10, 10), grid=4)


def test_patch_brightness_and_brightness_map_by_hand():
    images = torch.zeros(2, 1, 48, 48)
    images[0, 0, 8:16, 40:48] = 1.0                                        # patch (1, 5) fully white
    images[1, 0, 0:4, 0:8] = 0.5                                           # half of patch (0, 0) at 0.5
    b = VA.patch_brightness(images)
    assert b.shape == (2, 6, 6) and b[0, 1, 5] == 1.0 and b[0].sum() == 1.0 and b[1, 0, 0] == 0.25
    m = VA.brightness_map(images, sharpness=20)
    torch.testing.assert_close(m.sum((-2, -1)), torch.ones(2))
    assert m[0].argmax() == 1 * 6 + 5 and m[0, 1, 5] > 0.99
    with pytest.raises(ValueError, match="multiples of patch_size"):
        VA.patch_brightness(torch.zeros(1, 1, 50, 50))


def test_erase_digits_leaves_only_clutter(test_set):
    sub = test_set[:20]
    erased = D.erase_digits(sub)
    assert torch.equal(erased.boxes, sub.boxes) and torch.equal(erased.labels, sub.labels)
    inside = torch.zeros_like(sub.images, dtype=torch.bool)
    for i, (top, left, bottom, right) in enumerate(sub.boxes.tolist()):
        inside[i, :, top:bottom, left:right] = True
    assert torch.equal(erased.images[~inside], sub.images[~inside])        # clutter untouched
    assert erased.images[inside].max() < 0.35 < sub.images[inside].max()   # only background noise is left
    assert torch.equal(D.erase_digits(sub).images, erased.images)          # seeded
    with pytest.raises(TypeError, match="ClutteredDigits"):
        D.erase_digits(sub.images)
