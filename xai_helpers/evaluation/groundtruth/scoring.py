"""Attribution maps of the ground-truth CNNs and their scores against the boxes of the digit and the mark."""
import math
import time
from dataclasses import dataclass, field

import torch
import torchvision.transforms.functional as TF
from torch import nn
import pandas as pd

from ..._validate import eval_mode
from ...digits import CANVAS
from ...methods.registry import CAM, CONTROL, PATH, PIXEL, get_method, method_names
from .cnn import DigitCNN, _device_of
from .scenes import _check_classes, _check_images, _threads

__all__ = ["SCORED_METHODS", "CONTROLS", "attribution_maps", "AttributionMaps", "box_masks", "mass_in_boxes",
           "pointing_hits", "score_maps", "method_table", "SCENE_POINTING_TOLERANCE", "SCENE_BLUR_SIGMA"]

#: Settings of the attribution methods on these 48x48 scenes. IG_STEPS: Gauss-Legendre points for a
#: completeness error |delta| / |F(x) - F(x')| <= 5 % on every one of the 200 scored scenes, black and
#: blurred baselines, all four lesson CNNs, with a margin: worst scene 4.9 % at 8 points, 6.4 % at 10,
#: 1.5 % at 12 (``tools/train_groundtruth_cnns.py --measure-ig``, which runs bench/ig.py's step search).
IG_STEPS, SMOOTHGRAD_SAMPLES, NOISE_LEVEL = 12, 12, 0.15
#: Standard deviation in pixels of the Gaussian of the "blur" baseline on the 48-px scenes (the photos' 224-px
#: baseline uses ``methods.integrated.BLUR_SIGMA``).
SCENE_BLUR_SIGMA = 3.0
#: Registry keys of the methods scored on the scenes: every model-based method with IG from both baselines
#: (plain ``integrated_gradients`` is ``integrated_gradients_black``), then the controls.
SCORED_METHODS = tuple(m for m in method_names((PIXEL, PATH, CAM, CONTROL)) if m != "integrated_gradients")
CONTROLS = method_names(kinds=(CONTROL,))
#: Pointing-game tolerance in pixels on the 48-px scenes: Zhang et al. (2016) count a hit within 15 px at 224 px
#: (``evaluation.pointing.POINTING_TOLERANCE``); scaled to 48 px.
SCENE_POINTING_TOLERANCE = 3


# --- attribution maps for many scenes at once ------------------------------------------------------------
class _SceneSum(nn.Module):
    """B scenes presented to a helper as ONE example ``[1, B, H, W]`` whose score is sum_i logit_i[target_i].

    The helpers (``xh.vanilla_gradients``, ``smoothgrad``, ``integrated_gradients`` ...) explain one example;
    the scenes do not interact in an eval-mode CNN, so the gradient of the summed score w.r.t. scene i is the
    gradient of scene i's own target logit: one call explains B scenes, each for its own target. Copies
    along the helper's batch dimension (noisy samples, path points) stay separate: output [k, 1].
    """

    def __init__(self, net, targets):
        super().__init__()
        self.net = net
        self.register_buffer("targets", targets.view(1, -1, 1), persistent=False)

    def forward(self, x):
        k, b = x.shape[:2]
        logits = self.net(x.reshape(k * b, 1, *x.shape[2:])).view(k, b, -1)
        return logits.gather(2, self.targets.expand(k, b, 1)).sum(1)


def _blurred(images, sigma):
    kernel = 2 * math.ceil(3 * sigma) + 1          # >= 6 sigma + 1 taps (as xh.make_baseline)
    return TF.gaussian_blur(images, [kernel, kernel], [sigma, sigma])


@dataclass(eq=False)
class AttributionMaps:
    """``maps[method]`` [N, 48, 48] on the CPU, |attribution| (or the CAM, >= 0): where each method puts
    importance; ``ig_error[baseline]`` [N]: IG's relative completeness error per scene,
    |sum(attr) - (F(x) - F(x'))| / |F(x) - F(x')|; ``seconds[method]``: compute time."""
    maps: dict
    targets: torch.Tensor
    ig_error: dict = field(default_factory=dict)
    seconds: dict = field(default_factory=dict)


