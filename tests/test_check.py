"""xai_helpers.check: the reference answers pass, the typical wrong answers fail with a plain-words message.

Inputs are downsized to 96x96 pixels where the check allows it, so each test costs little CPU time.
"""
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
import torchvision.transforms.functional as TF

import xai_helpers as xh
from xai_helpers import check
from xai_helpers.cam import grad_cam
from xai_helpers.integrated import integrated_gradients


@pytest.fixture(scope="module")
def model():
    return xh.load_image_model()


@pytest.fixture(scope="module")
def x_small(model):
    """The dog photo at 96x96 pixels: cheap gradients, Grad-CAM on a 3x3 grid."""
    return F.interpolate(model.preprocess("dog"), size=(96, 96), mode="bilinear", align_corners=False)


def fails(match, fn, *args, **kwargs):
    with pytest.raises(check.CheckFailed, match=match):
        fn(*args, **kwargs)


# --- Problem 1 ------------------------------------------------------------------------------------
CLASSES = ["German shepherd", "bicycle-built-for-two"]


@pytest.fixture(scope="module")
def p1_maps(model, x_small):
    saliency = {c: xh.max_abs_over_channels(xh.vanilla_gradients(model, x_small, c)) for c in CLASSES}
    cam = {c: grad_cam(model, None, x_small, c) for c in CLASSES}
    return saliency, cam


def test_problem1_reference_passes(model, x_small, p1_maps, capsys):
    saliency, cam = p1_maps
    assert check.problem1_maps(model, x_small, saliency, cam, CLASSES) is True
    assert "\u2713 Problem 1a" in capsys.readouterr().out


def test_problem1_wrong_maps(model, x_small, p1_maps):
    saliency, cam = p1_maps
    swapped = {CLASSES[0]: saliency[CLASSES[1]], CLASSES[1]: saliency[CLASSES[0]]}
    fails("another class", check.problem1_maps, model, x_small, swapped, cam, CLASSES)
    summed = {c: xh.vanilla_gradients(model, x_small, c)[0].abs().sum(0) for c in CLASSES}
    fails("sums .gradient. over the colour channels", check.problem1_maps, model, x_small, summed, cam, CLASSES)
    signed = {c: xh.vanilla_gradients(model, x_small, c) for c in CLASSES}
    fails("3 colour channels", check.problem1_maps, model, x_small, signed, cam, CLASSES)
    coarse = {c: grad_cam(model, None, x_small, c, upsample=False) for c in CLASSES}
    fails("coarse grid", check.problem1_maps, model, x_small, saliency, coarse, CLASSES)
    raw = {c: grad_cam(model, None, x_small, c, normalize=False) for c in CLASSES}
    fails(r"\[0, 1\]", check.problem1_maps, model, x_small, saliency, raw, CLASSES)
    with pytest.raises(check.NotAnsweredYet):
        check.problem1_maps(model, x_small, {}, cam, CLASSES)


def _measurements(saliency, cam, grid_cam, correlation=None):
    out = {}
    for method, maps, grid in (("gradient", saliency, 96), ("grad_cam", cam, grid_cam)):
        a, b = (np.asarray(maps[c]).ravel() for c in CLASSES)
        out[method] = {"grid": grid, "roughness": {c: check.roughness(maps[c]) for c in CLASSES},
                       "class_correlation": correlation if correlation is not None else float(np.corrcoef(a, b)[0, 1])}
    return out


def test_problem1_measurements(model, x_small, p1_maps):
    saliency, cam = p1_maps
    grid = grad_cam(model, None, x_small, CLASSES[0], upsample=False).shape[-1]
    assert check.problem1_measurements(_measurements(saliency, cam, grid), saliency, cam, CLASSES, model, x_small)
    fails("native resolution", check.problem1_measurements, _measurements(saliency, cam, 96), saliency, cam,
          CLASSES, model, x_small)
    fails("compared with itself", check.problem1_measurements, _measurements(saliency, cam, grid, correlation=1.0),
          saliency, cam, CLASSES, model, x_small)


def test_roughness_scale_free_and_ordered():
    smooth = np.outer(np.hanning(32), np.hanning(32))
    speckle = np.random.default_rng(0).random((32, 32))
    assert check.roughness(smooth) < 0.2 < check.roughness(speckle)
    assert math.isclose(check.roughness(5 * speckle), check.roughness(speckle))


