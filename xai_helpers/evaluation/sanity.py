"""Sanity check: cascading model-parameter randomisation (Adebayo et al. 2018, "Sanity Checks for Saliency
Maps", arXiv:1810.03292, section 3.1).

Re-initialise the network's layers from the output down, one depth after the other, over several seeds and
images, and measure the Spearman rank correlation of each method's map with the trained model's map, on the
signed map and on |map|. A map that stays the same when the weights are destroyed does not explain the weights.
"""
import copy
import dataclasses
import functools
import itertools
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from PIL import Image
from torch import nn

from .. import _memory
from .._typecheck import checked
from .._validate import check_count, eval_mode
from ..models.image import ImageModel
from ..viz.plotting import as_2d_map
from .common import _as_input, _target, spearman_rank_correlation
from .results import RandomisationResult
from .signed import RANDOMISATION_METHODS, signed_maps

#: One image as the checks take it: a course photo name, a path, a PIL image or a normalised 1x3xHxW tensor.
OneImage = str | Path | Image.Image | torch.Tensor

__all__ = ["randomisation_stages", "randomised_copy", "model_randomisation_test"]


# --- 1. sanity check: cascading model-parameter randomisation ---------------------------------------
@checked
def randomisation_stages(module: nn.Module) -> list[tuple[str, nn.Module]]:
    """The layers of ``module`` that hold parameters, from the output down (taught in 4.5).

    Top-level children, with a ``Sequential``/``ModuleList`` split into its items (ResNet's
    ``layer4.2``, EfficientNet's ``_blocks.15``): the units that a cascading randomisation re-initialises
    one after the other.

    Args:
        module: The network (``image_model.model``).

    Returns:
        A list of ``(name, module)``, the output layer first.

    Raises:
        ValueError: ``module`` has no parameters.

    Example:
        >>> from torch import nn
        >>> from xai_helpers.evaluation import randomisation_stages
        >>> [name for name, _ in randomisation_stages(nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Linear(4, 2)))]
        ['2', '0']
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
        raise ValueError(f"module ({type(module).__name__}) has no layers with parameters to randomise.")
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


@checked
def randomised_copy(image_model: ImageModel, n_stages: int, seed: int = 0) -> ImageModel:
    """A deep copy of ``image_model`` whose top ``n_stages`` stages are re-initialised (cascading); 4.5.

    Re-initialisation uses each layer's own ``reset_parameters()`` (PyTorch's default init; batch-norm
    layers get weight 1, bias 0 and fresh running statistics) under a fixed seed. The original,
    cached model is never modified.

    Args:
        image_model: The trained ``ImageModel``.
        n_stages: How many stages of ``randomisation_stages``, from the output down, to re-initialise.
        seed: The seed of the new weights.

    Returns:
        A new ``ImageModel`` with the randomised network.

    Example:
        >>> from xai_helpers.evaluation import randomised_copy
        >>> import torch, xai_helpers as xh
        >>> net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3, padding=1), torch.nn.ReLU(),
        ...                           torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(4, 3)).eval()
        >>> toy = xh.models.ImageModel("toy", net, ["cat", "dog", "fox"], net[1], "1", mean=(0.5,) * 3,
        ...                            std=(0.5,) * 3, resize=16, crop=16, device=torch.device("cpu"))
        >>> copy = randomised_copy(toy, 1)
        >>> copy.name, torch.equal(copy.model[4].weight, net[4].weight), torch.equal(copy.model[0].weight,
        ...                                                                            net[0].weight)
        ('toy (top 1 stages randomised)', False, True)
    """
    net = copy.deepcopy(image_model.model)
    stages = randomisation_stages(net)
    if not 0 <= n_stages <= len(stages):
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
                raise ValueError(f"depths: {d!r} is not a randomisation stage; stages from the top: "
                                 f"{', '.join(names)}.")
            out.append(names.index(d) + 1)
        elif isinstance(d, int) and not isinstance(d, bool) and 1 <= d <= len(names):
            out.append(d)
        else:
            raise ValueError(f"depths must be numbers of top stages in 1 ... {len(names)} or stage names, got {d!r}.")
    return sorted(set(out))



@checked
def model_randomisation_test(image_model: ImageModel, images: OneImage | Sequence[OneImage],
                             targets: Sequence[int | str] | None = None, depths: Sequence[int | str] | None = None,
                             seeds: Sequence[int] = (0, 1, 2), methods: Sequence[str] = RANDOMISATION_METHODS,
                             explainers: Mapping[str, Callable] | None = None, n_samples: int = 8,
                             noise_level: float = 0.15, batch_size: int | None = None) -> RandomisationResult:
    """Cascading model-parameter randomisation (Adebayo et al. 2018, arXiv:1810.03292, section 3.1); taught in 4.5.

    For every seed, one copy of the model is re-initialised from the output layer down, depth after
    depth (the top stages keep their random weights when deeper ones follow, as in the paper), and at
    each depth every method's map of every image is compared with the trained model's map by
    Spearman rank correlation, on the signed map and on its absolute value. Only one randomised copy
    exists at a time.

    Args:
        image_model: The trained ``ImageModel``.
        images: Photo names, paths, PIL images or 1x3xHxW tensors (or one of them).
        targets: One class (index or name) per image; default each image's top-1 class, resolved on the
            trained model and then kept fixed.
        depths: Numbers of top stages, or names of the deepest stage randomised (default: the output layer,
            the top third of the stages, all); see ``randomisation_stages``.
        seeds: The seeds of the randomised copies (at least one; two or more give the ``floor``).
        methods: The cheap batched maps of ``signed_maps`` (registry keys).
        explainers: Further ``{name: explain(model, x, target)}`` called per image (e.g. ``edge_map``).
        n_samples: SmoothGrad's noisy samples.
        noise_level: SmoothGrad's noise, a share of each image's range.
        batch_size: SmoothGrad's images per pass (default: the measured ``DEFAULT_SMOOTHGRAD_BATCH``).

    Returns:
        A ``RandomisationResult`` (``.show()`` draws it): ``table`` (one row per image x seed x depth x method:
        image, seed, depth, stage, method, rho, rho_abs), ``depths``, ``labels`` (the deepest randomised stage
        per depth), ``stages``, ``targets``, ``images``, ``maps[method]`` ((1 + depths) x images x H x W signed
        maps of the first seed, the trained model's first) and ``floor``: the correlations between the fully
        randomised copies of two seeds, the level at which a correlation says nothing about the trained weights.

    Example:
        >>> from xai_helpers.evaluation import model_randomisation_test
        >>> import torch, xai_helpers as xh
        >>> net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3, padding=1), torch.nn.ReLU(),
        ...                           torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(4, 3)).eval()
        >>> toy = xh.models.ImageModel("toy", net, ["cat", "dog", "fox"], net[1], "1", mean=(0.5,) * 3,
        ...                            std=(0.5,) * 3, resize=16, crop=16, device=torch.device("cpu"))
        >>> result = model_randomisation_test(toy, ["cat"], seeds=(0, 1), n_samples=2)
        >>> result.stages, result.depths, sorted(result.maps)
        (['4', '0'], [1, 2], ['grad_cam', 'gradient_x_input', 'smoothgrad', 'vanilla_gradients'])
        >>> result.table.shape, result.maps["grad_cam"].shape
        ((16, 7), (3, 1, 16, 16))
    """
    keys, x = _stack_inputs(image_model, images)
    targets = _fixed_targets(image_model, x, targets, len(keys))
    seeds = [int(s) for s in seeds]
    n_samples = check_count(n_samples, "n_samples")
    if not seeds:
        raise ValueError("seeds must name at least one seed, e.g. (0, 1, 2).")
    explainers = dict(explainers or {})
    stages = randomisation_stages(image_model.model)
    depths = _resolve_depths(depths, stages)
    names = [n for n, _ in stages]
    all_maps = functools.partial(_all_maps, x=x, targets=targets, methods=methods, explainers=explainers,
                                 settings=(n_samples, noise_level, 0, batch_size))

    original = all_maps(image_model)
    rows, kept, deepest = _run_cascades(image_model, original, keys, seeds, depths, names, all_maps)
    return RandomisationResult(table=pd.DataFrame(rows), floor=_floor(deepest, seeds, keys), depths=depths,
                               labels=[names[d - 1] for d in depths], stages=names, targets=dict(zip(keys, targets)),
                               images=keys, maps={m: np.stack(v) for m, v in kept.items()})


def _run_cascades(image_model, original, keys, seeds, depths, names, all_maps):
    """Every seed's cascade -> (correlation rows, the first seed's maps per depth after the trained ones,
    the deepest depth's maps per method and seed)."""
    kept = {m: [v] for m, v in original.items()}
    rows, deepest = [], {}
    for seed in seeds:
        for depth, maps in _cascade(image_model, depths, seed, all_maps):
            rows += _correlation_rows(original, maps, keys, seed=seed, depth=depth, stage=names[depth - 1])
            for method, values in maps.items():
                if seed == seeds[0]:
                    kept[method].append(values)
                if depth == depths[-1]:
                    deepest.setdefault(method, {})[seed] = values
    return rows, kept, deepest


