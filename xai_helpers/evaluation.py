"""How do we know an explanation is right? Three measurable checks (section 4.5).

* Sanity check, model parameter randomisation (Adebayo et al. 2018, "Sanity Checks for Saliency
  Maps"): re-initialise the network's layers from the output down (cascading) and measure the
  Spearman rank correlation of each method's map with the map of the trained model. A map that
  stays the same when the weights are destroyed does not explain the weights.
* Faithfulness, deletion and insertion curves (Petsiuk et al. 2018, "RISE", section 4.1): remove
  (deletion) or reveal (insertion) pixels in the order of the map and follow the class probability.
  A faithful map makes it fall fast (small deletion AUC) and rise fast (large insertion AUC).
* Localisation, the pointing game (Zhang et al. 2016, "Top-down neural attention by excitation
  backprop"): a hit when the map's maximum lies inside the object's box (15-pixel tolerance).

An *explainer* is any callable ``explain(image_model, x, target) -> 2-D map`` (HxW, larger = more
important) such as those of ``xai_helpers.interpret.image_explainers()``. Everything here returns
plain numbers (dicts, lists, arrays); ``format_table`` turns rows into a compact text table.
"""
import copy
import dataclasses
import json
import math

import numpy as np
import torch
from torch import nn

from ._checks import check_input, eval_mode, resolve_target
from .data import DATA_DIR
from .models import ImageModel
from .plotting import as_2d_map, to_numpy

__all__ = ["spearman_rank_correlation", "randomisation_stages", "randomised_copy", "model_randomisation_test",
           "deletion_insertion_curves", "faithfulness", "pointing_game_hit", "pointing_game", "load_boxes",
           "edge_map", "random_map", "format_table", "BOXES_PATH", "POINTING_TOLERANCE"]

BOXES_PATH = DATA_DIR / "boxes.json"
#: Pixels around a box that still count as a hit (Zhang et al. 2016 use 15 px at 224 px).
POINTING_TOLERANCE = 15


# --- helpers ----------------------------------------------------------------------------------------
def _require_image_model(image_model, what):
    if not isinstance(image_model, ImageModel):
        raise TypeError(f"{what} needs the ImageModel from load_image_model() (it knows the pixel space "
                        f"and the model's layers), got {type(image_model).__name__}.")


def spearman_rank_correlation(a, b):
    """Spearman's rank correlation of two maps of the same shape (ties get average ranks).

    A constant map has no ranking: the result is then ``nan`` (the table prints "flat").
    """
    from scipy.stats import rankdata
    a, b = to_numpy(a).ravel().astype(np.float64), to_numpy(b).ravel().astype(np.float64)
    if a.shape != b.shape:
        raise ValueError(f"Maps must have the same number of pixels, got {a.size} and {b.size}.")
    if np.ptp(a) == 0 or np.ptp(b) == 0:
        return float("nan")
    ra, rb = rankdata(a), rankdata(b)
    return float(np.corrcoef(ra, rb)[0, 1])


def edge_map(image_model, x, target=None):
    """A reference 'explanation' that ignores the model: the image's Sobel edge magnitude (HxW).

    Adebayo et al. (2018) show that such an edge detector looks much like some saliency maps; it
    fails the randomisation test by construction (it never changes), which is what failing looks like.
    """
    pixels = image_model.denormalize(x.detach()) if isinstance(image_model, ImageModel) else x.detach()
    gray = pixels[0].mean(0, keepdim=True)[None]
    kx = torch.tensor([[-1., 0., 1.], [-2., 0., 2.], [-1., 0., 1.]], device=gray.device).view(1, 1, 3, 3)
    gx = nn.functional.conv2d(gray, kx, padding=1)
    gy = nn.functional.conv2d(gray, kx.transpose(2, 3), padding=1)
    return (gx ** 2 + gy ** 2).sqrt()[0, 0].cpu()


def random_map(image_model, x, target=None, seed=0):
    """A reference 'explanation' with no information: uniform noise (HxW), seeded."""
    generator = torch.Generator().manual_seed(int(seed))
    return torch.rand(x.shape[-2:], generator=generator)


