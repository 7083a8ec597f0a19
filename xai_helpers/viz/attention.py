"""Figures of Transformer attention: heat maps, rows, head grids, shares, score comparisons, a layer/head explorer.

Everything here draws arrays (attention ``[layers, heads, seq, seq]`` and token lists); nothing runs a model.
"""
from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import torch
from IPython.display import display
# The hints name these classes; @checked resolves the hints when a function is first called.
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.image import AxesImage
from matplotlib.colors import is_color_like

from .._typecheck import checked
from ..attention_arrays import check_index, select_attention, special_token_mask, token_position
from .._validate import as_float_array, check_attentions, check_count
from .plotting import _check_style

#: Attention weights of one example: a [layers, heads, seq, seq] tensor or array, or the model's per-layer
#: tuple of [1, heads, seq, seq] tensors (``output_attentions=True``).
Attentions = torch.Tensor | np.ndarray | Sequence[torch.Tensor]

__all__ = ["plot_attention", "plot_attention_row", "plot_attention_head", "plot_layer_heads",
           "plot_special_token_share", "compare_token_scores", "attention_explorer", "ATTENTION_CMAP"]

#: Colour map of attention weights (4.4a, 4.4b): sequential and perceptually uniform, dark = 0.
ATTENTION_CMAP: str = "viridis"


# --- figures ------------------------------------------------------------------------------------
def _token_labels(tokens, numbered=False):
    return [f"{t} {i}" if numbered else str(t) for i, t in enumerate(tokens)]


def _tick_step(n, max_labels=60):
    return max(1, math.ceil(n / max_labels))


MIN_FONTSIZE = 8   # the course's smallest readable text, in points


def _fontsize(n):
    return float(np.clip(220 / max(n, 1), MIN_FONTSIZE, 10))


