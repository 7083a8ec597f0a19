"""Checkers of Problem 5 (chapter 4 exercises): a post-mortem of a small object the model misses in a large scene.

``reference_numbers``, ``reference_crop_probability``, ``KEYS`` and ``MAJORITY`` serve the checkers (not part of
``__all__``; importable from this module).
"""
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import torch
from PIL import Image

from ..models import ImageModel
from .arguments import answers_checked, class_of, image_batch, pixel_box
from .common import (as_array, call, call_for_result, count, fail, first_mistake, imagenet_normalised, logits, memo,
                     near, number, ok, quiet, require, require_fields, require_keys, target_index)

__all__ = ["problem5_numbers", "problem5_evidence", "problem5_crop", "problem5_margins"]

#: The fields of the dict ``misclassification_numbers`` returns (Task 5a).
KEYS: tuple[str, ...] = ("predicted_index", "predicted_label", "predicted_probability", "true_index", "true_label",
        "true_probability", "true_rank")
#: The margin sweep asks for the largest margin at which the true class keeps at least this probability.
MAJORITY: float = 0.5


@memo
def reference_numbers(image_model, x, true_class):
    """Predicted and true class of one input: indices, full labels, softmax probabilities, rank of the true class."""
    probs = logits(image_model, x)[0].softmax(-1)
    t, p = target_index(image_model, true_class), int(probs.argmax())
    return dict(predicted_index=p, predicted_label=image_model.labels[p], predicted_probability=float(probs[p]),
                true_index=t, true_label=image_model.labels[t], true_probability=float(probs[t]),
                true_rank=int((probs > probs[t]).sum()) + 1)


def _compare_numbers(got, ref, label, where):
    if not isinstance(got, dict):
        fail(label, f"misclassification_numbers should return a dict, got {type(got).__name__}.")
    missing = [k for k in KEYS if k not in got]
    if missing:
        fail(label, f"the result has no {missing}; expected the keys {list(KEYS)}.")
    for k in ("predicted_index", "true_index"):
        if count(got[k], label, k, "classes") != ref[k]:
            fail(label, f"{k} is wrong {where}; it is the class's index among the model's {1000} classes.")
    for k in ("predicted_label", "true_label"):
        if got[k] != ref[k]:
            fail(label, f"{k} is {got[k]!r} {where}: that is not the model's own full class name of that index.")
    for k in ("predicted_probability", "true_probability"):
        g, r = number(got[k], label, k), ref[k]
        if math.isclose(g, 100 * r, rel_tol=1e-3):
            fail(label, f"{k} looks like a percentage, not a probability in [0, 1].")
        if not math.isclose(g, r, rel_tol=1e-3, abs_tol=1e-6):
            fail(label, f"{k} is wrong {where}: a probability is the softmax over all the model's logits.")
    rank = count(got["true_rank"], label, "true_rank", "places")
    if rank == ref["true_rank"] - 1:
        fail(label, f"true_rank is off by one {where}: the top class has rank 1.")
    if rank != ref["true_rank"]:
        fail(label, f"true_rank is wrong {where}; it is 1 + the number of classes more probable than the true one.")