# --- Problem 2 ------------------------------------------------------------------------------------
def reference_smoothgrad(image_model, x, target, n_samples=16, noise_level=0.15, seed=0, *, absolute=False,
                         seeded=True, reduce="mean", use_seed=True):
    """The exercise's SmoothGrad, with switches for the classic mistakes."""
    target = image_model.labels.index(target) if isinstance(target, str) else target
    sigma = noise_level if absolute else float(noise_level * (x.max() - x.min()))
    generator = torch.Generator().manual_seed(seed if use_seed else 0) if seeded else None
    noise = torch.randn((n_samples, *x.shape[1:]), generator=generator) * sigma
    noisy = (x.detach() + noise).requires_grad_(True)
    (grad,) = torch.autograd.grad(image_model.model(noisy)[:, target].sum(), noisy)
    if reduce == "sum":
        return grad.sum(0, keepdim=True)
    if reduce == "abs":
        return grad.abs().mean(0, keepdim=True)
    return grad.mean(0, keepdim=True)


def test_problem2_reference_passes(model, x_small):
    assert check.problem2_smoothgrad(reference_smoothgrad, model, x_small, CLASSES[0])


@pytest.mark.parametrize("mistake, message", [
    (dict(absolute=True), "absolute sigma"),
    (dict(seeded=False), "not seeded"),
    (dict(use_seed=False), "seed argument is ignored"),
    (dict(reduce="sum"), "sums the gradients"),
    (dict(reduce="abs"), r"averages \|gradient\|"),
])
def test_problem2_classic_mistakes(model, x_small, mistake, message):
    def wrong(*args, **kwargs):
        return reference_smoothgrad(*args, **kwargs, **mistake)
    fails(message, check.problem2_smoothgrad, wrong, model, x_small, CLASSES[0])


def test_problem2_wrong_shape_and_missing(model, x_small):
    fails("returned shape", check.problem2_smoothgrad,
          lambda *a, **k: reference_smoothgrad(*a, **k)[0], model, x_small, CLASSES[0])
    with pytest.raises(check.NotAnsweredYet):
        check.problem2_smoothgrad(lambda *a, **k: None, model, x_small, CLASSES[0])


def _experiment(model, x, n_list=(1, 4, 16)):
    results = {}
    for i, n in enumerate(n_list):
        maps = tuple(reference_smoothgrad(model, x, CLASSES[0], n_samples=n, seed=s) for s in (0, 1))
        results[n] = {"seconds": 0.1 * n, "maps": maps, "difference": check.rms_difference(*maps)}
    return results


def test_problem2_experiment(model, x_small):
    results = _experiment(model, x_small)
    assert check.problem2_experiment(results)
    same_seed = {n: dict(r, maps=(r["maps"][0], r["maps"][0]), difference=0.0) for n, r in results.items()}
    fails("identical maps", check.problem2_experiment, same_seed)
    absolute = {n: dict(r, maps=tuple(m.abs() for m in r["maps"])) for n, r in results.items()}
    fails("signed", check.problem2_experiment, absolute)
    wrong_number = {n: dict(r, difference=r["difference"] * 2) for n, r in results.items()}
    fails("is not", check.problem2_experiment, wrong_number)
    typed_in = {n: dict(r, seconds=3.5) for n, r in results.items()}
    fails("took no longer", check.problem2_experiment, typed_in)


# --- Problem 3 ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def resnet_stats():
    """Untrained ResNet-18 (no download): only its ImageNet normalisation matters for baselines."""
    return xh.load_image_model("resnet18", random_weights=True)


def make_baselines(image_model, x, seed=0, blur_sigma=10.0, n_noise=2, *, mistake=None):
    pixels = image_model.denormalize(x.detach()).clamp(0, 1)
    kernel = 2 * math.ceil(3 * blur_sigma) + 1
    generator = torch.Generator().manual_seed(seed)
    base = {"black": torch.zeros_like(pixels), "white": torch.ones_like(pixels),
            "blur": TF.gaussian_blur(pixels, kernel_size=[kernel, kernel], sigma=[blur_sigma, blur_sigma]),
            "noise": torch.rand((n_noise, *pixels.shape[1:]), generator=generator)}
    out = {k: image_model.normalize(v) for k, v in base.items()}
    if mistake == "normalised zeros":
        out["black"] = torch.zeros_like(x)
    elif mistake == "normalised ones":
        out["white"] = torch.ones_like(x)
    elif mistake == "no blur":
        out["blur"] = x.detach().clone()
    elif mistake == "uniform blur":
        out["blur"] = image_model.normalize(pixels.mean(dim=(2, 3), keepdim=True).expand_as(pixels))
    elif mistake == "weak blur":
        out["blur"] = image_model.normalize(TF.gaussian_blur(pixels, kernel_size=[3, 3], sigma=[0.5, 0.5]))
    elif mistake == "randn":
        out["noise"] = torch.randn((n_noise, *x.shape[1:]), generator=torch.Generator().manual_seed(seed))
    elif mistake == "unseeded":
        out["noise"] = image_model.normalize(torch.rand((n_noise, *pixels.shape[1:])))
    elif mistake == "seed ignored":
        out["noise"] = image_model.normalize(torch.rand((n_noise, *pixels.shape[1:]),
                                                        generator=torch.Generator().manual_seed(0)))
    return out


