"""Figures: heat maps on exactly the image the model saw, signed and unsigned, side by side."""
import numpy as np
import torch
import torch.nn.functional as F

__all__ = ["to_numpy", "resize_map", "as_2d_map", "overlay_heatmap", "show_map", "show_panels", "SIGNED_CMAP",
           "ABSOLUTE_CMAP", "CAM_CMAP"]

SIGNED_CMAP = "RdBu_r"     # diverging: blue < 0 < red, white at exactly 0
ABSOLUTE_CMAP = "inferno"  # sequential: dark = 0, bright = large
CAM_CMAP = "magma"         # perceptually uniform, colour-blind safe; overlays of maps in [0, 1]


def to_numpy(a):
    """Tensor or array -> float numpy array on the CPU (detached)."""
    if isinstance(a, torch.Tensor):
        a = a.detach().float().cpu().numpy()
    return np.asarray(a, dtype=np.float32)


def resize_map(heatmap, size):
    """Bilinearly resize a 2-D map to ``size`` = (H, W); used to lay a coarse map over the image."""
    m = torch.as_tensor(to_numpy(heatmap))[None, None]
    return F.interpolate(m, size=tuple(size), mode="bilinear", align_corners=False)[0, 0].numpy()


def as_2d_map(heatmap, size=None):
    """A map (tensor/array, leading 1-dims allowed) -> 2-D numpy array, resized to ``size`` if given."""
    m = to_numpy(heatmap)
    while m.ndim > 2 and m.shape[0] == 1:
        m = m[0]
    if m.ndim != 2:
        raise ValueError(f"A heat map must be 2-D (H, W); got shape {m.shape}. Reduce a 1x3xHxW "
                         "attribution first with max_abs_over_channels(...) or sum_over_channels(...).")
    if size is not None and m.shape != tuple(size):
        m = resize_map(m, size)
    return m


def _limits(m, signed, clip_percentile):
    if signed:
        vmax = float(np.percentile(np.abs(m), clip_percentile)) if clip_percentile else float(np.abs(m).max())
        vmax = vmax if vmax > 0 else 1.0
        return -vmax, vmax
    vmax = float(np.percentile(m, clip_percentile)) if clip_percentile else float(m.max())
    return float(min(m.min(), 0.0)), (vmax if vmax > 0 else 1.0)


def show_map(heatmap, ax=None, signed=None, title=None, clip_percentile=99.5, colorbar=True,
             cmap=None):
    """Draw a 2-D map: signed maps on a diverging scale centred at 0, unsigned on a sequential one.

    ``signed=None`` decides from the data (any negative value -> signed). Values beyond the
    ``clip_percentile`` of |map| saturate the colour scale, so one hot pixel does not wash out the rest.
    """
    import matplotlib.pyplot as plt
    m = as_2d_map(heatmap)
    signed = bool((m < 0).any()) if signed is None else signed
    ax = ax or plt.gca()
    vmin, vmax = _limits(m, signed, clip_percentile)
    im = ax.imshow(m, cmap=cmap or (SIGNED_CMAP if signed else ABSOLUTE_CMAP), vmin=vmin, vmax=vmax)
    _finish(ax, title)
    if colorbar:
        ax.figure.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    return im


def overlay_heatmap(image, heatmap, ax=None, alpha=0.75, cmap=None, signed=None, title=None,
                    clip_percentile=99.5, colorbar=True, contour=None):
    """Lay ``heatmap`` over ``image`` -- the HxWx3 pixels the model saw (``image_model.to_image(x)``).

    A coarse map (e.g. a 7x7 CAM) is resized to the image first; both share one pixel grid, so the
    overlay is aligned by construction (the source text's overlay on the uncropped photo was not).
    The colour's opacity follows the map (``alpha`` x |value| / max): where the map is near 0 the
    photo shows through unchanged, so the picture stays readable. ``contour=q`` (e.g. 0.8) also
    outlines the region above the q-quantile of |map| (a white line on a dark halo), which keeps the
    top region visible where the map's brightest colour lies over bright pixels.
    """
    import matplotlib.pyplot as plt
    img = to_numpy(image)
    if img.ndim != 3 or img.shape[2] != 3:
        raise ValueError(f"image must be HxWx3 (use image_model.to_image(x)); got shape {img.shape}.")
    m = as_2d_map(heatmap, size=img.shape[:2])
    signed = bool((m < 0).any()) if signed is None else signed
    ax = ax or plt.gca()
    ax.imshow(img.clip(0, 1))
    vmin, vmax = _limits(m, signed, clip_percentile)
    strength = np.clip(np.abs(m) / max(abs(vmin), abs(vmax), 1e-12), 0, 1)
    im = ax.imshow(m, cmap=cmap or (SIGNED_CMAP if signed else CAM_CMAP), vmin=vmin, vmax=vmax,
                   alpha=float(alpha) * strength)
    if contour is not None:
        if not 0 < contour < 1:
            raise ValueError(f"contour is a quantile of |map| between 0 and 1 (e.g. 0.8 outlines the top "
                             f"fifth), got {contour!r}.")
        level = float(np.quantile(np.abs(m), contour))
        if level > 0:  # a dark halo under a white line: visible on bright and on dark parts of the photo
            ax.contour(np.abs(m), levels=[level], colors="black", linewidths=2.6, alpha=0.6)
            ax.contour(np.abs(m), levels=[level], colors="white", linewidths=1.2)
    _finish(ax, title)
    if colorbar:
        ax.figure.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    return im


def show_panels(panels, image=None, ncols=None, panel_size=3.2, suptitle=None, overlay=False,
                signed=None, clip_percentile=99.5, colorbar=True, contour=None):
    """Draw several images / maps side by side with titles; returns the figure.

    ``panels`` maps a title to an HxWx3 image or a 2-D map (tensor or array). With ``overlay=True``
    every map is laid over ``image`` (``contour`` is passed on to ``overlay_heatmap``). ``signed`` is
    passed on to ``show_map`` (None = decide per map). The panels are ``fig.axes[:len(panels)]``.
    """
    import matplotlib.pyplot as plt
    items = list(panels.items())
    if not items:
        raise ValueError("show_panels needs at least one panel: {'title': image_or_map, ...}.")
    ncols = ncols or len(items)
    nrows = -(-len(items) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(panel_size * ncols * 1.1, panel_size * nrows),
                             squeeze=False)
    for ax, (title, value) in zip(axes.flat, items):
        arr = to_numpy(value)
        if arr.ndim == 3 and arr.shape[2] == 3:
            ax.imshow(arr.clip(0, 1))
            _finish(ax, title)
        elif overlay:
            if image is None:
                raise ValueError("overlay=True needs image=... (the HxWx3 pixels the model saw).")
            overlay_heatmap(image, arr, ax=ax, title=title, signed=signed,
                            clip_percentile=clip_percentile, colorbar=colorbar, contour=contour)
        else:
            show_map(arr, ax=ax, title=title, signed=signed, clip_percentile=clip_percentile,
                     colorbar=colorbar)
    for ax in list(axes.flat)[len(items):]:
        ax.axis("off")
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout()
    return fig


def _finish(ax, title):
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=10)


# --- figures --------------------------------------------------------------------------------------------
def draw_box(ax, box, color="lime", linewidth=1.5):
    """Outline a (top, left, bottom, right) pixel box (bottom/right exclusive) on an image axis."""
    import matplotlib.pyplot as plt
    top, left, bottom, right = [float(v) for v in box]
    ax.add_patch(plt.Rectangle((left - 0.5, top - 0.5), right - left, bottom - top, fill=False, ec=color,
                               lw=linewidth))
