"""Checkers of Problem 1 (chapter 4 exercises): vanilla gradients and Grad-CAM on a photo with two subjects.

``reference_box_share`` is the checkers' own reference (not part of ``__all__``; importable from this module).
"""
from collections.abc import Callable, Mapping, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from .._validate import resolve_layer
from ..methods import grad_cam
from ..methods.cam import EMPTY_MAP_TOLERANCE
from ..models import ImageModel
from .arguments import answers_checked, class_of, class_pair, image_batch, pixel_box, same_keys
from .common import (NotAnsweredYet, as_array, call, count, fail, first_mistake, isolated, memo, near, number, ok,
                     quiet, require, require_fields, require_keys, target_index, two_d)
from .measures import pearson, roughness

__all__ = ["problem1_box_share", "problem1_layers", "problem1_measurements"]

_TOL = 1e-6


def reference_box_share(heatmap, box):
    """Share of a non-negative map's total inside box = (x0, y0, x1, y1), corners included."""
    m = as_array(heatmap)
    x0, y0, x1, y1 = (int(v) for v in box)
    total = m.sum()
    return float(m[y0:y1 + 1, x0:x1 + 1].sum() / total) if total > 0 else 0.0


def _variants(m, box):
    """The classic wrong readings of a box share, with the message that names each mistake."""
    x0, y0, x1, y1 = box
    total = max(m.sum(), 1e-30)
    inside = m[y0:y1 + 1, x0:x1 + 1]
    area = inside.size / m.size
    return [
        (m[x0:x1 + 1, y0:y1 + 1].sum() / total,
         "rows and columns are swapped: x counts columns (the second index), y counts rows (the first)"),
        (m[y0:y1, x0:x1].sum() / total,
         "the box's last row and column are missing: its corners are included, so slice up to x1 + 1 and y1 + 1"),
        (inside.mean(), "this is the mean value inside the box, not the share of the map's total mass"),
        (inside.sum(), "the mass inside the box is not divided by the map's total"),
        (inside.sum() / total / max(area, 1e-30),
         "this is the share divided by the box's share of the area (a ratio to chance), not the share itself"),
    ]


