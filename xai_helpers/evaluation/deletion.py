"""Faithfulness: deletion and insertion curves (Petsiuk et al. 2018, "RISE", arXiv:1806.07421, section 4.1;
Samek et al. 2017, arXiv:1509.06321).

Remove (deletion) or reveal (insertion) pixels in the order of the map and follow the class probability.
A faithful map makes it fall fast (small deletion AUC) and rise fast (large insertion AUC). "Removing" means
replacing by *something*: black, or a blurred copy of the image; both are measured, since the choice changes
the verdict.
"""
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from PIL import Image

from .. import _memory
from .._typecheck import checked
from .._validate import check_count, eval_mode
from ..methods.integrated import BLUR_SIGMA, make_baseline
from ..models.image import ImageModel
from ..viz.plotting import ArrayLike, as_2d_map
from .common import _as_input, _model_input, _target
from .results import Curves, FaithfulnessResult

__all__ = ["replacement_image", "deletion_insertion_curves", "faithfulness", "REPLACEMENTS"]


#: What deleted pixels become (and what insertion starts from): pixel value 0, or a blurred copy
#: (the same Gaussian as the "blur" baseline of Integrated Gradients, ``integrated.make_baseline``).
REPLACEMENTS: tuple[str, ...] = ("black", "blur")


