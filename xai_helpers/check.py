"""Automatic feedback for the chapter-4 exercises (Problems 1-5): ``from xai_helpers import check``.

Each checker takes what the learner built (a function, maps, numbers or a written answer), compares it
with a reference computed here -- shapes, value ranges, parity within a tolerance -- and looks for
the classic mistakes of each problem. On success it prints one line per passed point and returns
True; on a wrong answer it raises ``CheckFailed`` (an ``AssertionError``) whose message says in plain
words what is wrong and where to look, without printing the reference answer itself.
``NotAnsweredYet`` (also an ``AssertionError``) means the answer is still missing or a template.
"""
import math
import re
import time

import numpy as np
import torch

__all__ = ["CheckFailed", "NotAnsweredYet", "problem1_maps", "problem1_measurements", "problem2_smoothgrad",
           "problem2_experiment", "problem3_baselines", "problem4_most_attended", "problem4_special_share",
           "problem5_numbers", "problem5_maps", "written_answer", "roughness", "relative_difference", "rms_difference",
           "numbers_in"]


class CheckFailed(AssertionError):
    """The answer is wrong; the message says what and why, in plain words."""


class NotAnsweredYet(CheckFailed):
    """The answer is still missing (None, empty, or the exercise's template)."""


# --- small shared pieces ----------------------------------------------------------------------------
def _np(a):
    if isinstance(a, torch.Tensor):
        return a.detach().float().cpu().numpy()
    return np.asarray(a, dtype=np.float64)


def _ok(label, text):
    print(f"\u2713 {label}: {text}")


def _fail(label, text):
    raise CheckFailed(f"{label}: {text}")


def _require(value, label, what):
    if value is None or value is Ellipsis or (isinstance(value, (dict, list, tuple, str)) and len(value) == 0):
        raise NotAnsweredYet(f"{label}: {what} is not there yet (it is {value!r}). Solve the task above first.")
    return value


def _close(a, b, rtol=1e-3):
    """Largest difference relative to the reference's largest magnitude is below ``rtol``."""
    a, b = _np(a), _np(b)
    if a.shape != b.shape:
        return False
    scale = max(float(np.abs(b).max()), 1e-12)
    return float(np.abs(a - b).max()) / scale <= rtol


def relative_difference(a, b):
    """||a - b|| / ||(a + b) / 2||: 0 for equal maps, about 1.4 for unrelated ones of the same size."""
    a, b = _np(a).ravel(), _np(b).ravel()
    return float(np.linalg.norm(a - b) / max(np.linalg.norm((a + b) / 2), 1e-12))


def rms_difference(a, b):
    """Root-mean-square difference of two maps (same units as the maps): the noise two seeds leave."""
    a, b = _np(a).ravel(), _np(b).ravel()
    return float(np.sqrt(np.mean((a - b) ** 2)))


def roughness(heatmap):
    """Mean |difference| between horizontally and vertically neighbouring pixels / mean |value| of the map.

    A smooth blob scores near 0, pixel-to-pixel speckle scores high; the scale of the map cancels.
    """
    m = _np(heatmap)
    if m.ndim != 2:
        raise ValueError(f"roughness needs a 2-D map, got shape {m.shape}.")
    steps = np.concatenate([np.abs(np.diff(m, axis=0)).ravel(), np.abs(np.diff(m, axis=1)).ravel()])
    return float(steps.mean() / max(float(np.abs(m).mean()), 1e-12))


def _pearson(a, b):
    a, b = _np(a).ravel(), _np(b).ravel()
    a, b = a - a.mean(), b - b.mean()
    return float((a * b).sum() / max(float(np.sqrt((a * a).sum() * (b * b).sum())), 1e-30))


def _logits(image_model, x):
    with torch.no_grad():
        return image_model.model(x.detach()).float()[0].cpu()


def _two_d(value, label, name, size):
    """A learner's map as a 2-D numpy array of the expected size, or a plain-words failure."""
    if value is None:
        raise NotAnsweredYet(f"{label}: {name} is None -- compute it first.")
    m = _np(value)
    while m.ndim > 2 and m.shape[0] == 1:
        m = m[0]
    if m.ndim == 3 and m.shape[0] == 3:
        _fail(label, f"{name} still has 3 colour channels (shape {tuple(_np(value).shape)}). A saliency map "
                     "has one value per pixel: reduce the channels (max of |value| over channels).")
    if m.ndim != 2:
        _fail(label, f"{name} should be a 2-D map (H, W); got shape {tuple(_np(value).shape)}.")
    if tuple(m.shape) != tuple(size):
        if m.shape[0] < size[0] // 4:
            _fail(label, f"{name} has shape {tuple(m.shape)}: that is the layer's coarse grid. Compare maps "
                         f"on the input's pixel grid {tuple(size)}: upsample it (grad_cam does by default).")
        _fail(label, f"{name} has shape {tuple(m.shape)}, expected {tuple(size)} (the input's H x W).")
    if not np.isfinite(m).all():
        _fail(label, f"{name} contains NaN or infinite values.")
    return m


