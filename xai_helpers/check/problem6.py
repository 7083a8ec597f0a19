"""Automatic feedback for Problem 6 (optional, forensics): ``xh.check.problem6_region`` / ``xh.check.problem6_paste``.

The learner gets a digit CNN and scenes like those it was trained on (``groundtruth.load_case()``), and
must locate, with the chapter's methods, the small region the model relies on besides the digit. The
checker accepts a region of at most 10x10 pixels that overlaps that region by at least 4 pixels and that the
learner's own average map singles out; for any
other answer it says what the proposed region actually holds -- how often it lies on the digits, and how
much the model's predictions depend on it -- without giving the location away. ``follow_rate``,
``region_concentration``, ``MAX_REGION_PIXELS`` and ``MIN_CONCENTRATION`` serve the checker (not part of ``__all__``;
importable from this module).
"""
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import nn

from ..digits import ClutteredDigits
from ..evaluation import groundtruth as gt
from .arguments import answers_checked
from .common import call_for_result, fail, ok, require, two_d

__all__ = ["problem6_region", "problem6_paste"]

#: The largest region an answer may give: 10x10 pixels, 4 % of the 48x48 scene.
MAX_REGION_PIXELS: int = 100
MIN_COVERED = 4                  # pixels of the true region a correct answer covers
#: A right region holds more than this many times its share of the area of the learner's ``outside_mass``.
MIN_CONCENTRATION: float = 5.0


def _region(region, label):
    require(region, label, "`region`")
    values = region.tolist() if isinstance(region, (torch.Tensor, np.ndarray)) else region
    if not isinstance(values, (tuple, list)) or len(values) != 4:
        fail(label, "give the region as four numbers (top, left, bottom, right): pixel rows and columns, "
                    "bottom and right exclusive, as in scenes.boxes.")
    if not all(isinstance(v, (int, np.integer)) or (isinstance(v, float) and v.is_integer()) for v in values):
        fail(label, f"the region's corners must be whole pixels (integers); got {values}.")
    top, left, bottom, right = (int(v) for v in values)
    if not (0 <= top < bottom <= gt.CANVAS and 0 <= left < right <= gt.CANVAS):
        fail(label, f"need 0 <= top < bottom <= {gt.CANVAS} and 0 <= left < right <= {gt.CANVAS} "
                    f"(bottom/right exclusive); got {(top, left, bottom, right)}.")
    area = (bottom - top) * (right - left)
    if area > MAX_REGION_PIXELS:
        fail(label, f"the region is too large ({bottom - top}x{right - left} = {area} pixels): a big enough "
                    f"box overlaps anything. Narrow it down to at most {MAX_REGION_PIXELS} pixels (e.g. 10x10) "
                    "around the place your maps point to.")
    return top, left, bottom, right


def _overlap(a, b):
    rows = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    cols = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    return rows * cols


def _paste_region(images, region, donors):
    """Scene i with the pixels of ``region`` copied from scene ``donors[i]`` (the reference for Task 6b)."""
    top, left, bottom, right = region
    out = images.clone()
    out[:, :, top:bottom, left:right] = images[torch.as_tensor(donors)][:, :, top:bottom, left:right]
    return out


def _donors(labels, seed=0):
    """For every scene, a scene of another class (seeded): who lends its region."""
    g = torch.Generator().manual_seed(seed)
    n = len(labels)
    donors = torch.randperm(n, generator=g)
    same = labels[donors] == labels
    while same.any():
        donors[same] = torch.randint(n, (int(same.sum()),), generator=g)
        same = labels[donors] == labels
    return donors


def follow_rate(model, scenes, region, seed=0):
    """Share of scenes that the model assigns to the donor's class once ``region`` is pasted from a scene of
    another class: 1 = the region alone decides, about 0 = the model ignores it."""
    donors = _donors(scenes.labels, seed)
    pasted = _paste_region(scenes.images, region, donors)
    return float((gt.predict_classes(model, pasted) == scenes.labels[donors]).float().mean())


def _classifies(model, scenes, label):
    """Fail unless ``model`` classifies the ``scenes`` (the case's digit CNN on the case's scenes)."""
    try:
        gt.predict_classes(model, scenes.images[:2])
    except Exception as err:  # noqa: BLE001 -- any failure of another network on the scenes becomes feedback
        fail(label, f"`model` should be the case's digit CNN (groundtruth.load_case()); it fails on the scenes "
                    f"with {type(err).__name__}: {err}")