# --- 1. sanity check: model parameter randomisation -------------------------------------------------
def randomisation_stages(module):
    """The layers of ``module`` that hold parameters, from the output down -> list of ``(name, module)``.

    Top-level children, with a ``Sequential``/``ModuleList`` split into its items (ResNet's
    ``layer4.2``, EfficientNet's ``_blocks.15``): the units that a cascading randomisation re-initialises
    one after the other.
    """
    stages = []
    for name, child in module.named_children():
        if not any(True for _ in child.parameters()):
            continue
        if isinstance(child, (nn.Sequential, nn.ModuleList)) and len(child) > 1:
            stages += [(f"{name}.{i}", sub) for i, sub in enumerate(child) if any(True for _ in sub.parameters())]
        else:
            stages.append((name, child))
    if not stages:
        raise ValueError(f"{type(module).__name__} has no layers with parameters to randomise.")
    return stages[::-1]


def _reinitialise(module):
    """Re-initialise every parameter of ``module``: ``reset_parameters()`` where a layer has one."""
    covered = set()
    for sub in module.modules():
        if hasattr(sub, "reset_parameters"):
            sub.reset_parameters()
            covered.update(id(p) for p in sub.parameters(recurse=False))
    for p in module.parameters():  # parameters of layers without reset_parameters (rare)
        if id(p) not in covered:
            nn.init.normal_(p, std=0.02)


def randomised_copy(image_model, n_stages, seed=0):
    """A deep copy of ``image_model`` whose top ``n_stages`` stages are re-initialised (cascading).

    Re-initialisation uses each layer's own ``reset_parameters()`` (PyTorch's default init; batch-norm
    layers get weight 1, bias 0 and fresh running statistics) under a fixed seed. The original,
    cached model is never modified.
    """
    _require_image_model(image_model, "randomised_copy")
    net = copy.deepcopy(image_model.model)
    stages = randomisation_stages(net)
    if not isinstance(n_stages, int) or not 0 <= n_stages <= len(stages):
        raise ValueError(f"n_stages must be an integer in 0 ... {len(stages)}, got {n_stages!r}.")
    with torch.random.fork_rng(devices=[]), torch.no_grad():
        torch.manual_seed(seed)
        for _, stage in stages[:n_stages]:
            _reinitialise(stage)
    net.eval()
    return dataclasses.replace(image_model, name=f"{image_model.name} (top {n_stages} stages randomised)",
                               model=net, target_layer=net.get_submodule(image_model.target_layer_name))


def model_randomisation_test(image_model, x, target, explainers, n_checkpoints=4, seed=0):
    """Cascading model-parameter randomisation (Adebayo et al. 2018, section 3.1).

    ``explainers``: dict name -> ``explain(image_model, x, target)``. Maps are computed for the trained
    model and for copies with the top 1, ..., all stages re-initialised; ``n_checkpoints`` copies,
    evenly spaced from 'output layer only' to 'every layer', are evaluated (each costs one map per
    method). ``target`` is resolved on the trained model and kept fixed. Returns a dict with
    ``stages`` (all stage names, top down), ``checkpoints`` (number of randomised stages per column),
    ``labels`` (the last randomised stage per column), ``maps[name]`` (the original map, then one per
    checkpoint), ``correlations[name]`` (Spearman rank correlation with the original, per checkpoint)
    and ``abs_correlations[name]`` (the same for |map|: Adebayo et al. report both, since a sign flip
    alone decorrelates a signed map that looks unchanged).
    """
    _require_image_model(image_model, "model_randomisation_test")
    check_input(x)
    target = resolve_target(target, len(image_model.labels), image_model.labels)
    stages = [name for name, _ in randomisation_stages(image_model.model)]
    if not isinstance(n_checkpoints, int) or n_checkpoints < 1:
        raise ValueError(f"n_checkpoints must be a positive integer, got {n_checkpoints!r}.")
    checkpoints = sorted({int(round(v)) for v in np.linspace(1, len(stages), min(n_checkpoints, len(stages)))})
    size = x.shape[-2:]
    maps = {name: [as_2d_map(explain(image_model, x, target), size)] for name, explain in explainers.items()}
    for k in checkpoints:
        copy_k = randomised_copy(image_model, k, seed=seed)
        for name, explain in explainers.items():
            maps[name].append(as_2d_map(explain(copy_k, x, target), size))
        del copy_k
    correlations = {name: [spearman_rank_correlation(m[0], mk) for mk in m[1:]] for name, m in maps.items()}
    abs_correlations = {name: [spearman_rank_correlation(np.abs(m[0]), np.abs(mk)) for mk in m[1:]]
                        for name, m in maps.items()}
    return {"stages": stages, "checkpoints": checkpoints, "labels": [stages[k - 1] for k in checkpoints],
            "maps": maps, "correlations": correlations, "abs_correlations": abs_correlations, "target": target}