# --- Problem 1 ---------------------------------------------------------------------------------------
def _reference_problem1(image_model, x, target):
    import xai_helpers as xh
    from .cam import grad_cam
    grad = xh.vanilla_gradients(image_model, x, target)
    return (_np(xh.max_abs_over_channels(grad)), _np(grad[0].abs().sum(0)), _np(grad_cam(image_model, None, x, target)))


def problem1_maps(image_model, x, saliency, cam, classes):
    """Problem 1a: ``saliency`` and ``cam`` map each class name in ``classes`` to a HxW map.

    saliency = max over colour channels of |d logit / d x|; cam = Grad-CAM at the model's target layer,
    upsampled to HxW and scaled to [0, 1].
    """
    label = "Problem 1a"
    _require(saliency, label, "saliency")
    _require(cam, label, "cam")
    size = tuple(x.shape[-2:])
    refs = {c: _reference_problem1(image_model, x, c) for c in classes}
    for c in classes:
        for name, maps in (("saliency", saliency), ("cam", cam)):
            if c not in maps:
                _fail(label, f"{name} has no entry for {c!r}; its keys are {list(maps)}. Use the class names "
                             "as keys.")
        s = _two_d(saliency[c], label, f"saliency[{c!r}]", size)
        m = _two_d(cam[c], label, f"cam[{c!r}]", size)
        ref_max, ref_sum, ref_cam = refs[c]
        other = [o for o in classes if o != c]
        if (s < 0).any():
            _fail(label, f"saliency[{c!r}] has negative values: the classic saliency map is the magnitude "
                         "of the gradient, |gradient|, before reducing the channels.")
        if not _close(s, ref_max, 1e-3):
            if _close(s, ref_sum, 1e-3):
                _fail(label, f"saliency[{c!r}] sums |gradient| over the colour channels; this task asks for "
                             "the largest |gradient| over channels.")
            if any(_close(s, refs[o][0], 1e-3) for o in other):
                _fail(label, f"saliency[{c!r}] is the map of another class: check the target= you passed.")
            if _close(s / max(s.max(), 1e-30), ref_max / max(ref_max.max(), 1e-30), 1e-3):
                _fail(label, f"saliency[{c!r}] has the right pattern but a different scale: keep the raw "
                             "gradient magnitudes (no normalisation) so that the two classes can be compared.")
            _fail(label, f"saliency[{c!r}] differs from the gradient of the {c!r} logit with respect to x. "
                         "Common causes: gradient of the softmax probability instead of the logit, the wrong "
                         "input tensor, or a model left in training mode.")
        if m.min() < -1e-6 or m.max() > 1 + 1e-6:
            _fail(label, f"cam[{c!r}] ranges over [{m.min():.3g}, {m.max():.3g}]; a Grad-CAM map here is "
                         "ReLU'd and divided by its maximum, so it lies in [0, 1].")
        if not _close(m, ref_cam, 2e-3):
            if any(_close(m, refs[o][2], 2e-3) for o in other):
                _fail(label, f"cam[{c!r}] is the Grad-CAM map of another class: check target=.")
            _fail(label, f"cam[{c!r}] differs from Grad-CAM at the model's target layer "
                         f"({image_model.target_layer_name!r}). Use that layer, the logit (not the "
                         "probability), and the ReLU of the weighted sum.")
    _ok(label, f"vanilla-gradient and Grad-CAM maps for {len(classes)} classes: shapes {size}, value ranges "
               "and parity with the reference all right.")
    return True


