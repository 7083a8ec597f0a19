"""Checkers of Problem 3 (chapter 4 exercises): IG baselines built in pixel space, and which baseline sees which region.

``reference_baselines`` and ``BLIND_DISTANCE`` serve the checkers (not part of ``__all__``; importable from here).
"""
import math
from collections.abc import Callable, Mapping

import numpy as np
import torch
from PIL import Image

from ..models import ImageModel
from .arguments import PhotoLike, answers_checked, image_batch, photo_of, same_keys
from .common import (as_array, call, defaults_mistake, fail, first_mistake, imagenet_normalised, near, number, ok, require,
                     require_fields, require_keys, seeding_mistake, small_input)

__all__ = ["problem3_baselines", "problem3_table"]

NAMES = ("black", "white", "blur", "noise")
#: A baseline is called blind to a region when the mean |x - x'| there (pixel units, 0 = black, 1 = white) is
#: below this.
BLIND_DISTANCE: float = 0.2


def reference_baselines(image_model, x, seed=0, blur_sigma=10.0, n_noise=2):
    """Black, white, blurred (kernel 2*ceil(3 sigma)+1) and seeded uniform-noise images, then normalised."""
    import torchvision.transforms.functional as TF  # torchvision pulls in torch._dynamo, ~170 MB: load it when used
    pixels = image_model.denormalize(x.detach()).clamp(0, 1)
    kernel = 2 * math.ceil(3 * blur_sigma) + 1
    generator = torch.Generator().manual_seed(int(seed))
    base = {"black": torch.zeros_like(pixels), "white": torch.ones_like(pixels),
            "blur": TF.gaussian_blur(pixels, kernel_size=[kernel, kernel], sigma=[blur_sigma, blur_sigma]),
            "noise": torch.rand((n_noise, *pixels.shape[1:]), generator=generator).to(pixels.device)}
    return {k: image_model.normalize(v) for k, v in base.items()}


def _rgb(image_model, value):
    return tuple(round(255 * min(1.0, max(0.0, m + value * s))) for m, s in zip(image_model.mean, image_model.std))


def _diagnose(name, got, image_model, x, seed, blur_sigma, n_noise, build, label):
    """Plain-words reason why baseline ``name`` differs from the reference (or None)."""
    g = got.detach().to(x.device)
    pixels = image_model.denormalize(g)
    if name in ("black", "white"):
        return _diagnose_constant(name, g, pixels, image_model, x)
    if name == "blur":
        return _diagnose_blur(pixels, image_model.denormalize(x.detach()).clamp(0, 1), blur_sigma)
    return _diagnose_noise(got, g, pixels, x, seed, blur_sigma, n_noise, build, label, image_model)


def _diagnose_constant(name, g, pixels, image_model, x):
    """Why a black or white baseline is wrong: normalised-space constants, the photo's extremes, other values."""
    value = 0.0 if name == "black" else 1.0
    if torch.allclose(g, torch.full_like(g, value), atol=1e-5):
        grey = " (the normalisation's mean, a grey)" if value == 0 else ""
        return (f"it is all {value:g}s in the model's normalised space, which is the colour RGB "
                f"{_rgb(image_model, value)}{grey}, not {name}: the image was built in the normalised space, not in "
                "pixel space")
    if torch.allclose(g, torch.full_like(g, -1.0 if value == 0 else 1.0), atol=1e-5):
        return (f"it is the constant {-1 if value == 0 else 1} in normalised space: that is {name} only for a "
                "normalisation with mean and std of about 0.5 (the course model's), not for the model it is given")
    extreme = x.detach().amin(dim=(2, 3), keepdim=True) if value == 0 else x.detach().amax(dim=(2, 3), keepdim=True)
    if torch.allclose(g, extreme.expand_as(g), atol=1e-4) or torch.allclose(g, torch.full_like(g, float(
            x.min() if value == 0 else x.max())), atol=1e-4):
        return f"it is the {'darkest' if value == 0 else 'brightest'} value of this photo, not {name}"
    return f"back in pixel space its values lie in [{pixels.min():.3f}, {pixels.max():.3f}], not all {value:g}"


