"""Checkers of Problem 5: a post-mortem of a small object the model misses in a large scene."""
import math

import numpy as np
import torchvision.transforms.functional as TF
from PIL import Image

from .common import (NotAnsweredYet, as_array, call, fail, imagenet_normalised, logits, memo, number, ok,
                           quiet, require)
from .._validate import resolve_target

__all__ = ["problem5_numbers", "problem5_evidence", "problem5_crop", "problem5_margins", "reference_numbers",
           "reference_crop_probability", "KEYS", "MAJORITY"]

KEYS = ("predicted_index", "predicted_label", "predicted_probability", "true_index", "true_label",
        "true_probability", "true_rank")
#: The margin sweep asks for the largest margin at which the true class keeps at least this probability.
MAJORITY = 0.5


def _index(image_model, target):
    return resolve_target(target, len(image_model.labels), image_model.labels)


@memo
def reference_numbers(image_model, x, true_class):
    """Predicted and true class of one input: indices, full labels, softmax probabilities, rank of the true class."""
    probs = logits(image_model, x)[0].softmax(-1)
    t, p = _index(image_model, true_class), int(probs.argmax())
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
        if int(number(got[k], label, k)) != ref[k]:
            fail(label, f"{k} is wrong {where}; it is the class's index among the model's {1000} classes.")
    for k in ("predicted_label", "true_label"):
        if got[k] != ref[k]:
            fail(label, f"{k} is {got[k]!r} {where}: use the model's own full class name, image_model.labels[index], "
                        "not a short name or a dictionary of your own.")
    for k in ("predicted_probability", "true_probability"):
        g, r = number(got[k], label, k), ref[k]
        if math.isclose(g, 100 * r, rel_tol=1e-3):
            fail(label, f"{k} looks like a percentage; store a probability in [0, 1] and format it with :.1%.")
        if not math.isclose(g, r, rel_tol=1e-3, abs_tol=1e-6):
            fail(label, f"{k} is wrong {where}: a probability is the softmax over all the model's logits.")
    rank = int(number(got["true_rank"], label, "true_rank"))
    if rank == ref["true_rank"] - 1:
        fail(label, f"true_rank is off by one {where}: the top class has rank 1.")
    if rank != ref["true_rank"]:
        fail(label, f"true_rank is wrong {where}; it is 1 + the number of classes more probable than the true one.")


def problem5_numbers(misclassification_numbers, image_model, x, true_class):
    """Task 5a: ``misclassification_numbers(image_model, x, true_class)`` -> dict of KEYS. Also tested on two
    course photos (one classified right), with the true class as index and as name, and on the same network with
    ImageNet mean/std -- so that numbers typed in for one input fail."""
    label = "Problem 5a"
    other = imagenet_normalised(image_model)
    cases = [(image_model, x, true_class, "for the scene"),
             (image_model, image_model.preprocess("butterfly"), "monarch",
              "for the butterfly photo (true class 'monarch' given by name)"),
             (other, other.preprocess("eagle"), image_model.labels.index("bald eagle"),
              "for the eagle photo with ImageNet mean/std and 112-pixel inputs (true class given as an index)")]
    scene = reference_numbers(*cases[0][:3])
    for model, xi, cls, where in cases:
        got = call(misclassification_numbers, label, model, xi, cls)
        if got is None:
            raise NotAnsweredYet(f"{label}: misclassification_numbers returned None.")
        if where != cases[0][3] and isinstance(got, dict) and all(got.get(k) == scene[k] for k in KEYS[:2]):
            fail(label, f"{where} the function returns the scene's prediction: compute the numbers from the x it is "
                        "given, not values typed in for one input.")
        _compare_numbers(got, reference_numbers(model, xi, cls), label, where)
    ok(label, "all seven fields right for the scene and for two other inputs (a right prediction; ImageNet mean/std; "
              "class by name and by index).")


def _box_mask(shape, box):
    x0, y0, x1, y1 = box
    mask = np.zeros(shape, dtype=bool)
    mask[y0:y1 + 1, x0:x1 + 1] = True
    return mask


_EVIDENCE = ("Grad-CAM share in box", "IG share in box")


