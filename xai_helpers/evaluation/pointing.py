"""Localisation: the pointing game (Zhang et al. 2016, "Top-down neural attention by excitation backprop",
arXiv:1608.00507).

A hit when the map's maximum lies inside the object's box (15-pixel tolerance), reported next to its chance
rate (the hit rate of a map whose peak falls anywhere).
"""
import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from .._typecheck import checked
from .._validate import as_float_array, check_count
from ..data import DATA_DIR
from ..models.image import ImageModel
from ..viz.plotting import ArrayLike, as_2d_map
from .results import PointingResult

__all__ = ["pointing_game_hit", "pointing_game_chance", "pointing_game", "load_boxes", "BOXES_PATH",
           "POINTING_TOLERANCE"]


#: The course photos' hand-measured object boxes (``load_boxes``).
BOXES_PATH: Path = DATA_DIR / "boxes.json"


#: Pixels around a box that still count as a hit (Zhang et al. 2016 use 15 px at 224 px).
POINTING_TOLERANCE: int = 15


# --- 3. localisation: the pointing game -------------------------------------------------------------
@checked
def load_boxes(path: str | Path = BOXES_PATH) -> dict[str, dict[str, list[int]]]:
    """Hand-measured object boxes of the course photos, for the pointing game (taught in 4.5).

    Coordinates are pixels of the model's 224x224 view (``image_model.view(photo)``: resize 256,
    centre crop 224), x to the right, y down, corners inclusive.

    Args:
        path: The boxes file (default: the course's ``BOXES_PATH``).

    Returns:
        ``{photo: {class name: [x0, y0, x1, y1]}}``.

    Example:
        >>> from xai_helpers.evaluation import load_boxes
        >>> boxes = load_boxes()
        >>> sorted(boxes["dog"])
        ['German shepherd', 'bicycle-built-for-two', 'pickup']
        >>> boxes["dog"]["pickup"]
        [148, 12, 223, 60]
    """
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
        return {photo: {label: list(box) for label, box in entry["boxes"].items()}
                for photo, entry in data["photos"].items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as err:
        raise ValueError(f"path must be a boxes file like {BOXES_PATH.name} ({{'photos': {{photo: {{'boxes': "
                         f"{{class: [x0, y0, x1, y1]}}}}}}}}); reading {str(path)!r} failed: {err}") from None


def _box(box):
    values = as_float_array(box, "box")
    if values.shape != (4,) or not np.isfinite(values).all():
        raise ValueError(f"box must be four finite pixel coordinates [x0, y0, x1, y1]; got {box!r}.")
    return values


@checked
def pointing_game_hit(saliency: ArrayLike, box: Sequence[float] | ArrayLike,
                      tolerance: float = POINTING_TOLERANCE) -> bool:
    """Whether the map's maximum lies inside ``box``, grown by ``tolerance`` pixels: one pointing-game trial (4.5).

    With several equal maxima the first in row-major order counts. An all-zero (flat) map counts as a
    miss: it points nowhere.

    Args:
        saliency: The map, HxW (tensor or array).
        box: ``[x0, y0, x1, y1]`` in the map's pixels, corners inclusive.
        tolerance: Pixels around the box that still count (Zhang et al. 2016: 15 at 224 px).

    Returns:
        True for a hit.

    Example:
        >>> import torch
        >>> from xai_helpers.evaluation import pointing_game_hit
        >>> m = torch.zeros(10, 10)
        >>> m[2, 7] = 1.0
        >>> pointing_game_hit(m, [6, 1, 8, 3], tolerance=0), pointing_game_hit(m, [0, 5, 3, 9], tolerance=0)
        (True, False)
    """
    m = as_2d_map(saliency, name="saliency")
    x0, y0, x1, y1 = _box(box)
    if not np.isfinite(m).all():
        raise ValueError("saliency contains NaN or infinite values; it has no maximum to point with.")
    if np.ptp(m) == 0:
        return False
    y, x = np.unravel_index(int(np.argmax(m)), m.shape)
    return bool(x0 - tolerance <= x <= x1 + tolerance and y0 - tolerance <= y <= y1 + tolerance)


@checked
def pointing_game_chance(box: Sequence[float] | ArrayLike, tolerance: float = POINTING_TOLERANCE,
                         size: Sequence[int] = (224, 224)) -> float:
    """Chance of a hit for ``box``: the share of pixels where a peak would count (box + tolerance, clipped); 4.5.

    A map whose maximum falls on a uniformly random pixel (e.g. ``random_map``) hits with exactly this
    probability; a large box is easy to hit by luck.

    Args:
        box: ``[x0, y0, x1, y1]``, corners inclusive.
        tolerance: Pixels around the box that still count.
        size: The map's ``(H, W)``.

    Returns:
        The probability, in [0, 1].

    Example:
        >>> from xai_helpers.evaluation import pointing_game_chance
        >>> pointing_game_chance([0, 0, 4, 9], tolerance=0, size=(10, 10))
        0.5
    """
    x0, y0, x1, y1 = _box(box)
    if len(size) != 2 or min(size) < 1:
        raise ValueError(f"size must be the map's (H, W), two positive integers; got {tuple(size)!r}.")
    h, w = size
    width = min(x1 + tolerance, w - 1) - max(x0 - tolerance, 0) + 1
    height = min(y1 + tolerance, h - 1) - max(y0 - tolerance, 0) + 1
    return float(max(width, 0) * max(height, 0) / (h * w))


def _at_least(k, chances):
    """P(at least k successes) in independent trials with success probabilities ``chances`` (Poisson binomial)."""
    distribution = np.array([1.0])
    for c in chances:
        distribution = np.concatenate([distribution * (1 - c), [0.0]]) + np.concatenate([[0.0], distribution * c])
    return float(distribution[k:].sum())


@checked
def pointing_game(image_model: ImageModel, explainers: Mapping[str, Callable] | None = None,
                  boxes: Mapping[str, Mapping[str, Sequence[float]]] | None = None,
                  maps: Mapping[str, Mapping[str, Mapping[str, ArrayLike | None]]] | None = None,
                  tolerance: float = POINTING_TOLERANCE) -> PointingResult:
    """Pointing-game hit rate of every method over all boxed objects, with its chance rate (taught in 4.5).

    Each box is one trial: the map for that class must peak inside that box. A hit rate means something
    only next to its chance rate: "p (luck)" is the probability of at least that many hits for a map whose
    peak falls on a random pixel, each trial with its own chance; a small p says the hits are not luck.

    Args:
        image_model: The ``ImageModel`` explained.
        explainers: ``{method: explain(image_model, x, target) -> HxW map}`` for the maps not in ``maps``.
        boxes: ``{photo: {class name: box}}`` (default ``load_boxes()``).
        maps: Precomputed ``{photo: {class: {method: map}}}``; a map given as ``None`` is not scored (e.g. an
            IG map whose completeness error is too large to read).
        tolerance: Pixels around a box that still count as a hit.

    Returns:
        A ``PointingResult``: ``hits[method]`` (list of (photo, class, hit True/False/None)), ``score[method]``
        (hit rate over the scored trials) and ``table`` (per method: hits, trials, hit rate, chance, p (luck)).

    Example:
        >>> import torch
        >>> import xai_helpers as xh
        >>> toy = xh.models.ImageModel(name="toy", model=torch.nn.Linear(2, 2), labels=["cat", "dog"],
        ...     target_layer=torch.nn.Identity(), target_layer_name="", mean=(0.5,) * 3, std=(0.5,) * 3,
        ...     resize=16, crop=16, device=torch.device("cpu"))
        >>> peak = torch.zeros(16, 16)
        >>> peak[3, 4] = 1.0
        >>> result = xh.evaluation.pointing_game(toy, boxes={"cat": {"cat": [2, 2, 6, 6]}},
        ...                                      maps={"cat": {"cat": {"peak": peak}}}, tolerance=0)
        >>> result.score, round(float(result.table.loc["peak", "chance"]), 3)
        ({'peak': 1.0}, 0.098)
    """
    boxes = load_boxes() if boxes is None else boxes
    explainers = dict(explainers or {})
    if not explainers and not maps:
        raise ValueError("pointing_game needs explainers (e.g. xh.interpret.image_explainers()) or maps to score.")
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
                hit = None if saliency is None else pointing_game_hit(
                    as_2d_map(saliency, (image_model.crop,) * 2, name=f"maps[{photo!r}][{label!r}][{name!r}]"),
                    box, tolerance)
                hits.setdefault(name, []).append((photo, label, hit))
                chance.setdefault(name, []).append(pointing_game_chance(box, tolerance, (image_model.crop,) * 2))
    if not hits:
        raise ValueError("No trial to score: boxes and maps (or explainers) share no (photo, class); boxes is "
                         "{photo: {class name: box}}, maps {photo: {class name: {method: map}}}.")
    rows, score = [], {}
    for name, trials in hits.items():
        scored = [(h, c) for (_, _, h), c in zip(trials, chance[name]) if h is not None]
        n_hit = sum(h for h, _ in scored)
        score[name] = n_hit / len(scored) if scored else float("nan")
        rows.append({"method": name, "hits": n_hit, "trials": len(scored), "hit rate": score[name],
                     "chance": float(np.mean([c for _, c in scored])) if scored else float("nan"),
                     "p (luck)": _at_least(n_hit, [c for _, c in scored])})
    return PointingResult(hits=hits, score=score, table=pd.DataFrame(rows).set_index("method"), tolerance=tolerance)