@checked
def plot_attention(matrix: torch.Tensor | np.ndarray, tokens: Sequence[str], ax: Axes | None = None,
                   title: str | None = None, vmax: float | None = None, annotate: bool | None = None,
                   numbered: bool | None = None, colorbar: bool = True, cmap: str = ATTENTION_CMAP,
                   show_xlabels: bool = True, show_ylabels: bool = True) -> AxesImage:
    """Draw one [seq, seq] attention matrix with token labels (rows = queries, columns = keys; taught in 4.4a).

    Long inputs stay readable: the figure grows with the sentence, fonts shrink, and past 60 tokens
    only every k-th label is written. ``annotate`` (default: up to 12 tokens) prints the weights;
    ``numbered`` (default: when a token repeats) adds positions to the labels. Labels are never
    smaller than 8 pt: a long sentence gets a larger figure (about 0.16 inch per written label).

    Args:
        matrix: The [seq, seq] weights of one head (or a mean of heads); each row sums to 1.
        tokens: The ``seq`` tokens, in input order.
        ax: The axes to draw on; ``None`` makes a new figure sized for the sentence.
        title: The panel's title; ``None`` draws none.
        vmax: The weight at the top of the colour scale; ``None`` means the matrix's maximum.
        annotate: Whether to print each weight in its cell; ``None`` means up to 12 tokens.
        numbered: Whether to add positions to the labels; ``None`` means when a token repeats.
        colorbar: Whether to add a colour bar (default ``True``).
        cmap: The colour map (default ``ATTENTION_CMAP``).
        show_xlabels: Whether to write the key labels (default ``True``).
        show_ylabels: Whether to write the query labels (default ``True``).

    Returns:
        The ``AxesImage`` drawn.

    Raises:
        ValueError: ``matrix`` is not [len(tokens), len(tokens)].

    Example:
        >>> import matplotlib.pyplot as plt
        >>> import torch
        >>> import xai_helpers as xh
        >>> image = xh.plot_attention(torch.full((3, 3), 1 / 3), ["[CLS]", "hello", "[SEP]"], title="one head")
        >>> [label.get_text() for label in image.axes.get_xticklabels()]
        ['[CLS]', 'hello', '[SEP]']
        >>> plt.close("all")
    """
    import matplotlib.pyplot as plt
    _check_style(cmap)
    m = as_float_array(matrix, "matrix")
    tokens = list(tokens)
    n = len(tokens)
    if m.shape != (n, n):
        raise ValueError(f"matrix has shape {m.shape} but there are {n} tokens: pass one head's [seq, seq] weights "
                         "and the seq tokens.")
    if not np.isfinite(m).all():
        raise ValueError("matrix contains NaN or infinite values; attention weights are finite.")
    if vmax is not None and vmax <= 0:
        raise ValueError(f"vmax is the weight at the top of the colour scale, a positive number; got {vmax!r}.")
    if ax is None:
        side = float(np.clip(max(0.3 * n + 2.5, 0.16 * math.ceil(n / _tick_step(n)) + 2.0), 4, 14))
        _, ax = plt.subplots(figsize=(side + 1, side))
    numbered = len(set(tokens)) < n if numbered is None else numbered
    labels = _token_labels(tokens, numbered)
    im = ax.imshow(m, cmap=cmap, vmin=0.0, vmax=vmax if vmax is not None else max(float(m.max()), 1e-6))
    step, fs = _tick_step(n), _fontsize(n)
    ticks = np.arange(0, n, step)
    ax.set_xticks(ticks)
    ax.set_yticks(ticks)
    ax.set_xticklabels([labels[i] for i in ticks] if show_xlabels else [], rotation=90, fontsize=fs)
    ax.set_yticklabels([labels[i] for i in ticks] if show_ylabels else [], fontsize=fs)
    if show_xlabels:
        ax.set_xlabel("key (attended to)", fontsize=fs + 1)
    if show_ylabels:
        ax.set_ylabel("query (attending)", fontsize=fs + 1)
    if annotate if annotate is not None else n <= 12:
        hi = im.norm.vmax
        for i in range(n):
            for j in range(n):
                ax.text(j, i, f"{m[i, j]:.2f}"[1:] if m[i, j] < 1 else "1", ha="center", va="center",
                        fontsize=max(fs - 2, MIN_FONTSIZE), color="black" if m[i, j] > 0.6 * hi else "white")
    if title:
        ax.set_title(title, fontsize=10)
    if colorbar:
        ax.figure.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label="attention weight")
    return im


