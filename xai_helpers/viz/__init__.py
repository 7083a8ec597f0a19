"""Figures: maps, overlays and panels (``plotting``), attention figures (``attention``), tokens on wrapped rows
(``tokens``) and BertViz views that work offline (``bertviz_offline``). Everything here draws arrays it is
given; nothing imports ``models`` or ``methods``.
"""
from .attention import (ATTENTION_CMAP, attention_explorer, compare_token_scores, plot_attention,
                        plot_attention_head, plot_attention_row, plot_layer_heads, plot_special_token_share)
from .bertviz_offline import OfflineView, head_view, model_view
from .plotting import (ABSOLUTE_CMAP, CAM_CMAP, SIGNED_CMAP, draw_box, overlay_heatmap, resize_map, show_map,
                       show_panels, to_numpy)
from .tokens import TokenLayout, draw_tokens, layout_tokens

__all__ = ["plot_attention", "plot_attention_row", "plot_attention_head", "plot_layer_heads",
           "plot_special_token_share", "compare_token_scores", "attention_explorer", "OfflineView", "head_view",
           "model_view", "overlay_heatmap", "resize_map", "show_map", "show_panels", "to_numpy", "draw_box",
           "CAM_CMAP", "SIGNED_CMAP", "ABSOLUTE_CMAP", "ATTENTION_CMAP", "TokenLayout", "layout_tokens", "draw_tokens"]