def problem5_evidence(evidence, chance, cams, igs, classes, box):
    """Task 5b: ``evidence[c]`` = {"Grad-CAM share in box": share of the Grad-CAM map's mass inside the box,
    "IG share in box": share of IG's positive evidence (sum over channels, clipped at 0) inside it};
    ``chance`` = the box's share of the image's area."""
    label = "Problem 5b"
    require(evidence, label, "evidence")
    first = next(iter(cams.values()))
    inside = _box_mask(as_array(first).shape[-2:], box)
    if not math.isclose(number(chance, label, "chance"), inside.mean(), rel_tol=1e-3):
        fail(label, "chance is the box's share of the image's pixels (its area over the image's area, corners "
                    "included): what a map spread evenly would put inside.")
    if not isinstance(evidence, dict) or list(evidence) != list(classes):
        fail(label, f"evidence should have one entry per class, keyed by the class indices {list(classes)}.")
    for c in classes:
        row = evidence[c]
        missing = [k for k in _EVIDENCE if not isinstance(row, dict) or row.get(k) is None]
        if missing:
            raise NotAnsweredYet(f"{label}: evidence[{c}] has no {missing}.")
        cam = as_array(cams[c])
        ref_cam = float(cam[inside].sum() / cam.sum())
        if abs(number(row[_EVIDENCE[0]], label, f"evidence[{c}] Grad-CAM") - ref_cam) > 1e-3:
            fail(label, f"evidence[{c}]['Grad-CAM share in box'] does not match that class's Grad-CAM map and the box "
                        "(rows y0..y1, columns x0..x1, corners included).")
        signed = as_array(igs[c])[0].sum(0)
        positive = np.clip(signed, 0, None)
        ref_ig = float(positive[inside].sum() / positive.sum())
        got_ig = number(row[_EVIDENCE[1]], label, f"evidence[{c}] IG")
        if abs(got_ig - ref_ig) > 1e-3:
            magnitude = np.abs(signed)
            if abs(got_ig - float(magnitude[inside].sum() / magnitude.sum())) <= 1e-3:
                fail(label, f"evidence[{c}]['IG share in box'] uses |IG|; the question is where the evidence *for* the "
                            "class lies: keep the positive part (clip the channel sum at 0).")
            if abs(got_ig - float(signed[inside].sum() / signed.sum())) <= 1e-3:
                fail(label, f"evidence[{c}]['IG share in box'] uses the signed sum, where evidence against cancels "
                            "evidence for: keep the positive part (clip the channel sum at 0).")
            fail(label, f"evidence[{c}]['IG share in box'] does not match the IG attributions of that class.")
    ok(label, "Grad-CAM and IG shares inside the object's box and the chance level are right.")


@memo
def reference_crop_probability(image_model, image, box, margin, target, resample=None):
    """p(target) for the image cropped to ``box`` widened by ``margin`` (clipped to the image), resized to the
    model's input size with bilinear interpolation and normalised."""
    resample = Image.BILINEAR if resample is None else resample
    x0, y0, x1, y1 = box
    w, h = image.size
    region = (max(0, x0 - margin), max(0, y0 - margin), min(w, x1 + 1 + margin), min(h, y1 + 1 + margin))
    crop = image.crop(region).resize((image_model.crop, image_model.crop), resample)
    x = image_model.normalize(TF.to_tensor(crop).unsqueeze(0).to(image_model.device))
    return float(logits(image_model, x)[0].softmax(-1)[_index(image_model, target)])