@answers_checked("Problem 5a", answers=("misclassification_numbers",))
def problem5_numbers(misclassification_numbers: Callable, image_model: ImageModel, x: torch.Tensor,
                     true_class: int | str) -> None:
    """Check Task 5a of Problem 5: the predicted and the true class of an input, with probabilities and rank.

    ``misclassification_numbers(image_model, x, true_class)`` must return a dict of KEYS. Also tested on two
    course photos (one classified right), with the true class as index and as name, and on the same network with
    ImageNet mean/std -- so that numbers typed in for one input fail. The check runs the pretrained model.

    Args:
        misclassification_numbers: The learner's function.
        image_model: The course's image model (``xh.load_image_model()``).
        x: The preprocessed scene (1x3xHxW).
        true_class: The class the scene shows (an index or a name).

    Raises:
        CheckFailed: A field is wrong (the message names the mistake), or an argument is of the wrong kind.
        NotAnsweredYet: The function is None, returns None or still raises NotImplementedError.

    Example:
        A scene of the wrong shape is answered before the model runs:

        >>> import torch
        >>> import xai_helpers as xh
        >>> import xai_helpers.check as check
        >>> check.problem5_numbers(lambda image_model, x, true_class: {}, xh.load_image_model(),
        ...                        torch.zeros(3, 224, 224), "monarch")
        Traceback (most recent call last):
        ...
        xai_helpers.check.common.CheckFailed: Problem 5a: `x` should be one preprocessed image, ...
    """
    label = "Problem 5a"
    image_batch(x, label)
    class_of(image_model, true_class, label, "true_class")
    other = imagenet_normalised(image_model)
    cases = [(image_model, x, true_class, "for the scene"),
             (image_model, image_model.preprocess("butterfly"), "monarch",
              "for the butterfly photo (true class 'monarch' given by name)"),
             (other, other.preprocess("eagle"), image_model.labels.index("bald eagle"),
              "for the eagle photo with ImageNet mean/std and 112-pixel inputs (true class given as an index)")]
    scene = reference_numbers(*cases[0][:3])
    for model, xi, cls, where in cases:
        got = call_for_result(misclassification_numbers, label, "misclassification_numbers",
                              f"the dict of {list(KEYS)}", model, xi, cls)
        if where != cases[0][3] and isinstance(got, dict) and all(got.get(k) == scene[k] for k in KEYS[:2]):
            fail(label, f"{where} the function returns the scene's prediction: the numbers are typed in for one input, "
                        "not computed from the x it is given.")
        _compare_numbers(got, reference_numbers(model, xi, cls), label, where)
    ok(label, "all seven fields right for the scene and for two other inputs (a right prediction; ImageNet mean/std; "
              "class by name and by index).")


def _box_mask(shape, box):
    x0, y0, x1, y1 = box
    mask = np.zeros(shape, dtype=bool)
    mask[y0:y1 + 1, x0:x1 + 1] = True
    return mask


def _ig_mistakes(signed, inside):
    """The classic wrong IG shares inside the box (``signed`` = IG summed over channels), each with its message."""
    magnitude = np.abs(signed)
    yield (float(magnitude[inside].sum() / magnitude.sum()),
           "uses |IG|, which counts evidence against the class as well as for it")
    yield (float(signed[inside].sum() / signed.sum()),
           "uses the signed sum, where evidence against cancels evidence for")


_EVIDENCE = ("Grad-CAM share in box", "IG share in box")


def _map_size(cams, igs, classes, label):
    """The H x W shared by every class's Grad-CAM map (HxW) and IG attributions (1x3xHxW), or a failure."""
    sizes = set()
    for name, maps, rank in (("cams", cams, 2), ("igs", igs, 4)):
        for c in classes:
            if c not in maps:
                fail(label, f"`{name}` should hold the map of each class in `classes` {list(classes)}; it has no "
                            f"{c!r}.")
            shape = np.shape(maps[c]) if isinstance(maps[c], (torch.Tensor, np.ndarray)) else None
            if shape is None or len(shape) != rank or getattr(maps[c], "device", None) == torch.device("meta"):
                fail(label, f"`{name}`[{c!r}] should be a {'HxW map' if rank == 2 else '1x3xHxW tensor'}; got "
                            f"{type(maps[c]).__name__} of shape {shape}.")
            sizes.add(tuple(shape[-2:]))
    if len(sizes) != 1:
        fail(label, f"`cams` and `igs` should all have the same height and width; got {sorted(sizes)}.")
    return sizes.pop()