@pytest.fixture(scope="module")
def x_resnet(resnet_stats):
    return resnet_stats.preprocess("cat")


def test_problem3_reference_passes(resnet_stats, x_resnet, model):
    assert check.problem3_baselines(make_baselines, resnet_stats, x_resnet)
    assert check.problem3_baselines(make_baselines, model, model.preprocess("cat"))


@pytest.mark.parametrize("mistake, message", [
    ("normalised zeros", r"all 0s in the model's normalised space.*RGB \(124, 116, 104\)"),
    ("normalised ones", r"all 1s in the model's normalised space.*RGB \(182, 173, 161\)"),
    ("no blur", "the photo itself"),
    ("uniform blur", "uniform image"),
    ("weak blur", "still sharp"),
    ("randn", r"outside|Gaussian noise drawn in the normalised space"),
    ("unseeded", "seed the generator"),
    ("seed ignored", "seed argument is ignored"),
])
def test_problem3_classic_mistakes(resnet_stats, x_resnet, mistake, message):
    def wrong(image_model, x, seed=0):
        return make_baselines(image_model, x, seed=seed, mistake=mistake)
    fails(message, check.problem3_baselines, wrong, resnet_stats, x_resnet)


def test_problem3_black_as_normalised_zeros_is_grey_also_for_the_default_model(model):
    x = model.preprocess("cat")
    fails(r"RGB \(127, 127, 127\) \(the normalisation mean, a grey\)", check.problem3_baselines,
          lambda m, x, seed=0: make_baselines(m, x, seed, mistake="normalised zeros"), model, x)


# --- Problem 4 ------------------------------------------------------------------------------------
TOKENS = ["[CLS]", "the", "cat", "sat", "on", "the", "mat", "[SEP]"]


def reference_most_attended(matrix, tokens, exclude_self=False, exclude_special=False):
    matrix = torch.as_tensor(matrix, dtype=torch.float64)
    special = torch.tensor([t in ("[CLS]", "[SEP]") for t in tokens])
    rows = []
    for i in range(len(tokens)):
        if special[i]:
            continue
        w = matrix[i].clone()
        if exclude_special:
            w[special] = -math.inf
        if exclude_self:
            w[i] = -math.inf
        j = int(w.argmax())
        rows.append((i, j, float(matrix[i, j])))
    return rows


@pytest.fixture(scope="module")
def attention():
    rng = np.random.default_rng(1)
    a = rng.dirichlet(np.ones(8) * 0.3, size=(6, 12, 8))      # [layers, heads, seq, seq], rows sum to 1
    a[..., 0] += 1.0                                         # heads park attention on [CLS]
    return torch.tensor(a / a.sum(-1, keepdims=True), dtype=torch.float32)


def test_problem4_reference_passes(attention):
    assert check.problem4_most_attended(reference_most_attended, attention.mean(dim=(0, 1)), TOKENS)
    share = attention[..., [0, 7]].sum(-1).mean(dim=(1, 2))
    assert check.problem4_special_share(share, attention, TOKENS)


def test_problem4_hard_coded_and_special_tokens(attention):
    matrix = attention.mean(dim=(0, 1))
    typed_in = {flags: reference_most_attended(matrix, TOKENS, *flags)
                for flags in ((False, False), (True, False), (True, True))}
    fails("typed in", check.problem4_most_attended,
          lambda m, t, exclude_self=False, exclude_special=False: typed_in[(exclude_self, exclude_special)],
          matrix, TOKENS)
    fails(r"still 'attend most' to \[CLS\]/\[SEP\]", check.problem4_most_attended,
          lambda m, t, exclude_self=False, exclude_special=False: reference_most_attended(m, t, exclude_self, False),
          matrix, TOKENS)
    fails("its own most-attended token", check.problem4_most_attended,
          lambda m, t, exclude_self=False, exclude_special=False: reference_most_attended(m, t, False, exclude_special),
          matrix, TOKENS)
    fails("query positions", check.problem4_most_attended,
          lambda m, t, exclude_self=False, exclude_special=False:
          [(0, 1, 0.0)] + reference_most_attended(m, t, exclude_self, exclude_special), matrix, TOKENS)