@checked
def plot_attention_row(attentions: Attentions, tokens: Sequence[str], query: str | int, layer: int = 0,
                       head: int | None = None, ax: Axes | None = None, color: str = "C0") -> Axes:
    """One query token's attention over all keys, as bars: what a single row of a head's matrix is (taught in 4.4a).

    ``query`` is a token string (its first occurrence) or a position; ``head=None`` averages the
    heads of ``layer``. The bars are the softmax weights of that row (they sum to 1); the query's own
    bar is outlined. Returns the matplotlib axis.

    Args:
        attentions: One example's attention weights, [layers, heads, seq, seq] or the model's tuple.
        tokens: The ``seq`` tokens.
        query: The query token (its first occurrence) or its position.
        layer: The layer, 0-based; negative counts from the end (default 0).
        head: The head, 0-based; ``None`` (default) averages the layer's heads.
        ax: The axes to draw on; ``None`` makes a new figure.
        color: The bars' colour (default ``"C0"``).

    Returns:
        The matplotlib ``Axes`` drawn on.

    Raises:
        ValueError: The tokens do not match the attention, or ``query``/``layer``/``head`` is not in it.

    Example:
        >>> import matplotlib.pyplot as plt
        >>> import torch
        >>> import xai_helpers as xh
        >>> uniform = torch.full((2, 4, 3, 3), 1 / 3)
        >>> ax = xh.viz.plot_attention_row(uniform, ["[CLS]", "hello", "[SEP]"], query="hello", layer=1)
        >>> ax.get_title()
        "Query 'hello', layer 1, mean of 4 heads: weights sum to 1.00"
        >>> plt.close("all")
    """
    import matplotlib.pyplot as plt
    a = select_attention(check_attentions(attentions, tokens))
    tokens = list(tokens)
    if not is_color_like(color):
        raise ValueError(f"color={color!r} is not a matplotlib colour; use a name such as 'C0' or 'tab:blue'.")
    layer = check_index(layer, a.shape[0], "layer")
    i = _query_position(tokens, query)
    if head is None:
        w, which = a[layer, :, i].mean(0).numpy(), f"mean of {a.shape[1]} heads"
    else:
        head = check_index(head, a.shape[1], "head")
        w, which = a[layer, head, i].numpy(), f"head {head}"
    ax = ax or plt.subplots(figsize=(max(4.5, 0.55 * len(tokens) + 1.5), 3))[1]
    bars = ax.bar(np.arange(len(tokens)), w, color=color)
    bars[i].set_edgecolor("black")
    bars[i].set_linewidth(1.5)
    for j, value in enumerate(w):
        if value >= 0.01:
            ax.text(j, value, f"{value:.2f}", ha="center", va="bottom", fontsize=MIN_FONTSIZE)
    labels = _token_labels(tokens, len(set(tokens)) < len(tokens))
    ax.set_xticks(np.arange(len(tokens)))
    ax.set_xticklabels(labels, rotation=45 if len(tokens) > 8 else 0,
                       ha="right" if len(tokens) > 8 else "center", fontsize=max(_fontsize(len(tokens)), 9))
    ax.set_ylim(0, max(float(w.max()) * 1.18, 0.05))
    ax.set_xlabel("key (the token attended to)")
    ax.set_ylabel("attention weight")
    ax.set_title(f"Query {labels[i]!r}, layer {layer}, {which}: weights sum to {w.sum():.2f}", fontsize=10)
    return ax


@checked
def plot_attention_head(attentions: Attentions, tokens: Sequence[str], layer: int = 0, head: int = 0,
                        ax: Axes | None = None, **kwargs: Any) -> AxesImage:
    """Heat map of one head of one layer (0-based indices; negative counts from the end; taught in 4.4a).

    Args:
        attentions: One example's attention weights, [layers, heads, seq, seq] or the model's tuple.
        tokens: The ``seq`` tokens.
        layer: The layer (default 0).
        head: The head (default 0).
        ax: The axes to draw on; ``None`` makes a new figure.
        **kwargs: Passed on to ``plot_attention`` (``title`` defaults to "layer L, head H").

    Returns:
        The ``AxesImage`` drawn.

    Example:
        >>> import matplotlib.pyplot as plt
        >>> import torch
        >>> import xai_helpers as xh
        >>> attentions = torch.full((2, 4, 3, 3), 1 / 3)
        >>> xh.viz.plot_attention_head(attentions, ["a", "b", "c"], layer=-1, head=2).axes.get_title()
        'layer 1, head 2'
        >>> plt.close("all")
    """
    a = select_attention(check_attentions(attentions, tokens))
    layer, head = check_index(layer, a.shape[0], "layer"), check_index(head, a.shape[1], "head")
    kwargs.setdefault("title", f"layer {layer}, head {head}")
    return plot_attention(a[layer, head], tokens, ax=ax, **kwargs)