def problem1_measurements(measurements, saliency, cam, classes, image_model, x):
    """Problem 1b: ``measurements[method]`` with method in {"gradient", "grad_cam"} holds "grid" (side of
    the map's native grid), "roughness" (per class, see ``roughness``) and "class_correlation" (Pearson r
    between the two classes' maps)."""
    from .cam import grad_cam
    label = "Problem 1b"
    _require(measurements, label, "measurements")
    maps = {"gradient": saliency, "grad_cam": cam}
    cam_grid = grad_cam(image_model, None, x, classes[0], upsample=False).shape[-1]
    grids = {"gradient": int(x.shape[-1]), "grad_cam": int(cam_grid)}
    for method in maps:
        if method not in measurements:
            _fail(label, f"measurements has no entry {method!r}; expected keys 'gradient' and 'grad_cam'.")
        got = measurements[method]
        for key in ("grid", "roughness", "class_correlation"):
            if key not in got or got[key] is None:
                raise NotAnsweredYet(f"{label}: measurements[{method!r}][{key!r}] is missing.")
        if int(got["grid"]) != grids[method]:
            hint = (" Grad-CAM is computed on the target layer's feature grid, before upsampling: ask grad_cam "
                    "for upsample=False and read the shape." if method == "grad_cam" else
                    " The gradient has one value per input pixel.")
            _fail(label, f"measurements[{method!r}]['grid'] = {got['grid']} is not the native resolution.{hint}")
        rough = got["roughness"]
        if not isinstance(rough, dict) or set(rough) != set(classes):
            _fail(label, f"measurements[{method!r}]['roughness'] should map each class name to a number.")
        for c in classes:
            ref = roughness(maps[method][c])
            if not math.isclose(float(rough[c]), ref, rel_tol=0.02, abs_tol=1e-6):
                _fail(label, f"roughness of the {method} map for {c!r} is {float(rough[c]):.4g}, but the map gives "
                             "another value. Mean |difference of neighbours| (both directions, all pairs) divided "
                             "by the mean |value| of the same map.")
        a, b = (maps[method][c] for c in classes[:2])
        r = _pearson(a, b)
        got_r = float(got["class_correlation"])
        if math.isclose(got_r, 1.0, abs_tol=1e-6) and not math.isclose(r, 1.0, abs_tol=1e-6):
            _fail(label, f"class_correlation for {method} is 1: a map compared with itself? Correlate the map for "
                         f"{classes[0]!r} with the map for {classes[1]!r}.")
        if not math.isclose(got_r, r, abs_tol=0.01):
            _fail(label, f"class_correlation for {method} ({got_r:.3f}) is not the Pearson correlation of the two "
                         "classes' maps over all pixels (flatten both, then np.corrcoef).")
    _ok(label, "native grids, roughness and between-class correlations match your maps.")
    return True


# --- Problem 2 ---------------------------------------------------------------------------------------
def _noisy_gradients(image_model, x, target, n, sigma, seed):
    """Per-sample input gradients for the seeded noise of the exercise (one draw of n copies)."""
    from ._checks import resolve_target
    noise = torch.randn((n, *x.shape[1:]), generator=torch.Generator().manual_seed(int(seed))).to(x.device)
    points = (x.detach() + noise * sigma).requires_grad_(True)
    target = resolve_target(target, len(image_model.labels), image_model.labels)
    with torch.enable_grad():
        (grad,) = torch.autograd.grad(image_model.model(points)[:, target].sum(), points)
    return grad


def problem2_smoothgrad(my_smoothgrad, image_model, x, target, n_samples=2, noise_level=0.15):
    """Problem 2a: ``my_smoothgrad(image_model, x, target, n_samples, noise_level, seed)`` -> 1x3xHxW.

    Compared with ``xh.smoothgrad(..., batch_size=n_samples, seed=seed)`` (same seeded noise), then
    tested for the classic mistakes: absolute sigma, no seed, sum instead of mean, |gradient| averaged.
    """
    import xai_helpers as xh
    label = "Problem 2a"
    if not callable(my_smoothgrad):
        _fail(label, f"expected your function, got {type(my_smoothgrad).__name__}.")
    start = time.perf_counter()
    got = my_smoothgrad(image_model, x, target, n_samples=n_samples, noise_level=noise_level, seed=0)
    if got is None:
        raise NotAnsweredYet(f"{label}: my_smoothgrad returned None -- return the averaged gradient.")
    if not isinstance(got, torch.Tensor):
        _fail(label, f"my_smoothgrad should return a torch.Tensor, got {type(got).__name__}.")
    if tuple(got.shape) != tuple(x.shape):
        _fail(label, f"my_smoothgrad returned shape {tuple(got.shape)}; expected the input's shape "
                     f"{tuple(x.shape)} (signed gradient, channels kept, batch dimension 1).")
    again = my_smoothgrad(image_model, x, target, n_samples=n_samples, noise_level=noise_level, seed=0)
    if not torch.equal(got.detach().cpu(), again.detach().cpu()):
        _fail(label, f"two calls with seed=0 gave different maps (they differ by "
                     f"{relative_difference(got, again):.0%}): the noise is not seeded. Draw it from "
                     "torch.Generator().manual_seed(seed).")
    other = my_smoothgrad(image_model, x, target, n_samples=n_samples, noise_level=noise_level, seed=1)
    if torch.equal(got.detach().cpu(), other.detach().cpu()):
        _fail(label, "seed=0 and seed=1 gave the same map: the seed argument is ignored (or no noise is added).")
    seconds = (time.perf_counter() - start) / 3
    ref = xh.smoothgrad(image_model, x, target, n_samples=n_samples, noise_level=noise_level,
                        batch_size=n_samples, seed=0)
    if _close(got, ref, 1e-3):
        _ok(label, f"equals xh.smoothgrad with the same seed (n_samples={n_samples}, noise level "
                   f"{noise_level:.0%} of the input range); seeded; {seconds:.2f} s per call here.")
        return True
    sigma = xh.noise_sigma(x, noise_level)
    grads = _noisy_gradients(image_model, x, target, n_samples, sigma, 0)
    if _close(got, grads.sum(0, keepdim=True), 1e-3):
        _fail(label, f"your map is {n_samples} times too large: it sums the gradients instead of averaging them.")
    if _close(got, grads.abs().mean(0, keepdim=True), 1e-3):
        _fail(label, "your map averages |gradient| (all values >= 0). SmoothGrad averages the signed gradients; "
                     "take magnitudes only afterwards, when you draw the map.")
    absolute = _noisy_gradients(image_model, x, target, n_samples, noise_level, 0).mean(0, keepdim=True)
    if _close(got, absolute, 1e-3):
        _fail(label, f"your noise has standard deviation {noise_level} in the model's input units: an absolute "
                     f"sigma. The noise level is relative to the input's range: sigma = noise_level x "
                     f"(x.max() - x.min()) = {sigma:.3g} here.")
    if (got >= 0).all():
        _fail(label, "your map has no negative values; SmoothGrad averages signed gradients.")
    _fail(label, f"your map differs from the reference by {relative_difference(got, ref):.0%} (relative L2). "
                 "Check: noise drawn at once as torch.randn((n_samples, *x.shape[1:]), generator=...) times sigma; "
                 "gradient of the target's logit (not the probability) with respect to each noisy copy; the mean "
                 "over the copies.")