def test_problem4_special_share_mistakes(attention):
    fails(r"only \[CLS\]", check.problem4_special_share, attention[..., 0].mean(dim=(1, 2)), attention, TOKENS)
    fails("averaged over the special keys", check.problem4_special_share,
          attention[..., [0, 7]].mean(-1).mean(dim=(1, 2)), attention, TOKENS)
    fails("left out the special tokens as queries", check.problem4_special_share,
          attention[:, :, 1:7][..., [0, 7]].sum(-1).mean(dim=(1, 2)), attention, TOKENS)
    fails("one value per layer", check.problem4_special_share, torch.zeros(3), attention, TOKENS)


# --- Problem 5 ------------------------------------------------------------------------------------
def reference_numbers(image_model, x, true_class, *, mistake=None):
    true_index = image_model.labels.index(true_class) if isinstance(true_class, str) else int(true_class)
    with torch.no_grad():
        logits = image_model.model(x)[0]
    probs = logits if mistake == "logits" else logits.softmax(-1)
    p = int(probs.argmax())
    out = {"predicted_index": p, "predicted_label": image_model.labels[p], "predicted_probability": float(probs[p]),
           "true_index": true_index, "true_label": image_model.labels[true_index],
           "true_probability": float(probs[true_index]), "true_rank": int((probs > probs[true_index]).sum()) + 1}
    if mistake == "rank from 0":
        out["true_rank"] -= 1
    elif mistake == "percent":
        out["true_probability"] *= 100
    elif mistake == "short labels":
        out["predicted_label"] = out["predicted_label"].split()[-1].capitalize() + "!"
    return out


def test_problem5_numbers(model):
    x = model.preprocess("eagle")
    assert check.problem5_numbers(reference_numbers, model, x, "bald eagle")
    eagle = reference_numbers(model, x, "bald eagle")
    fails("typed in", check.problem5_numbers, lambda m, x, t: dict(eagle), model, x, "bald eagle")
    for mistake, message in (("rank from 0", "off by one"), ("percent", "percentage"),
                             ("short labels", "full class name"), ("logits", "softmax")):
        fails(message, check.problem5_numbers, lambda m, x, t: reference_numbers(m, x, t, mistake=mistake),
              model, x, "bald eagle")


def test_problem5_maps(model):
    x = F.interpolate(model.preprocess("eagle"), size=(96, 96), mode="bilinear", align_corners=False)
    classes = [21, 22]
    cams = {c: grad_cam(model, None, x, c) for c in classes}
    black = {c: integrated_gradients(model, x, c, baseline="black", n_steps=32)[0] for c in classes}
    assert check.problem5_maps(model, x, cams, black, classes)
    grey = {c: integrated_gradients(model, x, c, baseline=torch.zeros_like(x), n_steps=32)[0] for c in classes}
    fails("baseline of zeros in the normalised\s+space", check.problem5_maps, model, x, cams, grey, classes)
    swapped = {21: cams[22], 22: cams[21]}
    fails("other class", check.problem5_maps, model, x, swapped, black, classes)
    fails("shaped like x", check.problem5_maps, model, x, cams, {c: xh.sum_over_channels(a) for c, a in black.items()},
          classes)


# --- written answers --------------------------------------------------------------------------------
def test_written_answer():
    measured = [0.466, 0.605, 7]
    good = "Resolution: 7x7 grid. Noise: roughness 0.61 vs 0.01. Class: r = 0.47."
    assert check.written_answer(good, 1, must_mention=["resolution", "noise", "class"], measured=measured)
    with pytest.raises(check.NotAnsweredYet):
        check.written_answer('1. Resolution: ...\n2. Noise: ...', 1)
    with pytest.raises(check.NotAnsweredYet):
        check.written_answer(None, 1)
    fails("does not discuss 'noise'", check.written_answer, "Resolution 7, class r = 0.47", 1,
          must_mention=["resolution", "noise"], measured=measured)
    fails("quotes 0 of the numbers", check.written_answer, "Resolution is coarse, noise high, class-specific.", 1,
          must_mention=["resolution"], measured=measured)
    assert check.numbers_in("p = 58.3%, rank 2, r=-0.09") == pytest.approx([0.583, 2, -0.09])


def test_check_failed_is_an_assertion_error():
    assert issubclass(check.CheckFailed, AssertionError) and issubclass(check.NotAnsweredYet, check.CheckFailed)
