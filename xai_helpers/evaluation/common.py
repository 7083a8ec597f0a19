"""Pieces the three checks share: input handling, rank correlation, a compact text table (and the control maps of
``methods.controls``, re-exported here because the checks compare methods with them)."""
import math
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import torch

from .._typecheck import checked
from .._validate import as_float_array, check_device, check_input, resolve_target
from ..methods.controls import edge_map, random_map
from ..models.image import ImageModel
from ..viz.plotting import ArrayLike

__all__ = ["spearman_rank_correlation", "edge_map", "random_map", "format_table"]


# --- helpers ----------------------------------------------------------------------------------------
def _model_input(image_model, x, name="x"):
    """``x``: one normalised 1xCxHxW float tensor, finite, on the CPU or the model's device -> there."""
    if isinstance(x, torch.Tensor):
        check_device(x, image_model.device, name=name)
    return check_input(x, name=name).to(image_model.device)


def _as_input(image_model, image, name="image"):
    """Course photo name / path / PIL image / normalised 1x3xHxW tensor -> (key, x on the model's device)."""
    if isinstance(image, torch.Tensor):
        return None, _model_input(image_model, image, name)
    return (image if isinstance(image, str) else None), image_model.preprocess(image)


def _target(image_model, target, name="target"):
    """``resolve_target`` for the ``ImageModel``'s classes, its errors naming the argument ``name``."""
    try:
        return resolve_target(target, len(image_model.labels), image_model.labels)
    except (TypeError, ValueError) as err:
        raise type(err)(f"{name}: {err}") from None


@checked
def spearman_rank_correlation(a: ArrayLike | Sequence[float], b: ArrayLike | Sequence[float]) -> float:
    """Spearman's rank correlation of two maps of the same shape (ties get average ranks); taught in 4.5.

    The sanity check compares a method's map on the trained model with its map on a randomised model by
    this number: 1 = the same ranking of pixels, 0 = unrelated, -1 = reversed. A constant map has no
    ranking: the result is then ``nan`` (``format_table`` prints "flat").

    Args:
        a: A map (tensor or array, any shape).
        b: A map with as many values as ``a``.

    Returns:
        Spearman's rho as a float in [-1, 1], or ``nan`` when either map is constant.

    Raises:
        ValueError: The maps hold different numbers of values, or NaN.

    Example:
        >>> import torch
        >>> from xai_helpers.evaluation import spearman_rank_correlation
        >>> a = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
        >>> spearman_rank_correlation(a, a ** 3), spearman_rank_correlation(a, -a)
        (1.0, -1.0)
        >>> spearman_rank_correlation(a, torch.zeros(2, 2))
        nan
    """
    from scipy.stats import rankdata
    a = as_float_array(a, "a").ravel().astype(np.float64)
    b = as_float_array(b, "b").ravel().astype(np.float64)
    if a.shape != b.shape:
        raise ValueError(f"The maps a and b must have the same number of pixels, got {a.size} and {b.size}.")
    for name, m in (("a", a), ("b", b)):
        if not np.isfinite(m).all():
            raise ValueError(f"The map {name} contains NaN or infinite values; it cannot rank pixels.")
    if a.size == 0 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return float("nan")
    return float(np.corrcoef(rankdata(a), rankdata(b))[0, 1])


# --- a compact table ---------------------------------------------------------------------------------
@checked
def format_table(rows: Iterable[Mapping[str, object]], columns: Sequence[str] | None = None, digits: int = 2) -> str:
    """Rows of results -> a plain-text table, for printing scores side by side (4.5).

    Args:
        rows: One dict per row, column name -> value (a list of dicts).
        columns: The columns to show, in order (default: the keys of the first row); a missing value is blank.
        digits: Decimals of the floats; NaN is printed as "flat".

    Returns:
        The table as one string (header, rule, one line per row); ``""`` for no rows.

    Example:
        >>> from xai_helpers.evaluation import format_table
        >>> print(format_table([{"method": "grad_cam", "rho": 0.1234}, {"method": "edges", "rho": float("nan")}]))
        method     rho
        --------  ----
        grad_cam  0.12
        edges     flat
    """
    rows = list(rows)
    if not all(isinstance(r, Mapping) for r in rows):
        raise TypeError(f"rows must be dicts, column name -> value; got {[type(r).__name__ for r in rows][:3]}.")
    if not 0 <= digits <= 20:
        raise ValueError(f"digits must be a number of decimals from 0 to 20, got {digits}.")
    if not rows:
        return ""
    columns = list(rows[0]) if columns is None else list(columns)

    def cell(v):
        if isinstance(v, float):
            return "flat" if math.isnan(v) else f"{v:.{digits}f}"
        return str(v)

    body = [[cell(r.get(c, "")) for c in columns] for r in rows]
    widths = [max(len(str(c)), *(len(b[i]) for b in body)) for i, c in enumerate(columns)]
    line = lambda vals: "  ".join(v.ljust(wd) if i == 0 else v.rjust(wd) for i, (v, wd) in enumerate(zip(vals, widths)))  # noqa: E731
    return "\n".join([line([str(c) for c in columns]), line(["-" * wd for wd in widths])] + [line(b) for b in body])