def problem2_experiment(results):
    """Problem 2b: ``results[n] = {"seconds": float, "maps": (map_seed0, map_seed1), "difference": float}``;
    maps are the signed SmoothGrad attributions, difference is ``rms_difference`` of the two."""
    label = "Problem 2b"
    _require(results, label, "results")
    ns = sorted(results)
    if len(ns) < 3:
        _fail(label, f"use at least three values of n_samples; got {ns}.")
    for n in ns:
        r = results[n]
        for key in ("seconds", "maps", "difference"):
            if key not in r or r[key] is None:
                raise NotAnsweredYet(f"{label}: results[{n}][{key!r}] is missing.")
        m0, m1 = r["maps"]
        if torch.equal(torch.as_tensor(_np(m0)), torch.as_tensor(_np(m1))):
            _fail(label, f"for n_samples={n} the two seeds gave identical maps: pass seed=0 and seed=1.")
        if (_np(m0) >= 0).all() and (_np(m1) >= 0).all():
            _fail(label, f"the maps for n_samples={n} have no negative values: store the signed SmoothGrad maps "
                         "(what my_smoothgrad returns), not |values|.")
        d = rms_difference(m0, m1)
        if not math.isclose(float(r["difference"]), d, rel_tol=0.01, abs_tol=1e-12):
            _fail(label, f"results[{n}]['difference'] = {float(r['difference']):.4g} is not "
                         "check.rms_difference(map_seed0, map_seed1) of the maps you stored.")
        if not float(r["seconds"]) > 0:
            _fail(label, f"results[{n}]['seconds'] must be a measured duration (> 0), got {r['seconds']!r}.")
    diffs = [float(results[n]["difference"]) for n in ns]
    if not all(b < a for a, b in zip(diffs, diffs[1:])):
        _fail(label, f"the seed-to-seed difference does not shrink as n_samples grows ({diffs}); is n_samples "
                     "passed through to your function?")
    if not float(results[ns[-1]]["seconds"]) > float(results[ns[0]]["seconds"]):
        _fail(label, f"{ns[-1]} samples took no longer than {ns[0]}: time the SmoothGrad call itself "
                     "(time.perf_counter() just before and after it).")
    _ok(label, f"{len(ns)} sample sizes, timings measured, seed-to-seed differences consistent with your maps "
               "and shrinking with n.")
    return True


