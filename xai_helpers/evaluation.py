"""How do we know an explanation is right? Three measurable checks (section 4.5).

* Sanity check, cascading model-parameter randomisation (Adebayo et al. 2018, "Sanity Checks for
  Saliency Maps", arXiv:1810.03292, section 3.1): re-initialise the network's layers from the output
  down, one depth after the other, over several seeds and images, and measure the Spearman rank
  correlation of each method's map with the trained model's map, on the signed map and on |map|.
  A map that stays the same when the weights are destroyed does not explain the weights.
* Faithfulness, deletion and insertion curves (Petsiuk et al. 2018, "RISE", arXiv:1806.07421,
  section 4.1; Samek et al. 2017, arXiv:1509.06321): remove (deletion) or reveal (insertion) pixels in
  the order of the map and follow the class probability. A faithful map makes it fall fast (small
  deletion AUC) and rise fast (large insertion AUC). "Removing" means replacing by *something*: black,
  or a blurred copy of the image; both are measured, since the choice changes the verdict.
* Localisation, the pointing game (Zhang et al. 2016, "Top-down neural attention by excitation
  backprop", arXiv:1608.00507): a hit when the map's maximum lies inside the object's box (15-pixel
  tolerance), reported next to its chance rate (the hit rate of a map whose peak falls anywhere).

An *explainer* is any callable ``explain(image_model, x, target) -> 2-D map`` (HxW, larger = more
important) such as those of ``xai_helpers.interpret.image_explainers()``. Results are plain numbers,
lists, arrays and pandas DataFrames; ``format_table`` turns rows into a compact text table.
"""
import copy
import dataclasses
import gc
import itertools
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
           "signed_maps", "show_randomisation", "RANDOMISATION_METHODS",
           "replacement_image", "deletion_insertion_curves", "faithfulness", "REPLACEMENTS",
           "pointing_game_hit", "pointing_game_chance", "pointing_game", "load_boxes",
           "edge_map", "random_map", "format_table", "BOXES_PATH", "POINTING_TOLERANCE"]

BOXES_PATH = DATA_DIR / "boxes.json"
#: Pixels around a box that still count as a hit (Zhang et al. 2016 use 15 px at 224 px).
POINTING_TOLERANCE = 15
#: What deleted pixels become (and what insertion starts from): pixel value 0, or a blurred copy
#: (the same Gaussian as the "blur" baseline of Integrated Gradients, ``integrated.make_baseline``).
REPLACEMENTS = ("black", "blur")
#: Methods ``signed_maps`` computes in one batched pass per model (cheap: 1 + smoothgrad_samples passes).
RANDOMISATION_METHODS = ("grad_cam", "gradient", "gradient_x_input", "smoothgrad")


# --- helpers ----------------------------------------------------------------------------------------
def _require_image_model(image_model, what):
    if not isinstance(image_model, ImageModel):
        raise TypeError(f"{what} needs the ImageModel from load_image_model() (it knows the pixel space "
                        f"and the model's layers), got {type(image_model).__name__}.")


def _as_input(image_model, image):
    """Course photo name / path / PIL image / normalised 1x3xHxW tensor -> (key, x on the model's device)."""
    if isinstance(image, torch.Tensor):
        return None, check_input(image, name="image").to(image_model.device)
    return (image if isinstance(image, str) else None), image_model.preprocess(image)


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


# --- 1. sanity check: cascading model-parameter randomisation ---------------------------------------
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


def _reinitialise_stages(stages, seed):
    with torch.random.fork_rng(devices=[]), torch.no_grad():
        torch.manual_seed(seed)
        for _, stage in stages:
            _reinitialise(stage)


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
    _reinitialise_stages(stages[:n_stages], seed)
    net.eval()
    return dataclasses.replace(image_model, name=f"{image_model.name} (top {n_stages} stages randomised)",
                               model=net, target_layer=net.get_submodule(image_model.target_layer_name))


