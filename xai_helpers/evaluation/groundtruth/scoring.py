"""Attribution maps of the ground-truth CNNs and their scores against the boxes of the digit and the mark."""
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pandas as pd
import torch
from torch import nn

from ..._typecheck import checked
from ..._validate import check_count, eval_mode, readable_tensor
from ...digits import CANVAS
from ...methods.registry import CAM, CONTROL, PATH, PIXEL, get_method, method_names
from ...viz.plotting import ArrayLike
from .cnn import DigitCNN, _device_of, _reads_scenes
from .scenes import Scenes, _check_classes, _check_images, _threads

__all__ = ["SCORED_METHODS", "CONTROLS", "attribution_maps", "AttributionMaps", "box_masks", "mass_in_boxes",
           "mark_scores", "pointing_hits", "score_maps", "method_table", "SCENE_POINTING_TOLERANCE",
           "SCENE_BLUR_SIGMA", "CAM_CELL"]

#: Settings of the attribution methods on these 48x48 scenes. IG_STEPS: Gauss-Legendre points for a
#: completeness error |delta| / |F(x) - F(x')| <= 5 % on every one of the 200 scored scenes, black and
#: blurred baselines, all four lesson CNNs, with a margin: worst scene 4.9 % at 8 points, 6.4 % at 10,
#: 1.5 % at 12 (``tools/train_groundtruth_cnns.py --measure-ig``, which runs bench/ig.py's step search).
IG_STEPS: int = 12
#: SmoothGrad's noisy samples per scene.
SMOOTHGRAD_SAMPLES: int = 12
#: SmoothGrad's noise sigma, as a share of each scene's range.
NOISE_LEVEL: float = 0.15
#: Standard deviation in pixels of the Gaussian of the "blur" baseline on the 48-px scenes (the photos' 224-px
#: baseline uses ``methods.integrated.BLUR_SIGMA``).
SCENE_BLUR_SIGMA: float = 3.0
#: Registry keys of the methods scored on the scenes: every model-based method with IG from both baselines
#: (plain ``integrated_gradients`` is ``integrated_gradients_black``), then the controls.
SCORED_METHODS: tuple[str, ...] = tuple(m for m in method_names((PIXEL, PATH, CAM, CONTROL))
                                        if m != "integrated_gradients")
#: Registry keys of the control maps among them (they ignore the model): drawn dashed in the figures.
CONTROLS: tuple[str, ...] = method_names(kinds=(CONTROL,))
#: Pointing-game tolerance in pixels on the 48-px scenes: Zhang et al. (2016) count a hit within 15 px at 224 px
#: (``evaluation.pointing.POINTING_TOLERANCE``); scaled to 48 px.
SCENE_POINTING_TOLERANCE: int = 3
#: Side in pixels of one cell of Grad-CAM's 12x12 grid at ``block3`` on the 48-px scenes: the resolution at which
#: the mark is scored so that a coarse map is not penalised for spreading its mass inside a cell.
CAM_CELL: int = CANVAS // 12


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
    import torchvision.transforms.functional as TF  # torchvision pulls in torch._dynamo, ~170 MB: load it when used
    kernel = 2 * math.ceil(3 * sigma) + 1          # >= 6 sigma + 1 taps (as xh.make_baseline)
    return TF.gaussian_blur(images, [kernel, kernel], [sigma, sigma])


@dataclass(eq=False)
class AttributionMaps:
    """Every method's maps of the scenes (``attribution_maps``, taught in 4.5).

    Args:
        maps: ``maps[method]`` [N, 48, 48] on the CPU, |attribution| (or the CAM, >= 0): where each method puts
            importance.
        targets: [N] the class each scene's maps explain.
        ig_error: ``ig_error[baseline]`` [N]: IG's relative completeness error per scene,
            |sum(attr) - (F(x) - F(x'))| / |F(x) - F(x')|.
        seconds: ``seconds[method]``: compute time.

    Example:
        >>> import torch
        >>> from xai_helpers.evaluation.groundtruth import AttributionMaps
        >>> result = AttributionMaps(maps={"edge_map": torch.rand(2, 48, 48)}, targets=torch.tensor([3, 5]))
        >>> sorted(result.maps), result.ig_error
        (['edge_map'], {})
    """
    maps: dict
    targets: torch.Tensor
    ig_error: dict = field(default_factory=dict)
    seconds: dict = field(default_factory=dict)