@answers_checked("Problem 1a", answers=("box_share",))
def problem1_box_share(box_share: Callable) -> None:
    """Check Task 1a of Problem 1: ``box_share(heatmap, box)``, the share of a map's total mass inside a box.

    The box is (x0, y0, x1, y1) in pixels, corners included. Tested on non-square maps (so that swapped axes
    show), numpy and torch inputs, boxes on the border, a single pixel and the whole map, an all-zero map (share
    0) and a signed map (must raise ValueError).

    Args:
        box_share: The learner's function ``box_share(heatmap, box) -> float``.

    Raises:
        CheckFailed: The function gives a wrong share; the message names the mistake (swapped axes, the last
            row and column left out, a mean instead of a share, ...).
        NotAnsweredYet: ``box_share`` is None or still raises NotImplementedError.

    Example:
        >>> import numpy as np
        >>> import xai_helpers.check as check
        >>> def box_share(heatmap, box):
        ...     m = np.asarray(heatmap, dtype=float)
        ...     if (m < 0).any():
        ...         raise ValueError("a share of mass needs a non-negative map: reduce a signed map first")
        ...     x0, y0, x1, y1 = box
        ...     return float(m[y0:y1 + 1, x0:x1 + 1].sum() / m.sum()) if m.sum() > 0 else 0.0
        >>> check.problem1_box_share(box_share)
        ✓ Problem 1a: box shares right on 7 map/box pairs (numpy and torch, border, single pixel, whole map), ...
        >>> check.problem1_box_share(lambda heatmap, box: box_share(np.asarray(heatmap).T, box))
        Traceback (most recent call last):
        ...
        xai_helpers.check.common.CheckFailed: Problem 1a: for a 30x50 map and box (5, 2, 20, 10): rows and columns ...
    """
    label = "Problem 1a"
    rng = np.random.default_rng(7)
    tall = rng.random((30, 50)) ** 3
    tall[2:6, 40:48] += 5.0                                     # a hot spot near the top right
    blob = np.exp(-((np.arange(64)[:, None] - 20) ** 2 + (np.arange(64)[None] - 44) ** 2) / 60.0)
    cases = [(tall, (5, 2, 20, 10)), (tall, (40, 0, 49, 7)), (torch.tensor(tall), (0, 0, 49, 29)),
             (tall, (49, 29, 49, 29)), (torch.tensor(blob, dtype=torch.float32), (30, 10, 60, 30)),
             (blob, (0, 0, 9, 63)), (tall, (12, 12, 12, 25))]
    for heatmap, box in cases:
        before = heatmap.clone() if isinstance(heatmap, torch.Tensor) else heatmap.copy()
        got = number(call(box_share, label, heatmap, box), label, f"box_share(map {tuple(heatmap.shape)}, {box})")
        if not np.array_equal(as_array(heatmap), as_array(before)):
            fail(label, "box_share changed the map it was given (in place); the maps are used again afterwards.")
        if near(got, reference_box_share(heatmap, box), 1e-6, 1e-5):
            continue
        message = first_mistake(_variants(as_array(heatmap), box), lambda wrong: near(got, wrong, 1e-6, 1e-5))
        if message:
            fail(label, f"for a {heatmap.shape[0]}x{heatmap.shape[1]} map and box {box}: {message}.")
        kind = "torch tensor" if isinstance(heatmap, torch.Tensor) else "numpy array"
        fail(label, f"for a {heatmap.shape[0]}x{heatmap.shape[1]} {kind} and box {box} the share is wrong. The share "
                    "is (sum of the map over columns x0..x1 and rows y0..y1) / (sum of the whole map).")
    zero = call(box_share, label, np.zeros((8, 8)), (0, 0, 3, 3))
    if zero is None or not np.isfinite(as_array(zero)).all() or abs(float(as_array(zero))) > _TOL:
        fail(label, f"an all-zero map gave {zero!r}; 0 / 0 has no meaning, and the task asks for a share of 0.0 for a "
                    "map without mass.")
    _check_signed_map_refused(box_share, tall - 0.05, label)            # some values below 0, a clearly positive sum
    _check_signed_map_refused(box_share, -tall, label)                  # all values below 0
    ok(label, f"box shares right on {len(cases)} map/box pairs (numpy and torch, border, single pixel, whole map), "
              "0 for an empty map, ValueError for a signed map.")


_SIGN_WORDS = ("negative", "signed", "sign", "< 0", "<0", "positive", "abs", "|")


def _check_signed_map_refused(box_share, signed, label):
    """A map with negative values has no share of mass: ``box_share`` must raise a ValueError for it."""
    try:
        with quiet():
            got = isolated(box_share)(signed, (5, 2, 20, 10))
    except ValueError as err:
        words = str(err).lower()
        if len(words.split()) < 4 or not any(w in words for w in _SIGN_WORDS):
            fail(label, f"a map with negative values raised ValueError({str(err)!r}): the message does not say what is "
                        "wrong with the map and what to do about it, which is what the task asks of it.")
        return
    except NotImplementedError:
        raise NotAnsweredYet(f"{label}: box_share still raises NotImplementedError.") from None
    except Exception as err:  # noqa: BLE001
        fail(label, f"a map with negative values raised {type(err).__name__}, where the task asks for a ValueError "
                    "whose message says what to do.")
    fail(label, f"a map with negative values returned {got!r}, a number that means nothing: evidence for and against "
                "would cancel in a share of mass. The task asks for a ValueError there.")


@memo
def _coarse(image_model, x, layer, target):
    """Grad-CAM of ``target`` at ``layer`` on the layer's own grid (not upsampled)."""
    with quiet():
        return grad_cam(image_model, x, target, upsample=False, layer=layer)


