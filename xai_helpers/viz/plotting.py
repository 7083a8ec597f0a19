"""Figures: heat maps on exactly the image the model saw, signed and unsigned, side by side."""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import torch
import torch.nn.functional as F
# The hints name these classes; @checked resolves the hints when a function is first called.
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.image import AxesImage
from matplotlib.colors import is_color_like
import matplotlib

from .._typecheck import checked
from .._validate import as_float_array, check_count

#: What the plots accept as a map or an image: a tensor (any device, detached here) or an array.
ArrayLike = torch.Tensor | np.ndarray

__all__ = ["to_numpy", "resize_map", "as_2d_map", "overlay_heatmap", "show_map", "show_panels", "SIGNED_CMAP",
           "ABSOLUTE_CMAP", "CAM_CMAP"]

#: Colour map of signed maps (4.1, 4.3): diverging, blue < 0 < red, white at exactly 0.
SIGNED_CMAP: str = "RdBu_r"
#: Colour map of unsigned maps (|gradient|, 4.1): sequential, dark = 0, bright = large.
ABSOLUTE_CMAP: str = "inferno"
#: Colour map of overlays of maps in [0, 1] such as Grad-CAM (4.2): perceptually uniform, colour-blind safe.
CAM_CMAP: str = "magma"


@checked
def to_numpy(a: ArrayLike | Sequence | float) -> np.ndarray:
    """Tensor or array -> float numpy array on the CPU (detached), what matplotlib draws.

    Args:
        a: A tensor (any device with values, with or without gradient), an array, a (nested) list of numbers
            or a number.

    Returns:
        A float32 numpy array of the same shape.

    Example:
        >>> import torch
        >>> import xai_helpers as xh
        >>> a = xh.to_numpy(torch.ones(2, 3, requires_grad=True))
        >>> type(a).__name__, a.dtype, a.shape
        ('ndarray', dtype('float32'), (2, 3))
    """
    return as_float_array(a, "a")


@checked
def resize_map(heatmap: ArrayLike, size: Sequence[int]) -> np.ndarray:
    """Bilinearly resize a 2-D map to ``size``; used to lay a coarse map over the image (taught in 4.2).

    Args:
        heatmap: A 2-D map (H', W'), e.g. a 7x7 Grad-CAM.
        size: The target ``(H, W)``, e.g. the image's ``shape[:2]``.

    Returns:
        The resized float32 map of shape ``(H, W)``.

    Example:
        >>> import numpy as np
        >>> import xai_helpers as xh
        >>> xh.viz.resize_map(np.eye(7), (224, 224)).shape
        (224, 224)
    """
    m = torch.as_tensor(as_2d_map(heatmap))[None, None]
    size = _check_size(size, "size")
    return F.interpolate(m, size=tuple(size), mode="bilinear", align_corners=False)[0, 0].numpy()


@checked
def as_2d_map(heatmap: ArrayLike, size: Sequence[int] | None = None, name: str = "heatmap") -> np.ndarray:
    """A map (tensor/array, leading 1-dims allowed) -> 2-D numpy array, resized to ``size`` if given.

    ``name`` is what an error calls the map (the caller's argument name)."""
    m = as_float_array(heatmap, name)
    while m.ndim > 2 and m.shape[0] == 1:
        m = m[0]
    if m.ndim != 2 or 0 in m.shape:
        raise ValueError(f"{name} must be a 2-D map (H, W); got shape {m.shape}. Reduce a 1x3xHxW "
                         "attribution first with max_abs_over_channels(...) or sum_over_channels(...).")
    if size is not None and m.shape != tuple(size):
        m = resize_map(m, size)
    return m


def _check_size(size, name):
    """``(H, W)``: two positive integers -> that tuple; else a ValueError naming ``name``."""
    size = tuple(size)
    if len(size) != 2 or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v > 0
                                 for v in size):
        raise ValueError(f"{name} must be (height, width), two positive integers, e.g. image.shape[:2]; got {size!r}.")
    return tuple(int(v) for v in size)


