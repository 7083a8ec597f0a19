"""Figures of the evaluation results: the randomisation curves (sanity check) and scores over a set with their
95 % intervals (``show_intervals``, ``show_differences``; drawn with seaborn)."""
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from .._typecheck import checked
from ..methods.registry import title as method_title
from .record import Record
from .stats import LEVEL, N_BOOT, Spread, as_float64, compare, interval

__all__ = ["show_randomisation", "show_intervals", "show_differences", "legend_above"]

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


#: Colour of the per-item values (light grey: the eye goes to the means and intervals first).
_ITEM_COLOUR = "0.6"
#: Colour of the highlighted item (the walk-through photo), distinct from seaborn's default palette blues.
_HIGHLIGHT_COLOUR = "#d95f02"


def _long_table(scores, items):
    """``{name: per-item values}`` -> (long DataFrame with columns name, item, value; names; item labels)."""
    if not isinstance(scores, Mapping) or not scores:
        raise ValueError("scores must be a non-empty mapping {name: one value per item}.")
    scores = {name: as_float64(v, f"scores[{name!r}]") for name, v in scores.items()}
    lengths = {name: len(v) for name, v in scores.items()}
    if len(set(lengths.values())) != 1:
        raise ValueError(f"every entry of scores must score the same items; got lengths {lengths}.")
    n = next(iter(lengths.values()))
    if items is None:
        items = [str(i) for i in range(n)]
    items = [str(i) for i in items]
    if len(items) != n:
        raise ValueError(f"items must name each of the {n} items, got {len(items)} names.")
    if n < 2:
        raise ValueError(f"scores must hold at least two items per entry to draw an interval, got {n}.")
    rows = [(str(name), item, float(v)) for name, values in scores.items() for item, v in zip(items, values)]
    return pd.DataFrame(rows, columns=["name", "item", "value"]), [str(k) for k in scores], items, scores


def _ci_function(level, n_boot, seed):
    """A seaborn ``errorbar`` callable drawing exactly the interval ``interval`` prints."""
    def bounds(values):
        ci = interval(np.asarray(values, dtype=float), level=level, n_boot=n_boot, seed=seed)
        return ci.low, ci.high
    return bounds