def _upsampled(cam, size):
    """A 1x1xhxw ReLU'd map finished as ``grad_cam`` does: bilinear upsampling to ``size``, then division by the
    max (an empty map stays zeros)."""
    cam = F.interpolate(cam, size=tuple(size), mode="bilinear", align_corners=False)[0, 0].detach().float().cpu()
    top = cam.max()
    return as_array(cam / top if top > EMPTY_MAP_TOLERANCE else torch.zeros_like(cam))


@memo
def _grad_cams(image_model, x, layers, classes):
    """Grad-CAM of every (layer, class) from one forward pass: hooks on all layers, one backward per class.
    Same equations and finishing as ``xai_helpers.grad_cam`` (bilinear upsampling, then division by the max)."""
    module = image_model.model
    saved, handles = {}, []
    try:
        for layer in layers:
            _, layer_module, _ = resolve_layer(image_model, layer)
            handles.append(layer_module.register_forward_hook(
                lambda _m, _i, out, key=layer: saved.__setitem__(key, out)))
        with quiet(), torch.enable_grad():
            logits = module(x.detach().requires_grad_(True))
            maps = {}
            for c in classes:
                grads = torch.autograd.grad(logits[0, target_index(image_model, c)], [saved[k] for k in layers],
                                            retain_graph=True)
                for layer, g in zip(layers, grads):
                    A = saved[layer].detach()
                    cam = torch.relu((g.mean(dim=(2, 3), keepdim=True) * A).sum(dim=1, keepdim=True))
                    maps[(layer, c)] = _upsampled(cam, x.shape[2:])
    finally:
        for handle in handles:
            handle.remove()
    return maps


def _contrast_mistakes(image_model, x, layer, classes, box, reference):
    """The classic wrong contrasts at ``layer`` (``reference`` = the right one), each with its message."""
    yield -reference, (f"the contrast at {layer!r} has the wrong sign: it is the share of {classes[1]!r}'s map in the "
                       f"box minus the share of {classes[0]!r}'s map")
    small = {c: as_array(_coarse(image_model, x, layer, c)) for c in classes}
    yield (reference_box_share(small[classes[1]], box) - reference_box_share(small[classes[0]], box),
           f"at {layer!r} the box was applied to the layer's own small grid. The box is in pixels of the 224x224 view: "
           "use Grad-CAM upsampled to the input (the default)")


