"""Localisation: the pointing game (Zhang et al. 2016, "Top-down neural attention by excitation backprop",
arXiv:1608.00507).

A hit when the map's maximum lies inside the object's box (15-pixel tolerance), reported next to its chance
rate (the hit rate of a map whose peak falls anywhere).
"""
import json

import numpy as np
import pandas as pd

from ..data import DATA_DIR
from ..viz.plotting import as_2d_map
from .results import PointingResult
from .common import _require_image_model

__all__ = ["pointing_game_hit", "pointing_game_chance", "pointing_game", "load_boxes", "BOXES_PATH",
           "POINTING_TOLERANCE"]


BOXES_PATH = DATA_DIR / "boxes.json"


#: Pixels around a box that still count as a hit (Zhang et al. 2016 use 15 px at 224 px).
POINTING_TOLERANCE = 15


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
    return PointingResult(hits=hits, score=score, table=pd.DataFrame(rows).set_index("method"), tolerance=tolerance)
