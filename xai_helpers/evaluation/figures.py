"""Figures of the evaluation results: the randomisation curves (sanity check)."""
from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from .._typecheck import checked
from ..methods.registry import title as method_title
from .record import Record

__all__ = ["show_randomisation"]

#: The fields of a randomisation result that the figure reads.
_FIELDS = ("table", "depths", "labels", "stages")


@checked
def show_randomisation(result: Record | Mapping[str, object], titles: Mapping[str, str] | None = None,
                       ax: Sequence[Axes] | np.ndarray | None = None) -> Figure:
    """Correlation with the trained model's map vs randomisation depth, one line per method (taught in 4.5).

    Two panels: the signed map and |map|. Each point is the mean over images x seeds; the band spans
    their minimum and maximum. A method whose line stays near 1 while the weights are destroyed does not
    explain the weights.

    Args:
        result: The ``RandomisationResult`` of ``model_randomisation_test`` (or a dict with its fields
            table, depths, labels and stages).
        titles: Method -> legend label, for methods whose registry title (``methods.registry.title``) is not
            wanted.
        ax: Two axes to draw the signed and the |map| panel in (default: a new figure).

    Returns:
        The figure.

    Example:
        >>> import matplotlib.pyplot as plt
        >>> import pandas as pd
        >>> from xai_helpers.evaluation import show_randomisation
        >>> table = pd.DataFrame({"method": ["grad_cam", "grad_cam"], "depth": [1, 2], "rho": [0.5, 0.1],
        ...                       "rho_abs": [0.6, 0.2]})
        >>> fig = show_randomisation({"table": table, "depths": [1, 2], "labels": ["fc", "conv"],
        ...                           "stages": ["fc", "conv"]}, titles={"grad_cam": "Grad-CAM"})
        >>> [t.get_text() for t in fig.axes[1].get_legend().get_texts()]
        ['Grad-CAM']
        >>> plt.close(fig)
    """
    import matplotlib.pyplot as plt
    missing = [f for f in _FIELDS if f not in result]
    if missing:
        raise ValueError(f"result must be the RandomisationResult of model_randomisation_test; it lacks {missing}.")
    table = result["table"]
    if not {"method", "depth", "rho", "rho_abs"} <= set(getattr(table, "columns", ())):
        raise ValueError("result's table must have the columns method, depth, rho and rho_abs "
                         "(model_randomisation_test(...).table).")
    methods = list(dict.fromkeys(table["method"]))
    titles = titles or {}
    if ax is None:
        fig, axes = plt.subplots(1, 2, figsize=(10, 3.6), sharey=True)
    else:
        if len(ax) != 2:
            raise ValueError(f"ax must be two axes (signed map, |map|), got {len(ax)}.")
        axes = ax
        fig = axes[0].figure
    positions = range(len(result["depths"]))
    ticks = [f"{d} of {len(result['stages'])}\n(to {label})" for d, label in zip(result["depths"], result["labels"])]
    for axis, column, title in zip(axes, ("rho", "rho_abs"), ("signed map", "|map|")):
        for method in methods:
            part = table[table["method"] == method].groupby("depth")[column]
            mean, low, high = part.mean(), part.min(), part.max()
            line, = axis.plot(positions, mean.values, marker="o", label=titles.get(method, method_title(method)))
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