@checked
def attribution_maps(model: nn.Module, images: torch.Tensor, targets: torch.Tensor | Sequence[int] | int,
                     methods: Sequence[str] = SCORED_METHODS, *, n_steps: int = IG_STEPS,
                     n_samples: int = SMOOTHGRAD_SAMPLES, noise_level: float = NOISE_LEVEL,
                     blur_sigma: float = SCENE_BLUR_SIGMA, ig_method: str = "gausslegendre", chunk: int = 64,
                     per_pass: int = 256, threads: int | None = 1, seed: int = 0) -> AttributionMaps:
    """Every method's map for every scene, each explaining the scene's own ``targets[i]`` (taught in 4.5).

    Uses the package's helpers: ``vanilla_gradients``, ``gradient_x_input``, ``smoothgrad``,
    ``integrated_gradients`` (from black = pixel 0 and from the scene blurred with ``blur_sigma`` px),
    ``grad_cam`` and ``grad_cam_plus_plus`` at ``block3`` (upsampled to 48x48), and the controls
    ``random_map`` (seed = scene index) and ``edge_map`` (Sobel). Gradient methods explain ``chunk`` scenes
    per call (their summed scores: the scenes do not interact in an eval-mode CNN). Signed maps are returned
    as |map|: the scores ask where a method puts weight, for or against.

    Args:
        model: A digit CNN (``load_digit_cnn()``).
        images: Scenes N x 1 x 48 x 48 in [0, 1].
        targets: One class per scene (or one for all).
        methods: Registry keys (``SCORED_METHODS``).
        n_steps: IG's Gauss-Legendre points.
        n_samples: SmoothGrad's noisy samples.
        noise_level: SmoothGrad's noise, a share of the input range.
        blur_sigma: Sigma in pixels of IG's blurred baseline.
        ig_method: IG's quadrature rule.
        chunk: Scenes per call of a gradient method.
        per_pass: Images per forward/backward pass.
        threads: Torch threads while this runs (restored after; ``None``: leave as is); one thread is the
            fastest for this small CNN on 2 CPU cores (bench/RESULTS.md).
        seed: Seed of SmoothGrad's noise and the random map.

    Returns:
        ``AttributionMaps``: maps[method] [N, 48, 48], targets, ig_error[baseline], seconds[method].

    Example:
        >>> from xai_helpers.evaluation.groundtruth import DigitCNN, attribution_maps, make_scenes
        >>> scenes = make_scenes(3)
        >>> result = attribution_maps(DigitCNN().eval(), scenes.images, scenes.labels, ["grad_cam", "edge_map"])
        >>> {name: tuple(m.shape) for name, m in result.maps.items()}, bool((result.maps["grad_cam"] >= 0).all())
        ({'grad_cam': (3, 48, 48), 'edge_map': (3, 48, 48)}, True)
    """
    images = _check_images(images)
    targets = _check_classes(targets, len(images))
    for name, value in (("n_steps", n_steps), ("n_samples", n_samples), ("chunk", chunk), ("per_pass", per_pass)):
        check_count(value, name)
    if not (noise_level >= 0 and blur_sigma > 0):
        raise ValueError(f"noise_level must be >= 0 and blur_sigma > 0; got {noise_level} and {blur_sigma}.")
    _reads_scenes(model, images)
    methods = _scored_methods(methods)
    settings = {"n_steps": n_steps, "n_samples": n_samples, "noise_level": noise_level, "method": ig_method}
    with _threads(threads), eval_mode(model):        # a model left in train mode: warned, evaluated, restored
        return _attribution_maps(model, images, targets, methods, settings, blur_sigma, chunk, per_pass, seed)