# --- Problem 3 ---------------------------------------------------------------------------------------
def problem3_baselines(build_baselines, image_model, x):
    """Problem 3a: ``build_baselines(image_model, x, seed=0)`` -> {"black", "white", "blur", "noise"} of
    normalised tensors Kx3xHxW (K = 1, or several noise draws), built in pixel space."""
    label = "Problem 3a"
    if not callable(build_baselines):
        _fail(label, f"expected your function build_baselines, got {type(build_baselines).__name__}.")
    got = build_baselines(image_model, x, seed=0)
    _require(got, label, "the dictionary of baselines")
    missing = [k for k in ("black", "white", "blur", "noise") if k not in got]
    if missing:
        _fail(label, f"missing baselines {missing}; the keys must be 'black', 'white', 'blur', 'noise'.")
    pixels_x = image_model.denormalize(x.detach())
    pix = {}
    for name, b in got.items():
        if not isinstance(b, torch.Tensor):
            _fail(label, f"baseline {name!r} should be a torch.Tensor, got {type(b).__name__}.")
        if b.dim() != 4 or tuple(b.shape[1:]) != tuple(x.shape[1:]):
            _fail(label, f"baseline {name!r} has shape {tuple(b.shape)}; expected K x {tuple(x.shape[1:])} (like x).")
        pix[name] = image_model.denormalize(b.detach().to(x.device))
    for name, value in (("black", 0.0), ("white", 1.0)):
        p = pix[name]
        if torch.allclose(p, torch.full_like(p, value), atol=2e-3):
            continue
        if torch.allclose(got[name], torch.full_like(got[name], value), atol=1e-6):
            rgb = tuple(round(255 * min(1.0, max(0.0, m + value * s)))
                        for m, s in zip(image_model.mean, image_model.std))
            _fail(label, f"your {name!r} baseline is all {value:g}s in the model's normalised space. Undo the "
                         f"normalisation and look: that is the colour RGB {rgb}"
                         f"{' (the normalisation mean, a grey)' if value == 0 else ''}, not {name}. Build the image "
                         f"in pixel space ({value:g} = {name}), then normalise it.")
        _fail(label, f"your {name!r} baseline, back in pixel space, has values in [{p.min():.3f}, "
                     f"{p.max():.3f}]; a {name} image has every pixel equal to {value:g}.")
    blur = pix["blur"]
    if blur.shape[0] != 1:
        _fail(label, f"the 'blur' baseline should be one image (1 x 3 x H x W), got {tuple(blur.shape)}.")
    if blur.min() < -2e-3 or blur.max() > 1 + 2e-3:
        _fail(label, f"the blurred image has pixel values in [{blur.min():.3f}, {blur.max():.3f}], outside [0, 1].")
    rough_x, rough_b = roughness(pixels_x[0].mean(0)), roughness(blur[0].mean(0))
    if torch.allclose(blur, pixels_x, atol=1e-3):
        _fail(label, "the 'blur' baseline is the photo itself; blur it (a Gaussian with sigma of several pixels).")
    if float(blur.std(dim=(2, 3)).max()) < 1e-3:
        _fail(label, "the 'blur' baseline is a uniform image; blur the photo so that coarse shapes remain.")
    if rough_b > 0.25 * rough_x:
        _fail(label, f"the 'blur' baseline is still sharp: its roughness is {rough_b / rough_x:.0%} of the photo's. "
                     "Use a larger sigma (about 5-20 pixels on the 224-pixel image) and a kernel of at least "
                     "6 sigma + 1 pixels.")
    if _pearson(blur[0].mean(0), pixels_x[0].mean(0)) < 0.3:
        _fail(label, "the 'blur' baseline does not resemble the photo's coarse layout: blur x's own pixels (the "
                     "224-pixel image the model sees), not another image.")
    noise = pix["noise"]
    if noise.min() < -2e-3 or noise.max() > 1 + 2e-3:
        _fail(label, f"the noise baseline has pixel values in [{noise.min():.2f}, {noise.max():.2f}]: Gaussian noise "
                     "drawn in the normalised space is not an image. Draw uniform pixels in [0, 1], then normalise.")
    again = build_baselines(image_model, x, seed=0)["noise"]
    if not torch.equal(again.cpu(), got["noise"].cpu()):
        _fail(label, "two calls with seed=0 gave different noise baselines: seed the generator with seed.")
    if torch.equal(build_baselines(image_model, x, seed=1)["noise"].cpu(), got["noise"].cpu()):
        _fail(label, "seed=0 and seed=1 gave the same noise: the seed argument is ignored.")
    if float(noise.std()) < 0.1:
        _fail(label, "the noise baseline hardly varies; draw each pixel uniformly in [0, 1].")
    _ok(label, f"black and white are black and white in pixel space, the blur keeps the layout "
               f"(roughness {rough_b / rough_x:.0%} of the photo's), the noise ({noise.shape[0]} draw(s)) lies in "
               "[0, 1] and is seeded.")
    return True


# --- Problem 4 ---------------------------------------------------------------------------------------
_SPECIAL = ("[CLS]", "[SEP]", "[PAD]", "<s>", "</s>")


def _reference_most_attended(matrix, tokens, exclude_self, exclude_special):
    m = _np(matrix)
    special = np.array([t in _SPECIAL for t in tokens])
    out = []
    for i in range(len(tokens)):
        if special[i]:
            continue
        w = m[i].astype(np.float64).copy()
        if exclude_special:
            w[special] = -np.inf
        if exclude_self:
            w[i] = -np.inf
        out.append((i, int(np.argmax(w))))
    return out