def _resolve_depths(depths, stages):
    """Depths as numbers of top stages (int) or the name of the deepest stage to randomise -> sorted ints."""
    names = [n for n, _ in stages]
    if depths is None:
        depths = (1, max(1, round(len(names) / 3)), len(names))
    out = []
    for d in depths:
        if isinstance(d, str):
            if d not in names:
                raise ValueError(f"{d!r} is not a randomisation stage; stages from the top: {', '.join(names)}.")
            out.append(names.index(d) + 1)
        elif isinstance(d, int) and not isinstance(d, bool) and 1 <= d <= len(names):
            out.append(d)
        else:
            raise ValueError(f"A depth is a number of top stages in 1 ... {len(names)} or a stage name, got {d!r}.")
    return sorted(set(out))


def signed_maps(image_model, x, targets, methods=RANDOMISATION_METHODS, smoothgrad_samples=8, noise_level=0.15,
                seed=0, batch_size=6, upsample=True):
    """Signed maps of several images in one batched pass -> ``{method: N x H x W numpy array}``.

    ``x``: N x 3 x H x W normalised images; ``targets``: one class index per image. Methods:
    ``grad_cam``: the weighted sum of the target layer's feature maps *before* Grad-CAM's ReLU
    (``xh.grad_cam`` = ReLU of it, upsampled, divided by its max; ``upsample=False`` keeps the layer's
    grid, bilinear upsampling to x's HxW otherwise); ``gradient``: the input gradient
    summed over colour channels; ``gradient_x_input``: ``x * gradient`` summed over channels;
    ``smoothgrad``: the mean gradient over ``smoothgrad_samples`` noisy copies (sigma =
    ``noise_level`` x each image's range, generator seeded with ``seed``: the same noise as
    ``xh.smoothgrad(..., n_samples=smoothgrad_samples, batch_size=smoothgrad_samples, seed=seed)``),
    summed over channels. Per image these equal the package's one-image functions (tests assert it);
    batching only saves time. Cost: one forward+backward pass of N images, plus N x
    ``smoothgrad_samples`` noisy images in chunks of ``batch_size`` when SmoothGrad is asked for.
    """
    _require_image_model(image_model, "signed_maps")
    unknown = [m for m in methods if m not in RANDOMISATION_METHODS]
    if unknown:
        raise ValueError(f"Unknown method(s) {unknown}; signed_maps computes {', '.join(RANDOMISATION_METHODS)}.")
    if x.dim() != 4 or len(targets) != x.shape[0]:
        raise ValueError(f"x must be N x 3 x H x W with one target per image; got {tuple(x.shape)} and "
                         f"{len(targets)} targets.")
    net, layer = image_model.model, image_model.target_layer
    n, size = x.shape[0], x.shape[-2:]
    index = torch.arange(n, device=x.device)
    tgt = torch.tensor([int(t) for t in targets], device=x.device)
    out = {}
    seen = []
    handle = layer.register_forward_hook(lambda module, inputs, output: seen.append(output))
    try:
        with eval_mode(net), torch.enable_grad():
            xr = x.detach().requires_grad_(True)
            logits = net(xr)
            if len(seen) != 1:
                raise ValueError(f"The target layer {image_model.target_layer_name!r} ran {len(seen)} times in one "
                                 "forward pass; Grad-CAM needs a layer that runs once.")
            activation = seen[0]
            grad_x, grad_a = torch.autograd.grad(logits[index, tgt].sum(), [xr, activation])
    finally:
        handle.remove()
    if "grad_cam" in methods:
        cam = (grad_a.mean((2, 3), keepdim=True) * activation.detach()).sum(1, keepdim=True)  # eq. 2, no ReLU
        if upsample:
            cam = nn.functional.interpolate(cam, size=tuple(size), mode="bilinear", align_corners=False)
        out["grad_cam"] = cam[:, 0].detach().cpu().numpy()
    if "gradient" in methods:
        out["gradient"] = grad_x.sum(1).detach().cpu().numpy()
    if "gradient_x_input" in methods:
        out["gradient_x_input"] = (x.detach() * grad_x).sum(1).detach().cpu().numpy()
    del activation, grad_a, grad_x, logits, seen
    if "smoothgrad" in methods:
        out["smoothgrad"] = _batched_smoothgrad(net, x, tgt, smoothgrad_samples, noise_level, seed, batch_size)
    return {m: out[m] for m in methods}


