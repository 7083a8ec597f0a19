"""Measures of maps that learners and checkers share: roughness, differences, correlation.

Learners call them in the chapter 4 exercises (``check.roughness``, ``check.rms_difference``) and lesson 4.1;
the checkers compute their references with the same code. A map may be a tensor, an array or nested lists;
an argument that holds no numbers, or two maps of different sizes, raise a TypeError or ValueError naming
the argument.
"""
import numpy as np
import torch

from .._typecheck import checked
from .common import as_array

__all__ = ["roughness", "relative_difference", "rms_difference", "pearson"]

#: What a map may be handed in as: a tensor, a numpy array or (nested) lists of numbers.
MapLike = torch.Tensor | np.ndarray | list | tuple


def map_values(value, name, where):
    """``value`` (a tensor, an array or nested lists of numbers) as a float64 array; a TypeError naming ``name``."""
    try:
        return as_array(value)
    except (TypeError, ValueError) as err:
        raise TypeError(f"{where}: {name} must hold numbers (a tensor, an array or a list of numbers); {err}.") from None


def same_size(a, b, where):
    """``a`` and ``b`` as flat float64 arrays of the same length; a ValueError naming both otherwise."""
    a, b = map_values(a, "a", where).ravel(), map_values(b, "b", where).ravel()
    if a.size != b.size or a.size == 0:
        raise ValueError(f"{where}: a and b must be maps with the same number of values (at least one); got {a.size} "
                         f"and {b.size}.")
    return a, b


@checked
def relative_difference(a: MapLike, b: MapLike) -> float:
    """||a - b|| / ||(a + b) / 2||: 0 for equal maps, about 1.4 for unrelated ones of the same size.

    Used in lesson 4.1 and the chapter 4 exercises to compare two maps whatever their scale.

    Args:
        a: A map (tensor, array or nested lists of numbers).
        b: A map with as many values as ``a``.

    Returns:
        The relative difference (0 when the maps are equal).

    Raises:
        TypeError: ``a`` or ``b`` does not hold numbers.
        ValueError: They hold different numbers of values.

    Example:
        >>> import numpy as np
        >>> import xai_helpers.check as check
        >>> a = np.arange(12.0).reshape(3, 4)
        >>> check.relative_difference(a, a), round(check.relative_difference(a, 1.1 * a), 3)
        (0.0, 0.095)
    """
    a, b = same_size(a, b, "relative_difference")
    return float(np.linalg.norm(a - b) / max(np.linalg.norm((a + b) / 2), 1e-12))


@checked
def rms_difference(a: MapLike, b: MapLike) -> float:
    """Root-mean-square difference of two maps (same units as the maps): the noise two seeds leave.

    Problem 2 of the chapter 4 exercises measures SmoothGrad's seed-to-seed noise with it.

    Args:
        a: A map (tensor, array or nested lists of numbers).
        b: A map with as many values as ``a``.

    Returns:
        sqrt(mean((a - b)^2)) over all values.

    Raises:
        TypeError: ``a`` or ``b`` does not hold numbers.
        ValueError: They hold different numbers of values.

    Example:
        >>> import torch
        >>> import xai_helpers.check as check
        >>> check.rms_difference(torch.zeros(2, 3), torch.full((2, 3), 2.0))
        2.0
    """
    a, b = same_size(a, b, "rms_difference")
    return float(np.sqrt(np.mean((a - b) ** 2)))


@checked
def roughness(heatmap: MapLike) -> float:
    """Mean |difference| between horizontally and vertically neighbouring pixels / mean |value| of the map.

    A smooth blob scores near 0, pixel-to-pixel speckle scores high; the scale of the map cancels. Problem 1 of
    the chapter 4 exercises compares the roughness of gradient and Grad-CAM maps with it.

    Args:
        heatmap: A 2-D map (H, W): a tensor, an array or nested lists of numbers.

    Returns:
        The roughness (0 for a constant map).

    Raises:
        TypeError: ``heatmap`` does not hold numbers.
        ValueError: It is not 2-D (reduce the channels first).

    Example:
        >>> import numpy as np
        >>> import xai_helpers.check as check
        >>> smooth = np.outer(np.hanning(32), np.hanning(32))
        >>> speckle = np.random.default_rng(0).random((32, 32))
        >>> check.roughness(smooth) < 0.2 < check.roughness(speckle)
        True
    """
    m = map_values(heatmap, "heatmap", "roughness")
    if m.ndim != 2 or min(m.shape) < 2:
        raise ValueError(f"roughness needs a 2-D map (H, W) of at least 2x2 pixels as heatmap, got shape {m.shape}: "
                         "reduce the channels first.")
    steps = np.concatenate([np.abs(np.diff(m, axis=0)).ravel(), np.abs(np.diff(m, axis=1)).ravel()])
    return float(steps.mean() / max(float(np.abs(m).mean()), 1e-12))


@checked
def pearson(a: MapLike, b: MapLike) -> float:
    """Pearson correlation of two maps over all their values.

    Problem 1 of the chapter 4 exercises correlates the maps of two classes with it.

    Args:
        a: A map (tensor, array or nested lists of numbers).
        b: A map with as many values as ``a``.

    Returns:
        The correlation in [-1, 1] (0 when a map is constant).

    Raises:
        TypeError: ``a`` or ``b`` does not hold numbers.
        ValueError: They hold different numbers of values.

    Example:
        >>> import numpy as np
        >>> import xai_helpers.check as check
        >>> a = np.arange(12.0).reshape(3, 4)
        >>> round(check.pearson(a, 3 * a + 1), 6), round(check.pearson(a, -a), 6)
        (1.0, -1.0)
    """
    a, b = same_size(a, b, "pearson")
    a, b = a - a.mean(), b - b.mean()
    return float((a * b).sum() / max(float(np.sqrt((a * a).sum() * (b * b).sum())), 1e-30))
