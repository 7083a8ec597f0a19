"""One figure of 4.4b: scenes with the digit's box, and the attention maps laid over them."""
from collections.abc import Mapping, Sequence

import numpy as np
import torch
from matplotlib.figure import Figure

from .._typecheck import checked
from .._validate import readable_tensor
from ..digits import ClutteredDigits
from ..evaluation.localisation import object_attention_mass
from ..methods.vit import cls_attention_map, rollout_map, vit_attention
from ..models.vit import VisionModel
from ..viz.plotting import draw_box, overlay_heatmap

__all__ = ["plot_scene_attention"]


@checked
def plot_scene_attention(vision_model: VisionModel, data: ClutteredDigits, indices: Sequence[int],
                         layers: Sequence[int] = (0, -1), rollout: bool = True, panel_size: float = 2.4,
                         extra_maps: Mapping[str, torch.Tensor | np.ndarray] | None = None) -> Figure:
    """Where does the ViT look? One row per scene with its attention maps over the pixels (taught in 4.4b).

    Each row: the image with the digit's true box and the prediction, then the [CLS] attention of the chosen
    layers, the rollout and any ``extra_maps``, each laid over the pixels (opacity follows the map), with a
    colourbar, the true box in green and the panel's title giving its share of mass on the object.

    Args:
        vision_model: The ViT from ``load_vit_model()``.
        data: The scenes, e.g. ``make_cluttered_digits()``.
        indices: Which scenes to draw (one row each).
        layers: The layers whose [CLS] attention is drawn; negative counts from the last.
        rollout: Whether to add the attention rollout.
        panel_size: Height of a panel in inches.
        extra_maps: Title -> maps [len(indices), grid, grid] to draw next to the attention (e.g. a baseline).

    Returns:
        The matplotlib figure.

    Raises:
        ValueError: An index or layer out of range, or an extra map of the wrong shape.

    Example:
        >>> import xai_helpers as xh
        >>> scenes = xh.digits.make_cluttered_digits(n=2)
        >>> fig = xh.interpret.plot_scene_attention(xh.load_vit_model(), scenes, indices=[0, 1], layers=(-1,))
        >>> [ax.get_title().split("\\n")[0] for ax in fig.axes[1:3]]
        ['[CLS] attn, layer 3', 'rollout']
    """
    import matplotlib.pyplot as plt
    indices, sub, logits, maps = _scene_maps(vision_model, data, indices, layers, rollout, extra_maps)
    if not panel_size > 0:
        raise ValueError(f"panel_size must be a positive number of inches, got {panel_size!r}.")
    ncols = 1 + len(maps)
    fig, axes = plt.subplots(len(indices), ncols, figsize=(panel_size * ncols * 1.12, panel_size * len(indices)),
                             squeeze=False, layout="constrained")
    pred = logits.argmax(-1)
    for row, i in enumerate(indices):
        image = vision_model.to_image(sub.images[row:row + 1])
        ax = axes[row, 0]
        ax.imshow(image)
        draw_box(ax, sub.boxes[row])
        ok = "right" if pred[row] == sub.labels[row] else "wrong"
        ax.set_title(f"#{i}: digit {sub.labels[row].item()}, says {pred[row].item()} ({ok})", fontsize=8)
        ax.set_xticks([])
        ax.set_yticks([])
        for col, (title, m) in enumerate(maps.items(), start=1):
            mass, chance = object_attention_mass(m[row:row + 1], sub.boxes[row:row + 1], vision_model.image_size,
                                                 vision_model.patch_size)
            ax = axes[row, col]
            im = overlay_heatmap(image, m[row], ax=ax, colorbar=False, alpha=0.85, clip_percentile=None,
                                 title=f"{title}\non object {mass.item():.0%} (chance {chance.item():.0%})")
            draw_box(ax, sub.boxes[row])
            ax.title.set_fontsize(8)
            bar = fig.colorbar(im, ax=ax, fraction=0.046, pad=0.03)
            bar.ax.tick_params(labelsize=8)
            if row == 0 and col == len(maps):
                bar.set_label("share of the map per patch", fontsize=8)
    return fig


def _scene_maps(vision_model, data, indices, layers, rollout, extra_maps):
    """Checked ``indices``, the chosen scenes, the ViT's logits on them and the maps to draw (title ->
    [len(indices), grid, grid])."""
    indices = [int(i) for i in indices]
    if not indices or not all(-len(data) <= i < len(data) for i in indices):
        raise ValueError(f"indices must name at least one scene of data, each in 0 ... {len(data) - 1}; "
                         f"got {indices}.")
    sub = data[indices]
    logits, att = vit_attention(vision_model, sub.images.to(vision_model.device))
    att = att if att.dim() == 5 else att[None]
    n_layers = att.shape[1]
    if not all(-n_layers <= layer < n_layers for layer in layers):
        raise ValueError(f"layers must be layer numbers in {-n_layers} ... {n_layers - 1} (this ViT has "
                         f"{n_layers}); got {tuple(layers)}.")
    maps = {f"[CLS] attn, layer {layer % n_layers}": cls_attention_map(att, vision_model.grid, layer=layer)
            for layer in layers}
    if rollout:
        maps["rollout"] = rollout_map(att, vision_model.grid)
    for title, m in (extra_maps or {}).items():
        m = readable_tensor(m, f"extra_maps[{title!r}]").float().cpu()
        if m.shape != (len(indices), vision_model.grid, vision_model.grid):
            raise ValueError(f"extra_maps[{title!r}] must hold one {vision_model.grid}x{vision_model.grid} map "
                             f"per scene ({len(indices)}); got shape {tuple(m.shape)}.")
        maps[title] = m / m.sum((-2, -1), keepdim=True).clamp_min(1e-12)
    return indices, sub, logits, maps