def _check_style(cmap=None, clip_percentile=None, alpha=None, contour=None):
    """The drawing options of the map plots, checked before anything is drawn (errors name the option)."""
    if cmap is not None and cmap not in matplotlib.colormaps:
        raise ValueError(f"cmap={cmap!r} is not a matplotlib colour map; use e.g. {SIGNED_CMAP!r}, {CAM_CMAP!r} or "
                         "'viridis' (all names: list(matplotlib.colormaps)).")
    if clip_percentile is not None and not 0 <= clip_percentile <= 100:
        raise ValueError(f"clip_percentile is a percentile between 0 and 100 (e.g. 99.5), got {clip_percentile!r}.")
    if alpha is not None and not 0 <= alpha <= 1:
        raise ValueError(f"alpha is an opacity between 0 and 1 (e.g. 0.75), got {alpha!r}.")
    if contour is not None and not 0 < contour < 1:
        raise ValueError(f"contour is a quantile of |map| between 0 and 1 (e.g. 0.8 outlines the top "
                         f"fifth), got {contour!r}.")


def _limits(m, signed, clip_percentile):
    if signed:
        vmax = float(np.percentile(np.abs(m), clip_percentile)) if clip_percentile else float(np.abs(m).max())
        vmax = vmax if vmax > 0 else 1.0
        return -vmax, vmax
    vmax = float(np.percentile(m, clip_percentile)) if clip_percentile else float(m.max())
    return float(min(m.min(), 0.0)), (vmax if vmax > 0 else 1.0)


@checked
def show_map(heatmap: ArrayLike, ax: Axes | None = None, signed: bool | None = None, title: str | None = None,
             clip_percentile: float | None = 99.5, colorbar: bool = True, cmap: str | None = None) -> AxesImage:
    """Draw a 2-D map: signed maps on a diverging scale centred at 0, unsigned on a sequential one (taught in 4.1).

    ``signed=None`` decides from the data (any negative value -> signed). Values beyond the
    ``clip_percentile`` of |map| saturate the colour scale, so one hot pixel does not wash out the rest.

    Args:
        heatmap: A 2-D map (H, W); leading 1-dims are dropped (a 1x3xHxW attribution must be reduced first,
            e.g. with ``max_abs_over_channels``).
        ax: The axes to draw on; ``None`` means the current axes (``plt.gca()``).
        signed: ``True`` draws on ``SIGNED_CMAP`` centred at 0, ``False`` on ``ABSOLUTE_CMAP`` from 0;
            ``None`` decides from the data.
        title: The panel's title; ``None`` draws none.
        clip_percentile: The percentile of the values that saturates the colour scale (default 99.5);
            ``None`` or 0 uses the maximum.
        colorbar: Whether to add a colour bar (default ``True``).
        cmap: A matplotlib colour map name overriding the choice above.

    Returns:
        The ``AxesImage`` drawn.

    Example:
        >>> import matplotlib.pyplot as plt
        >>> import torch
        >>> import xai_helpers as xh
        >>> image = xh.show_map(torch.linspace(-1, 1, 16).view(4, 4), title="signed")
        >>> image.get_cmap().name, image.get_clim()
        ('RdBu_r', (-1.0, 1.0))
        >>> plt.close("all")
    """
    import matplotlib.pyplot as plt
    _check_style(cmap, clip_percentile)
    m = as_2d_map(heatmap)
    signed = bool((m < 0).any()) if signed is None else signed
    ax = ax or plt.gca()
    vmin, vmax = _limits(m, signed, clip_percentile)
    im = ax.imshow(m, cmap=cmap or (SIGNED_CMAP if signed else ABSOLUTE_CMAP), vmin=vmin, vmax=vmax)
    _finish(ax, title)
    if colorbar:
        ax.figure.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    return im


