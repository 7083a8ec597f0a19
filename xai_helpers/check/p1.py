"""Checkers of Problem 1: vanilla gradients and Grad-CAM on a photo with two subjects."""
import numpy as np
import torch

from .common import (NotAnsweredYet, as_array, call, fail, memo, number, ok, pearson, quiet, require,
                           roughness, two_d)
from .._validate import resolve_target
from ..methods.cam import _finish_map, grad_cam, resolve_layer

__all__ = ["problem1_box_share", "problem1_layers", "problem1_measurements", "reference_box_share"]

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


def problem1_box_share(box_share):
    """Task 1a: ``box_share(heatmap, box)`` -> share of the map's total mass inside the box (corners included).

    Tested on non-square maps (so that swapped axes show), numpy and torch inputs, boxes on the border, a
    single pixel and the whole map, an all-zero map (share 0) and a signed map (must raise ValueError).
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
        got = number(call(box_share, label, heatmap, box), label, f"box_share(map {tuple(heatmap.shape)}, {box})")
        ref = reference_box_share(heatmap, box)
        if abs(got - ref) <= 1e-6 + 1e-5 * abs(ref):
            continue
        kind = "torch tensor" if isinstance(heatmap, torch.Tensor) else "numpy array"
        for wrong, message in _variants(as_array(heatmap), box):
            if abs(got - float(wrong)) <= 1e-6 + 1e-5 * abs(float(wrong)):
                fail(label, f"for a {heatmap.shape[0]}x{heatmap.shape[1]} map and box {box}: {message}.")
        fail(label, f"for a {heatmap.shape[0]}x{heatmap.shape[1]} {kind} and box {box} the share is wrong. The share "
                    "is (sum of the map over columns x0..x1 and rows y0..y1) / (sum of the whole map).")
    zero = call(box_share, label, np.zeros((8, 8)), (0, 0, 3, 3))
    if zero is None or not np.isfinite(as_array(zero)).all() or abs(float(as_array(zero))) > _TOL:
        fail(label, f"an all-zero map gave {zero!r}; 0 / 0 has no meaning, so return 0.0 for a map without mass.")
    signed = tall - tall.mean()
    try:
        with quiet():
            got = box_share(signed, (5, 2, 20, 10))
    except ValueError:
        pass
    except NotImplementedError:
        raise NotAnsweredYet(f"{label}: box_share still raises NotImplementedError.") from None
    except Exception as err:  # noqa: BLE001
        fail(label, f"a map with negative values raised {type(err).__name__}; raise a ValueError that says what to do "
                    "(reduce a signed map first, e.g. to |map| or its positive part).")
    else:
        fail(label, f"a map with negative values returned {got!r}. A share of mass needs a non-negative map: evidence "
                    "for and against would cancel. Raise a ValueError naming the fix instead of guessing.")
    ok(label, f"box shares right on {len(cases)} map/box pairs (numpy and torch, border, single pixel, whole map), "
              "0 for an empty map, ValueError for a signed map.")


@memo
def _grad_cam(image_model, layer, x, target, upsample=True):
    with quiet():
        return grad_cam(image_model, x, target, upsample=upsample, layer=layer)


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
                t = resolve_target(c, logits.shape[1], image_model.labels)
                grads = torch.autograd.grad(logits[0, t], [saved[k] for k in layers], retain_graph=True)
                for layer, g in zip(layers, grads):
                    A = saved[layer].detach()
                    cam = torch.relu((g.mean(dim=(2, 3), keepdim=True) * A).sum(dim=1, keepdim=True))
                    maps[(layer, c)] = as_array(_finish_map(cam, x.shape[2:], True, True))
    finally:
        for handle in handles:
            handle.remove()
    return maps


def problem1_layers(contrast_by_layer, best_layer, image_model, x, classes, box, candidate_layers):
    """Task 1b: ``contrast_by_layer[layer]`` = lake-box share of Grad-CAM(classes[1]) minus that of
    Grad-CAM(classes[0]) at each candidate layer; ``best_layer`` = the layer with the largest contrast."""
    label = "Problem 1b"
    require(contrast_by_layer, label, "contrast_by_layer")
    if not isinstance(contrast_by_layer, dict) or list(contrast_by_layer) != list(candidate_layers):
        keys = list(contrast_by_layer) if isinstance(contrast_by_layer, dict) else type(contrast_by_layer).__name__
        fail(label, f"contrast_by_layer should have one entry per candidate layer, in the order of candidate_layers; "
                    f"its keys are {keys}.")
    reference = {}
    all_cams = _grad_cams(image_model, x, tuple(candidate_layers), tuple(classes))
    for layer in candidate_layers:
        share = {c: reference_box_share(all_cams[(layer, c)], box) for c in classes}
        reference[layer] = share[classes[1]] - share[classes[0]]
        got = number(contrast_by_layer[layer], label, f"contrast_by_layer[{layer!r}]")
        if abs(got - reference[layer]) <= 2e-3:
            continue
        if abs(got + reference[layer]) <= 2e-3:
            fail(label, f"the contrast at {layer!r} has the wrong sign: it is the share of {classes[1]!r}'s map in the "
                        f"box minus the share of {classes[0]!r}'s map.")
        small = {c: as_array(_coarse(image_model, x, layer, c)) for c in classes}
        coarse = reference_box_share(small[classes[1]], box) - reference_box_share(small[classes[0]], box)
        if abs(got - coarse) <= 2e-3:
            fail(label, f"at {layer!r} the box was applied to the layer's own small grid. The box is in pixels of the "
                        "224x224 view: use Grad-CAM upsampled to the input (the default).")
        fail(label, f"the contrast at {layer!r} differs from the Grad-CAM maps of that layer. Compute Grad-CAM at "
                    "that layer for each class, then the share of each map inside the box.")
    if best_layer not in candidate_layers:
        fail(label, f"best_layer = {best_layer!r} is not one of the candidate layers.")
    if best_layer != max(reference, key=reference.get):
        fail(label, f"best_layer = {best_layer!r} is not the layer with the largest contrast in your dictionary.")
    ok(label, f"contrasts at {len(candidate_layers)} layers match Grad-CAM; best_layer is the largest.")


def _coarse(image_model, x, layer, target):
    return _grad_cam(image_model, layer, x, target, upsample=False)


def _native_grid(image_model, x, method, layer):
    if layer is None:
        return int(x.shape[-1])
    return int(_coarse(image_model, x, layer, 0).shape[-1])


_FIELDS = ("grid", "roughness", "tower_share", "lake_share", "class_correlation")


def problem1_measurements(measurements, maps, classes, image_model, x, boxes, layers):
    """Task 1c: ``measurements[method]`` for every method in ``maps`` holds "grid" (side of the grid the map is
    computed on), "roughness", "tower_share", "lake_share" (dicts class -> number) and "class_correlation".

    ``layers[method]`` is the Grad-CAM layer of each method (None for the gradient)."""
    label = "Problem 1c"
    require(measurements, label, "measurements")
    if not isinstance(measurements, dict) or set(measurements) != set(maps):
        fail(label, f"measurements should have one entry per method {list(maps)}; it has "
                    f"{list(measurements) if isinstance(measurements, dict) else type(measurements).__name__}.")
    for method, per_class in maps.items():
        got = measurements[method]
        missing = [k for k in _FIELDS if not isinstance(got, dict) or k not in got or got[k] is None]
        if missing:
            raise NotAnsweredYet(f"{label}: measurements[{method!r}] has no {missing}.")
        arrays = {c: two_d(per_class[c], label, f"maps[{method!r}][{c!r}]") for c in classes}
        grid = _native_grid(image_model, x, method, layers[method])
        if int(number(got["grid"], label, f"{method} grid")) != grid:
            hint = ("one value per input pixel" if layers[method] is None else
                    "Grad-CAM is computed on the layer's own grid and then upsampled: ask for upsample=False")
            fail(label, f"measurements[{method!r}]['grid'] is not the grid the map is computed on ({hint}).")
        for key, fn, what in (("roughness", roughness, "roughness"),
                              ("tower_share", lambda m: reference_box_share(m, boxes["tower"]), "share in the tower box"),
                              ("lake_share", lambda m: reference_box_share(m, boxes["lake"]), "share in the lake box")):
            if not isinstance(got[key], dict) or set(got[key]) != set(classes):
                fail(label, f"measurements[{method!r}][{key!r}] should map each class name to a number.")
            for c in classes:
                ref, value = fn(arrays[c]), number(got[key][c], label, f"{method} {key} for {c!r}")
                if abs(value - ref) > 1e-3 + 0.01 * abs(ref):
                    other = fn(arrays[[o for o in classes if o != c][0]])
                    why = (" It is the value of the other class's map." if abs(value - other) <= 1e-3 + 0.01 * abs(other)
                           else "")
                    fail(label, f"the {what} of the {method} map for {c!r} does not match that map.{why}")
        r = pearson(arrays[classes[0]], arrays[classes[1]])
        value = number(got["class_correlation"], label, f"{method} class_correlation")
        if abs(value - 1.0) < 1e-6 and abs(r - 1.0) > 1e-6:
            fail(label, f"class_correlation of {method} is 1: a map compared with itself? Correlate the two classes' maps.")
        if abs(value - r) > 0.01:
            fail(label, f"class_correlation of {method} is not the Pearson correlation of the two classes' maps over "
                        "all pixels (flatten both maps, then np.corrcoef).")
    ok(label, f"grid, roughness, box shares and class correlation right for {len(maps)} methods.")