def _all_maps(model, x, targets, methods, explainers, settings):
    """Every method's signed maps of every image -> {method: array [images, H, W]}."""
    maps = signed_maps(model, x, targets, methods, *settings) if methods else {}
    for name, explain in explainers.items():
        maps[name] = np.stack([as_2d_map(explain(model, x[i:i + 1], t), x.shape[-2:]) for i, t in enumerate(targets)])
    return maps


def _stack_inputs(image_model, images):
    """Photo names / paths / PIL images / tensors -> (keys, one batch on the model's device)."""
    if isinstance(images, (str, torch.Tensor)) or not hasattr(images, "__iter__"):
        images = [images]
    keys, xs = [], []
    for i, image in enumerate(images):
        key, x = _as_input(image_model, image, "images")
        keys.append(key or f"image {i}")
        xs.append(x)
    if not xs:
        raise ValueError("images must name at least one image (a photo name, path, PIL image or tensor).")
    if len({tuple(x.shape) for x in xs}) > 1:
        raise ValueError(f"images must all have the same size; got {sorted({tuple(x.shape) for x in xs})}.")
    return keys, torch.cat(xs)


def _fixed_targets(image_model, x, targets, n):
    """One class index per image: the given ones (index or name), default each image's top-1 class."""
    if targets is None:
        with torch.no_grad(), eval_mode(image_model.model):
            targets = image_model.model(x).argmax(1).tolist()
    if len(targets) != n:
        raise ValueError(f"{n} images but {len(targets)} targets: give one target per image.")
    return [_target(image_model, t, "targets") for t in targets]