@checked
def plot_layer_heads(attentions: Attentions, tokens: Sequence[str], layer: int = 0, ncols: int | None = None,
                     panel_size: float = 2.6, shared_scale: bool = True) -> Figure:
    """All heads of one layer as a grid of small heat maps with one colour scale; returns the figure (taught in 4.4a).

    Labels are written on the outer panels only, so long sentences stay legible.

    Args:
        attentions: One example's attention weights, [layers, heads, seq, seq] or the model's tuple.
        tokens: The ``seq`` tokens.
        layer: The layer (default 0; negative counts from the end).
        ncols: Panels per row; ``None`` means up to 6 (up to 4 past 20 tokens).
        panel_size: Side of one panel in inches for up to 20 tokens (default 2.6); longer inputs get larger ones.
        shared_scale: ``True`` (default) gives all heads one colour scale and one colour bar.

    Returns:
        The matplotlib ``Figure``: one axes per head, then the colour bar's.

    Example:
        >>> import matplotlib.pyplot as plt
        >>> import torch
        >>> import xai_helpers as xh
        >>> fig = xh.viz.plot_layer_heads(torch.full((2, 4, 3, 3), 1 / 3), ["a", "b", "c"], layer=0)
        >>> [ax.get_title() for ax in fig.axes[:4]], len(fig.axes)
        (['head 0', 'head 1', 'head 2', 'head 3'], 5)
        >>> plt.close(fig)
    """
    import matplotlib.pyplot as plt
    a = select_attention(check_attentions(attentions, tokens))
    layer = check_index(layer, a.shape[0], "layer")
    if panel_size <= 0:
        raise ValueError(f"panel_size is a side in inches, a positive number (e.g. 2.6); got {panel_size!r}.")
    n_heads, n = a.shape[1], a.shape[-1]
    ncols = min(n_heads, 6 if n <= 20 else 4) if ncols is None else check_count(ncols, "ncols")
    nrows = math.ceil(n_heads / ncols)
    size = panel_size * max(1.0, n / 20)
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols + 1, size * nrows + 0.8), squeeze=False,
                             layout="constrained")
    vmax = float(a[layer].max()) if shared_scale else None
    im = None
    for h, ax in enumerate(axes.flat):
        if h >= n_heads:
            ax.axis("off")
            continue
        row, col = divmod(h, ncols)
        im = plot_attention(a[layer, h], tokens, ax=ax, title=f"head {h}", vmax=vmax, annotate=False,
                            colorbar=False, show_xlabels=row == nrows - 1 or h + ncols >= n_heads,
                            show_ylabels=col == 0)
        ax.set_xlabel("")
        ax.set_ylabel("")
    fig.suptitle(f"Layer {layer}: all {n_heads} heads (rows = queries, columns = keys)")
    if shared_scale and im is not None:
        fig.colorbar(im, ax=axes.ravel().tolist(), fraction=0.02, pad=0.01, label="attention weight")
    return fig


@checked
def plot_special_token_share(share: np.ndarray | Sequence[float], chance: float | None = None,
                             ax: Axes | None = None, label: str | None = None) -> Axes:
    """Line plot of ``special_token_share`` per layer (per-head array: one thin line per head; taught in 4.4a).

    Args:
        share: The share of attention on [CLS] + [SEP], per layer ([layers]) or per layer and head
            ([layers, heads]), as ``methods.special_token_share`` returns it.
        chance: The share uniform attention would give, drawn as a dashed line; ``None`` draws none.
        ax: The axes to draw on; ``None`` makes a new figure.
        label: The legend entry of the (mean) line; ``None`` means "mean over heads".

    Returns:
        The matplotlib ``Axes`` drawn on.

    Example:
        >>> import matplotlib.pyplot as plt
        >>> import numpy as np
        >>> import xai_helpers as xh
        >>> ax = xh.viz.plot_special_token_share(np.array([[0.2, 0.4], [0.6, 0.8]]), chance=0.25)
        >>> [line.get_label() for line in ax.get_legend().get_lines()]
        ['single heads', 'mean over heads', 'uniform attention']
        >>> plt.close("all")
    """
    import matplotlib.pyplot as plt
    share = as_float_array(share, "share")
    if share.ndim not in (1, 2) or share.size == 0:
        raise ValueError(f"share must be one value per layer ([layers]) or per layer and head ([layers, heads]), "
                         f"as special_token_share returns it; got shape {share.shape}.")
    if chance is not None and not 0 <= chance <= 1:
        raise ValueError(f"chance is the share uniform attention gives, between 0 and 1; got {chance!r}.")
    ax = ax or plt.subplots(figsize=(5, 3.2))[1]
    layers = np.arange(share.shape[0])
    if share.ndim == 2:
        lines = ax.plot(layers, share, color="0.7", lw=0.8)
        lines[0].set_label("single heads")
        ax.plot(layers, share.mean(1), color="C0", lw=2.5, marker="o", label=label or "mean over heads")
    else:
        ax.plot(layers, share, marker="o", lw=2, label=label or "mean over heads")
    if chance is not None:
        ax.axhline(chance, color="C3", ls="--", lw=1, label="uniform attention")
    ax.set_xticks(layers)
    ax.set_xlabel("layer")
    ax.set_ylabel("attention to [CLS] + [SEP]")
    ax.set_ylim(0, 1)
    ax.legend(fontsize=8)
    return ax