def _batched_smoothgrad(net, x, tgt, n_samples, noise_level, seed, batch_size):
    from .gradients import noise_sigma
    noisy, owner = [], []
    for i in range(x.shape[0]):
        generator = torch.Generator().manual_seed(int(seed))  # per image, as xh.smoothgrad draws it
        noise = torch.randn((n_samples, *x.shape[1:]), generator=generator).to(x.device)
        noisy.append(x[i:i + 1].detach() + noise * noise_sigma(x[i:i + 1], noise_level))
        owner += [i] * n_samples
    noisy, owner = torch.cat(noisy), torch.tensor(owner, device=x.device)
    total = torch.zeros_like(x)
    with eval_mode(net), torch.enable_grad():
        for start in range(0, len(noisy), batch_size):
            chunk = noisy[start:start + batch_size].requires_grad_(True)
            who = owner[start:start + batch_size]
            (grad,) = torch.autograd.grad(net(chunk)[torch.arange(len(chunk), device=x.device), tgt[who]].sum(), chunk)
            total.index_add_(0, who, grad)
    return (total / n_samples).sum(1).detach().cpu().numpy()


def model_randomisation_test(image_model, images, targets=None, depths=None, seeds=(0, 1, 2),
                             methods=RANDOMISATION_METHODS, explainers=None, smoothgrad_samples=8,
                             noise_level=0.15, batch_size=6):
    """Cascading model-parameter randomisation (Adebayo et al. 2018, arXiv:1810.03292, section 3.1).

    For every seed, one copy of the model is re-initialised from the output layer down, depth after
    depth (the top stages keep their random weights when deeper ones follow, as in the paper), and at
    each depth every method's map of every image is compared with the trained model's map by
    Spearman rank correlation, on the signed map and on its absolute value.

    ``images``: photo names, paths, PIL images or 1x3xHxW tensors; ``targets``: one class (index or
    name) per image, default each image's top-1 class, resolved on the trained model and then kept
    fixed. ``depths``: numbers of top stages, or names of the deepest stage randomised (default: the
    output layer, the top third of the stages, all); see ``randomisation_stages``. ``methods``: the
    cheap batched maps of ``signed_maps``; ``explainers``: optional further ``{name: explain(model, x,
    target)}`` called per image (e.g. ``edge_map``). Only one randomised copy exists at a time.

    Returns a dict: ``table`` (pandas DataFrame, one row per image x seed x depth x method with
    columns image, seed, depth, stage, method, rho, rho_abs), ``depths`` (ints), ``labels`` (the
    deepest randomised stage per depth), ``stages`` (all stage names, top down), ``targets``,
    ``images`` (keys), ``maps[method]``: an array (1 + depths) x images x H x W of the signed maps
    for the first seed, the trained model's first, and ``floor``: the same correlations between the
    fully randomised copies of two different seeds (image, seeds, method, rho, rho_abs), i.e. what two
    models that share only the architecture and the input have in common: the level at which a
    correlation with the trained map says nothing about the trained weights.
    """
    import pandas as pd
    _require_image_model(image_model, "model_randomisation_test")
    if isinstance(images, (str, torch.Tensor)) or not hasattr(images, "__iter__"):
        images = [images]
    keys, xs = [], []
    for i, image in enumerate(images):
        key, x = _as_input(image_model, image)
        keys.append(key or f"image {i}")
        xs.append(x)
    x = torch.cat(xs)
    del xs
    if targets is None:
        with torch.no_grad(), eval_mode(image_model.model):
            targets = image_model.model(x).argmax(1).tolist()
    targets = [resolve_target(t, len(image_model.labels), image_model.labels) for t in targets]
    if len(targets) != len(keys):
        raise ValueError(f"{len(keys)} images but {len(targets)} targets.")
    seeds = [int(s) for s in seeds]
    if not seeds:
        raise ValueError("seeds must name at least one seed, e.g. (0, 1, 2).")
    explainers = dict(explainers or {})
    stages = randomisation_stages(image_model.model)
    depths = _resolve_depths(depths, stages)
    names = [n for n, _ in stages]

    def all_maps(model):
        maps = {}
        if methods:
            maps = signed_maps(model, x, targets, methods, smoothgrad_samples, noise_level, 0, batch_size)
        for name, explain in explainers.items():
            maps[name] = np.stack([as_2d_map(explain(model, x[i:i + 1], t), x.shape[-2:])
                                   for i, t in enumerate(targets)])
        return maps

    original = all_maps(image_model)
    kept = {m: [v] for m, v in original.items()}
    rows, deepest = [], {}
    for seed in seeds:
        net = copy.deepcopy(image_model.model)
        model = dataclasses.replace(image_model, model=net,
                                    target_layer=net.get_submodule(image_model.target_layer_name))
        model_stages, done = randomisation_stages(net), 0
        for depth in depths:
            _reinitialise_stages(model_stages[done:depth], seed * 1000 + depth)  # cascading: top stages stay random
            done = depth
            maps = all_maps(model)
            for method, values in maps.items():
                for i, key in enumerate(keys):
                    rows.append({"image": key, "seed": seed, "depth": depth, "stage": names[depth - 1],
                                 "method": method,
                                 "rho": spearman_rank_correlation(original[method][i], values[i]),
                                 "rho_abs": spearman_rank_correlation(np.abs(original[method][i]), np.abs(values[i]))})
                if seed == seeds[0]:
                    kept[method].append(values)
                if depth == depths[-1]:
                    deepest.setdefault(method, {})[seed] = values
            del maps
        del model, net, model_stages
        gc.collect()
    floor = [{"image": key, "seeds": f"{a} vs {b}", "method": method,
              "rho": spearman_rank_correlation(by_seed[a][i], by_seed[b][i]),
              "rho_abs": spearman_rank_correlation(np.abs(by_seed[a][i]), np.abs(by_seed[b][i]))}
             for method, by_seed in deepest.items() for a, b in itertools.combinations(seeds, 2)
             for i, key in enumerate(keys)]
    floor = pd.DataFrame(floor, columns=["image", "seeds", "method", "rho", "rho_abs"])
    return {"table": pd.DataFrame(rows), "floor": floor,
            "depths": depths, "labels": [names[d - 1] for d in depths],
            "stages": names, "targets": dict(zip(keys, targets)), "images": keys,
            "maps": {m: np.stack(v) for m, v in kept.items()}}