def _cascade(image_model, depths, seed, all_maps):
    """Yield ``(depth, maps)`` for one seed: one copy of the model, re-initialised from the output down,
    depth after depth (the top stages keep their random weights when deeper ones follow, as in the paper).
    Only one randomised copy exists at a time."""
    net = copy.deepcopy(image_model.model)
    model = dataclasses.replace(image_model, model=net, target_layer=net.get_submodule(image_model.target_layer_name))
    model_stages, done = randomisation_stages(net), 0
    try:
        for depth in depths:
            _reinitialise_stages(model_stages[done:depth], seed * 1000 + depth)  # cascading: top stages stay random
            done = depth
            yield depth, all_maps(model)
    finally:
        del model, net, model_stages
        _memory.release_memory()   # the copy's weights and the passes' activations: back to the system


def _correlation_rows(reference, maps, keys, **fields):
    """One row per method x image: Spearman rho of the signed maps and of |map| with the reference's."""
    return [{"image": key, **fields, "method": method,
             "rho": spearman_rank_correlation(reference[method][i], values[i]),
             "rho_abs": spearman_rank_correlation(np.abs(reference[method][i]), np.abs(values[i]))}
            for method, values in maps.items() for i, key in enumerate(keys)]


def _floor(deepest, seeds, keys):
    """The same correlations between the fully randomised copies of two different seeds."""
    rows = [{"image": key, "seeds": f"{a} vs {b}", "method": method,
             "rho": spearman_rank_correlation(by_seed[a][i], by_seed[b][i]),
             "rho_abs": spearman_rank_correlation(np.abs(by_seed[a][i]), np.abs(by_seed[b][i]))}
            for method, by_seed in deepest.items() for a, b in itertools.combinations(seeds, 2)
            for i, key in enumerate(keys)]
    return pd.DataFrame(rows, columns=["image", "seeds", "method", "rho", "rho_abs"])