def _diagnose_blur(pixels, photo, blur_sigma):
    """Why a blurred baseline is wrong: the photo itself, uniform, an ignored sigma, a too-narrow kernel."""
    import torchvision.transforms.functional as TF  # torchvision pulls in torch._dynamo, ~170 MB: load it when used
    if torch.allclose(pixels, photo, atol=1e-3):
        return "it is the photo itself, not blurred"
    if float(pixels.std(dim=(2, 3)).max()) < 1e-3:
        return "it is a uniform image: the photo's coarse layout is gone"
    default_sigma = 10.0
    if blur_sigma != default_sigma:
        k = 2 * math.ceil(3 * default_sigma) + 1
        if torch.allclose(pixels, TF.gaussian_blur(photo, [k, k], [default_sigma] * 2), atol=2e-3):
            return "blur_sigma is ignored: the blur does not change with the sigma passed in"
    k_small = 2 * math.ceil(blur_sigma) + 1
    if torch.allclose(pixels, TF.gaussian_blur(photo, [k_small, k_small], [blur_sigma, blur_sigma]), atol=2e-3):
        return (f"the kernel is too narrow for sigma = {blur_sigma:g}: it cuts the Gaussian's tails off (the task "
                "gives the number of taps)")
    return (f"it is not the photo's pixels under a Gaussian blur of sigma = {blur_sigma:g} pixels with a kernel of "
            "2 * ceil(3 sigma) + 1 taps")


def _diagnose_noise(got, g, pixels, x, seed, blur_sigma, n_noise, build, label, image_model):
    """Why a noise baseline is wrong: count, range, normalisation, seeding."""
    if g.shape[0] != n_noise:
        return f"it has {g.shape[0]} images; n_noise = {n_noise} asks for that many noise draws"
    if pixels.min() < -2e-3 or pixels.max() > 1 + 2e-3:
        return ("back in pixel space it leaves [0, 1]: noise drawn in the normalised space is not an image")
    if torch.allclose(g, torch.rand((n_noise, *x.shape[1:]), generator=torch.Generator().manual_seed(int(seed))).to(
            g.device), atol=1e-6):
        return "uniform noise in [0, 1] was drawn but not normalised like the other baselines"

    def draw(s):
        return call(build, label, image_model, x, seed=s, blur_sigma=blur_sigma, n_noise=n_noise)["noise"]

    return seeding_mistake(got, draw, seed, seed + 1, "noise") or (
        "it is not n_noise uniform noise images drawn at once from a generator seeded with seed, then normalised")


@answers_checked("Problem 3a", answers=("build_baselines",))
def problem3_baselines(build_baselines: Callable, image_model: ImageModel, photo: PhotoLike = "flower") -> None:
    """Check Task 3a of Problem 3: black, white, blurred and noise baselines for Integrated Gradients.

    ``build_baselines(image_model, x, seed=0, blur_sigma=10.0, n_noise=2)`` must return {"black", "white", "blur",
    "noise"} of normalised Kx3xHxW tensors, built in pixel space. Tested with the defaults, other seeds, sigmas
    and draw counts, and on the same network with ImageNet mean/std, on 96x96 inputs.

    Args:
        build_baselines: The learner's function.
        image_model: The course's image model (``xh.load_image_model()``).
        photo: The photo (a course photo's name, a file or a PIL image); "flower" is scikit-learn's sample photo.

    Raises:
        CheckFailed: A baseline is wrong; the message names the mistake (built in normalised space, a blur
            kernel too narrow, unseeded noise, ...).
        NotAnsweredYet: ``build_baselines`` is None or still raises NotImplementedError.

    Example:
        A wrong kind of model is answered before anything runs:

        >>> import xai_helpers.check as check
        >>> check.problem3_baselines(lambda image_model, x, **options: {}, "resnet")
        Traceback (most recent call last):
        ...
        xai_helpers.check.common.CheckFailed: Problem 3a: `image_model` should be an ImageModel (from load_image_model()); got str 'resnet'.
    """
    label = "Problem 3a"
    message = defaults_mistake(build_baselines, {"seed": 0, "blur_sigma": 10.0, "n_noise": 2}, "build_baselines")
    if message:
        fail(label, message + ".")
    other = imagenet_normalised(image_model)
    if isinstance(photo, str) and photo == "flower":
        from sklearn.datasets import load_sample_image   # here: scikit-learn takes seconds to import
        photo = Image.fromarray(load_sample_image("flower.jpg"))
    photo = photo_of(photo, label)
    cases = [(image_model, {}), (other, dict(seed=3, blur_sigma=4.0, n_noise=3)),
             (image_model, dict(seed=1, blur_sigma=6.0, n_noise=1))]
    for model, kwargs in cases:
        x = small_input(model, photo, 96)
        got = call(build_baselines, label, model, x, **kwargs)
        require(got, label, "the dictionary of baselines")
        require_keys(got, NAMES, label, f"the result should be a dict with the keys {list(NAMES)}", ordered=False)
        full = dict(dict(seed=0, blur_sigma=10.0, n_noise=2), **kwargs)
        ref = reference_baselines(model, x, **full)
        where = ", ".join([f"{k}={v}" for k, v in kwargs.items()] + (["ImageNet mean/std"] if model is other else [])) \
            or "the default arguments"
        for name in NAMES:
            b = got[name]
            if not isinstance(b, torch.Tensor):
                fail(label, f"baseline {name!r} should be a torch.Tensor, got {type(b).__name__}.")
            if b.dim() != 4 or tuple(b.shape[1:]) != tuple(x.shape[1:]):
                fail(label, f"baseline {name!r} has shape {tuple(b.shape)}; expected K x {tuple(x.shape[1:])} (like x).")
            if tuple(b.shape) == tuple(ref[name].shape) and torch.allclose(b.detach().cpu().float(),
                                                                          ref[name].cpu(), atol=2e-4):
                continue
            reason = _diagnose(name, b, model, x, full["seed"], full["blur_sigma"], full["n_noise"],
                               build_baselines, label)
            fail(label, f"the {name!r} baseline ({where}): {reason}.")
    ok(label, f"all four baselines right in {len(cases)} settings (defaults, other seeds/sigmas/draw counts, ImageNet "
              "mean/std): built in pixel space, then normalised.")