@answers_checked("Problem 1b", answers=("contrast_by_layer", "best_layer"))
def problem1_layers(contrast_by_layer: Mapping, best_layer: str, image_model: ImageModel, x: torch.Tensor,
                    classes: Sequence[int | str], box: Sequence[int], candidate_layers: Sequence[str]) -> None:
    """Check Task 1b of Problem 1: the Grad-CAM contrast between two classes inside a box, layer by layer.

    Recomputes Grad-CAM of both classes at every candidate layer (this runs the model, seconds on a CPU) and
    recognises a flipped sign and a box applied to the layer's own small grid.

    Args:
        contrast_by_layer: The learner's dict layer name -> share of Grad-CAM(classes[1]) inside ``box`` minus
            that of Grad-CAM(classes[0]), one entry per candidate layer, in their order.
        best_layer: The learner's choice: the layer with the largest contrast.
        image_model: The course's image model (``xh.load_image_model()``).
        x: The preprocessed photo (1x3xHxW) the maps were computed on.
        classes: The two classes compared (indices or names).
        box: The box (x0, y0, x1, y1) in pixels of ``x``, corners included.
        candidate_layers: The layer names tried, in order.

    Raises:
        CheckFailed: A contrast or ``best_layer`` is wrong, or an argument is of the wrong kind.
        NotAnsweredYet: ``contrast_by_layer`` or ``best_layer`` is still None or empty.

    Example:
        Running the check computes Grad-CAM with the pretrained model; an answer not filled in yet is cheap:

        >>> import xai_helpers.check as check
        >>> check.problem1_layers(None, None, None, None, ["palace", "lakeside"], (0, 0, 9, 9), ["_blocks.12"])
        Traceback (most recent call last):
        ...
        xai_helpers.check.common.NotAnsweredYet: Problem 1b: `contrast_by_layer` is not there yet (it is None). ...
    """
    label = "Problem 1b"
    require(contrast_by_layer, label, "contrast_by_layer")
    image_batch(x, label)
    box = pixel_box(box, label)
    for c in class_pair(classes, label):
        class_of(image_model, c, label, "classes")
    _known_layers(image_model, candidate_layers, label)
    require_keys(contrast_by_layer, candidate_layers, label,
                 "contrast_by_layer should have one entry per candidate layer, in the order of candidate_layers")
    reference = {}
    all_cams = _grad_cams(image_model, x, tuple(candidate_layers), tuple(classes))
    for layer in candidate_layers:
        share = {c: reference_box_share(all_cams[(layer, c)], box) for c in classes}
        reference[layer] = share[classes[1]] - share[classes[0]]
        got = number(contrast_by_layer[layer], label, f"contrast_by_layer[{layer!r}]")
        if near(got, reference[layer], 2e-3):
            continue
        message = first_mistake(_contrast_mistakes(image_model, x, layer, classes, box, reference[layer]),
                                lambda wrong: near(got, wrong, 2e-3))
        fail(label, (message or f"the contrast at {layer!r} differs from the Grad-CAM maps of that layer. Compute "
                                "Grad-CAM at that layer for each class, then the share of each map inside the "
                                "box") + ".")
    if best_layer not in candidate_layers:
        fail(label, f"best_layer = {best_layer!r} is not one of the candidate layers.")
    if best_layer != max(reference, key=reference.get):
        fail(label, f"best_layer = {best_layer!r} is not the layer with the largest contrast in your dictionary.")
    ok(label, f"contrasts at {len(candidate_layers)} layers match Grad-CAM; best_layer is the largest.")


def _native_grid(image_model, x, layer):
    """Side of the grid a map is computed on: the input's for the gradient (layer None), else the layer's."""
    if layer is None:
        return int(x.shape[-1])
    return int(_coarse(image_model, x, layer, 0).shape[-1])


def _known_layers(image_model, layers, label, name="candidate_layers"):
    """Fail unless every name in ``layers`` is a layer of ``image_model``."""
    for layer in layers:
        if layer is not None:
            try:
                resolve_layer(image_model, layer)
            except (TypeError, ValueError) as err:
                fail(label, f"`{name}` holds {layer!r}, which is not a layer of the model: {err}")


def _check_setup(maps, classes, boxes, layers, image_model, label):
    """The maps, boxes and layers of Task 1c are what the task built: one map per class, two boxes, known layers."""
    for method, per_class in maps.items():
        if not isinstance(per_class, Mapping):
            fail(label, f"`maps` should map each method to a dict class -> 2-D map; maps[{method!r}] is "
                        f"{type(per_class).__name__}.")
        same_keys(per_class, classes, label, "maps", "a map per class")
    same_keys(boxes, ("tower", "lake"), label, "boxes", "a box (x0, y0, x1, y1)")
    for name in ("tower", "lake"):
        pixel_box(boxes[name], label, "boxes")
    same_keys(layers, list(maps), label, "layers", "the Grad-CAM layer (None for the gradient) of each method in maps")
    _known_layers(image_model, [layers[m] for m in maps], label, "layers")


_FIELDS = ("grid", "roughness", "tower_share", "lake_share", "class_correlation")