def _crop_variants(image_model, image, box, margin, target):
    x0, y0, x1, y1 = box
    t = _index(image_model, target)
    def prob(region, normalise=True, preprocess=False, resample=Image.BILINEAR, softmax=True, size=None):
        crop = image.crop(region)
        size = size or image_model.crop
        if preprocess:
            x = image_model.preprocess(crop)
        else:
            x = TF.to_tensor(crop.resize((size, size), resample)).unsqueeze(0)
            x = image_model.normalize(x.to(image_model.device)) if normalise else x.to(image_model.device)
        out = logits(image_model, x)[0]
        return float(out.softmax(-1)[t] if softmax else out[t])
    w, h = image.size
    clipped = (max(0, x0 - margin), max(0, y0 - margin), min(w, x1 + 1 + margin), min(h, y1 + 1 + margin))
    return [
        (prob((x0 - margin, y0 - margin, x1 + 1 + margin, y1 + 1 + margin)),
         "the widened box runs past the image border and PIL fills the outside with black: clip it to the image"),
        (prob((max(0, x0 - margin), max(0, y0 - margin), min(w, x1 + margin), min(h, y1 + margin))),
         "the box's corners are included, so the crop's right and bottom edges are x1 + 1 and y1 + 1 (PIL's crop "
         "excludes them)"),
        (prob(clipped, preprocess=True),
         "image_model.preprocess resizes to 256 and cuts a centre 224 crop, which trims the crop's borders again: "
         "resize the crop itself to the model's input size, then normalise"),
        (prob(clipped, normalise=False), "the crop is not normalised like the model's inputs (image_model.normalize)"),
        (prob(clipped, softmax=False), "this is the logit, not the probability: apply softmax over all classes"),
        (prob(clipped, resample=Image.BICUBIC), "the crop is resized with bicubic interpolation; use bilinear"),
        (prob(clipped, resample=Image.NEAREST), "the crop is resized with nearest-neighbour interpolation; use bilinear"),
        (prob(clipped, size=224) if image_model.crop != 224 else None,
         f"the crop is resized to 224 pixels; use the model's own input size, image_model.crop (here {image_model.crop})"),
    ]


def problem5_crop(crop_probability, image_model, scene, box, true_class):
    """Task 5c: ``crop_probability(image_model, image, box, margin, target)`` -> p(target) after cropping; tested at
    margins that stay inside and run past the border, other boxes and targets, and with ImageNet mean/std."""
    label = "Problem 5c"
    other = imagenet_normalised(image_model)
    w, h = scene.size
    cases = [(image_model, box, 0, true_class), (image_model, box, 40, true_class),
             (image_model, (0, 0, 111, 223), 8, "palace"), (other, box, 16, image_model.labels.index(true_class)),
             (image_model, (w - 30, h - 50, w - 1, h - 1), 12, "lakeside")]
    for model, b, margin, target in cases:
        got = number(call(crop_probability, label, model, scene, b, margin, target), label,
                     f"crop_probability(box={b}, margin={margin})")
        ref = reference_crop_probability(model, scene, b, margin, target)
        if abs(got - ref) <= 2e-3 + 1e-3 * ref:
            continue
        where = f"box {b}, margin {margin}, target {target!r}" + (", ImageNet mean/std" if model is other else "")
        with quiet():
            for wrong, message in _crop_variants(model, scene, b, margin, target):
                if wrong is not None and abs(got - wrong) <= 2e-3 + 1e-3 * abs(wrong):
                    fail(label, f"with {where}: {message}.")
        fail(label, f"with {where} the probability is wrong: crop the box widened by the margin (clipped to the "
                    "image), resize to the model's input size (bilinear), normalise, softmax.")
    ok(label, f"probabilities right for {len(cases)} crops (margins inside and past the border, other boxes and "
              "classes, a model with ImageNet mean/std and 112-pixel inputs).")


def problem5_margins(p_by_margin, largest_margin, image_model, scene, box, true_class, margins):
    """Task 5d: ``p_by_margin[m]`` = p(true class) for each margin; ``largest_margin`` = the largest margin whose
    probability is at least MAJORITY (None when there is none)."""
    label = "Problem 5d"
    require(p_by_margin, label, "p_by_margin")
    if not isinstance(p_by_margin, dict) or list(p_by_margin) != list(margins):
        fail(label, f"p_by_margin should have the margins {list(margins)} as keys, in this order.")
    for m in margins:
        got = number(p_by_margin[m], label, f"p_by_margin[{m}]")
        if abs(got - reference_crop_probability(image_model, scene, box, m, true_class)) > 2e-3:
            fail(label, f"p_by_margin[{m}] is not crop_probability(image_model, scene, box, {m}, true_class).")
    keep = [m for m in margins if float(p_by_margin[m]) >= MAJORITY]
    if largest_margin != (max(keep) if keep else None):
        fail(label, f"largest_margin is not the largest margin at which p(true class) is at least {MAJORITY} "
                    "(None if there is none).")
    ok(label, f"p(true class) for {len(margins)} margins and the largest margin that keeps it above {MAJORITY}.")
