"""Figures of the ground-truth section: mark mass per method, the kinds of scenes, maps over scenes."""
import torch

from ...viz.plotting import draw_box, show_map
from ...methods.registry import title
from .scoring import CONTROLS

__all__ = ["plot_mark_mass", "plot_scene_kinds", "plot_scene_maps"]


# --- figures --------------------------------------------------------------------------------------------------
def plot_mark_mass(tables, columns=("mass on mark", "pointing game (mark)"), chance=None):
    """One panel per column of the ``score_maps`` tables, one line per method, against the shortcut strength.

    ``tables``: dict strength -> DataFrame (rows = methods). "mass on mark" is drawn on a log scale, with the
    uniform map's share (``chance``) as a dotted line; the controls are dashed. Returns the figure.
    """
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


def plot_scene_kinds(sets, index=0, mark=None):
    """The same scene clean, with its own class's mark and with another class's mark (digit box green, mark
    box cyan), and the ten mark patterns. ``sets``: dict as for ``accuracy_table``. Returns the figure."""
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


def plot_scene_maps(scenes, maps_by_row, index, methods, row_titles=None, panel_size=1.9):
    """One row per entry of ``maps_by_row`` (e.g. one per CNN): scene ``index``, then each method's map on its
    own (inferno: dark = 0, bright = the map's largest values), with the digit's box (green) and the mark's
    box (cyan). Returns the figure."""
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