@checked
def overlay_heatmap(image: ArrayLike, heatmap: ArrayLike, ax: Axes | None = None, alpha: float = 0.75,
                    cmap: str | None = None, signed: bool | None = None, title: str | None = None,
                    clip_percentile: float | None = 99.5, colorbar: bool = True,
                    contour: float | None = None) -> AxesImage:
    """Lay ``heatmap`` over ``image`` -- the HxWx3 pixels the model saw (``image_model.to_image(x)``).

    A coarse map (e.g. a 7x7 CAM) is resized to the image first; both share one pixel grid, so the
    overlay is aligned by construction (the source text's overlay on the uncropped photo was not).
    The colour's opacity follows the map (``alpha`` x |value| / max): where the map is near 0 the
    photo shows through unchanged, so the picture stays readable. ``contour=q`` (e.g. 0.8) also
    outlines the region above the q-quantile of |map| (a white line on a dark halo), which keeps the
    top region visible where the map's brightest colour lies over bright pixels. Taught in 4.1 and 4.2.

    Args:
        image: The HxWx3 pixels in [0, 1] the model saw.
        heatmap: A 2-D map of any size (resized to H x W).
        ax: The axes to draw on; ``None`` means the current axes.
        alpha: Opacity of the map's colour where |map| is largest (default 0.75).
        cmap: A colour map name; ``None`` means ``SIGNED_CMAP`` for signed maps, else ``CAM_CMAP``.
        signed: As in ``show_map``: ``None`` decides from the data.
        title: The panel's title; ``None`` draws none.
        clip_percentile: As in ``show_map`` (default 99.5).
        colorbar: Whether to add a colour bar (default ``True``).
        contour: A quantile q in (0, 1) of |map| to outline; ``None`` (default) draws no outline.

    Returns:
        The ``AxesImage`` of the map (the photo lies under it).

    Raises:
        ValueError: ``image`` is not HxWx3, or ``contour`` is not in (0, 1).

    Example:
        >>> import matplotlib.pyplot as plt
        >>> import numpy as np
        >>> import xai_helpers as xh
        >>> photo, cam = np.full((32, 32, 3), 0.5), np.eye(4)
        >>> layer = xh.overlay_heatmap(photo, cam, contour=0.8, title="Grad-CAM")
        >>> layer.get_array().shape, layer.get_cmap().name
        ((32, 32), 'magma')
        >>> plt.close("all")
    """
    import matplotlib.pyplot as plt
    _check_style(cmap, clip_percentile, alpha, contour)
    img = as_float_array(image, "image")
    if img.ndim != 3 or img.shape[2] != 3 or 0 in img.shape:
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
        level = float(np.quantile(np.abs(m), contour))
        if level > 0:  # a dark halo under a white line: visible on bright and on dark parts of the photo
            ax.contour(np.abs(m), levels=[level], colors="black", linewidths=2.6, alpha=0.6)
            ax.contour(np.abs(m), levels=[level], colors="white", linewidths=1.2)
    _finish(ax, title)
    if colorbar:
        ax.figure.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    return im