def show_randomisation(result, titles=None, ax=None):
    """Correlation with the trained model's map vs randomisation depth, one line per method.

    Two panels: the signed map and |map|. Each point is the mean over images x seeds; the band spans
    their minimum and maximum. Returns the figure.
    """
    import matplotlib.pyplot as plt
    table = result["table"]
    methods = list(dict.fromkeys(table["method"]))
    titles = titles or {}
    if ax is None:
        fig, axes = plt.subplots(1, 2, figsize=(10, 3.6), sharey=True)
    else:
        axes = ax
        fig = axes[0].figure
    positions = range(len(result["depths"]))
    ticks = [f"{d} of {len(result['stages'])}\n(to {label})" for d, label in zip(result["depths"], result["labels"])]
    for axis, column, title in zip(axes, ("rho", "rho_abs"), ("signed map", "|map|")):
        for method in methods:
            part = table[table["method"] == method].groupby("depth")[column]
            mean, low, high = part.mean(), part.min(), part.max()
            line, = axis.plot(positions, mean.values, marker="o", label=titles.get(method, method))
            axis.fill_between(positions, low.values, high.values, color=line.get_color(), alpha=0.15)
        axis.axhline(0, color="0.4", linewidth=0.8)
        axis.set_xticks(list(positions), ticks, fontsize=8)
        axis.set_title(f"Spearman rho with the trained model's map: {title}", fontsize=10)
        axis.set_xlabel("stages re-initialised, from the output down", fontsize=9)
        axis.set_ylim(-1.05, 1.05)
    axes[0].set_ylabel("rank correlation (mean, min-max band)", fontsize=9)
    axes[1].legend(fontsize=8, loc="lower left")
    fig.tight_layout()
    return fig