# --- 2. faithfulness: deletion and insertion --------------------------------------------------------
def _blurred(image_model, x, sigma):
    import torchvision.transforms.functional as TF
    pixels = image_model.denormalize(x.detach()).clamp(0, 1)
    sigma = min(float(sigma), (min(pixels.shape[-2:]) - 1) / 6)  # small images: the kernel must fit
    kernel = 2 * math.ceil(3 * sigma) + 1  # >= 6 sigma + 1 taps: a real Gaussian, not a box blur
    return image_model.normalize(TF.gaussian_blur(pixels, [kernel, kernel], [sigma, sigma]))


def _auc(fractions, scores):
    return float(np.trapezoid(scores, fractions))


def deletion_insertion_curves(image_model, x, target, saliency, steps=10, blur_sigma=10.0, batch_size=32):
    """Deletion and insertion curves of one map (Petsiuk et al. 2018, section 4.1) -> dict of numbers.

    Pixels are ranked by ``saliency`` (2-D, larger = more important; resized to x's HxW if needed).
    Deletion: the top fraction f of pixels is set to black (pixel value 0), f = 0, 1/steps, ..., 1.
    Insertion: starting from a Gaussian-blurred copy of the image (``blur_sigma`` pixels), the top
    fraction f is restored to the original. Each curve is the target's softmax probability;
    ``steps + 1`` images per curve (or ``steps`` = an increasing sequence of fractions from 0 to 1,
    e.g. denser at the start where curves change fastest), ``batch_size`` per forward pass. Returns ``fractions``,
    ``deletion``, ``insertion`` (arrays) and ``deletion_auc`` (lower = more faithful),
    ``insertion_auc`` (higher = more faithful), areas under the curves over f in [0, 1].
    """
    _require_image_model(image_model, "deletion_insertion_curves")
    check_input(x)
    if isinstance(steps, int) and not isinstance(steps, bool) and steps >= 1:
        fractions = np.linspace(0.0, 1.0, steps + 1)
    else:
        fractions = np.asarray(steps, dtype=float) if not isinstance(steps, (int, bool)) else np.array([])
        if fractions.ndim != 1 or len(fractions) < 2 or fractions[0] != 0 or fractions[-1] != 1 or \
                (np.diff(fractions) <= 0).any():
            raise ValueError(f"steps must be a positive integer or increasing fractions from 0 to 1, got {steps!r}.")
    target = resolve_target(target, len(image_model.labels), image_model.labels)
    h, w = x.shape[-2:]
    m = as_2d_map(saliency, (h, w))
    if not np.isfinite(m).all():
        raise ValueError("The saliency map contains NaN or infinite values; it cannot rank pixels.")
    order = np.argsort(-m.ravel(), kind="stable")               # most important first
    rank = np.empty(h * w, dtype=np.int64)
    rank[order] = np.arange(h * w)
    counts = np.round(fractions * h * w).astype(np.int64)
    masks = torch.from_numpy(rank.reshape(1, h, w) < counts[:, None, None])  # (steps+1) x H x W, True = taken
    masks = masks.unsqueeze(1).to(device=x.device, dtype=x.dtype)
    x = x.detach()
    black = image_model.pixel_value_tensor(0.0).to(x.device)
    blurred = _blurred(image_model, x, blur_sigma)
    curves = {}
    with torch.no_grad(), eval_mode(image_model.model):
        for kind, start, end in (("deletion", x, black), ("insertion", blurred, x)):
            images = start * (1 - masks) + end * masks
            probs = [image_model.model(images[i:i + batch_size]).softmax(-1)[:, target]
                     for i in range(0, len(images), batch_size)]
            curves[kind] = torch.cat(probs).cpu().numpy()
    return {"fractions": fractions, "deletion": curves["deletion"], "insertion": curves["insertion"],
            "deletion_auc": _auc(fractions, curves["deletion"]),
            "insertion_auc": _auc(fractions, curves["insertion"]), "target": target}