def _pixel_distance(image_model, x, baseline):
    """Mean over channels of |x - x'| in pixel space, averaged over the K baselines -> HxW."""
    photo = image_model.denormalize(x.detach()).clamp(0, 1)
    base = image_model.denormalize(baseline.detach())
    return (photo - base).abs().mean(1).mean(0).cpu().double().numpy()


def _part_mistakes(name, attributions, inside, part, difference):
    """The classic wrong parts of IG outside the mask (``part`` = the right one), each with its message."""
    magnitude = np.abs(attributions).sum(0)
    yield (float(magnitude[~inside].sum() / magnitude.sum()),
           f"for {name!r} the part uses |attribution|; completeness splits F(x) - F(x') by region only for the signed "
           "attributions")
    yield 1 - part, f"for {name!r} the part is measured inside the flower; the column asks for outside"
    if difference:
        yield (float(attributions.sum(0)[~inside].sum()) / difference,
               f"for {name!r} the sum outside is divided by F(x) - F(x'), not by the sum of all attributions (the "
               "two differ by the completeness error, so the parts do not add up to 1)")


def _check_distances(row, name, image_model, x, baseline, inside, label):
    """The row's mean pixel distances inside and outside the mask; returns the right one outside."""
    d = _pixel_distance(image_model, x, baseline)
    ref_in, ref_out = float(d[inside].mean()), float(d[~inside].mean())
    got_in = number(row["distance inside"], label, f"table_3[{name!r}]['distance inside']")
    got_out = number(row["distance outside"], label, f"table_3[{name!r}]['distance outside']")
    if not (math.isclose(got_in, ref_in, rel_tol=1e-3, abs_tol=1e-6)
            and math.isclose(got_out, ref_out, rel_tol=1e-3, abs_tol=1e-6)):
        if math.isclose(got_in, ref_out, rel_tol=1e-3) and math.isclose(got_out, ref_in, rel_tol=1e-3):
            fail(label, f"for {name!r} inside and outside are swapped: the mask is True on the flower.")
        normalised = (x.detach() - baseline.detach()).abs().mean(1).mean(0).cpu().double().numpy()
        if math.isclose(got_in, float(normalised[inside].mean()), rel_tol=1e-3):
            fail(label, f"for {name!r} the distance is measured in the model's normalised units, not in pixel space, "
                        "where 1 is the distance from black to white.")
        fail(label, f"the distances of {name!r} are not the mean over channels (and over the baseline's images) of "
                    "|x - x'| in pixel space, averaged inside and outside the mask.")
    return ref_out


_FIELDS = ("distance inside", "distance outside", "IG part outside", "blind to background")