@checked
def legend_above(ax: Axes) -> Axes:
    """Put the panel's legend in a band of its own above the data, where it covers no point (used by 4.4a, 4.5).

    ``show_intervals`` does this itself; call it again after adding artists with labels of your own (a marked
    sentence, a reference line), instead of ``ax.legend()``, whose "best" place can still cover a mean or an
    interval when the data fill the panel. The y range grows (in the axis's scale, linear or log) by the legend's
    rows; calling it again reuses the data's own range, so the band does not grow twice. Columns: as many
    labels side by side as fit the panel's width.

    Args:
        ax: The axes (its artists with labels make the legend).

    Returns:
        The axes.

    Example:
        >>> import matplotlib.pyplot as plt
        >>> from xai_helpers.evaluation import legend_above
        >>> fig, ax = plt.subplots()
        >>> _ = ax.plot([0, 1], [0, 1], label="data")
        >>> legend_above(ax).get_legend().get_texts()[0].get_text()
        'data'
        >>> bool(ax.get_ylim()[1] > 1)
        True
        >>> plt.close(fig)
    """
    _, labels = ax.get_legend_handles_labels()
    if not labels:
        return ax
    width_in = ax.get_position().width * ax.figure.get_figwidth()
    fits = lambda k: sum(sorted(map(len, labels))[-k:]) + 6 * k <= 15 * width_in   # noqa: E731 (8-pt text, ~15 characters an inch)
    ncol = next(k for k in range(len(labels), 0, -1) if k == 1 or fits(k))
    rows = -(-len(labels) // ncol)
    lo, hi = getattr(ax, "_xai_data_ylim", None) or ax.get_ylim()
    ax._xai_data_ylim = (lo, hi)                        # the data's own range, for a second call
    share = 0.09 * rows + 0.03                           # of the new range: the legend's rows and a gap
    if ax.get_yscale() == "log":
        top = np.log10(hi) + share / (1 - share) * (np.log10(hi) - np.log10(lo))
        ax.set_ylim(lo, 10 ** top)
    else:
        ax.set_ylim(lo, hi + share / (1 - share) * (hi - lo))
    ax.legend(fontsize=8, loc="upper center", ncol=ncol, frameon=False, borderaxespad=0.3, columnspacing=1.2)
    return ax


def _new_axes(ax, n):
    import matplotlib.pyplot as plt
    if ax is not None:
        return ax
    _, ax = plt.subplots(figsize=(max(4.0, 1.3 * n + 1.5), 3.6))
    return ax


@checked
def show_intervals(scores: Mapping[str, Sequence[float] | np.ndarray], items: Sequence[str] | None = None,
                   ax: Axes | None = None, ylabel: str = "score", title: str | None = None,
                   chance: float | Spread | None = None, chance_label: str = "chance",
                   highlight: str | None = None, unit: str = "items", level: float = LEVEL,
                   n_boot: int = N_BOOT, seed: int = 0, yscale: str = "linear") -> Axes:
    """Scores of several methods over the same items: each item's value, the mean and its 95 % interval (4.5).

    Grey dots are the items (jittered sideways); the black point and bar are the mean and the bootstrap
    interval that ``evaluation.interval`` prints (same resampling, same seed). A ``highlight`` item (the
    photo of the walk-through) is drawn in orange, so the learner sees how typical it is. ``chance`` draws a
    line (a number) or a band (the ``Spread`` of many random draws). The legend sits in a band above the data,
    never over a point.

    Args:
        scores: ``{method name: one score per item}``, every entry over the same items in the same order.
        items: Names of the items (default 0, 1, ...); needed for ``highlight``.
        ax: Axes to draw in (default: a new figure).
        ylabel: Label of the score axis (say what the score is and which way is better).
        title: Title of the panel (default: the number of items).
        chance: A reference score (line) or the ``Spread`` of random draws (band from its low to high).
        chance_label: Legend label of the reference.
        highlight: Name of an item (in ``items``) to mark.
        unit: What the items are, for the default title ("photos", "scenes", ...).
        level: Confidence level of the intervals.
        n_boot: Bootstrap resamples.
        seed: Seed of the resampling.
        yscale: ``"linear"`` or ``"log"`` (set here, before the legend's band is made room for).

    Returns:
        The axes.

    Raises:
        ValueError: Entries of different lengths, fewer than two items, or ``highlight`` not in ``items``.

    Example:
        >>> import matplotlib.pyplot as plt
        >>> from xai_helpers.evaluation import show_intervals
        >>> ax = show_intervals({"Grad-CAM": [0.9, 0.7, 0.8], "random": [0.3, 0.5, 0.4]},
        ...                     items=["cat", "dog", "fox"], highlight="cat", ylabel="hit rate")
        >>> ax.get_ylabel()
        'hit rate'
        >>> plt.close(ax.figure)
    """
    import seaborn as sns
    table, names, items, scores = _long_table(scores, items)
    if highlight is not None and str(highlight) not in items:
        raise ValueError(f"highlight={highlight!r} is not one of the items ({', '.join(items[:8])}...).")
    ax = _new_axes(ax, len(names))
    if isinstance(chance, Spread):
        ax.axhspan(chance.low, chance.high, color="0.85", zorder=0,
                   label=f"{chance_label}: middle {chance.level:.0%} of {chance.n} draws")
        ax.axhline(chance.mean, color="0.5", linewidth=0.8, zorder=0)
    elif chance is not None:
        ax.axhline(float(chance), color="0.4", linestyle="--", linewidth=1, label=chance_label, zorder=0)
    sns.stripplot(data=table, x="name", y="value", order=names, color=_ITEM_COLOUR, size=4, jitter=0.15,
                  alpha=0.8, ax=ax, zorder=1)
    sns.pointplot(data=table, x="name", y="value", order=names, errorbar=_ci_function(level, n_boot, seed),
                  color="black", linestyle="none", markers="D", capsize=0.15, err_kws={"linewidth": 1.6},
                  ax=ax, zorder=3, label=f"mean, {level:.0%} interval")
    if highlight is not None:
        mine = table[table["item"] == str(highlight)]
        ax.scatter([names.index(n) for n in mine["name"]], mine["value"], s=60, marker="*",
                   color=_HIGHLIGHT_COLOUR, zorder=4, label=f"{highlight} (the walk-through)")
    ax.set_xlabel("")
    ax.set_ylabel(ylabel, fontsize=9)
    ax.set_title(title or f"{len(items)} {unit}: each dot one item", fontsize=10)
    if yscale not in ("linear", "log"):
        raise ValueError(f"yscale={yscale!r}: use 'linear' or 'log'.")
    ax.set_yscale(yscale)
    legend_above(ax)
    return ax


@checked
def show_differences(scores: Mapping[str, Sequence[float] | np.ndarray], against: str,
                     items: Sequence[str] | None = None, ax: Axes | None = None, ylabel: str | None = None,
                     title: str | None = None, higher_is_better: bool = True, unit: str = "items",
                     level: float = LEVEL, n_boot: int = N_BOOT, seed: int = 0) -> Axes:
    r"""Paired differences: each method's score minus ``against``'s, item by item, with the 95 % interval (4.5).

    The design is paired (every method scored on the same items), so the question "is A better than B"
    is answered by the interval of the per-item differences: where it excludes 0 the panel says which is
    better; where it covers 0, "cannot tell". Same intervals as ``evaluation.compare``.

    Args:
        scores: ``{name: one score per item}``, including ``against``.
        against: The reference every other entry is compared with (e.g. ``"random"``).
        items: Names of the items (default 0, 1, ...).
        ax: Axes to draw in (default: a new figure).
        ylabel: Label of the difference axis (default "<score> minus <against>").
        title: Panel title.
        higher_is_better: Which way of the difference is "better" in the labels.
        unit: What the items are ("photos", ...).
        level: Confidence level.
        n_boot: Bootstrap resamples.
        seed: Seed of the resampling.

    Returns:
        The axes; each tick label ends with the verdict ("better", "worse" or "cannot tell").

    Raises:
        ValueError: ``against`` is not in ``scores``, or the entries differ in length.

    Example:
        >>> import matplotlib.pyplot as plt
        >>> from xai_helpers.evaluation import show_differences
        >>> ax = show_differences({"Grad-CAM": [0.9, 0.7, 0.8, 0.85], "random": [0.3, 0.5, 0.4, 0.35]},
        ...                       against="random")
        >>> [t.get_text() for t in ax.get_xticklabels()]
        ['Grad-CAM\nbetter']
        >>> plt.close(ax.figure)
    """
    import seaborn as sns
    if against not in scores:
        raise ValueError(f"against={against!r} is not one of the scores' names: {', '.join(map(str, scores))}.")
    table, names, items, scores = _long_table(scores, items)
    others = [n for n in names if n != against]
    if not others:
        raise ValueError("scores must hold at least one entry besides the reference `against`.")
    ref = scores[against]
    rows, ticks = [], []
    for name in others:
        values = scores[name]
        verdict = compare(values, ref, names=(name, against), higher_is_better=higher_is_better, level=level,
                          n_boot=n_boot, seed=seed).winner
        word = "cannot tell" if verdict is None else ("better" if verdict == name else "worse")
        tick = f"{name}\n{word}"
        ticks.append(tick)
        rows += [(tick, item, float(d)) for item, d in zip(items, values - ref)]
    diffs = pd.DataFrame(rows, columns=["name", "item", "difference"])
    ax = _new_axes(ax, len(others))
    ax.axhline(0, color="0.3", linewidth=1, zorder=0)
    sns.stripplot(data=diffs, x="name", y="difference", order=ticks, color=_ITEM_COLOUR, size=4, jitter=0.15,
                  alpha=0.8, ax=ax, zorder=1)
    sns.pointplot(data=diffs, x="name", y="difference", order=ticks, errorbar=_ci_function(level, n_boot, seed),
                  color="black", linestyle="none", markers="D", capsize=0.15, err_kws={"linewidth": 1.6},
                  ax=ax, zorder=3)
    ax.set_xlabel("")
    ax.set_ylabel(ylabel or f"score minus {against}'s, per item", fontsize=9)
    ax.set_title(title or f"paired differences over {len(items)} {unit} (mean, {level:.0%} interval)", fontsize=10)
    return ax
