"""Figures of the ground-truth section: mark mass per method, the kinds of scenes, maps over scenes."""
from collections.abc import Mapping, Sequence

import pandas as pd
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from ..._typecheck import checked
from ...methods.registry import title
from ...viz.plotting import draw_box, show_map
from .scenes import Mark, Scenes
from .scoring import CONTROLS, AttributionMaps

__all__ = ["plot_mark_mass", "plot_scene_kinds", "plot_scene_maps"]


# --- figures --------------------------------------------------------------------------------------------------
@checked
def plot_mark_mass(table: pd.DataFrame, column: str = "mark cells / chance", methods: Sequence[str] | None = None,
                   ax: Axes | None = None) -> Axes:
    r"""A score of the ``seed_table`` against the shortcut's strength: every training seed, and random weights (4.5).

    One colour per method: a dot per trained CNN (one per training seed), a line through their mean; at the
    right, every random-weights CNN as a dot and their mean. Controls are dashed. For a "/ chance" column
    (log scale) a dotted line marks chance (1).

    Args:
        table: The ``seed_table()`` (or rows of it with the same columns).
        column: The score to draw.
        methods: The methods to draw (default: every method of the table).
        ax: Axes to draw in (default: a new figure).

    Returns:
        The axes.

    Example:
        >>> import matplotlib.pyplot as plt
        >>> from xai_helpers.evaluation.groundtruth import plot_mark_mass, seed_table
        >>> ax = plot_mark_mass(seed_table(), methods=["grad_cam", "random_map"])
        >>> len(ax.get_legend().get_texts()), ax.get_xticklabels()[-1].get_text()
        (3, 'random\nweights')
        >>> plt.close(ax.figure)
    """
    needed = {"kind", "strength", "seed", "method"}
    if not needed <= set(table.columns):
        raise ValueError(f"table must be the seed_table() (columns kind, strength, seed, method and the scores); "
                         f"it lacks {sorted(needed - set(table.columns))}.")
    if column not in table.columns:
        raise ValueError(f"column must name a score of the table, e.g. 'mark cells / chance'; got {column!r}.")
    methods = list(dict.fromkeys(table["method"])) if methods is None else list(methods)
    unknown = [m for m in methods if m not in set(table["method"])]
    if unknown or not methods:
        raise ValueError(f"methods must name methods of the table; {unknown or 'none'} given that are not, among "
                         f"{sorted(set(table['method']))}.")
    import matplotlib.pyplot as plt
    if ax is None:
        _, ax = plt.subplots(figsize=(8.6, 4.4))
    trained = table[table["kind"] == "trained"]
    strengths = sorted(trained["strength"].unique())
    right = len(strengths)
    for i, method in enumerate(methods):
        colour, rows = plt.cm.tab10(i % 10), trained[trained["method"] == method]
        shift = (i - (len(methods) - 1) / 2) * 0.05
        x = [strengths.index(s) + shift for s in rows["strength"]]
        ax.scatter(x, rows[column], color=colour, s=14, alpha=0.7, zorder=2)
        means = rows.groupby("strength")[column].mean()
        ax.plot([strengths.index(s) + shift for s in means.index], means.values, color=colour, zorder=3,
                ls="--" if method in CONTROLS else "-", marker="o", ms=4, label=title(method))
        random = table[(table["kind"] != "trained") & (table["method"] == method)][column]
        if len(random):
            ax.scatter(right + shift + 0 * random, random, color=colour, s=10, alpha=0.5, zorder=2)
            ax.scatter([right + shift], [random.mean()], color=colour, marker="D", s=26, zorder=3)
    if column.endswith("/ chance"):
        ax.set_yscale("log")
        ax.axhline(1.0, color="0.3", ls=":", lw=1.2, label="chance (uniform map)")
    ax.set_xticks(range(right + 1), [f"{100 * s:.0f} %" for s in strengths] + ["random\nweights"], fontsize=8)
    ax.set_xlabel("shortcut strength: share of training scenes with the mark", fontsize=9)
    ax.set_ylabel(column, fontsize=9)
    ax.set_title(f"{column}: each dot one CNN ({trained['seed'].nunique()} training seeds per strength)", fontsize=10)
    ax.tick_params(labelsize=8)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5))
    return ax


def _scene_index(index, n):
    if not -n <= index < n:
        raise ValueError(f"index must pick one of the {n} scenes: 0 ... {n - 1}; got {index}.")
    return index % n