@checked
def show_panels(panels: Mapping[str, ArrayLike], image: ArrayLike | None = None, ncols: int | None = None,
                panel_size: float = 3.2, suptitle: str | None = None, overlay: bool = False,
                signed: bool | None = None, clip_percentile: float | None = 99.5, colorbar: bool = True,
                contour: float | None = None) -> Figure:
    """Draw several images / maps side by side with titles; returns the figure (taught in 4.1).

    ``panels`` maps a title to an HxWx3 image or a 2-D map (tensor or array). With ``overlay=True``
    every map is laid over ``image`` (``contour`` is passed on to ``overlay_heatmap``). ``signed`` is
    passed on to ``show_map`` (None = decide per map). The panels are ``fig.axes[:len(panels)]``.

    Args:
        panels: Title -> HxWx3 image or 2-D map, drawn in this order (at least one).
        image: The HxWx3 pixels the maps are laid over when ``overlay=True``.
        ncols: Panels per row; ``None`` puts all in one row.
        panel_size: Height of one panel in inches (default 3.2).
        suptitle: A title over all panels; ``None`` draws none.
        overlay: ``True`` lays every map over ``image``; ``False`` (default) draws the maps alone.
        signed: Passed on to ``show_map`` / ``overlay_heatmap``; ``None`` decides per map.
        clip_percentile: Passed on (default 99.5).
        colorbar: Whether each map gets a colour bar (default ``True``).
        contour: Passed on to ``overlay_heatmap`` (``None``: no outline).

    Returns:
        The matplotlib ``Figure``; its first ``len(panels)`` axes are the panels (colour bars follow).

    Raises:
        ValueError: ``panels`` is empty, or ``overlay=True`` without ``image``.

    Example:
        >>> import matplotlib.pyplot as plt
        >>> import numpy as np
        >>> import xai_helpers as xh
        >>> fig = xh.show_panels({"photo": np.zeros((8, 8, 3)), "map": np.eye(8)}, colorbar=False)
        >>> [ax.get_title() for ax in fig.axes]
        ['photo', 'map']
        >>> plt.close(fig)
    """
    import matplotlib.pyplot as plt
    items = [(title, as_float_array(value, f"panels[{title!r}]")) for title, value in panels.items()]
    if not items:
        raise ValueError("panels is empty: show_panels needs at least one panel, {'title': image_or_map, ...}.")
    _check_style(None, clip_percentile, None, contour)
    if panel_size <= 0:
        raise ValueError(f"panel_size is a height in inches, a positive number (e.g. 3.2); got {panel_size!r}.")
    ncols = len(items) if ncols is None else check_count(ncols, "ncols")
    nrows = -(-len(items) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(panel_size * ncols * 1.1, panel_size * nrows),
                             squeeze=False)
    for ax, (title, arr) in zip(axes.flat, items):
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
@checked
def draw_box(ax: Axes, box: ArrayLike | Sequence[float], color: str = "lime", linewidth: float = 1.5) -> None:
    """Outline a pixel box on an image axis, e.g. the object box of the pointing game (taught in 4.2).

    Args:
        ax: The axes the image is drawn on.
        box: ``(top, left, bottom, right)`` in pixel rows/columns, bottom and right exclusive (a tuple, list,
            tensor or array of 4 numbers).
        color: The outline's colour (default ``"lime"``).
        linewidth: The outline's width in points (default 1.5).

    Returns:
        Nothing; the rectangle is added to ``ax``.

    Example:
        >>> import matplotlib.pyplot as plt
        >>> import numpy as np
        >>> import xai_helpers as xh
        >>> fig, ax = plt.subplots()
        >>> _ = ax.imshow(np.zeros((10, 10)))
        >>> xh.viz.draw_box(ax, (2, 3, 6, 8))
        >>> rectangle = ax.patches[0]
        >>> rectangle.get_xy(), rectangle.get_width(), rectangle.get_height()
        ((2.5, 1.5), 5.0, 4.0)
        >>> plt.close(fig)
    """
    import matplotlib.pyplot as plt
    values = as_float_array(box, "box")
    if values.shape != (4,):
        raise ValueError(f"box must be (top, left, bottom, right), four pixel coordinates; got shape {values.shape}.")
    if not is_color_like(color):
        raise ValueError(f"color={color!r} is not a matplotlib colour; use a name such as 'lime' or a hex code.")
    if linewidth < 0:
        raise ValueError(f"linewidth is a width in points, >= 0 (e.g. 1.5); got {linewidth!r}.")
    top, left, bottom, right = [float(v) for v in values]
    ax.add_patch(plt.Rectangle((left - 0.5, top - 0.5), right - left, bottom - top, fill=False, ec=color,
                               lw=linewidth))