def _as_pairs(result, label):
    try:
        return [(int(q), int(k)) for q, k, *_ in result]
    except (TypeError, ValueError):
        _fail(label, "most_attended_token should return a list of (query_position, key_position, weight) tuples.")


def problem4_most_attended(most_attended_token, matrix, tokens):
    """Problem 4a: ``most_attended_token(matrix, tokens, exclude_self, exclude_special)`` -> list of
    ``(query_position, key_position, weight)`` for every query token that is not [CLS]/[SEP]."""
    label = "Problem 4a"
    if not callable(most_attended_token):
        _fail(label, f"expected your function, got {type(most_attended_token).__name__}.")
    tokens = list(tokens)
    special = [i for i, t in enumerate(tokens) if t in _SPECIAL]
    settings = [(False, False), (True, False), (True, True)]
    generator = np.random.default_rng(0)
    random_matrix = generator.dirichlet(np.ones(len(tokens)) * 0.5, size=len(tokens))
    # a matrix in which every query looks mostly at [CLS], then at itself, then elsewhere
    cls_heavy = generator.dirichlet(np.ones(len(tokens)), size=len(tokens)) * 0.2
    for i in range(len(tokens)):
        cls_heavy[i, special[0] if special else 0] += 0.5
        cls_heavy[i, i] += 0.3
    cls_heavy /= cls_heavy.sum(1, keepdims=True)
    for name, m in (("your sentence's attention", matrix), ("a random attention matrix", random_matrix),
                    ("a matrix where every token looks mostly at [CLS]", cls_heavy)):
        for exclude_self, exclude_special in settings:
            result = most_attended_token(torch.as_tensor(_np(m)), tokens, exclude_self=exclude_self,
                                         exclude_special=exclude_special)
            if result is None:
                raise NotAnsweredYet(f"{label}: most_attended_token returned None.")
            got = _as_pairs(result, label)
            ref = _reference_most_attended(m, tokens, exclude_self, exclude_special)
            if got == ref:
                continue
            flags = f"exclude_self={exclude_self}, exclude_special={exclude_special}"
            if [q for q, _ in got] != [q for q, _ in ref]:
                _fail(label, f"with {flags} on {name}, the query positions are {[q for q, _ in got]}; expected one "
                             "row per token that is not [CLS]/[SEP], in sentence order.")
            if exclude_special and any(k in special for _, k in got):
                _fail(label, f"with {flags} on {name}, some tokens still 'attend most' to [CLS]/[SEP]. Exclude the "
                             "special tokens as candidates (set their weights to -inf before argmax).")
            if exclude_self and any(q == k for q, k in got):
                _fail(label, f"with {flags} on {name}, a token is its own most-attended token. Exclude the diagonal.")
            if name != "your sentence's attention":
                _fail(label, f"with {flags}, your function is right on your sentence but wrong on {name}: does it "
                             "use the matrix it is given, or answers typed in for one sentence?")
            _fail(label, f"with {flags}, the most-attended key differs for query positions "
                         f"{[q for (q, k), (_, r) in zip(got, ref) if k != r]}: take the argmax of that query's row "
                         "(row = query, column = key).")
    _ok(label, "most-attended tokens right in all three settings, also on two other attention matrices "
               "(so they are computed, not typed in).")
    return True


def problem4_special_share(special_share, attentions, tokens):
    """Problem 4b: ``special_share[l]`` = attention mass on [CLS] + [SEP] in layer l, averaged over heads
    and over all query positions (Clark et al. 2019)."""
    label = "Problem 4b"
    _require(special_share, label, "special_share")
    a = _np(attentions)
    tokens = list(tokens)
    special = np.array([t in _SPECIAL for t in tokens])
    got = _np(special_share).ravel()
    if got.shape != (a.shape[0],):
        _fail(label, f"special_share should have one value per layer ({a.shape[0]}), got shape {got.shape}.")
    ref = a[..., special].sum(-1).mean(axis=(1, 2))
    if np.allclose(got, ref, atol=1e-4):
        _ok(label, f"share of attention on [CLS]/[SEP] per layer right ({a.shape[0]} layers; uniform attention "
                   f"would give {special.mean():.2f}).")
        return True
    for only in ("[CLS]", "[SEP]"):
        mask = np.array([t == only for t in tokens])
        if np.allclose(got, a[..., mask].sum(-1).mean(axis=(1, 2)), atol=1e-4):
            _fail(label, f"you counted only {only}; add the attention on both special tokens.")
    if np.allclose(got, a[..., special].mean(-1).mean(axis=(1, 2)), atol=1e-4):
        _fail(label, "you averaged over the special keys; the share is the sum of the weights on [CLS] and [SEP].")
    if np.allclose(got, a[:, :, ~special][..., special].sum(-1).mean(axis=(1, 2)), atol=1e-4):
        _fail(label, "you left out the special tokens as queries; average over all query positions.")
    if got.max() > 1 + 1e-6 or got.min() < 0:
        _fail(label, f"a share lies in [0, 1]; yours ranges over [{got.min():.2f}, {got.max():.2f}].")
    _fail(label, "special_share differs from the mass on [CLS] + [SEP] per layer, averaged over heads and queries.")