# --- 2. faithfulness: deletion and insertion --------------------------------------------------------
@checked
def replacement_image(image_model: ImageModel, x: torch.Tensor, replacement: str = "black") -> torch.Tensor:
    """What deleted pixels become in the deletion and insertion curves (taught in 4.5).

    ``"black"``: pixel value 0 everywhere; ``"blur"``: x blurred with the Gaussian of IG's "blur"
    baseline (``integrated.make_baseline(image_model, x, "blur")``, sigma ``BLUR_SIGMA`` pixels; on
    images smaller than its kernel, the largest sigma whose kernel fits).

    Args:
        image_model: The ``ImageModel`` whose normalisation defines pixel space.
        x: One normalised image, 1x3xHxW (``image_model.preprocess(photo)``).
        replacement: ``"black"`` or ``"blur"`` (one of ``REPLACEMENTS``).

    Returns:
        A normalised 1x3xHxW tensor on the model's device.

    Example:
        >>> from xai_helpers.evaluation import replacement_image
        >>> import torch, xai_helpers as xh
        >>> net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3, padding=1), torch.nn.ReLU(),
        ...                           torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(4, 3)).eval()
        >>> toy = xh.models.ImageModel("toy", net, ["cat", "dog", "fox"], net[1], "1", mean=(0.5,) * 3,
        ...                            std=(0.5,) * 3, resize=16, crop=16, device=torch.device("cpu"))
        >>> fill = replacement_image(toy, toy.preprocess("cat"), "black")
        >>> tuple(fill.shape), round(float(toy.to_image(fill).max()), 3)
        ((1, 3, 16, 16), 0.0)
    """
    if replacement not in REPLACEMENTS:
        raise ValueError(f"replacement must be one of {', '.join(map(repr, REPLACEMENTS))}, got {replacement!r}.")
    x = _model_input(image_model, x)
    sigma = min(BLUR_SIGMA, (min(x.shape[-2:]) - 1) // 6) if replacement == "blur" else BLUR_SIGMA
    return make_baseline(image_model, x, replacement, sigma=sigma)[:1].to(device=x.device, dtype=x.dtype)


def _fractions(fractions):
    if isinstance(fractions, (int, np.integer)) and not isinstance(fractions, bool) and fractions >= 1:
        return np.linspace(0.0, 1.0, int(fractions) + 1)
    given = fractions
    fractions = np.asarray(given, dtype=float) if not isinstance(given, (int, np.integer, bool)) else np.array([])
    if fractions.ndim != 1 or len(fractions) < 2 or fractions[0] != 0 or fractions[-1] != 1 or \
            (np.diff(fractions) <= 0).any():
        raise ValueError(f"fractions must be a number of equal steps (a positive integer) or increasing fractions "
                         f"from 0 to 1, e.g. fractions=10 or fractions=(0, 0.05, 0.1, 0.2, 0.5, 1); got {given!r}.")
    return fractions


def _auc(fractions, scores):
    return float(np.trapezoid(scores, fractions))


def _curves(image_model, x, target, saliencies, fractions, replacement, batch_size, what="maps"):
    """Deletion and insertion curves of several maps of one image; the end points are computed once.

    The perturbed images are made batch by batch (never all at once: 2 x (len(fractions) - 2) per map) and go
    through the model under ``torch.no_grad`` in channels-last layout, which convolutions on the CPU
    run faster; the probabilities are the same up to float rounding."""
    h, w = x.shape[-2:]
    x = x.detach()
    fill = replacement_image(image_model, x, replacement)
    counts = np.round(fractions[1:-1] * h * w).astype(np.int64)
    orders = []                                          # per map: each pixel's rank, 0 = most important
    for name, saliency in saliencies.items():
        m = as_2d_map(saliency, (h, w), name=f"{what}[{name!r}]" if what != "saliency" else what)
        if not np.isfinite(m).all():
            raise ValueError(f"The map {what} {name!r} contains NaN or infinite values; it cannot rank pixels.")
        rank = np.empty(h * w, dtype=np.int64)
        rank[np.argsort(-m.ravel(), kind="stable")] = np.arange(h * w)
        orders.append(torch.from_numpy(rank.reshape(h, w)).to(x.device))
    thresholds = torch.from_numpy(counts).to(x.device)
    # image j: 0 = x, 1 = fill (f = 0 and f = 1 of both curves, shared by every map), then per map k deletion
    # images (top counts[i] pixels -> fill) and k insertion images (top counts[i] pixels of x on the fill)
    k, n_images = len(counts), 2 + 2 * len(counts) * len(saliencies)

    def image(j):
        if j < 2:
            return (x, fill)[j]
        q, r = divmod(j - 2, 2 * k)
        taken = (orders[q] < thresholds[r % k]).to(x.dtype)           # taken pixels = 1
        return x * (1 - taken) + fill * taken if r < k else fill * (1 - taken) + x * taken

    probs = []
    with torch.no_grad(), eval_mode(image_model.model):
        for start in range(0, n_images, batch_size):
            batch = torch.cat([image(j) for j in range(start, min(start + batch_size, n_images))])
            batch = batch.contiguous(memory_format=torch.channels_last)
            probs.append(image_model.model(batch).softmax(-1)[:, target].float().cpu())
            del batch
    probs = torch.cat(probs).cpu().numpy()
    p_x, p_fill = probs[0], probs[1]
    out = {}
    for j, name in enumerate(saliencies):
        block = probs[2 + 2 * k * j: 2 + 2 * k * (j + 1)]
        deletion = np.concatenate([[p_x], block[:k], [p_fill]])
        insertion = np.concatenate([[p_fill], block[k:], [p_x]])
        out[name] = Curves(fractions=fractions, deletion=deletion, insertion=insertion,
                           deletion_auc=_auc(fractions, deletion), insertion_auc=_auc(fractions, insertion),
                           target=target, replacement=replacement)
    return out


@checked
def deletion_insertion_curves(image_model: ImageModel, x: torch.Tensor, target: int | str, saliency: ArrayLike,
                              fractions: int | Sequence[float] = 10, replacement: str = "black",
                              batch_size: int = 8) -> Curves:
    """Deletion and insertion curves of one map (Petsiuk et al. 2018, arXiv:1806.07421); taught in 4.5.

    Pixels are ranked by ``saliency`` (2-D, larger = more important; resized to x's HxW if needed).
    Deletion: the top fraction f of pixels is replaced by ``replacement_image(image_model, x,
    replacement)``. Insertion: starting from that replacement image, the top fraction f is restored to
    the original. Each curve is the target's softmax probability at each fraction f. A faithful map makes
    the deletion curve fall fast (small area) and the insertion curve rise fast (large area).

    Args:
        image_model: The ``ImageModel`` explained.
        x: One normalised image, 1x3xHxW (``image_model.preprocess(photo)``).
        target: The class explained: an index or a class name.
        saliency: The map, HxW (a tensor or array; leading 1-dims allowed).
        fractions: ``n`` for f = 0, 1/n, ..., 1, or an increasing sequence of fractions from 0 to 1 (e.g.
            denser at the start, where curves change fastest).
        replacement: ``"black"`` or ``"blur"``.
        batch_size: Images per forward pass.

    Returns:
        ``Curves`` (``.show()`` draws them): fractions, deletion, insertion, deletion_auc (lower = more
        faithful), insertion_auc (higher = more faithful), target and replacement.

    Example:
        >>> from xai_helpers.evaluation import deletion_insertion_curves
        >>> import torch, xai_helpers as xh
        >>> net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3, padding=1), torch.nn.ReLU(),
        ...                           torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(4, 3)).eval()
        >>> toy = xh.models.ImageModel("toy", net, ["cat", "dog", "fox"], net[1], "1", mean=(0.5,) * 3,
        ...                            std=(0.5,) * 3, resize=16, crop=16, device=torch.device("cpu"))
        >>> x = toy.preprocess("cat")
        >>> curves = deletion_insertion_curves(toy, x, "dog", torch.rand(16, 16), fractions=4)
        >>> curves.deletion.shape, curves.target, 0 <= curves.deletion_auc <= 1
        ((5,), 1, True)
    """
    x = _model_input(image_model, x)
    fractions = _fractions(fractions)
    batch_size = check_count(batch_size, "batch_size")
    if replacement not in REPLACEMENTS:
        raise ValueError(f"replacement must be one of {', '.join(map(repr, REPLACEMENTS))}, got {replacement!r}.")
    target = _target(image_model, target)
    return _curves(image_model, x, target, {"map": saliency}, fractions, replacement, batch_size, "saliency")["map"]


@checked
@_memory.releasing()   # the curves' freed batches go back to the system: the next cell starts as low
def faithfulness(image_model: ImageModel, images: Sequence[str | Path | Image.Image | torch.Tensor],
                 explainers: Mapping[str, Callable] | None = None, targets: Sequence[int | str | None] | None = None,
                 fractions: int | Sequence[float] = 10, maps: Mapping[str, Mapping[str, ArrayLike]] | None = None,
                 replacements: Sequence[str] = REPLACEMENTS, batch_size: int = 8) -> FaithfulnessResult:
    """Deletion and insertion AUCs of several maps over several images and replacements (taught in 4.5).

    Every image gets the curves of ``deletion_insertion_curves`` for every method and replacement; the
    areas under them are averaged over the images. Every image must end up with the same methods.

    Args:
        image_model: The ``ImageModel`` explained.
        images: Course photo names, paths, PIL images or normalised 1x3xHxW tensors.
        explainers: ``{method: explain(image_model, x, target) -> HxW map}`` for the maps not given in ``maps``
            (e.g. from ``xh.interpret.image_explainers()``).
        targets: One class (index or name) per image; default (or ``None`` for an image): its top-1 class.
        fractions: As for ``deletion_insertion_curves``.
        maps: Precomputed maps ``{image key: {method: map}}``; a photo's key is its name, others are "image i".
        replacements: Which of ``REPLACEMENTS`` to measure with.
        batch_size: Images per forward pass.

    Returns:
        A ``FaithfulnessResult``: ``per_image[image][replacement][method]`` (``Curves``), ``table`` (one row
        per image, replacement and method, with deletion_auc and insertion_auc) and ``mean`` (one row per
        method, columns "deletion <replacement>" / "insertion <replacement>", averaged over the images).

    Example:
        >>> from xai_helpers.evaluation import faithfulness
        >>> import torch, xai_helpers as xh
        >>> net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3, padding=1), torch.nn.ReLU(),
        ...                           torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(4, 3)).eval()
        >>> toy = xh.models.ImageModel("toy", net, ["cat", "dog", "fox"], net[1], "1", mean=(0.5,) * 3,
        ...                            std=(0.5,) * 3, resize=16, crop=16, device=torch.device("cpu"))
        >>> result = faithfulness(toy, ["cat"], {"random": xh.evaluation.random_map}, fractions=4)
        >>> list(result.mean.columns)
        ['deletion black', 'deletion blur', 'insertion black', 'insertion blur']
        >>> result.table[["image", "replacement", "method"]].values.tolist()
        [['cat', 'black', 'random'], ['cat', 'blur', 'random']]
    """
    images = list(images)
    batch_size = check_count(batch_size, "batch_size")
    targets = list(targets) if targets is not None else [None] * len(images)
    if len(targets) != len(images):
        raise ValueError(f"{len(images)} images but {len(targets)} targets: give one target per image.")
    if not images or not replacements or any(r not in REPLACEMENTS for r in replacements):
        raise ValueError(f"images must name at least one image and replacements must hold some of "
                         f"{', '.join(map(repr, REPLACEMENTS))}; got {len(images)} images and {replacements!r}.")
    fractions = _fractions(fractions)
    explainers = dict(explainers or {})
    per_image, rows, methods = {}, [], None
    for image, target in zip(images, targets):
        key, x = _as_input(image_model, image, "images")
        key = key or f"image {len(per_image)}"
        if target is None:
            with torch.no_grad(), eval_mode(image_model.model):
                target = int(image_model.model(x).argmax(1))
        target = _target(image_model, target, "targets")
        saliencies = dict((maps or {}).get(key, {}))
        for name, explain in explainers.items():
            if name not in saliencies:
                saliencies[name] = explain(image_model, x, target)
        if not saliencies:
            raise ValueError(f"No map for {key!r}: give explainers (e.g. xh.interpret.image_explainers()) or maps.")
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
    return FaithfulnessResult(per_image=per_image, table=table, mean=mean.loc[methods], fractions=fractions)
