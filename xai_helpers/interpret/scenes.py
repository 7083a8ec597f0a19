"""One figure of 4.4b: scenes with the digit's box, and the attention maps laid over them."""
import torch

from ..evaluation.localisation import object_attention_mass
from ..methods.vit import cls_attention_map, rollout_map, vit_attention
from ..viz.plotting import draw_box, overlay_heatmap

__all__ = ["plot_scene_attention"]


def plot_scene_attention(vision_model, data, indices, layers=(0, -1), rollout=True, panel_size=2.4,
                         extra_maps=None):
    """One row per scene: the image with the digit's true box and the prediction, then [CLS] attention
    of the chosen layers, the rollout and any ``extra_maps`` (title -> [len(indices), grid, grid]), each
    laid over the pixels (opacity follows the map), with a colourbar, the true box in green and the
    panel's title giving its share of mass on the object. Returns the figure."""
    import matplotlib.pyplot as plt
    indices = list(indices)
    sub = data[indices]
    logits, att = vit_attention(vision_model, sub.images.to(vision_model.device))
    att = att if att.dim() == 5 else att[None]
    n_layers = att.shape[1]
    maps = {f"[CLS] attn, layer {layer % n_layers}": cls_attention_map(att, vision_model.grid, layer=layer)
            for layer in layers}
    if rollout:
        maps["rollout"] = rollout_map(att, vision_model.grid)
    for title, m in (extra_maps or {}).items():
        m = torch.as_tensor(m, dtype=torch.float32).detach().cpu()
        if m.shape != (len(indices), vision_model.grid, vision_model.grid):
            raise ValueError(f"extra_maps[{title!r}] must hold one {vision_model.grid}x{vision_model.grid} map "
                             f"per scene ({len(indices)}); got shape {tuple(m.shape)}.")
        maps[title] = m / m.sum((-2, -1), keepdim=True).clamp_min(1e-12)
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
