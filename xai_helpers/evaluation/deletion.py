"""Faithfulness: deletion and insertion curves (Petsiuk et al. 2018, "RISE", arXiv:1806.07421, section 4.1;
Samek et al. 2017, arXiv:1509.06321).

Remove (deletion) or reveal (insertion) pixels in the order of the map and follow the class probability.
A faithful map makes it fall fast (small deletion AUC) and rise fast (large insertion AUC). "Removing" means
replacing by *something*: black, or a blurred copy of the image; both are measured, since the choice changes
the verdict.
"""
import numpy as np
import torch
import pandas as pd

from .._validate import check_input, eval_mode, resolve_target
from ..methods.integrated import BLUR_SIGMA, make_baseline
from ..viz.plotting import as_2d_map
from .results import Curves, FaithfulnessResult
from .common import _as_input, _require_image_model

__all__ = ["replacement_image", "deletion_insertion_curves", "faithfulness", "REPLACEMENTS"]


#: What deleted pixels become (and what insertion starts from): pixel value 0, or a blurred copy
#: (the same Gaussian as the "blur" baseline of Integrated Gradients, ``integrated.make_baseline``).
REPLACEMENTS = ("black", "blur")


# --- 2. faithfulness: deletion and insertion --------------------------------------------------------
def replacement_image(image_model, x, replacement="black"):
    """What deleted pixels become -> a normalised 1x3xHxW tensor on x's device.

    ``"black"``: pixel value 0 everywhere; ``"blur"``: x blurred with the Gaussian of IG's "blur"
    baseline (``integrated.make_baseline(image_model, x, "blur")``, sigma ``BLUR_SIGMA`` pixels; on
    images smaller than its kernel, the largest sigma whose kernel fits).
    """
    if replacement not in REPLACEMENTS:
        raise ValueError(f"replacement must be one of {', '.join(map(repr, REPLACEMENTS))}, got {replacement!r}.")
    sigma = min(BLUR_SIGMA, (min(x.shape[-2:]) - 1) // 6) if replacement == "blur" else BLUR_SIGMA
    return make_baseline(image_model, x, replacement, sigma=sigma)[:1].to(device=x.device, dtype=x.dtype)


def _fractions(fractions):
    if isinstance(fractions, int) and not isinstance(fractions, bool) and fractions >= 1:
        return np.linspace(0.0, 1.0, fractions + 1)
    given = fractions
    fractions = np.asarray(given, dtype=float) if not isinstance(given, (int, bool)) else np.array([])
    if fractions.ndim != 1 or len(fractions) < 2 or fractions[0] != 0 or fractions[-1] != 1 or \
            (np.diff(fractions) <= 0).any():
        raise ValueError(f"fractions must be a number of equal steps (a positive integer) or increasing fractions "
                         f"from 0 to 1, e.g. fractions=10 or fractions=(0, 0.05, 0.1, 0.2, 0.5, 1); got {given!r}.")
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
        out[name] = Curves(fractions=fractions, deletion=deletion, insertion=insertion,
                           deletion_auc=_auc(fractions, deletion), insertion_auc=_auc(fractions, insertion),
                           target=target, replacement=replacement)
    return out


def deletion_insertion_curves(image_model, x, target, saliency, fractions=10, replacement="black", batch_size=8):
    """Deletion and insertion curves of one map (Petsiuk et al. 2018, arXiv:1806.07421) -> dict of numbers.

    Pixels are ranked by ``saliency`` (2-D, larger = more important; resized to x's HxW if needed).
    Deletion: the top fraction f of pixels is replaced by ``replacement_image(image_model, x,
    replacement)`` ("black" or "blur"). Insertion: starting from that replacement image, the top
    fraction f is restored to the original. Each curve is the target's softmax probability at
    f = 0, 1/n, ..., 1 for ``fractions=n`` (or ``fractions`` = an increasing sequence of fractions from 0 to 1, e.g. denser
    at the start where curves change fastest). Returns ``Curves`` (``.show()`` draws them): ``fractions``, ``deletion``, ``insertion``
    (arrays), ``deletion_auc`` (lower = more faithful) and ``insertion_auc`` (higher = more faithful),
    areas under the curves over f in [0, 1].
    """
    _require_image_model(image_model, "deletion_insertion_curves")
    check_input(x)
    fractions = _fractions(fractions)
    target = resolve_target(target, len(image_model.labels), image_model.labels)
    return _curves(image_model, x, target, {"map": saliency}, fractions, replacement, batch_size)["map"]


def faithfulness(image_model, images, explainers=None, targets=None, fractions=10, maps=None, replacements=REPLACEMENTS,
                 batch_size=8):
    """Deletion and insertion AUCs of several maps over several images and replacements.

    ``images``: course photo names / paths / PIL images; ``targets``: one per image (default: each
    image's top-1 class); ``maps``: precomputed ``{image: {method: map}}``; ``explainers``: ``{method:
    explain(image_model, x, target)}`` for the maps not given. Every image must end up with the same
    methods. Returns a ``FaithfulnessResult``: ``per_image[image][replacement][method]`` (the ``Curves`` of
    ``deletion_insertion_curves``), ``table`` (pandas DataFrame: image, replacement, method,
    deletion_auc, insertion_auc) and ``mean`` (DataFrame, one row per method, columns
    "deletion <replacement>" / "insertion <replacement>", averaged over the images).
    """
    _require_image_model(image_model, "faithfulness")
    images = list(images)
    targets = list(targets) if targets is not None else [None] * len(images)
    if len(targets) != len(images):
        raise ValueError(f"{len(images)} images but {len(targets)} targets.")
    for r in replacements:
        if r not in REPLACEMENTS:
            raise ValueError(f"replacement must be one of {', '.join(map(repr, REPLACEMENTS))}, got {r!r}.")
    fractions = _fractions(fractions)
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
    return FaithfulnessResult(per_image=per_image, table=table, mean=mean.loc[methods], fractions=fractions)