def faithfulness(image_model, images, explainers, targets=None, steps=10, maps=None):
    """Deletion and insertion AUCs of every explainer over several images -> dict of numbers.

    ``images``: course photo names / paths / PIL images; ``targets``: one per image (default: each
    image's top-1 class); ``maps``: optional precomputed ``{image: {method: map}}`` to reuse.
    Returns ``per_image[image][method]`` (the curves dict of ``deletion_insertion_curves``) and
    ``mean[method] = {"deletion_auc": ..., "insertion_auc": ...}`` averaged over the images.
    """
    _require_image_model(image_model, "faithfulness")
    images = list(images)
    targets = list(targets) if targets is not None else [None] * len(images)
    if len(targets) != len(images):
        raise ValueError(f"{len(images)} images but {len(targets)} targets.")
    per_image = {}
    for image, target in zip(images, targets):
        key = image if isinstance(image, str) else str(len(per_image))
        x = image_model.preprocess(image)
        if target is None:
            with torch.no_grad(), eval_mode(image_model.model):
                target = int(image_model.model(x).argmax(1))
        known = (maps or {}).get(key, {})
        per_image[key] = {}
        for name, explain in explainers.items():
            saliency = known[name] if name in known else explain(image_model, x, target)
            per_image[key][name] = deletion_insertion_curves(image_model, x, target, saliency, steps=steps)
    mean = {name: {k: float(np.mean([per_image[i][name][k] for i in per_image]))
                   for k in ("deletion_auc", "insertion_auc")} for name in explainers}
    return {"per_image": per_image, "mean": mean, "steps": steps}


# --- 3. localisation: the pointing game -------------------------------------------------------------
def load_boxes(path=BOXES_PATH):
    """Hand-measured object boxes of the course photos -> ``{photo: {class name: [x0, y0, x1, y1]}}``.

    Coordinates are pixels of the model's 224x224 view (``image_model.view(photo)``: resize 256,
    centre crop 224), x to the right, y down, corners inclusive.
    """
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    return {photo: {label: list(box) for label, box in entry["boxes"].items()} for photo, entry in data["photos"].items()}


def pointing_game_hit(saliency, box, tolerance=POINTING_TOLERANCE):
    """True when the map's maximum lies inside ``box`` = [x0, y0, x1, y1], grown by ``tolerance`` pixels.

    With several equal maxima the first in row-major order counts. An all-zero (flat) map counts as a
    miss: it points nowhere.
    """
    m = as_2d_map(saliency)
    if np.ptp(m) == 0:
        return False
    y, x = np.unravel_index(int(np.argmax(m)), m.shape)
    x0, y0, x1, y1 = box
    return bool(x0 - tolerance <= x <= x1 + tolerance and y0 - tolerance <= y <= y1 + tolerance)


def pointing_game(image_model, explainers, boxes=None, maps=None, tolerance=POINTING_TOLERANCE):
    """Pointing-game accuracy of every explainer over all boxed objects -> dict of numbers.

    ``boxes``: ``{photo: {class name: box}}`` (default ``load_boxes()``); each box is one trial: the
    map for that class must peak inside that box. ``maps``: optional ``{photo: {class: {method: map}}}``
    to reuse. Returns ``hits[method]`` (list of (photo, class, hit)) and ``score[method]`` = hit rate.
    """
    _require_image_model(image_model, "pointing_game")
    boxes = load_boxes() if boxes is None else boxes
    hits = {name: [] for name in explainers}
    for photo, objects in boxes.items():
        x = image_model.preprocess(photo)
        for label, box in objects.items():
            known = (maps or {}).get(photo, {}).get(label, {})
            for name, explain in explainers.items():
                saliency = known[name] if name in known else explain(image_model, x, label)
                hits[name].append((photo, label, pointing_game_hit(as_2d_map(saliency, x.shape[-2:]), box, tolerance)))
    score = {name: sum(h for _, _, h in rows) / len(rows) if rows else float("nan") for name, rows in hits.items()}
    return {"hits": hits, "score": score, "tolerance": tolerance}


# --- a compact table ---------------------------------------------------------------------------------
def format_table(rows, columns=None, digits=2):
    """Rows (list of dicts) -> a plain-text table; floats with ``digits`` decimals, NaN as 'flat'."""
    rows = list(rows)
    if not rows:
        return ""
    columns = columns or list(rows[0])

    def cell(v):
        if isinstance(v, float):
            return "flat" if math.isnan(v) else f"{v:.{digits}f}"
        return str(v)

    body = [[cell(r.get(c, "")) for c in columns] for r in rows]
    widths = [max(len(str(c)), *(len(b[i]) for b in body)) for i, c in enumerate(columns)]
    line = lambda vals: "  ".join(v.ljust(wd) if i == 0 else v.rjust(wd) for i, (v, wd) in enumerate(zip(vals, widths)))  # noqa: E731
    return "\n".join([line([str(c) for c in columns]), line(["-" * wd for wd in widths])] + [line(b) for b in body])