# --- Problem 5 ---------------------------------------------------------------------------------------
_P5_KEYS = ("predicted_index", "predicted_label", "predicted_probability", "true_index", "true_label",
            "true_probability", "true_rank")


def _reference_numbers(image_model, x, true_class):
    from ._checks import resolve_target
    probs = _logits(image_model, x).softmax(-1)
    t = resolve_target(true_class, len(probs), image_model.labels)
    p = int(probs.argmax())
    return dict(predicted_index=p, predicted_label=image_model.labels[p], predicted_probability=float(probs[p]),
                true_index=t, true_label=image_model.labels[t], true_probability=float(probs[t]),
                true_rank=int((probs > probs[t]).sum()) + 1)


def _compare_numbers(got, ref, label, where):
    missing = [k for k in _P5_KEYS if k not in got]
    if missing:
        _fail(label, f"the result has no {missing}; expected keys {list(_P5_KEYS)}.")
    for k in ("predicted_index", "true_index"):
        if int(got[k]) != ref[k]:
            _fail(label, f"{k} is {got[k]} {where}; it should be the index in the model's 1000 classes.")
    for k in ("predicted_label", "true_label"):
        if got[k] != ref[k]:
            _fail(label, f"{k} is {got[k]!r} {where}: use the model's own full class name, "
                         "image_model.labels[index], not a short name or a label dictionary of your own.")
    for k in ("predicted_probability", "true_probability"):
        g, r = float(got[k]), ref[k]
        if math.isclose(g, 100 * r, rel_tol=1e-3):
            _fail(label, f"{k} looks like a percentage; store a probability in [0, 1] and format it with :.1%.")
        if not math.isclose(g, r, rel_tol=1e-3, abs_tol=1e-6):
            _fail(label, f"{k} is {g:.4g} {where}, but the softmax over the model's logits gives another "
                         "value. A probability needs softmax over all 1000 logits.")
    if int(got["true_rank"]) == ref["true_rank"] - 1:
        _fail(label, f"true_rank is off by one {where}: the top-1 class has rank 1.")
    if int(got["true_rank"]) != ref["true_rank"]:
        _fail(label, f"true_rank is {got['true_rank']} {where}; it is 1 + the number of classes more probable "
                     "than the true one.")


def problem5_numbers(misclassification_numbers, image_model, image, true_class, other=("squirrel", "fox squirrel")):
    """Problem 5a: ``misclassification_numbers(image_model, x, true_class)`` -> dict with the predicted and
    the true class (index, full label, probability) and the true class's rank. Also run on ``other``
    (a second photo and its class) to catch numbers typed in for one photo."""
    label = "Problem 5a"
    if not callable(misclassification_numbers):
        _fail(label, f"expected your function, got {type(misclassification_numbers).__name__}.")
    for photo, cls in ((image, true_class), other):
        x = image_model.preprocess(photo) if isinstance(photo, str) else photo
        got = misclassification_numbers(image_model, x, cls)
        if got is None:
            raise NotAnsweredYet(f"{label}: misclassification_numbers returned None.")
        where = "for this photo" if photo is image else (f"for another photo ({photo!r}, true class {cls!r}) -- "
                                                          "are the numbers computed, or typed in?")
        _compare_numbers(got, _reference_numbers(image_model, x, cls), label, where)
    _ok(label, "predicted and true class, probabilities and rank right, with full class names -- also on a "
               "second photo, so they are computed.")
    return True


def _rough_ig(image_model, x, baseline, target, alphas=(0.2, 0.5, 0.8)):
    """A cheap IG estimate (3 path points, one batch): enough to tell which baseline a map came from."""
    a = torch.tensor(alphas, dtype=x.dtype, device=x.device).view(-1, 1, 1, 1)
    points = (baseline + a * (x.detach() - baseline)).requires_grad_(True)
    with torch.enable_grad():
        (grad,) = torch.autograd.grad(image_model.model(points)[:, target].sum(), points)
    return (x.detach() - baseline) * grad.mean(0, keepdim=True)