# --- 2. faithfulness: deletion and insertion --------------------------------------------------------
def replacement_image(image_model, x, replacement="black"):
    """What deleted pixels become -> a normalised 1x3xHxW tensor on x's device.

    ``"black"``: pixel value 0 everywhere; ``"blur"``: x blurred with the Gaussian of IG's "blur"
    baseline (``integrated.make_baseline(image_model, x, "blur")``, sigma ``BLUR_SIGMA`` pixels; on
    images smaller than its kernel, the largest sigma whose kernel fits).
    """
    from .integrated import BLUR_SIGMA, make_baseline
    if replacement not in REPLACEMENTS:
        raise ValueError(f"replacement must be one of {', '.join(map(repr, REPLACEMENTS))}, got {replacement!r}.")
    sigma = min(BLUR_SIGMA, (min(x.shape[-2:]) - 1) // 6) if replacement == "blur" else BLUR_SIGMA
    return make_baseline(image_model, x, replacement, sigma=sigma)[:1].to(device=x.device, dtype=x.dtype)


def _fractions(steps):
    if isinstance(steps, int) and not isinstance(steps, bool) and steps >= 1:
        return np.linspace(0.0, 1.0, steps + 1)
    fractions = np.asarray(steps, dtype=float) if not isinstance(steps, (int, bool)) else np.array([])
    if fractions.ndim != 1 or len(fractions) < 2 or fractions[0] != 0 or fractions[-1] != 1 or \
            (np.diff(fractions) <= 0).any():
        raise ValueError(f"steps must be a positive integer or increasing fractions from 0 to 1, got {steps!r}.")
    return fractions


def _auc(fractions, scores):
    return float(np.trapezoid(scores, fractions))


def _curves(image_model, x, target, saliencies, fractions, replacement, batch_size):
    """Deletion and insertion curves of several maps of one image; the end points are computed once."""
    h, w = x.shape[-2:]
    x = x.detach()
    fill = replacement_image(image_model, x, replacement)
    counts = np.round(fractions[1:-1] * h * w).astype(np.int64)
    images = [x, fill]                                   # f = 0 and f = 1 of both curves, shared by every map
    for name, saliency in saliencies.items():
        m = as_2d_map(saliency, (h, w))
        if not np.isfinite(m).all():
            raise ValueError(f"The map {name!r} contains NaN or infinite values; it cannot rank pixels.")
        rank = np.empty(h * w, dtype=np.int64)
        rank[np.argsort(-m.ravel(), kind="stable")] = np.arange(h * w)   # 0 = most important
        masks = torch.from_numpy(rank.reshape(1, h, w) < counts[:, None, None])
        masks = masks.unsqueeze(1).to(device=x.device, dtype=x.dtype)    # taken pixels = 1
        images += [x * (1 - masks) + fill * masks, fill * (1 - masks) + x * masks]
    images = torch.cat(images)
    with torch.no_grad(), eval_mode(image_model.model):
        probs = torch.cat([image_model.model(images[i:i + batch_size]).softmax(-1)[:, target]
                           for i in range(0, len(images), batch_size)]).cpu().numpy()
    p_x, p_fill, k = probs[0], probs[1], len(counts)
    out = {}
    for j, name in enumerate(saliencies):
        block = probs[2 + 2 * k * j: 2 + 2 * k * (j + 1)]
        deletion = np.concatenate([[p_x], block[:k], [p_fill]])
        insertion = np.concatenate([[p_fill], block[k:], [p_x]])
        out[name] = {"fractions": fractions, "deletion": deletion, "insertion": insertion,
                     "deletion_auc": _auc(fractions, deletion), "insertion_auc": _auc(fractions, insertion),
                     "target": target, "replacement": replacement}
    return out


def deletion_insertion_curves(image_model, x, target, saliency, steps=10, replacement="black", batch_size=8):
    """Deletion and insertion curves of one map (Petsiuk et al. 2018, arXiv:1806.07421) -> dict of numbers.

    Pixels are ranked by ``saliency`` (2-D, larger = more important; resized to x's HxW if needed).
    Deletion: the top fraction f of pixels is replaced by ``replacement_image(image_model, x,
    replacement)`` ("black" or "blur"). Insertion: starting from that replacement image, the top
    fraction f is restored to the original. Each curve is the target's softmax probability at
    f = 0, 1/steps, ..., 1 (or ``steps`` = an increasing sequence of fractions from 0 to 1, e.g. denser
    at the start where curves change fastest). Returns ``fractions``, ``deletion``, ``insertion``
    (arrays), ``deletion_auc`` (lower = more faithful) and ``insertion_auc`` (higher = more faithful),
    areas under the curves over f in [0, 1].
    """
    _require_image_model(image_model, "deletion_insertion_curves")
    check_input(x)
    fractions = _fractions(steps)
    target = resolve_target(target, len(image_model.labels), image_model.labels)
    return _curves(image_model, x, target, {"map": saliency}, fractions, replacement, batch_size)["map"]


def faithfulness(image_model, images, explainers=None, targets=None, steps=10, maps=None, replacements=REPLACEMENTS,
                 batch_size=8):
    """Deletion and insertion AUCs of several maps over several images and replacements.

    ``images``: course photo names / paths / PIL images; ``targets``: one per image (default: each
    image's top-1 class); ``maps``: precomputed ``{image: {method: map}}``; ``explainers``: ``{method:
    explain(image_model, x, target)}`` for the maps not given. Every image must end up with the same
    methods. Returns ``per_image[image][replacement][method]`` (the dict of
    ``deletion_insertion_curves``), ``table`` (pandas DataFrame: image, replacement, method,
    deletion_auc, insertion_auc) and ``mean`` (DataFrame, one row per method, columns
    "deletion <replacement>" / "insertion <replacement>", averaged over the images).
    """
    import pandas as pd
    _require_image_model(image_model, "faithfulness")
    images = list(images)
    targets = list(targets) if targets is not None else [None] * len(images)
    if len(targets) != len(images):
        raise ValueError(f"{len(images)} images but {len(targets)} targets.")
    for r in replacements:
        if r not in REPLACEMENTS:
            raise ValueError(f"replacement must be one of {', '.join(map(repr, REPLACEMENTS))}, got {r!r}.")
    fractions = _fractions(steps)
    explainers = dict(explainers or {})
    per_image, rows, methods = {}, [], None
    for image, target in zip(images, targets):
        key, x = _as_input(image_model, image)
        key = key or f"image {len(per_image)}"
        if target is None:
            with torch.no_grad(), eval_mode(image_model.model):
                target = int(image_model.model(x).argmax(1))
        target = resolve_target(target, len(image_model.labels), image_model.labels)
        saliencies = dict((maps or {}).get(key, {}))
        for name, explain in explainers.items():
            if name not in saliencies:
                saliencies[name] = explain(image_model, x, target)
        if methods is None:
            methods = list(saliencies)
        elif set(saliencies) != set(methods):
            raise ValueError(f"{key!r} has maps for {sorted(saliencies)}, the first image for {sorted(methods)}; "
                             "give every image the same methods.")
        per_image[key] = {}
        for replacement in replacements:
            curves = _curves(image_model, x, target, saliencies, fractions, replacement, batch_size)
            per_image[key][replacement] = curves
            rows += [{"image": key, "replacement": replacement, "method": name, "deletion_auc": c["deletion_auc"],
                      "insertion_auc": c["insertion_auc"]} for name, c in curves.items()]
    table = pd.DataFrame(rows)
    mean = table.groupby(["method", "replacement"], sort=False)[["deletion_auc", "insertion_auc"]].mean().unstack()
    mean.columns = [f"{metric.split('_')[0]} {replacement}" for metric, replacement in mean.columns]
    return {"per_image": per_image, "table": table, "mean": mean.loc[methods], "fractions": fractions}


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


def pointing_game_chance(box, tolerance=POINTING_TOLERANCE, size=(224, 224)):
    """Chance of a hit for ``box``: the share of pixels where a peak would count (box + tolerance, clipped).

    A map whose maximum falls on a uniformly random pixel (e.g. ``random_map``) hits with exactly this
    probability; a large box is easy to hit by luck.
    """
    h, w = size
    x0, y0, x1, y1 = box
    width = min(x1 + tolerance, w - 1) - max(x0 - tolerance, 0) + 1
    height = min(y1 + tolerance, h - 1) - max(y0 - tolerance, 0) + 1
    return max(width, 0) * max(height, 0) / (h * w)


def _at_least(k, chances):
    """P(at least k successes) in independent trials with success probabilities ``chances`` (Poisson binomial)."""
    distribution = np.array([1.0])
    for c in chances:
        distribution = np.concatenate([distribution * (1 - c), [0.0]]) + np.concatenate([[0.0], distribution * c])
    return float(distribution[k:].sum())


def pointing_game(image_model, explainers=None, boxes=None, maps=None, tolerance=POINTING_TOLERANCE):
    """Pointing-game hit rate of every method over all boxed objects, with its chance rate.

    ``boxes``: ``{photo: {class name: box}}`` (default ``load_boxes()``); each box is one trial: the
    map for that class must peak inside that box. ``maps``: precomputed ``{photo: {class: {method:
    map}}}``; a map given as ``None`` is not scored (e.g. an IG map whose completeness error is too
    large to read). ``explainers`` compute the maps not given. Returns ``hits[method]`` (list of
    (photo, class, hit True/False/None)), ``score[method]`` (hit rate over the scored trials) and
    ``table`` (DataFrame: method, hits, trials, hit rate, chance = mean chance of that method's
    trials, and "p (luck)" = the probability of at least that many hits for a map whose peak falls on a
    random pixel, each trial with its own chance: a small p says the hits are not luck).
    """
    import pandas as pd
    _require_image_model(image_model, "pointing_game")
    boxes = load_boxes() if boxes is None else boxes
    explainers = dict(explainers or {})
    hits, chance = {}, {}
    for photo, objects in boxes.items():
        x = None
        for label, box in objects.items():
            known = dict((maps or {}).get(photo, {}).get(label, {}))
            if set(explainers) - set(known):
                x = image_model.preprocess(photo) if x is None else x
                for name, explain in explainers.items():
                    known.setdefault(name, explain(image_model, x, label))
            for name, saliency in known.items():
                hit = None if saliency is None else pointing_game_hit(as_2d_map(saliency, (image_model.crop,) * 2),
                                                                      box, tolerance)
                hits.setdefault(name, []).append((photo, label, hit))
                chance.setdefault(name, []).append(pointing_game_chance(box, tolerance, (image_model.crop,) * 2))
    rows, score = [], {}
    for name, trials in hits.items():
        scored = [(h, c) for (_, _, h), c in zip(trials, chance[name]) if h is not None]
        n_hit = sum(h for h, _ in scored)
        score[name] = n_hit / len(scored) if scored else float("nan")
        rows.append({"method": name, "hits": n_hit, "trials": len(scored), "hit rate": score[name],
                     "chance": float(np.mean([c for _, c in scored])) if scored else float("nan"),
                     "p (luck)": _at_least(n_hit, [c for _, c in scored])})
    return {"hits": hits, "score": score, "table": pd.DataFrame(rows).set_index("method"), "tolerance": tolerance}


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