@answers_checked("Problem 5b", answers=("evidence",))
def problem5_evidence(evidence: Mapping, chance: Any, cams: Mapping, igs: Mapping, classes: Sequence[int | str],
                      box: Sequence[int]) -> None:
    """Check Task 5b of Problem 5: how much of each class's evidence lies inside the object's box.

    ``evidence[c]`` = {"Grad-CAM share in box": share of the Grad-CAM map's mass inside the box, "IG share in
    box": share of IG's positive evidence (sum over channels, clipped at 0) inside it}; ``chance`` = the box's
    share of the image's area.

    Args:
        evidence: The learner's dict class -> the two shares above.
        chance: The learner's chance level (a number).
        cams: Class -> its Grad-CAM map (HxW).
        igs: Class -> its Integrated Gradients attributions (1x3xHxW).
        classes: The classes compared.
        box: The object's box (x0, y0, x1, y1) in pixels, corners included.

    Raises:
        CheckFailed: A share or the chance level is wrong, or an argument is of the wrong kind.
        NotAnsweredYet: ``evidence`` or one of its fields is still missing.

    Example:
        >>> import torch
        >>> import xai_helpers.check as check
        >>> cams = {1: torch.ones(4, 4)}
        >>> igs = {1: torch.ones(1, 3, 4, 4)}
        >>> evidence = {1: {"Grad-CAM share in box": 0.25, "IG share in box": 0.25}}
        >>> check.problem5_evidence(evidence, 0.25, cams, igs, [1], (0, 0, 1, 1))
        ✓ Problem 5b: Grad-CAM and IG shares inside the object's box and the chance level are right.
        >>> check.problem5_evidence(evidence, 4 / 16 * 100, cams, igs, [1], (0, 0, 1, 1))
        Traceback (most recent call last):
        ...
        xai_helpers.check.common.CheckFailed: Problem 5b: chance is the box's share of the image's pixels ...
    """
    label = "Problem 5b"
    require(evidence, label, "evidence")
    box = pixel_box(box, label)
    inside = _box_mask(_map_size(cams, igs, classes, label), box)
    if not math.isclose(number(chance, label, "chance"), inside.mean(), rel_tol=1e-3):
        fail(label, "chance is the box's share of the image's pixels (its area over the image's area, corners "
                    "included): what a map spread evenly would put inside.")
    require_keys(evidence, classes, label,
                 f"evidence should have one entry per class, keyed by the class indices {list(classes)}")
    for c in classes:
        row = evidence[c]
        require_fields(row, _EVIDENCE, label, f"evidence[{c}]")
        cam = as_array(cams[c])
        ref_cam = float(cam[inside].sum() / cam.sum())
        if abs(number(row[_EVIDENCE[0]], label, f"evidence[{c}] Grad-CAM") - ref_cam) > 1e-3:
            fail(label, f"evidence[{c}]['Grad-CAM share in box'] does not match that class's Grad-CAM map and the box "
                        "(rows y0..y1, columns x0..x1, corners included).")
        signed = as_array(igs[c])[0].sum(0)
        positive = np.clip(signed, 0, None)
        ref_ig = float(positive[inside].sum() / positive.sum())
        got_ig = number(row[_EVIDENCE[1]], label, f"evidence[{c}] IG")
        if not near(got_ig, ref_ig, 1e-3):
            fail(label, f"evidence[{c}]['IG share in box'] " + (
                first_mistake(_ig_mistakes(signed, inside), lambda wrong: near(got_ig, wrong, 1e-3))
                or "does not match the IG attributions of that class") + ".")
    ok(label, "Grad-CAM and IG shares inside the object's box and the chance level are right.")


def _clipped(box, margin, size):
    """PIL crop region of ``box`` (corners included) widened by ``margin`` and clipped to an image of ``size``."""
    x0, y0, x1, y1 = box
    w, h = size
    return max(0, x0 - margin), max(0, y0 - margin), min(w, x1 + 1 + margin), min(h, y1 + 1 + margin)


def _crop_probability(image_model, image, region, target, normalise=True, preprocess=False,
                      resample=Image.BILINEAR, softmax=True, size=None):
    """p(target) (or its logit) for ``image`` cropped to ``region``; the options make the classic wrong ones."""
    crop = image.crop(region)
    size = size or image_model.crop
    if preprocess:
        x = image_model.preprocess(crop)
    else:
        import torchvision.transforms.functional as TF  # torchvision pulls in torch._dynamo, ~170 MB: load it when used
        x = TF.to_tensor(crop.resize((size, size), resample)).unsqueeze(0).to(image_model.device)
        x = image_model.normalize(x) if normalise else x
    out = logits(image_model, x)[0]
    out = out.softmax(-1) if softmax else out
    return float(out[target_index(image_model, target)])