def _scored_methods(methods):
    """Registry keys -> the registry's methods; an unknown name or an empty list: ValueError naming ``methods``."""
    try:
        found = [get_method(m) for m in methods]
    except ValueError as err:
        raise ValueError(f"methods: {err}") from None
    if not found:
        raise ValueError(f"methods must name at least one method, e.g. {SCORED_METHODS[:2]}.")
    return found


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
def _boxes(boxes):
    b = readable_tensor(boxes, "boxes").cpu()
    if b.is_floating_point() and not torch.isfinite(b).all() or b.is_complex() or b.dtype == torch.bool:
        raise ValueError("boxes must hold finite pixel coordinates (top, left, bottom, right).")
    if b.numel() == 0 or b.shape[-1] != 4:
        raise ValueError(f"boxes must be [N, 4] = (top, left, bottom, right); got shape {tuple(b.shape)}.")
    return b.reshape(-1, 4)


@checked
def box_masks(boxes: ArrayLike | Sequence, size: int = CANVAS) -> torch.Tensor:
    """Boxes -> boolean masks of their pixels (taught in 4.5).

    Args:
        boxes: [N, 4] = (top, left, bottom, right); bottom/right exclusive.
        size: The side of the square scenes.

    Returns:
        [N, size, size] boolean masks, True inside each box.

    Example:
        >>> from xai_helpers.evaluation.groundtruth import box_masks
        >>> box_masks([[1, 0, 3, 2]], size=4).int()
        tensor([[[0, 0, 0, 0],
                 [1, 1, 0, 0],
                 [1, 1, 0, 0],
                 [0, 0, 0, 0]]], dtype=torch.int32)
    """
    boxes = _boxes(boxes)
    r = torch.arange(check_count(size, "size"))
    rows = (r >= boxes[:, :1]) & (r < boxes[:, 2:3])
    cols = (r >= boxes[:, 1:2]) & (r < boxes[:, 3:4])
    return rows[:, :, None] & cols[:, None, :]


def _check_maps(maps, n=None, name="maps"):
    m = readable_tensor(maps, name).float().cpu()
    if m.dim() != 3 or tuple(m.shape[1:]) != (CANVAS, CANVAS) or (n is not None and len(m) != n):
        count = f", as many as boxes: N = {n}" if n else ""
        raise ValueError(f"{name} must be N x {CANVAS} x {CANVAS} (one map per scene{count}); got {tuple(m.shape)}.")
    if not torch.isfinite(m).all():
        raise ValueError(f"{name} contains NaN or infinite values.")
    if (m < 0).any():
        raise ValueError(f"{name} must be non-negative importances: pass |attribution| (attribution.abs()).")
    return m


def _cell(cell):
    cell = check_count(cell, "cell")
    if CANVAS % cell:
        raise ValueError(f"cell must divide the scene's side {CANVAS} (1, 2, 3, 4, 6, 8, ...), got {cell}.")
    return cell


def _mass_in_boxes(m, boxes, cell):
    inside = box_masks(boxes).float()
    if cell > 1:                                      # mass per cell; the box grown to every cell it touches
        m = torch.nn.functional.avg_pool2d(m[:, None], cell)[:, 0] * cell ** 2
        inside = torch.nn.functional.max_pool2d(inside[:, None], cell)[:, 0]
    return (m * inside).sum((1, 2)) / m.sum((1, 2)).clamp_min(1e-30)


@checked
def mass_in_boxes(maps: ArrayLike, boxes: ArrayLike | Sequence, cell: int = 1) -> torch.Tensor:
    """Share of each map's total mass inside its box, at the resolution of ``cell`` x ``cell`` pixels (taught in 4.5).

    With ``cell`` > 1 the scene is cut into square cells (``CAM_CELL`` = 4: the cells of Grad-CAM's 12x12 grid)
    and the share is that of the cells the box touches: a map that can only say "this cell" then reaches 1 as
    a per-pixel map does, instead of being penalised by construction for the mass it spreads inside the cell.

    Args:
        maps: [N, 48, 48] non-negative maps, one per scene.
        boxes: [N, 4] = (top, left, bottom, right); bottom/right exclusive.
        cell: Side of the cells in pixels, a divisor of 48 (1: pixel by pixel).

    Returns:
        [N] shares in [0, 1] (0 for an all-zero map).

    Example:
        >>> import torch
        >>> from xai_helpers.evaluation.groundtruth import mass_in_boxes
        >>> m = torch.zeros(1, 48, 48)
        >>> m[0, :2, :2] = 1.0
        >>> m[0, 40:, 40:] = 1.0
        >>> mass_in_boxes(m, [[0, 0, 4, 4]])
        tensor([0.0588])
        >>> blob = torch.zeros(1, 48, 48)
        >>> blob[0, 0:8, 0:8] = 1.0                     # a coarse map: the four cells around the box (1, 1, 5, 5)
        >>> mass_in_boxes(blob, [[1, 1, 5, 5]]), mass_in_boxes(blob, [[1, 1, 5, 5]], cell=4)
        (tensor([0.2500]), tensor([1.]))
    """
    boxes = _boxes(boxes)
    cell = _cell(cell)
    return _mass_in_boxes(_check_maps(maps, len(boxes)), boxes, cell)


