"""Token attributions rendered: coloured HTML, a wrapped matplotlib figure, Captum's visualisation record."""
import html
import textwrap

import numpy as np
import torch
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
import matplotlib
import matplotlib.colors as mcolors

from ..viz.plotting import SIGNED_CMAP, to_numpy

__all__ = ["render_tokens_html", "show_token_attributions", "captum_text_visualization"]


def _token_colour(value, scale):
    """Diverging colour centred at 0: red = for the target class, blue = against, white = 0."""
    cmap = matplotlib.colormaps[SIGNED_CMAP]
    # the outer 15 % of the palette is too dark for black text: use 0.5 +- 0.35
    return cmap(0.5 + 0.35 * float(np.clip(value / scale, -1, 1)) if scale > 0 else 0.5)


def render_tokens_html(tokens, attributions, title=None):
    """HTML: every token on a diverging background centred at 0 (scale = max |attribution|), escaped.

    Tokens are HTML-escaped, so a token such as ``<script>`` is shown as text, never run.
    """
    values = to_numpy(attributions).ravel()
    if len(tokens) != len(values):
        raise ValueError(f"{len(tokens)} tokens but {len(values)} attributions.")
    scale = float(np.abs(values).max()) if len(values) else 0.0
    spans = []
    for token, value in zip(tokens, values):
        colour = mcolors.to_hex(_token_colour(value, scale))
        spans.append(f'<span title="{value:+.4f}" style="background-color:{colour}; color:black; padding:1px 3px; '
                     f'margin:1px; border-radius:3px; display:inline-block; font-family:monospace">'
                     f"{html.escape(str(token))}</span>")
    head = f"<div style='font-size:90%'>{html.escape(title)}</div>" if title else ""
    legend = (f"<div style='font-size:80%'>colour scale: ±{scale:.3g} (red = for the class, blue = against, "
              "white = 0)</div>")
    return f"<div>{head}<div style='line-height:2'>{' '.join(spans)}</div>{legend}</div>"


def show_token_attributions(result, ax=None, max_chars_per_line=70):
    """Matplotlib drawing of a ``TextInterpretation``: every token, wrapped over lines, diverging colours."""
    import matplotlib.pyplot as plt
    tokens, values = result.tokens, np.asarray(result.attributions, dtype=float)
    scale = float(np.abs(values).max()) or 1.0
    lines, current, width = [], [], 0
    for token, value in zip(tokens, values):
        if current and width + len(token) + 1 > max_chars_per_line:
            lines.append(current)
            current, width = [], 0
        current.append((token, value))
        width += len(token) + 1
    if current:
        lines.append(current)
    if ax is None:
        fig, ax = plt.subplots(figsize=(min(12, 0.13 * max_chars_per_line + 2), 0.55 * len(lines) + 1.3))
    fig = ax.figure
    ax.set_xlim(0, max_chars_per_line + 2)
    ax.set_ylim(len(lines) + 0.3, -0.6)
    ax.axis("off")
    for row, line in enumerate(lines):
        x = 0.5
        for token, value in line:
            ax.text(x, row, token, fontsize=11, family="monospace", va="center",
                    bbox=dict(boxstyle="round,pad=0.25", facecolor=_token_colour(value, scale), edgecolor="0.8"))
            x += len(token) + 1.2
    ax.set_title(_wrap(result.title(), 110), fontsize=9)
    what = "margin" if getattr(result, "quantity", "logit") == "margin" else "logit"
    fig.colorbar(ScalarMappable(norm=Normalize(-scale, scale), cmap=SIGNED_CMAP), ax=ax, orientation="horizontal",
                 fraction=0.08, pad=0.02, aspect=40, label=f"attribution to the {what} of '{result.target_label}' "
                 "(red = for, blue = against, white = 0)")
    return fig


def _wrap(text, width):
    return "\n".join(textwrap.wrap(text, width))


def captum_text_visualization(results, true_labels=None):
    """Captum's ``visualize_text`` table for several ``TextInterpretation`` -> IPython HTML.

    Tokens are HTML-escaped first (Captum inserts them verbatim) and attributions are divided by
    their max |value|, so Captum's green/red scale is centred at 0 and no token is dropped.
    """
    from captum.attr import visualization as viz
    records = []
    for i, r in enumerate(results):
        scale = float(np.abs(r.attributions).max()) or 1.0
        true = true_labels[i] if true_labels is not None else "?"
        records.append(viz.VisualizationDataRecord(
            torch.tensor(r.attributions / scale), r.prediction[1], html.escape(r.prediction[0]),
            html.escape(str(true)), html.escape(r.target_label), float(r.attributions.sum()),
            [html.escape(t) for t in r.tokens], r.delta))
    return viz.visualize_text(records)
