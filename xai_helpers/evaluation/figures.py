"""Figures of the evaluation results: the randomisation curves (sanity check)."""

from ..methods.registry import title as method_title

__all__ = ["show_randomisation"]


def show_randomisation(result, titles=None, ax=None):
    """Correlation with the trained model's map vs randomisation depth, one line per method.

    ``titles``: method -> legend label, for methods whose registry title (``methods.registry.title``) is not wanted.

    Two panels: the signed map and |map|. Each point is the mean over images x seeds; the band spans
    their minimum and maximum. Returns the figure.
    """
    import matplotlib.pyplot as plt
    table = result["table"]
    methods = list(dict.fromkeys(table["method"]))
    titles = titles or {}
    if ax is None:
        fig, axes = plt.subplots(1, 2, figsize=(10, 3.6), sharey=True)
    else:
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