@checked
def mark_scores(result: AttributionMaps | Mapping[str, ArrayLike], scenes: Scenes, cell: int = CAM_CELL,
                relative: bool = True) -> pd.DataFrame:
    """Per scene and method: the share of the map's mass on the mark's cells, in multiples of chance (taught in 4.5).

    Only the scenes that carry a mark are scored. At ``cell`` = ``CAM_CELL`` every map is read at Grad-CAM's
    resolution (``mass_in_boxes``): the 4x4 mark touches 4 of the 144 cells, so chance (a uniform map) is
    4 / 144 and a map with all its mass on those cells scores 36, whether it is per-pixel or coarse.

    Args:
        result: The ``AttributionMaps`` of ``attribution_maps`` (or its ``maps`` dict: method -> [N, 48, 48]).
        scenes: The ``Scenes`` the maps are of (at least one with the mark).
        cell: Side of the cells in pixels (1: the 4x4 box itself, pixel by pixel).
        relative: Divide by chance (the share of the scene's cells the mark touches); ``False``: the share.

    Returns:
        A DataFrame, one row per marked scene (index: the scene's position in ``scenes``), one column per method.

    Example:
        >>> from xai_helpers.evaluation.groundtruth import box_masks, make_scenes, mark_scores
        >>> scenes = make_scenes(3, marks="own")
        >>> on_mark = box_masks(scenes.mark_boxes).float()
        >>> mark_scores({"perfect": on_mark}, scenes)["perfect"].tolist()
        [36.0, 36.0, 36.0]
    """
    maps = result.maps if isinstance(result, AttributionMaps) else result
    cell = _cell(cell)
    if not maps:
        raise ValueError("result holds no maps: pass attribution_maps(...) or {method: maps}.")
    marked = (scenes.mark_classes >= 0).nonzero()[:, 0]
    if len(marked) == 0:
        raise ValueError("scenes carry no mark: score make_scenes(n, marks='own') or marks='other'.")
    boxes = scenes.mark_boxes[marked]
    chance = _mass_in_boxes(torch.ones(1, CANVAS, CANVAS), boxes[:1], cell).item() if relative else 1.0
    columns = {}
    with _threads(1):
        for name, m in maps.items():
            m = _check_maps(m, len(scenes), name=f"result[{name!r}]")[marked]
            columns[name] = (_mass_in_boxes(m, boxes, cell) / chance).cpu().numpy()
    return pd.DataFrame(columns, index=pd.Index(marked.cpu().numpy(), name="scene"))


@checked
def pointing_hits(maps: ArrayLike, boxes: ArrayLike | Sequence, tolerance: int = 0) -> torch.Tensor:
    """Pointing game (Zhang et al. 2016): is each map's maximum inside its box grown by ``tolerance`` pixels? (4.5)

    A flat map points nowhere (a miss).

    Args:
        maps: [N, 48, 48] non-negative maps, one per scene.
        boxes: [N, 4] = (top, left, bottom, right); bottom/right exclusive.
        tolerance: Pixels around the box that still count (``SCENE_POINTING_TOLERANCE`` in the lesson).

    Returns:
        [N] booleans, True for a hit.

    Example:
        >>> import torch
        >>> from xai_helpers.evaluation.groundtruth import pointing_hits
        >>> m = torch.zeros(2, 48, 48)
        >>> m[0, 10, 10] = 1.0
        >>> pointing_hits(m, [[8, 8, 12, 12], [8, 8, 12, 12]])
        tensor([ True, False])
    """
    boxes = _boxes(boxes)
    if tolerance < 0:
        raise ValueError(f"tolerance must be a number of pixels >= 0, got {tolerance}.")
    m = _check_maps(maps, len(boxes))
    flat = m.flatten(1)
    grown = (boxes + torch.tensor([-1, -1, 1, 1]) * int(tolerance)).clamp(0, CANVAS)
    hit = box_masks(grown).flatten(1).gather(1, flat.argmax(1)[:, None])[:, 0]
    return hit & (flat.max(1).values > flat.min(1).values)