@memo
def reference_crop_probability(image_model, image, box, margin, target):
    """p(target) for the image cropped to ``box`` widened by ``margin`` (clipped to the image), resized to the
    model's input size with bilinear interpolation and normalised."""
    return _crop_probability(image_model, image, _clipped(box, margin, image.size), target)


def _crop_variants(image_model, image, box, margin, target):
    """The classic wrong crop probabilities, each with its message, computed one at a time (a generator)."""
    x0, y0, x1, y1 = box
    w, h = image.size
    clipped = _clipped(box, margin, image.size)

    def prob(region, **options):
        return _crop_probability(image_model, image, region, target, **options)

    yield (prob((x0 - margin, y0 - margin, x1 + 1 + margin, y1 + 1 + margin)),
           "the widened box runs past the image border and PIL fills the outside with black: it is not clipped to the image")
    yield (prob((max(0, x0 - margin), max(0, y0 - margin), min(w, x1 + margin), min(h, y1 + margin))),
           "the crop leaves out the box's right column and bottom row: the box's corners are included, and PIL's "
           "crop excludes its right and lower edges")
    yield (prob(clipped, preprocess=True),
           "image_model.preprocess resizes to 256 and cuts a centre 224 crop, which trims the crop's borders again")
    yield prob(clipped, normalise=False), "the crop is not normalised like the model's inputs"
    yield prob(clipped, softmax=False), "this is the logit, not the probability"
    yield prob(clipped, resample=Image.BICUBIC), "the crop is resized with bicubic interpolation, not the bilinear the task asks for"
    yield (prob(clipped, resample=Image.NEAREST),
           "the crop is resized with nearest-neighbour interpolation, not the bilinear the task asks for")
    if image_model.crop != 224:
        yield (prob(clipped, size=224), "the crop is resized to 224 pixels, not to the model's own input size "
                                        f"(here {image_model.crop})")


@answers_checked("Problem 5c", answers=("crop_probability",))
def problem5_crop(crop_probability: Callable, image_model: ImageModel, scene: Image.Image, box: Sequence[int],
                  true_class: int | str) -> None:
    """Check Task 5c of Problem 5: the probability of a class once the scene is cropped around the object.

    ``crop_probability(image_model, image, box, margin, target)`` must return p(target) for the image cropped to
    the box widened by ``margin`` (clipped to the image), resized to the model's input size (bilinear) and
    normalised. Tested at margins that stay inside and run past the border, other boxes and targets, and with
    ImageNet mean/std (this runs the pretrained model).

    Args:
        crop_probability: The learner's function.
        image_model: The course's image model (``xh.load_image_model()``).
        scene: The scene, a PIL image.
        box: The object's box (x0, y0, x1, y1) in pixels, corners included.
        true_class: The object's class (an index or a name).

    Raises:
        CheckFailed: A probability is wrong (the message names the mistake), or an argument is of the wrong kind.
        NotAnsweredYet: The function is None or still raises NotImplementedError.

    Example:
        A wrong kind of argument is answered before the model runs:

        >>> import torch
        >>> import xai_helpers.check as check
        >>> check.problem5_crop(lambda *args: 0.5, None, torch.zeros(1, 3, 224, 224), (150, 110, 221, 181), "monarch")
        Traceback (most recent call last):
        ...
        xai_helpers.check.common.CheckFailed: Problem 5c: `image_model` should be an ImageModel (from load_image_model()); got None.
    """
    label = "Problem 5c"
    box = pixel_box(box, label)
    true_index = class_of(image_model, true_class, label, "true_class")
    other = imagenet_normalised(image_model)
    w, h = scene.size
    cases = [(image_model, box, 16, true_class), (image_model, (w - 30, h - 50, w - 1, h - 1), 12, "lakeside"),
             (image_model, (0, 0, 111, 223), 8, "palace"), (other, box, 16, true_index),
             (image_model, box, w, true_class), (image_model, box, 0, true_class)]
    for model, b, margin, target in cases:
        got = number(call(crop_probability, label, model, scene, b, margin, target), label,
                     f"crop_probability(box={b}, margin={margin})")
        ref = reference_crop_probability(model, scene, b, margin, target)
        if near(got, ref, 2e-3, 1e-3):
            continue
        where = f"box {b}, margin {margin}, target {target!r}" + (", ImageNet mean/std" if model is other else "")
        with quiet():
            message = first_mistake(_crop_variants(model, scene, b, margin, target),
                                    lambda wrong: near(got, wrong, 2e-3, 1e-3) and not near(ref, wrong, 2e-3, 1e-3),
                                    distance=lambda wrong: abs(got - wrong))
        fail(label, f"with {where}" + (f": {message}." if message else " the probability is wrong: crop the box "
                                       "widened by the margin (clipped to the image), resize to the model's input "
                                       "size (bilinear), normalise, softmax."))
    ok(label, f"probabilities right for {len(cases)} crops (margins inside and past the border, other boxes and "
              "classes, a model with ImageNet mean/std and 112-pixel inputs).")