@checked
def plot_scene_kinds(sets: Mapping[str, Scenes], index: int = 0, mark: Mark | None = None) -> Figure:
    """The same scene clean, with its own class's mark and with another class's mark, and the ten marks (4.5).

    The digit's box is drawn green, the mark's cyan.

    Args:
        sets: ``{"none": Scenes, "own": Scenes, "other": Scenes}``, as for ``accuracy_table``.
        index: The scene to show.
        mark: The ``Mark`` whose patterns are shown (default: the one of ``sets["own"]``).

    Returns:
        The figure.

    Example:
        >>> import matplotlib.pyplot as plt
        >>> from xai_helpers.evaluation.groundtruth import make_scenes, plot_scene_kinds
        >>> fig = plot_scene_kinds({kind: make_scenes(2, marks=kind) for kind in ("none", "own", "other")})
        >>> len(fig.axes), fig.axes[3].get_title()
        (4, 'the ten 4x4 marks, one per class')
        >>> plt.close(fig)
    """
    if not {"none", "own", "other"} <= set(sets):
        raise ValueError(f"sets must have the keys 'none', 'own' and 'other'; got {sorted(sets)}.")
    index = _scene_index(index, min(len(s) for s in sets.values()))
    if mark is None and sets["own"].mark is None:
        raise ValueError("mark: sets['own'] carries no mark; pass the Mark to show.")
    import matplotlib.pyplot as plt
    mark = mark or sets["own"].mark
    fig, axes = plt.subplots(1, 4, figsize=(10, 2.9), gridspec_kw={"width_ratios": [1, 1, 1, 2.2]})
    titles = {"none": "clean scene", "own": "its own class's mark", "other": "another class's mark"}
    for ax, kind in zip(axes, ("none", "own", "other")):
        s = sets[kind]
        ax.imshow(s.images[index, 0].cpu(), cmap="gray", vmin=0, vmax=1)
        draw_box(ax, s.boxes[index], color="lime", linewidth=1)
        mark_class = int(s.mark_classes[index])
        if mark_class >= 0:
            draw_box(ax, mark.box, color="cyan", linewidth=1)
        ax.set_title(f"digit {int(s.labels[index])}, {titles[kind]}" + (f" ({mark_class})" if mark_class >= 0 else ""),
                     fontsize=8)
    size = mark.size
    strip = torch.ones(size + 2, 10 * (size + 1) + 1) * 0.5
    for c in range(10):
        strip[1:size + 1, 1 + c * (size + 1):1 + c * (size + 1) + size] = mark.patterns[c]
    axes[3].imshow(strip, cmap="gray", vmin=0, vmax=1)
    axes[3].set_xticks([1 + c * (size + 1) + (size - 1) / 2 for c in range(10)], [str(c) for c in range(10)],
                       fontsize=8)
    axes[3].set_title(f"the ten {size}x{size} marks, one per class", fontsize=8)
    for ax in axes[:3]:
        ax.set_xticks([])
    for ax in axes:
        ax.set_yticks([])
    fig.tight_layout()
    return fig


@checked
def plot_scene_maps(scenes: Scenes, maps_by_row: Mapping[str | float, AttributionMaps], index: int,
                    methods: Sequence[str], row_titles: Mapping[str | float, str] | None = None,
                    panel_size: float = 1.9) -> Figure:
    """One row per entry of ``maps_by_row`` (e.g. one per CNN): scene ``index``, then each method's map (4.5).

    Each map is drawn on its own scale (inferno: dark = 0, bright = the map's largest values), with the digit's
    box (green) and the mark's box (cyan).

    Args:
        scenes: The ``Scenes`` the maps are of.
        maps_by_row: Row key (a name or a shortcut strength) -> the ``AttributionMaps`` of those scenes.
        index: The scene to show.
        methods: The methods to show, one column each.
        row_titles: Row key -> the title over the scene (default: the key).
        panel_size: The side of one panel in inches.

    Returns:
        The figure.

    Example:
        >>> import matplotlib.pyplot as plt
        >>> from xai_helpers.evaluation.groundtruth import DigitCNN, attribution_maps, make_scenes, plot_scene_maps
        >>> scenes = make_scenes(2, marks="own")
        >>> maps = attribution_maps(DigitCNN().eval(), scenes.images, scenes.labels, ["edge_map"])
        >>> fig = plot_scene_maps(scenes, {"untrained": maps}, index=1, methods=["edge_map"])
        >>> len(fig.axes)
        2
        >>> plt.close(fig)
    """
    index = _scene_index(index, len(scenes))
    if not maps_by_row or not methods:
        raise ValueError("maps_by_row and methods must each name at least one row / method.")
    for key, result in maps_by_row.items():
        lacking = [m for m in methods if m not in result.maps]
        if lacking or any(len(result.maps[m]) != len(scenes) for m in methods):
            raise ValueError(f"maps_by_row[{key!r}] must hold maps of every one of the {len(scenes)} scenes for each "
                             f"of methods; it lacks {lacking or 'some scenes'}.")
    if not panel_size > 0:
        raise ValueError(f"panel_size must be a size in inches > 0, got {panel_size}.")
    import matplotlib.pyplot as plt
    rows = list(maps_by_row)
    fig, axes = plt.subplots(len(rows), 1 + len(methods), squeeze=False,
                             figsize=(panel_size * (1 + len(methods)), panel_size * len(rows) + 0.3))
    mark_box = scenes.mark_boxes[index]
    for r, key in enumerate(rows):
        ax = axes[r, 0]
        ax.imshow(scenes.images[index, 0].cpu(), cmap="gray", vmin=0, vmax=1)
        ax.set_title(f"{(row_titles or {}).get(key, key)}\ndigit {int(scenes.labels[index])}", fontsize=8)
        for col, method in enumerate(methods, start=1):
            show_map(maps_by_row[key].maps[method][index], ax=axes[r, col], signed=False, colorbar=False,
                     title=title(method))
            axes[r, col].title.set_fontsize(8)
        for ax in axes[r]:
            draw_box(ax, scenes.boxes[index], color="lime", linewidth=1)
            if mark_box[2] > 0:
                draw_box(ax, mark_box, color="cyan", linewidth=1)
            ax.set_xticks([])
            ax.set_yticks([])
    fig.tight_layout()
    return fig