@checked
def compare_token_scores(tokens: Sequence[str], scores: Mapping[str, Any], skip_special: bool = True,
                         special_tokens: Sequence[str] | None = None, ax: Axes | None = None
                         ) -> tuple[Figure, pd.DataFrame]:
    """Compare per-token scores from several methods: bar chart + Spearman rank correlations (taught in 4.4a).

    ``scores`` maps a method name to one value per token, e.g. the rollout's [CLS] row, the last
    layer's [CLS] row, or a classifier's token attributions (integrated gradients, chapter 4.5) --
    signed attributions are compared by magnitude. Returns ``(figure, correlations DataFrame)``.

    Args:
        tokens: The tokens the scores are for.
        scores: Method name -> one value per token (tensor, array or list).
        skip_special: ``True`` (default) leaves the special tokens out of bars and correlations.
        special_tokens: Which tokens are special; ``None`` means [CLS], [SEP], [PAD], <s>, </s>.
        ax: The axes to draw on; ``None`` makes a new figure.

    Returns:
        ``(figure, correlations)``: the bar chart (each method's |scores| as shares of its total) and the
        methods x methods ``pandas.DataFrame`` of Spearman rank correlations.

    Raises:
        ValueError: A method has not one score per token.

    Example:
        >>> import matplotlib.pyplot as plt
        >>> import xai_helpers as xh
        >>> tokens = ["[CLS]", "a", "great", "film", "[SEP]"]
        >>> fig, correlations = xh.viz.compare_token_scores(
        ...     tokens, {"rollout": [0.5, 0.1, 0.3, 0.2, 0.4], "IG": [0.0, -0.1, 0.9, 0.3, 0.0]})
        >>> round(float(correlations.loc["rollout", "IG"]), 2)
        1.0
        >>> plt.close(fig)
    """
    import matplotlib.pyplot as plt
    from scipy.stats import spearmanr
    tokens = list(tokens)
    keep = ~special_token_mask(tokens, special_tokens) if skip_special else np.ones(len(tokens), bool)
    table = {}
    for name, values in scores.items():
        v = np.abs(as_float_array(values, f"scores[{name!r}]").astype(np.float64))
        if v.shape != (len(tokens),):
            raise ValueError(f"scores[{name!r}] has shape {v.shape}; expected one value per token ({len(tokens)}).")
        v = v[keep]
        table[name] = v / v.sum() if v.sum() > 0 else v
    names = list(table)
    corr = pd.DataFrame(np.eye(len(names)), index=names, columns=names)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            rho = spearmanr(table[a], table[b]).statistic if len(table[a]) > 1 else np.nan
            corr.loc[a, b] = corr.loc[b, a] = rho
    shown = [t for t, k in zip(tokens, keep) if k]
    if ax is None:
        fig, ax = plt.subplots(figsize=(max(5, 0.55 * len(shown) * max(1, len(names) / 2)), 3.2))
    fig = ax.figure
    width = 0.8 / max(len(names), 1)
    x = np.arange(len(shown))
    for k, name in enumerate(names):
        ax.bar(x + (k - (len(names) - 1) / 2) * width, table[name], width, label=name)
    ax.set_xticks(x)
    ax.set_xticklabels(shown, rotation=45 if len(shown) > 8 else 0, ha="right" if len(shown) > 8 else "center")
    ax.set_ylabel("share of the method's total")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig, corr