def _outside_mass(outside_mass, label):
    """The learner's average of per-map shares outside the digits' boxes, checked to be one: a 48x48 map of
    non-negative shares that adds up to less than 1 (the digits' boxes hold the rest)."""
    m = two_d(outside_mass, label, "outside_mass", size=(gt.CANVAS, gt.CANVAS))
    if (m < -1e-9).any():
        fail(label, "outside_mass has negative values: it averages signed maps, in which evidence for and against "
                    "cancel; the task averages each map's share of its total mass.")
    total = float(m.sum())
    if total <= 0:
        fail(label, "outside_mass is all zero: no map puts any mass outside the digits' boxes.")
    if total > 1 + 1e-4:
        fail(label, f"outside_mass adds up to {total:.3g}, more than 1: it is not an average of shares, so each map was "
                    "not divided by its own total mass before averaging.")
    if total > 1 - 1e-4:
        fail(label, "outside_mass adds up to 1: the pixels inside each scene's digit box are counted too, so it is not "
                    "the mass outside the digits.")
    return m


def region_concentration(outside_mass, region):
    """How many times its share of the 48x48 area the ``region`` holds of ``outside_mass``'s total."""
    top, left, bottom, right = region
    inside = float(outside_mass[top:bottom, left:right].sum() / outside_mass.sum())
    return inside / ((bottom - top) * (right - left) / gt.CANVAS ** 2)


@answers_checked("Problem 6a", answers=("region", "outside_mass"))
def problem6_region(region: Any, outside_mass: torch.Tensor | np.ndarray, model: nn.Module,
                    scenes: ClutteredDigits) -> None:
    """Check Task 6a of Problem 6 (optional): the small region the digit CNN relies on besides the digit.

    ``outside_mass`` = the 48x48 average over the scenes of each map's share of its total mass, counting only
    pixels outside the scene's digit box; ``region`` = (top, left, bottom, right), pixel rows and columns,
    bottom and right exclusive, at most 10x10 pixels, around the peak of ``outside_mass``. The region must
    cover at least MIN_COVERED pixels of the model's region and hold more than MIN_CONCENTRATION times its share
    of the area of ``outside_mass`` (the given cell after the task asserts the same). A wrong region is answered
    with what it actually holds (how often it lies on the digits, how much the predictions depend on it), never
    with the answer.

    Args:
        region: The learner's region: four whole numbers (a tuple, list, array or tensor).
        outside_mass: The learner's 48x48 average of the maps' shares outside the digits' boxes.
        model: The case's digit CNN (``groundtruth.load_case()``).
        scenes: The case's scenes (``groundtruth.load_case()``).

    Raises:
        CheckFailed: The region or ``outside_mass`` is malformed, the region too large, in the wrong place or not
            singled out by ``outside_mass``, or an argument is of the wrong kind.
        NotAnsweredYet: ``region`` or ``outside_mass`` is still None or empty.

    Example:
        Checking a region runs the case's model; a region not given yet is answered at once:

        >>> import xai_helpers.check as check
        >>> check.problem6_region(None, None, None, None)
        Traceback (most recent call last):
        ...
        xai_helpers.check.common.NotAnsweredYet: Problem 6a: `region` is not there yet (it is None). ...
    """
    label = "Problem 6a"
    region = _region(region, label)
    mass = _outside_mass(outside_mass, label)
    _classifies(model, scenes, label)
    truth = gt._case_setup().box          # the case's mark has no public name: its place is the answer
    covered = _overlap(region, truth)
    if covered < MIN_COVERED:
        _wrong_place(region, covered, model, scenes, label)
    top, left, bottom, right = region
    row, col = divmod(int(np.argmax(mass)), gt.CANVAS)
    if not (top <= row < bottom and left <= col < right):
        fail(label, "the region is not around the peak of your outside_mass (its largest value lies outside the "
                    "region): the region and the average that should point to it disagree.")
    ratio = region_concentration(mass, region)
    if ratio <= MIN_CONCENTRATION:
        fail(label, f"your region holds only {ratio:.1f} times its share of the area of outside_mass, not more than "
                    f"{MIN_CONCENTRATION:g} times (the cell below asserts it): your average spreads the evidence too "
                    "thinly to single this place out.")
    ok(label, f"that is the place, and your average of the maps singles it out: the region holds {ratio:.0f} times "
              "its share of the area.")