def _check_setup(x, baselines, ig, mask, label):
    """The baselines, IG results and mask of Task 3c fit ``x``; returns the mask as a boolean HxW array."""
    for name, baseline in baselines.items():
        if baseline.dim() != 4 or tuple(baseline.shape[1:]) != tuple(x.shape[1:]) or baseline.device.type == "meta":
            fail(label, f"`baselines` should hold Kx3xHxW tensors like x {tuple(x.shape)}; baselines[{name!r}] has "
                        f"shape {tuple(baseline.shape)}.")
    same_keys(ig, baselines, label, "ig", "the result of Integrated Gradients (a dict with 'attributions')")
    for name in baselines:
        a = ig[name].get("attributions") if isinstance(ig[name], Mapping) else None
        if not isinstance(a, (torch.Tensor, np.ndarray)) or tuple(a.shape) != (1, *x.shape[1:]):
            fail(label, f"`ig`[{name!r}]['attributions'] should be the attributions shaped like x {tuple(x.shape)}.")
    if (isinstance(mask, torch.Tensor) and mask.device.type == "meta") or np.shape(mask) != tuple(x.shape[2:]):
        fail(label, f"`mask` should be a boolean HxW array of the flower's pixels, H x W = {tuple(x.shape[2:])}; got "
                    f"shape {tuple(np.shape(mask))}.")
    return as_array(mask).astype(bool)


@answers_checked("Problem 3c", answers=("table",))
def problem3_table(table: Mapping, image_model: ImageModel, x: torch.Tensor, baselines: Mapping[str, torch.Tensor],
                   ig: Mapping, mask: np.ndarray | torch.Tensor) -> None:
    """Check Task 3c of Problem 3: how far each baseline is from the photo, and where IG puts its attribution.

    ``table[name]`` for every baseline: mean |x - x'| in pixel space inside and outside the flower ``mask``
    ("distance inside", "distance outside"); the part of the attributions' sum (of F(x) - F(x')) that lies outside
    it ("IG part outside"); and whether the baseline is blind to the background (mean distance outside below
    BLIND_DISTANCE).

    Args:
        table: The learner's dict baseline name -> the four entries above.
        image_model: The image model whose normalisation ``x`` and the baselines use.
        x: The preprocessed photo (1x3xHxW).
        baselines: Baseline name -> its normalised Kx3xHxW tensor.
        ig: Baseline name -> the Integrated Gradients result (a dict with "attributions", 1x3xHxW).
        mask: The flower's pixels, a boolean HxW array.

    Raises:
        CheckFailed: An entry is wrong, or an argument is of the wrong kind.
        NotAnsweredYet: ``table`` or one of its entries is still missing.

    Example:
        >>> import xai_helpers.check as check
        >>> check.problem3_table({"black": 0.2}, None, None, {}, {}, None)
        Traceback (most recent call last):
        ...
        xai_helpers.check.common.CheckFailed: Problem 3c: `image_model` should be an ImageModel (from load_image_model()); got None.
    """
    label = "Problem 3c"
    require(table, label, "table_3")
    image_batch(x, label)
    inside = _check_setup(x, baselines, ig, mask, label)
    require_keys(table, baselines, label, f"table_3 should have one entry per baseline, in the order {list(baselines)}")
    for name, baseline in baselines.items():
        row = table[name]
        require_fields(row, _FIELDS, label, f"table_3[{name!r}]")
        ref_out = _check_distances(row, name, image_model, x, baseline, inside, label)
        attributions = as_array(ig[name]["attributions"])[0]
        per_pixel = attributions.sum(0)
        part = float(per_pixel[~inside].sum() / per_pixel.sum())
        got_part = number(row["IG part outside"], label, f"table_3[{name!r}]['IG part outside']")
        if not near(got_part, part, 1e-3):
            message = first_mistake(_part_mistakes(name, attributions, inside, part, ig[name].get("output difference")),
                                    lambda wrong: near(got_part, wrong, 1e-3))
            fail(label, (message or f"the IG part outside the flower for {name!r} does not match its attributions")
                 + ".")
        if bool(row["blind to background"]) != (ref_out < BLIND_DISTANCE):
            fail(label, f"'blind to background' for {name!r} does not follow from its distance: blind means the mean "
                        f"|x - x'| outside the flower is below {BLIND_DISTANCE} (a fifth of the way from black to white).")
    ok(label, f"distances, IG parts and blind spots right for {len(baselines)} baselines.")
