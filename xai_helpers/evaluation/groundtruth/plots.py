"""Figures of the ground-truth section: mark mass per method, the kinds of scenes, maps over scenes."""
from collections.abc import Mapping, Sequence

import pandas as pd
import torch
from matplotlib.figure import Figure

from ..._typecheck import checked
from ...methods.registry import title
from ...viz.plotting import draw_box, show_map
from .scenes import Mark, Scenes
from .scoring import CONTROLS, AttributionMaps

__all__ = ["plot_mark_mass", "plot_scene_kinds", "plot_scene_maps"]


# --- figures --------------------------------------------------------------------------------------------------
@checked
def plot_mark_mass(tables: Mapping[float, pd.DataFrame],
                   columns: Sequence[str] = ("mass on mark", "pointing game (mark)"),
                   chance: float | None = None) -> Figure:
    """One panel per column of the ``score_maps`` tables, one line per method, against the shortcut strength (4.5).

    "mass on ..." columns are drawn on a log scale, with the uniform map's share (``chance``) as a dotted
    line; the controls are dashed.

    Args:
        tables: Shortcut strength -> the ``score_maps`` DataFrame of that CNN (rows = methods, the same in all).
        columns: The columns to draw, one panel each.
        chance: The uniform map's share of the mass, drawn on the "mass" panels (``None``: not drawn).

    Returns:
        The figure.

    Example:
        >>> import matplotlib.pyplot as plt
        >>> import pandas as pd
        >>> from xai_helpers.evaluation.groundtruth import plot_mark_mass
        >>> tables = {s: pd.DataFrame({"mass on mark": [0.01 + s / 10, 0.01], "pointing game (mark)": [s, 0.0]},
        ...                           index=["grad_cam", "random_map"]) for s in (0.0, 0.5, 1.0)}
        >>> fig = plot_mark_mass(tables, chance=16 / 2304)
        >>> len(fig.axes), len(fig.axes[0].lines)
        (2, 3)
        >>> plt.close(fig)
    """
    if not tables:
        raise ValueError("tables must map at least one shortcut strength to a score_maps DataFrame.")
    missing = [c for c in columns if any(c not in t.columns for t in tables.values())]
    if missing or not columns:
        raise ValueError(f"columns must name columns of every score_maps table; {missing or 'none'} given "
                         f"that are not, among {list(next(iter(tables.values())).columns)}.")
    import matplotlib.pyplot as plt
    strengths = sorted(tables)
    fig, axes = plt.subplots(1, len(columns), figsize=(5.2 * len(columns) + 1.6, 4), squeeze=False)
    markers = "osD^v<>ph*"
    for ax, column in zip(axes[0], columns):
        for i, method in enumerate(tables[strengths[0]].index):
            values = [tables[s].loc[method, column] for s in strengths]
            ax.plot([100 * s for s in strengths], values, marker=markers[i % len(markers)],
                    ls="--" if method in CONTROLS else "-", color=plt.cm.tab10(i % 10), label=title(method))
        if column.startswith("mass"):
            ax.set_yscale("log")
            if chance is not None:
                ax.axhline(chance, color="0.3", ls=":", lw=1.2, label="chance (uniform map)")
            ax.set_ylabel(f"{column}: mean share of |map| (log scale)", fontsize=9)
        else:
            ax.set_ylim(-0.03, 1.03)
            ax.set_ylabel(f"{column}: share of scenes", fontsize=9)
        ax.set_title(f"{column}, scenes with their class's mark", fontsize=10)
        ax.set_xlabel("shortcut strength: % of training scenes with the mark", fontsize=9)
        ax.set_xticks([100 * s for s in strengths])
        ax.tick_params(labelsize=8)
        ax.grid(alpha=0.3)
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, fontsize=8, loc="center right")
    fig.tight_layout(rect=(0, 0, 1 - 1.6 / fig.get_figwidth(), 1))
    return fig


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