def _wrong_place(region, covered, model, scenes, label):
    """Fail with what a region off the model's region holds: the digits, and how little the predictions follow it."""
    on_digit = float(gt.box_masks(scenes.boxes)[:, region[0]:region[2], region[1]:region[3]].flatten(1).any(1)
                     .float().mean())
    rate = follow_rate(model, scenes, region)
    notes = []
    if on_digit >= 0.3:
        notes.append(f"your region lies on the digit in {on_digit:.0%} of the scenes: maps that peak there show "
                     "the digit, which this model uses as well. The shortcut is evidence *outside* the digits' "
                     "boxes, at the same place in every scene.")
    else:
        notes.append(f"your region is off the digits (it touches a digit in only {on_digit:.0%} of the scenes), "
                     "but it is not where the model looks.")
    notes.append(f"Pasting your region from a scene of another class changes the prediction to that class in only "
                 f"{rate:.0%} of the scenes, so the model hardly depends on what is there"
                 + (" (you touch the right place with a few pixels only)." if 0 < covered < MIN_COVERED else "."))
    fail(label, " ".join(notes))


@answers_checked("Problem 6b", answers=("paste_region",))
def problem6_paste(paste_region: Callable) -> None:
    """Check Task 6b of Problem 6 (optional): pasting a region from donor scenes into scenes.

    ``paste_region(images, region, donors)`` must return new images in which scene i holds the pixels of
    ``region`` (top, left, bottom, right; bottom and right exclusive) of scene ``donors[i]``, leaving the input
    unchanged. Tested on several regions, donor orders and batch sizes.

    Args:
        paste_region: The learner's function.

    Raises:
        CheckFailed: The pasted images are wrong; the message names the mistake (changed in place, pixels
            outside the region changed, the wrong donor, ...).
        NotAnsweredYet: ``paste_region`` is None, returns None or still raises NotImplementedError.

    Example:
        >>> import xai_helpers.check as check
        >>> def paste_region(images, region, donors):
        ...     top, left, bottom, right = region
        ...     out = images.clone()
        ...     out[:, :, top:bottom, left:right] = images[donors][:, :, top:bottom, left:right]
        ...     return out
        >>> check.problem6_paste(paste_region)
        ✓ Problem 6b: copies exactly the region, from the right donor, without touching the input -- on three regions.
        >>> check.problem6_paste(lambda images, region, donors: images)
        Traceback (most recent call last):
        ...
        xai_helpers.check.common.CheckFailed: Problem 6b: the region is unchanged: copy it from the donor scenes.
    """
    label = "Problem 6b"
    g = torch.Generator().manual_seed(6)
    for n, region in ((5, (0, 0, 4, 4)), (7, (10, 30, 17, 38)), (3, (44, 1, 48, 9))):
        images = torch.rand(n, 1, gt.CANVAS, gt.CANVAS, generator=g)
        donors = torch.randperm(n, generator=g)
        original = images.clone()
        got = call_for_result(paste_region, label, "paste_region", "the new images", images, region, donors)
        if not torch.equal(images, original):
            fail(label, "paste_region changed the images it was given (in place): work on a copy "
                        "(images.clone()), the scenes are used again afterwards.")
        got = torch.as_tensor(got)
        if got.shape != images.shape:
            fail(label, f"expected images of shape {tuple(images.shape)}, got {tuple(got.shape)}.")
        want = _paste_region(images, region, donors)
        top, left, bottom, right = region
        inside = torch.zeros_like(images, dtype=torch.bool)
        inside[:, :, top:bottom, left:right] = True
        if not torch.equal(got[~inside], want[~inside]):
            fail(label, "pixels outside the region changed; only the region is copied.")
        if torch.equal(got[inside], images[inside]):
            fail(label, "the region is unchanged: copy it from the donor scenes.")
        flipped = torch.arange(n).flip(0)
        if torch.equal(got[inside], images[flipped][inside]) and not torch.equal(donors, flipped):
            fail(label, "scene i must receive the region of scene donors[i].")
        if not torch.equal(got, want):
            fail(label, f"the pasted pixels are wrong for region {region}: rows top:bottom and columns left:right "
                        "(bottom/right exclusive) of scene donors[i] go to the same place in scene i.")
    ok(label, "copies exactly the region, from the right donor, without touching the input -- on three regions.")