def attribution_maps(model, images, targets, methods=SCORED_METHODS, *, n_steps=IG_STEPS,
                     n_samples=SMOOTHGRAD_SAMPLES, noise_level=NOISE_LEVEL, blur_sigma=SCENE_BLUR_SIGMA,
                     ig_method="gausslegendre", chunk=64, per_pass=256, threads=1, seed=0):
    """Every method's map for every scene, each explaining the scene's own ``targets[i]`` -> ``AttributionMaps``.

    Uses the package's helpers: ``vanilla_gradients``, ``gradient_x_input``, ``smoothgrad`` (``noise_level`` of
    the input range, seeded), ``integrated_gradients`` (Gauss-Legendre, ``n_steps`` points, from black =
    pixel 0 and from the scene blurred with ``blur_sigma`` px), ``grad_cam`` and ``grad_cam_plus_plus`` at
    ``block3`` (upsampled to 48x48), and the controls ``random_map`` (seed = scene index) and ``edge_map``
    (Sobel) of ``methods.controls``; ``methods``: registry keys (``SCORED_METHODS``). Gradient methods run
    ``chunk`` scenes per call (``_SceneSum``),
    ``per_pass`` images per forward/backward pass. ``threads``: torch threads while this runs (restored after;
    None = leave as is): this CNN's passes are too small to split across cores, one thread is the fastest on
    2 CPU cores (bench/RESULTS.md). Signed maps are returned as |map|: the scores ask where a method puts
    weight, for or against.
    """
    images = _check_images(images)
    targets = _check_classes(targets, len(images))
    methods = [get_method(m) for m in methods]     # an unknown name: ValueError listing the registered ones
    settings = {"n_steps": n_steps, "n_samples": n_samples, "noise_level": noise_level, "method": ig_method}
    with _threads(threads), eval_mode(model):        # a model left in train mode: warned, evaluated, restored
        return _attribution_maps(model, images, targets, methods, settings, blur_sigma, chunk, per_pass, seed)


