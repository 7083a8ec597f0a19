"""Every public function of ``xai_helpers.viz`` given wrong kinds of arguments (harness: fuzz_support.py)."""
import tempfile
from pathlib import Path

import matplotlib
import numpy as np
import pytest
import torch
from matplotlib import pyplot as plt

import xai_helpers as xh
from fuzz_support import Case, fuzz

matplotlib.use("Agg")

TOKENS = ["[CLS]", "good", "film", "[SEP]"]


def _attentions():
    torch.manual_seed(0)
    return tuple(torch.softmax(torch.randn(1, 2, 4, 4), -1) for _ in range(2))


def _page():
    return Path(tempfile.mkdtemp()) / "view.html"


def _axes():
    plt.close("all")  # one valid call's figure at a time: each call makes its arguments afresh
    return plt.subplots()[1]


def _token_axes():
    plt.close("all")
    return plt.figure(figsize=(3.0, 1.0)).add_axes((0, 0, 1, 1))


V = xh.viz
CASES = {
    "layout_tokens": Case(V.layout_tokens, lambda: dict(tokens=TOKENS, width=3.0, fontsize=10.0)),
    "draw_tokens": Case(V.draw_tokens, lambda: dict(layout=V.layout_tokens(TOKENS, width=3.0), values=np.arange(4.0) - 2,
                                                    ax=_token_axes(), scale=None)),
    "plot_attention": Case(V.plot_attention, lambda: dict(matrix=_attentions()[0][0, 0], tokens=TOKENS, ax=_axes(),
                                                          title="t", vmax=0.9, cmap="magma", colorbar=True,
                                                          annotate=None, numbered=False)),
    "plot_attention_row": Case(V.plot_attention_row, lambda: dict(attentions=_attentions(), tokens=TOKENS, query=1,
                                                                  layer=0, head=None, ax=_axes())),
    "plot_attention_head": Case(V.plot_attention_head, lambda: dict(attentions=_attentions(), tokens=TOKENS, layer=1,
                                                                    head=0, ax=_axes())),
    "plot_layer_heads": Case(V.plot_layer_heads, lambda: dict(attentions=_attentions(), tokens=TOKENS, layer=0,
                                                              ncols=1, panel_size=2.0, shared_scale=True)),
    "plot_special_token_share": Case(V.plot_special_token_share, lambda: dict(share=np.array([[0.5, 0.6], [0.7, 0.8]]),
                                                                              chance=0.5, ax=_axes(), label="mean")),
    "compare_token_scores": Case(V.compare_token_scores, lambda: dict(tokens=TOKENS, scores={"a": np.arange(4.0)},
                                                                      ax=_axes(), skip_special=True,
                                                                      special_tokens=["[CLS]"])),
    "head_view": Case(V.head_view, lambda: dict(attentions=_attentions(), tokens=TOKENS, layer=0, heads=[1],
                                                include_layers=[0, 1], sentence_b_start=2)),
    "model_view": Case(V.model_view, lambda: dict(attentions=_attentions(), tokens=TOKENS, include_layers=[1],
                                                  include_heads=[0], display_mode="dark")),
    "overlay_heatmap": Case(V.overlay_heatmap, lambda: dict(image=np.zeros((16, 16, 3)), heatmap=torch.rand(16, 16),
                                                            ax=_axes(), alpha=0.5, title="t", cmap=None, signed=None,
                                                            clip_percentile=99.0, colorbar=True, contour=0.8)),
    "resize_map": Case(V.resize_map, lambda: dict(heatmap=np.random.rand(4, 4), size=(8, 8))),
    "show_map": Case(V.show_map, lambda: dict(heatmap=torch.rand(8, 8), ax=_axes(), title="t", signed=False,
                                              clip_percentile=90.0, colorbar=False, cmap="magma")),
    "show_panels": Case(V.show_panels, lambda: dict(panels={"a": torch.rand(8, 8), "b": torch.rand(8, 8)},
                                                    image=np.zeros((8, 8, 3)), ncols=1, panel_size=2.0,
                                                    suptitle="s", overlay=True, contour=0.5)),
    "to_numpy": Case(V.to_numpy, lambda: dict(a=torch.rand(3, 3))),
    "draw_box": Case(V.draw_box, lambda: dict(ax=_axes(), box=(1, 1, 5, 5), color="red", linewidth=2.0)),
    "attention_explorer": Case(V.attention_explorer, lambda: dict(attentions=_attentions(), tokens=TOKENS, layer=1,
                                                                  head=0), max_examples=20),
    "OfflineView": Case(V.OfflineView, lambda: dict(data="<p>attention</p>")),
    "OfflineView.save": Case(V.OfflineView.save, lambda: dict(self=V.OfflineView("<p>a</p>"), path=_page()),
                             fixed={"self": "the view the method is called on"}),
}


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.mark.parametrize("name", sorted(CASES))
def test_wrong_kinds_of_arguments_get_a_clear_error(name):
    fuzz(CASES[name])