def _check_per_class(got, arrays, boxes, method, label):
    """The roughness and box shares of one method's maps (``arrays``: class -> 2-D map), class by class."""
    classes = list(arrays)
    for key, fn, what in (("roughness", roughness, "roughness"),
                          ("tower_share", lambda m: reference_box_share(m, boxes["tower"]), "share in the tower box"),
                          ("lake_share", lambda m: reference_box_share(m, boxes["lake"]), "share in the lake box")):
        require_keys(got[key], classes, label, f"measurements[{method!r}][{key!r}] should map each class name to a "
                                               "number", ordered=False)
        for c in classes:
            ref, value = fn(arrays[c]), number(got[key][c], label, f"{method} {key} for {c!r}")
            if not near(value, ref, 1e-3, 0.01):
                other = fn(arrays[[o for o in classes if o != c][0]])
                why = " It is the value of the other class's map." if near(value, other, 1e-3, 0.01) else ""
                fail(label, f"the {what} of the {method} map for {c!r} does not match that map.{why}")


@answers_checked("Problem 1c", answers=("measurements",))
def problem1_measurements(measurements: Mapping, maps: Mapping, classes: Sequence[int | str], image_model: ImageModel,
                          x: torch.Tensor, boxes: Mapping, layers: Mapping) -> None:
    """Check Task 1c of Problem 1: grid, roughness, box shares and class correlation of each method's maps.

    ``measurements[method]`` for every method in ``maps`` holds "grid" (side of the grid the map is computed on),
    "roughness", "tower_share", "lake_share" (dicts class -> number) and "class_correlation". The grid of a
    Grad-CAM method is read from the model (this runs it, seconds on a CPU).

    Args:
        measurements: The learner's dict method -> the five measurements above.
        maps: The maps measured: method -> {class: 2-D map}.
        classes: The two classes compared (indices or names).
        image_model: The course's image model (``xh.load_image_model()``).
        x: The preprocessed photo (1x3xHxW) the maps were computed on.
        boxes: {"tower": box, "lake": box}, each (x0, y0, x1, y1) in pixels, corners included.
        layers: method -> its Grad-CAM layer name (None for the gradient).

    Raises:
        CheckFailed: A measurement is wrong, or an argument is of the wrong kind.
        NotAnsweredYet: ``measurements`` or one of its fields is still missing.

    Example:
        Running the check uses the pretrained model; a wrong kind of answer is answered at once:

        >>> import xai_helpers.check as check
        >>> check.problem1_measurements([0.5, 0.1], {}, ["palace", "lakeside"], None, None, {}, {})
        Traceback (most recent call last):
        ...
        xai_helpers.check.common.CheckFailed: Problem 1c: `measurements` should be a Mapping; got a list.
    """
    label = "Problem 1c"
    require(measurements, label, "measurements")
    image_batch(x, label)
    classes = class_pair(classes, label)
    _check_setup(maps, classes, boxes, layers, image_model, label)
    require_keys(measurements, maps, label, f"measurements should have one entry per method {list(maps)}",
                 ordered=False)
    for method, per_class in maps.items():
        got = measurements[method]
        require_fields(got, _FIELDS, label, f"measurements[{method!r}]")
        arrays = {c: two_d(per_class[c], label, f"maps[{method!r}][{c!r}]") for c in classes}
        grid = _native_grid(image_model, x, layers[method])
        if count(got["grid"], label, f"measurements[{method!r}]['grid']", "grid cells per side") != grid:
            hint = ("the gradient has one value per input pixel" if layers[method] is None else
                    "a Grad-CAM map is computed on its layer's own grid and only then upsampled to the input")
            fail(label, f"measurements[{method!r}]['grid'] is not the grid the map is computed on ({hint}).")
        _check_per_class(got, arrays, boxes, method, label)
        r = pearson(arrays[classes[0]], arrays[classes[1]])
        value = number(got["class_correlation"], label, f"{method} class_correlation")
        if abs(value - 1.0) < 1e-6 and abs(r - 1.0) > 1e-6:
            fail(label, f"class_correlation of {method} is 1: a map compared with itself? Correlate the two classes' maps.")
        if abs(value - r) > 0.01:
            fail(label, f"class_correlation of {method} is not the Pearson correlation of the two classes' maps over "
                        "all pixels.")
    ok(label, f"grid, roughness, box shares and class correlation right for {len(maps)} methods.")

