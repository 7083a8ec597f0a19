"""Sanity check: cascading model-parameter randomisation (Adebayo et al. 2018, "Sanity Checks for Saliency
Maps", arXiv:1810.03292, section 3.1).

Re-initialise the network's layers from the output down, one depth after the other, over several seeds and
images, and measure the Spearman rank correlation of each method's map with the trained model's map, on the
signed map and on |map|. A map that stays the same when the weights are destroyed does not explain the weights.
"""
import copy
import dataclasses
import functools
import gc
import itertools

import numpy as np
import torch
from torch import nn
import pandas as pd

from .._validate import eval_mode, resolve_target
from ..viz.plotting import as_2d_map
from .results import RandomisationResult
from .common import _as_input, _require_image_model, spearman_rank_correlation
from .signed import RANDOMISATION_METHODS, signed_maps

__all__ = ["randomisation_stages", "randomised_copy", "model_randomisation_test"]


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



def model_randomisation_test(image_model, images, targets=None, depths=None, seeds=(0, 1, 2),
                             methods=RANDOMISATION_METHODS, explainers=None, n_samples=8,
                             noise_level=0.15, batch_size=None):
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

    Returns a ``RandomisationResult`` (``.show()`` draws it): ``table`` (pandas DataFrame, one row per image x seed x depth x method with
    columns image, seed, depth, stage, method, rho, rho_abs), ``depths`` (ints), ``labels`` (the
    deepest randomised stage per depth), ``stages`` (all stage names, top down), ``targets``,
    ``images`` (keys), ``maps[method]``: an array (1 + depths) x images x H x W of the signed maps
    for the first seed, the trained model's first, and ``floor``: the same correlations between the
    fully randomised copies of two different seeds (image, seeds, method, rho, rho_abs), i.e. what two
    models that share only the architecture and the input have in common: the level at which a
    correlation with the trained map says nothing about the trained weights.
    """
    _require_image_model(image_model, "model_randomisation_test")
    keys, x = _stack_inputs(image_model, images)
    targets = _fixed_targets(image_model, x, targets, len(keys))
    seeds = [int(s) for s in seeds]
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
        key, x = _as_input(image_model, image)
        keys.append(key or f"image {i}")
        xs.append(x)
    return keys, torch.cat(xs)


def _fixed_targets(image_model, x, targets, n):
    """One class index per image: the given ones (index or name), default each image's top-1 class."""
    if targets is None:
        with torch.no_grad(), eval_mode(image_model.model):
            targets = image_model.model(x).argmax(1).tolist()
    targets = [resolve_target(t, len(image_model.labels), image_model.labels) for t in targets]
    if len(targets) != n:
        raise ValueError(f"{n} images but {len(targets)} targets.")
    return targets


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
        gc.collect()


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