def _attribution_maps(model, images, targets, methods, settings, blur_sigma, chunk, per_pass, seed):
    device = _device_of(model)
    result = AttributionMaps({m.name: [] for m in methods}, targets)
    result.seconds = {m.name: 0.0 for m in methods}
    for start in range(0, len(images), chunk):
        x = images[start:start + chunk].to(device)
        t = targets[start:start + chunk]
        batch = dict(settings, batch_size=max(1, per_pass // len(t)), seed=seed + start)
        for method in methods:
            clock = time.perf_counter()
            m = _scene_maps(method, model, x, t, batch, blur_sigma, result.ig_error)
            result.maps[method.name].append(m.detach().abs().float().cpu())
            result.seconds[method.name] += time.perf_counter() - clock
    result.maps = {k: torch.cat(v) for k, v in result.maps.items()}
    result.ig_error = {k: torch.cat(v) for k, v in result.ig_error.items()}
    return result


def _scene_maps(method, model, x, t, settings, blur_sigma, ig_error):
    """One method's maps of the scenes ``x`` [B, 1, H, W] for their targets ``t`` -> [B, H, W]; a path method
    also appends its completeness errors to ``ig_error[baseline]``."""
    if method.kind == CAM:
        return torch.stack([method.function(model, x[i:i + 1], int(t[i]), layer=DigitCNN.target_layer)
                            for i in range(len(t))])
    if method.kind == CONTROL:
        return torch.stack([method.function(None, x[i:i + 1], None, **method.settings(seed=settings["seed"] + i))
                            for i in range(len(t))])
    joint = _SceneSum(model, t.to(x.device)).train(model.training)
    xj = x.transpose(0, 1)                                  # [1, B, H, W]: the scenes as one example
    if method.kind != PATH:
        return method.function(joint, xj, 0, **method.settings(**settings))[0]
    name = method.settings()["baseline"]
    if name not in ("black", "blur"):
        raise ValueError(f"On the scenes IG starts from black (pixel 0) or a blur; {method.name} uses {name!r}.")
    base = torch.zeros_like(xj) if name == "black" else _blurred(x, blur_sigma).transpose(0, 1)
    attributions, _ = method.function(joint, xj, 0, **{**method.settings(**settings), "baseline": base})
    m = attributions[0]
    with torch.no_grad():
        both = model(torch.cat([x, base.transpose(0, 1)]))
        scores = both.gather(1, t.to(x.device).repeat(2)[:, None])[:, 0]
        diff = scores[:len(t)] - scores[len(t):]
    ig_error.setdefault(name, []).append(((m.sum((1, 2)) - diff).abs() / diff.abs().clamp_min(1e-12)).cpu())
    return m


# --- scores ------------------------------------------------------------------------------------------------
def box_masks(boxes, size=CANVAS):
    """[N, 4] boxes (top, left, bottom, right; bottom/right exclusive) -> [N, size, size] boolean masks."""
    boxes = torch.as_tensor(boxes).view(-1, 4)
    r = torch.arange(size)
    rows = (r >= boxes[:, :1]) & (r < boxes[:, 2:3])
    cols = (r >= boxes[:, 1:2]) & (r < boxes[:, 3:4])
    return rows[:, :, None] & cols[:, None, :]


def _check_maps(maps, n=None):
    m = torch.as_tensor(maps).detach().float().cpu()
    if m.dim() != 3 or tuple(m.shape[1:]) != (CANVAS, CANVAS) or (n is not None and len(m) != n):
        raise ValueError(f"maps must be N x {CANVAS} x {CANVAS} (one map per scene{f', N = {n}' if n else ''}); "
                         f"got {tuple(m.shape)}.")
    if (m < 0).any():
        raise ValueError("maps must be non-negative importances: pass |attribution| (attribution.abs()).")
    return m


def mass_in_boxes(maps, boxes):
    """Share of each map's total mass inside its box -> [N] (0 for an all-zero map)."""
    m = _check_maps(maps, len(torch.as_tensor(boxes).view(-1, 4)))
    inside = (m * box_masks(boxes)).sum((1, 2))
    return inside / m.sum((1, 2)).clamp_min(1e-30)


def pointing_hits(maps, boxes, tolerance=0):
    """Pointing game (Zhang et al. 2016): is each map's maximum inside its box grown by ``tolerance`` pixels?
    -> bool [N]. A flat map points nowhere (a miss)."""
    boxes = torch.as_tensor(boxes).view(-1, 4)
    m = _check_maps(maps, len(boxes))
    flat = m.flatten(1)
    grown = (boxes + torch.tensor([-1, -1, 1, 1]) * int(tolerance)).clamp(0, CANVAS)
    hit = box_masks(grown).flatten(1).gather(1, flat.argmax(1)[:, None])[:, 0]
    return hit & (flat.max(1).values > flat.min(1).values)


def score_maps(result, scenes):
    """Score every method's maps against the known boxes -> pandas DataFrame, one row per method.

    Columns: share of the map's mass on the digit's box, the chance share (the box's share of the pixels)
    and their ratio, and the pointing-game hit rate on the digit. For scenes that carry the mark, also the
    mass on the mark (chance: 16 of 2,304 pixels), its ratio to chance, mass on the mark / mass on the digit,
    and how often the map's maximum is on the mark.
    """
    with _threads(1):
        return _score_maps(result.maps if isinstance(result, AttributionMaps) else result, scenes)


def _score_maps(maps, scenes):
    digit_chance = box_masks(scenes.boxes).float().mean((1, 2)).mean().item()
    marked = scenes.mark_classes >= 0
    rows = {}
    for name, m in maps.items():
        on_digit = mass_in_boxes(m, scenes.boxes)
        row = {"mass on digit": on_digit.mean().item(), "chance (digit)": digit_chance,
               "digit / chance": on_digit.mean().item() / digit_chance,
               "pointing game (digit)": pointing_hits(m, scenes.boxes, SCENE_POINTING_TOLERANCE).float().mean().item()}
        if marked.any():
            mark_boxes = scenes.mark_boxes[marked]
            mark_chance = box_masks(mark_boxes).float().mean((1, 2)).mean().item()
            on_mark = mass_in_boxes(m[marked], mark_boxes)
            row.update({"mass on mark": on_mark.mean().item(), "mark / chance": on_mark.mean().item() / mark_chance,
                        "mark / digit": on_mark.mean().item() / max(on_digit[marked].mean().item(), 1e-12),
                        "pointing game (mark)":
                            pointing_hits(m[marked], mark_boxes, SCENE_POINTING_TOLERANCE).float().mean().item()})
        rows[name] = row
    return pd.DataFrame(rows).T


def method_table(model, scenes, methods=SCORED_METHODS, **kwargs):
    """``attribution_maps`` for the scenes' true classes, scored with ``score_maps`` -> (DataFrame, AttributionMaps)."""
    result = attribution_maps(model, scenes.images, scenes.labels, methods, **kwargs)
    return score_maps(result, scenes), result


