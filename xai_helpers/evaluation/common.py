"""Pieces the three checks share: input handling, rank correlation, a compact text table (and the control maps of
``methods.controls``, re-exported here because the checks compare methods with them)."""
import math

import numpy as np
import torch

from .._validate import check_input
from ..methods.controls import edge_map, random_map
from ..models.image import ImageModel
from ..viz.plotting import to_numpy

__all__ = ["spearman_rank_correlation", "edge_map", "random_map", "format_table"]


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