def problem5_maps(image_model, x, cam_maps, ig_attributions, classes):
    """Problem 5b: ``cam_maps[c]`` Grad-CAM (HxW in [0, 1]) and ``ig_attributions[c]`` IG attributions
    (1x3xHxW, from a true-black baseline) for each class index ``c`` in ``classes``."""
    from .cam import grad_cam
    label = "Problem 5b"
    _require(cam_maps, label, "cam_maps")
    _require(ig_attributions, label, "ig_attributions")
    size = tuple(x.shape[-2:])
    black = image_model.normalize(torch.zeros_like(x))
    grey = torch.zeros_like(x)
    with torch.no_grad():
        scores = image_model.model(torch.cat([x.detach(), black])).float().cpu()
    refs = {c: _np(grad_cam(image_model, None, x, c)) for c in classes}
    for c in classes:
        name = image_model.labels[c]
        if c not in cam_maps or c not in ig_attributions:
            _fail(label, f"no entry for class {c} ({name!r}); use the class indices as keys.")
        m = _two_d(cam_maps[c], label, f"cam_maps[{c}]", size)
        if not _close(m, refs[c], 2e-3):
            if any(_close(m, refs[o], 2e-3) for o in classes if o != c):
                _fail(label, f"cam_maps[{c}] is the map of the other class: check target=.")
            _fail(label, f"cam_maps[{c}] differs from Grad-CAM for {name!r} at the model's target layer.")
        a = ig_attributions[c]
        if not isinstance(a, torch.Tensor) or tuple(a.shape) != tuple(x.shape):
            _fail(label, f"ig_attributions[{c}] should be the attribution tensor shaped like x {tuple(x.shape)} "
                         "(keep the channels; reduce only for the picture).")
        total = float(a.sum())
        to_black = float(scores[0, c] - scores[1, c])
        fit = {name: _pearson(a, _rough_ig(image_model, x, base, c)) for name, base in (("black", black), ("grey", grey))}
        if fit["grey"] > fit["black"]:
            _fail(label, f"the IG attributions for {name!r} look like IG from a baseline of zeros in the normalised "
                         f"space (correlation {fit['grey']:.2f} with a rough IG from that baseline, {fit['black']:.2f} "
                         "with one from black). Zeros in the normalised space are the normalisation's mean colour, a "
                         "grey. Build the black baseline in pixel space and normalise it.")
        if abs(total - to_black) > 0.5 * abs(to_black) + 0.5:
            _fail(label, f"the IG attributions for {name!r} add up to {total:.2f}, far from F(x) - F(black) = "
                         f"{to_black:.2f}: use the logit of that class, a black baseline and enough steps.")
    _ok(label, "Grad-CAM maps and IG attributions (true-black baseline, completeness within tolerance) for both "
               "classes.")
    return True


# --- written answers ---------------------------------------------------------------------------------
_NUMBER = re.compile(r"[-+]?\d+(?:[.,]\d+)?(?:[eE][-+]?\d+)?\s*%?")


def numbers_in(text):
    """All numbers written in ``text`` (a trailing % divides by 100)."""
    out = []
    for token in _NUMBER.findall(text):
        t = token.replace(",", ".").strip()
        percent = t.endswith("%")
        try:
            v = float(t.rstrip("%").strip())
        except ValueError:
            continue
        out.append(v / 100 if percent else v)
    return out


def _quoted(value, numbers):
    v = float(value)
    return any(math.isclose(n, v, rel_tol=0.06, abs_tol=0.006 if abs(v) < 1 else 0.0) for n in numbers)


def written_answer(text, problem, must_mention=(), measured=(), min_quoted=2):
    """Check a written answer: filled in, mentions the required aspects, quotes numbers from the run.

    ``must_mention``: words (or tuples of alternatives) the answer must contain; ``measured``: numbers
    the run produced, of which at least ``min_quoted`` must appear in the text (to about 5 %).
    """
    label = f"Problem {problem} (written answer)"
    if not isinstance(text, str) or not text.strip() or "..." in text or "YOUR ANSWER" in text.upper():
        raise NotAnsweredYet(f"{label}: the answer is still empty or the template (replace every '...').")
    lowered = text.lower()
    for word in must_mention:
        options = (word,) if isinstance(word, str) else tuple(word)
        if not any(o.lower() in lowered for o in options):
            _fail(label, f"the answer does not discuss {' / '.join(options)!r}, which the question asks about.")
    numbers = numbers_in(text)
    measured = [float(m) for m in measured if m is not None and np.isfinite(float(m))]
    quoted = [m for m in measured if _quoted(m, numbers)]
    if measured and len(quoted) < min(min_quoted, len(measured)):
        _fail(label, f"the answer quotes {len(quoted)} of the numbers your run measured; back each claim with at "
                     f"least {min(min_quoted, len(measured))} of them (use an f-string, e.g. f'{{value:.2f}}').")
    _ok(label, f"filled in, covers {len(must_mention)} required aspect(s), quotes {len(quoted)} measured number(s).")
    return True