@answers_checked("Problem 5d", answers=("p_by_margin",))
def problem5_margins(p_by_margin: Mapping, largest_margin: int | None, image_model: ImageModel, scene: Image.Image,
                     box: Sequence[int], true_class: int | str, margins: Sequence[int]) -> None:
    """Check Task 5d of Problem 5: p(true class) as the crop widens, and the largest margin that keeps it.

    ``p_by_margin[m]`` = p(true class) for each margin (recomputed with the pretrained model);
    ``largest_margin`` = the largest margin whose probability is at least MAJORITY (None when there is none).

    Args:
        p_by_margin: The learner's dict margin -> probability.
        largest_margin: The learner's answer (an int, or None when no margin keeps the majority).
        image_model: The course's image model (``xh.load_image_model()``).
        scene: The scene, a PIL image.
        box: The object's box (x0, y0, x1, y1) in pixels, corners included.
        true_class: The object's class (an index or a name).
        margins: The margins tried, in order.

    Raises:
        CheckFailed: A probability or ``largest_margin`` is wrong, or an argument is of the wrong kind.
        NotAnsweredYet: ``p_by_margin`` is still missing.

    Example:
        >>> import xai_helpers.check as check
        >>> check.problem5_margins({}, None, None, None, (150, 110, 221, 181), "monarch", [0, 16, 48])
        Traceback (most recent call last):
        ...
        xai_helpers.check.common.CheckFailed: Problem 5d: `image_model` should be an ImageModel (from load_image_model()); got None.
    """
    label = "Problem 5d"
    box = pixel_box(box, label)
    class_of(image_model, true_class, label, "true_class")
    require(p_by_margin, label, "p_by_margin")
    require_keys(p_by_margin, margins, label, f"p_by_margin should have the margins {list(margins)} as keys, in this "
                                              "order")
    for m in margins:
        got = number(p_by_margin[m], label, f"p_by_margin[{m}]")
        if abs(got - reference_crop_probability(image_model, scene, box, m, true_class)) > 2e-3:
            fail(label, f"p_by_margin[{m}] is not crop_probability(image_model, scene, box, {m}, true_class).")
    keep = [m for m in margins if float(p_by_margin[m]) >= MAJORITY]
    if largest_margin is not None:
        largest_margin = count(largest_margin, label, "largest_margin", "pixels")
    if largest_margin != (max(keep) if keep else None):
        fail(label, f"largest_margin is not the largest margin at which p(true class) is at least {MAJORITY} "
                    "(None if there is none).")
    ok(label, f"p(true class) for {len(margins)} margins and the largest margin that keeps it above {MAJORITY}.")