def _query_position(tokens, query):
    """The position of ``query`` (a token or a position) in ``tokens``; an error names the argument ``query``."""
    try:
        return token_position(tokens, query)
    except ValueError as err:
        raise ValueError(f"query: {err}") from None


# --- interactive ----------------------------------------------------------------------------------
@checked
def attention_explorer(attentions: Attentions, tokens: Sequence[str], layer: int = 0, head: int = 0) -> Any:
    """Sliders for layer and head over ``plot_attention_head`` (ipywidgets; taught in 4.4a).

    Where widgets cannot run (ipywidgets missing) it draws the chosen head as a static figure instead.
    Where they cannot be displayed (static HTML, nbval) the output reads as a one-line note.

    Args:
        attentions: One example's attention weights, [layers, heads, seq, seq] or the model's tuple.
        tokens: The ``seq`` tokens.
        layer: The layer shown first (default 0).
        head: The head shown first (default 0).

    Returns:
        The widget (an ``ipywidgets.VBox``: sliders over the figure) that shows itself when it ends a notebook
        cell; ``None`` where ipywidgets is missing (the static figure is drawn instead).

    Example:
        >>> import contextlib, io
        >>> import matplotlib.pyplot as plt
        >>> import torch
        >>> import xai_helpers as xh
        >>> with contextlib.redirect_stdout(io.StringIO()):  # outside Jupyter the figure prints as text
        ...     explorer = xh.viz.attention_explorer(torch.full((2, 4, 3, 3), 1 / 3), ["a", "b", "c"])
        >>> print(repr(explorer).split(":")[0])
        Attention explorer (layer / head controls)
        >>> plt.close("all")
    """
    import matplotlib.pyplot as plt
    a = select_attention(check_attentions(attentions, tokens))
    tokens = list(tokens)
    try:
        import ipywidgets as widgets
    except ImportError:
        print("ipywidgets is not installed: showing one static head (pip install ipywidgets for sliders).")
        plot_attention_head(a, tokens, layer, head)
        return None

    n_layers, n_heads = a.shape[0], a.shape[1]
    layer_slider = widgets.IntSlider(value=check_index(layer, n_layers, "layer"), min=0, max=n_layers - 1,
                                     description="layer", continuous_update=False)
    head_choice = widgets.Dropdown(options=[("mean of heads", -1)] + [(f"head {h}", h) for h in range(n_heads)],
                                   value=check_index(head, n_heads, "head"), description="head")
    out = widgets.Output()

    def redraw(*_):
        with out:
            out.clear_output(wait=True)
            side = float(np.clip(0.3 * len(tokens) + 2.5, 4, 10))
            fig, ax = plt.subplots(figsize=(side + 1, side))
            if head_choice.value < 0:
                plot_attention(a[layer_slider.value].mean(0), tokens, ax=ax,
                               title=f"layer {layer_slider.value}, mean of {n_heads} heads")
            else:
                plot_attention_head(a, tokens, layer_slider.value, head_choice.value, ax=ax)
            display(fig)
            plt.close(fig)

    layer_slider.observe(redraw, names="value")
    head_choice.observe(redraw, names="value")
    redraw()
    return _Explorer([widgets.HBox([layer_slider, head_choice]), out])


@functools.lru_cache(maxsize=1)
def _explorer_class():
    import ipywidgets as widgets

    class Explorer(widgets.VBox):
        def __repr__(self):
            return ("Attention explorer (layer / head controls): needs a live Jupyter kernel with "
                    "ipywidgets; in static HTML use the figures above.")
    return Explorer


def _Explorer(children):
    return _explorer_class()(children)
