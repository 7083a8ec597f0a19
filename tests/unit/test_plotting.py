"""Plots: aligned overlays, diverging scales centred at 0 for signed maps."""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import xai_helpers as xh  # noqa: E402


def test_signed_maps_use_a_diverging_scale_centred_at_zero():
    m = np.array([[-1.0, 0.5], [2.0, 0.0]])
    im = xh.show_map(m, ax=plt.figure().gca(), clip_percentile=None)
    assert im.norm.vmin == -im.norm.vmax == -2.0
    assert im.get_cmap().name == xh.viz.SIGNED_CMAP
    plt.close("all")


def test_absolute_maps_use_a_sequential_scale():
    im = xh.show_map(np.random.rand(5, 5), ax=plt.figure().gca())
    assert im.get_cmap().name == xh.viz.ABSOLUTE_CMAP and im.norm.vmin == 0
    plt.close("all")


def test_overlay_resizes_a_coarse_map_onto_the_image_grid():
    image = np.zeros((224, 224, 3))
    ax = plt.figure().gca()
    im = xh.overlay_heatmap(image, np.random.rand(7, 7), ax=ax)
    assert im.get_array().shape == (224, 224)
    assert ax.images[0].get_extent() == ax.images[1].get_extent()
    plt.close("all")


def test_show_panels_titles_and_errors():
    fig = xh.show_panels({"photo": np.zeros((8, 8, 3)), "map": np.random.randn(8, 8)})
    assert [a.get_title() for a in fig.axes[:1]] == ["photo"]
    plt.close(fig)
    with pytest.raises(ValueError, match="2-D"):
        xh.show_map(np.zeros((1, 3, 8, 8)))


def test_overlay_contour_outlines_the_top_region_on_any_background():
    image = np.ones((32, 32, 3))                       # a white photo: a white line alone would vanish
    bump = np.exp(-((np.arange(32) - 12) / 6.0) ** 2)
    m = np.outer(bump, bump)                           # one smooth blob
    ax = plt.figure().gca()
    xh.overlay_heatmap(image, m, ax=ax, contour=0.8)
    colours = [tuple(np.round(c.get_edgecolor()[0][:3], 2)) for c in ax.collections]
    assert (0.0, 0.0, 0.0) in colours and (1.0, 1.0, 1.0) in colours   # dark halo under a white line
    empty_ax = plt.figure().gca()
    xh.overlay_heatmap(image, np.zeros((32, 32)), ax=empty_ax, contour=0.8)
    assert len(empty_ax.collections) == 0             # an empty map has no top region to outline
    with pytest.raises(ValueError, match="quantile"):
        xh.overlay_heatmap(image, m, ax=plt.figure().gca(), contour=80)
    fig = xh.show_panels({"a": m, "b": m}, image=image, overlay=True, contour=0.8)
    assert all(len(ax.collections) == 2 for ax in fig.axes[:2])
    plt.close("all")