@checked
def score_maps(result: AttributionMaps | Mapping[str, ArrayLike], scenes: Scenes) -> pd.DataFrame:
    """Score every method's maps against the known boxes, one row per method (taught in 4.5).

    Columns: share of the map's mass on the digit's box, the chance share (the box's share of the pixels)
    and their ratio, and the pointing-game hit rate on the digit. For scenes that carry the mark, also the
    mass on the mark (chance: 16 of 2,304 pixels), its ratio to chance, the same ratio at Grad-CAM's resolution
    ("mark cells / chance": the mass on the cells of ``CAM_CELL`` pixels the mark touches, see ``mark_scores``),
    mass on the mark / mass on the digit, and how often the map's maximum is on the mark.

    Args:
        result: The ``AttributionMaps`` of ``attribution_maps`` (or its ``maps`` dict: method -> [N, 48, 48]).
        scenes: The ``Scenes`` the maps are of.

    Returns:
        A DataFrame, one row per method.

    Example:
        >>> from xai_helpers.evaluation.groundtruth import box_masks, make_scenes, score_maps
        >>> scenes = make_scenes(3, marks="own")
        >>> table = score_maps({"the digit's box": box_masks(scenes.boxes).float()}, scenes)
        >>> table.loc["the digit's box", ["mass on digit", "pointing game (digit)", "mass on mark"]].tolist()
        [1.0, 1.0, 0.0]
    """
    maps = result.maps if isinstance(result, AttributionMaps) else result
    if not maps:
        raise ValueError("result holds no maps: pass attribution_maps(...) or {method: maps}.")
    for name, m in maps.items():
        _check_maps(m, len(scenes), name=f"result[{name!r}]")
    with _threads(1):
        return _score_maps(maps, scenes)


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
            on_cells = _mass_in_boxes(m[marked], mark_boxes, CAM_CELL)
            cell_chance = _mass_in_boxes(torch.ones(1, CANVAS, CANVAS), mark_boxes[:1], CAM_CELL).item()
            row.update({"mass on mark": on_mark.mean().item(), "mark / chance": on_mark.mean().item() / mark_chance,
                        "mark cells / chance": on_cells.mean().item() / cell_chance,
                        "mark / digit": on_mark.mean().item() / max(on_digit[marked].mean().item(), 1e-12),
                        "pointing game (mark)":
                            pointing_hits(m[marked], mark_boxes, SCENE_POINTING_TOLERANCE).float().mean().item()})
        rows[name] = row
    return pd.DataFrame(rows).T


@checked
def method_table(model: nn.Module, scenes: Scenes, methods: Sequence[str] = SCORED_METHODS,
                 **kwargs: object) -> tuple[pd.DataFrame, AttributionMaps]:
    """``attribution_maps`` for the scenes' true classes, scored with ``score_maps`` (taught in 4.5).

    Args:
        model: A digit CNN (``load_digit_cnn()``).
        scenes: The ``Scenes`` to explain and score.
        methods: Registry keys (``SCORED_METHODS``).
        **kwargs: Further settings of ``attribution_maps`` (n_steps, n_samples, threads, ...).

    Returns:
        ``(table, maps)``: the ``score_maps`` DataFrame and the ``AttributionMaps``.

    Example:
        >>> from xai_helpers.evaluation.groundtruth import load_digit_cnn, make_scenes, method_table
        >>> table, maps = method_table(load_digit_cnn(), make_scenes(5), ["grad_cam", "random_map"])
        >>> on_digit = table["mass on digit"]
        >>> table.index.tolist(), bool(on_digit["grad_cam"] > on_digit["random_map"])
        (['grad_cam', 'random_map'], True)
    """
    result = attribution_maps(model, scenes.images, scenes.labels, methods, **kwargs)
    return score_maps(result, scenes), result
