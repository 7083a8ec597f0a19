"""Tokens as coloured boxes on rows that wrap where the font's measured widths say, in any script a font can draw.

``layout_tokens`` measures every token in points (``matplotlib.textpath``, the font's own advance widths) and
fills rows of a given width, so a 77-word sentence becomes as many rows as it needs instead of boxes drawn over
each other. A character the default font (DejaVu Sans) lacks is looked up in the other installed fonts (CJK:
Noto Sans CJK, Source Han Sans, WenQuanYi, Droid Sans Fallback, ... first) and that font is added to the
family list, which matplotlib falls back along glyph by glyph. A character no installed font has is drawn as
its code point (``U+90E8``) and listed in ``TokenLayout.missing``, so a figure can say so instead of showing
empty boxes. ``draw_tokens`` draws a layout on an axes whose size in inches the layout was made for.
"""
from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field

import matplotlib
import numpy as np
from matplotlib import font_manager
from matplotlib.axes import Axes
from matplotlib.font_manager import FontProperties
from matplotlib.textpath import text_to_path

from .._typecheck import checked
from .._validate import as_float_array
from .plotting import SIGNED_CMAP, ArrayLike

__all__ = ["TokenLayout", "layout_tokens", "draw_tokens", "FALLBACK_FONTS"]

#: Fonts tried first for characters DejaVu Sans lacks (CJK and other wide scripts), when they are installed.
FALLBACK_FONTS: tuple[str, ...] = ("Noto Sans CJK JP", "Noto Sans CJK SC", "Noto Sans CJK TC", "Noto Sans CJK KR",
                                   "Source Han Sans", "WenQuanYi Zen Hei", "WenQuanYi Micro Hei",
                                   "Droid Sans Fallback", "AR PL UMing CN", "IPAGothic", "Noto Sans", "Unifont")
BASE_FONT = "DejaVu Sans"
_PAD, _GAP, _ROW = 0.3, 0.45, 1.9     # box padding, gap between boxes, row height: in units of the font size


@dataclass
class TokenLayout:
    """Where each token goes: ``texts`` (what is drawn, code points for undrawable characters), ``rows`` (token
    indices per row), ``x`` (left edge of each token's box, points), ``widths`` (points), ``families`` (the font
    list, fallbacks included), ``missing`` (characters no installed font has), ``width`` (the row width, inches),
    ``fontsize`` (points) and ``height`` (inches the rows need).

    Args:
        texts: The text drawn for each token.
        rows: Token indices, one list per row.
        x: Left edge of each token's box, in points from the left.
        widths: Width of each token's box, in points.
        families: The font families, the default first.
        missing: Characters no installed font can draw.
        width: The row width the layout fills, in inches.
        fontsize: The font size, in points.

    Example:
        >>> from xai_helpers.viz.tokens import layout_tokens
        >>> layout = layout_tokens(["a", "film"], width=3.0)
        >>> layout.rows, layout.missing
        ([[0, 1]], [])
    """
    texts: list[str]
    rows: list[list[int]]
    x: list[float]
    widths: list[float]
    families: list[str]
    missing: list[str]
    width: float
    fontsize: float
    height: float = field(init=False)

    def __post_init__(self):
        self.height = len(self.rows) * _ROW * self.fontsize / 72


@functools.lru_cache(maxsize=None)
def _charmap(path):
    try:
        return frozenset(font_manager.get_font(path).get_charmap())
    except (OSError, RuntimeError):
        return frozenset()


def _font_files():
    """(family, file) of every installed font that draws real glyphs, the preferred fallbacks first (matplotlib's
    "Last Resort" font maps every character to a box naming its Unicode block: that is no glyph)."""
    entries = [(f.name, f.fname) for f in font_manager.fontManager.ttflist if not f.name.startswith("Last Resort")]
    rank = {name: i for i, name in enumerate(FALLBACK_FONTS)}
    return sorted(entries, key=lambda e: rank.get(e[0], len(rank)))


@functools.lru_cache(maxsize=4096)
def _family_for(char):
    """The family of an installed font that has ``char`` (the default font first), or None."""
    base = font_manager.findfont(FontProperties(family=BASE_FONT), fallback_to_default=True)
    if ord(char) in _charmap(base):
        return BASE_FONT
    return next((name for name, path in _font_files() if ord(char) in _charmap(path)), None)


def _fonts_for(tokens):
    """(family list, characters no installed font has), for all characters of ``tokens``."""
    families, missing = [BASE_FONT], []
    for char in sorted({c for t in tokens for c in t if not c.isspace()}):
        family = _family_for(char)
        if family is None:
            missing.append(char)
        elif family not in families:
            families.append(family)
    return families, missing


def _shown(token, missing):
    return "".join(f"U+{ord(c):04X}" if c in missing else c for c in token) or " "


@checked
def layout_tokens(tokens: Sequence[str], width: float, fontsize: float = 11.0) -> TokenLayout:
    """Wrap ``tokens`` into rows at most ``width`` inches wide, measured in the font they are drawn with.

    Args:
        tokens: The tokens, in order (e.g. ``TextInterpretation.tokens``).
        width: The width of a row, in inches (e.g. the axes' width).
        fontsize: The font size, in points (default 11).

    Returns:
        A ``TokenLayout``: what is drawn, the rows, each box's position and width, the fonts, the characters no
        installed font can draw, and the height the rows need.

    Raises:
        ValueError: ``width`` or ``fontsize`` is not a positive number.

    Example:
        >>> from xai_helpers.viz.tokens import layout_tokens
        >>> layout = layout_tokens(["the", "acting", "was", "wonderful"] * 20, width=4.0)
        >>> len(layout.rows) > 5, max(layout.x[r[-1]] + layout.widths[r[-1]] for r in layout.rows) <= 4.0 * 72
        (True, True)
    """
    if not np.isfinite(width) or width <= 0:
        raise ValueError(f"width is the row width in inches, a positive number (e.g. 9.0); got {width!r}.")
    if not np.isfinite(fontsize) or fontsize <= 0:
        raise ValueError(f"fontsize is a size in points, a positive number (e.g. 11); got {fontsize!r}.")
    families, missing = _fonts_for(tokens)
    prop = FontProperties(family=families, size=fontsize)
    texts = [_shown(str(t), missing) for t in tokens]
    pad, gap, limit = _PAD * fontsize, _GAP * fontsize, width * 72
    widths = [text_to_path.get_text_width_height_descent(t, prop, ismath=False)[0] * 1.04 + 2 * pad for t in texts]
    rows, x, left = [], [], 0.0
    for i, w in enumerate(widths):
        if not rows or (left > 0 and left + w > limit):
            rows.append([])
            left = 0.0
        rows[-1].append(i)
        x.append(left)
        left += w + gap
    return TokenLayout(texts, rows, x, widths, families, missing, float(width), float(fontsize))


def _colour(value, scale):
    cmap = matplotlib.colormaps[SIGNED_CMAP]
    # the outer 15 % of the palette is too dark for black text: use 0.5 +- 0.35
    return cmap(0.5 + 0.35 * float(np.clip(value / scale, -1, 1)) if scale > 0 else 0.5)


@checked
def draw_tokens(layout: TokenLayout, values: ArrayLike | Sequence[float], ax: Axes,
                scale: float | None = None) -> list:
    """Draw a ``layout_tokens`` layout on ``ax``: each token in a box coloured by its value, red > 0 > blue.

    ``ax`` should be ``layout.width`` inches wide and ``layout.height`` tall: the axes' limits are set in points,
    so a narrower axes would let the boxes run past its right edge.

    Args:
        layout: What ``layout_tokens`` returned for these tokens.
        values: One signed number per token (an attribution), on the diverging ``SIGNED_CMAP`` centred at 0.
        ax: The axes to draw on.
        scale: The |value| drawn at full colour; ``None`` means the largest |value|.

    Returns:
        The matplotlib ``Text`` of each token, in order.

    Raises:
        ValueError: ``values`` does not hold one finite number per token.

    Example:
        >>> from matplotlib.figure import Figure
        >>> from xai_helpers.viz.tokens import draw_tokens, layout_tokens
        >>> layout = layout_tokens(["a", "dull", "film"], width=3.0)
        >>> ax = Figure(figsize=(3.0, layout.height)).add_axes((0, 0, 1, 1))
        >>> [t.get_text() for t in draw_tokens(layout, [0.0, -1.0, 0.2], ax)]
        ['a', 'dull', 'film']
    """
    v = as_float_array(values, "values").ravel()
    if len(v) != len(layout.texts):
        raise ValueError(f"values holds {len(v)} numbers for {len(layout.texts)} tokens: pass one value per token.")
    if not np.isfinite(v).all():
        raise ValueError("values contains NaN or infinite numbers; each token needs a finite value.")
    if scale is not None and (not np.isfinite(scale) or scale < 0):
        raise ValueError(f"scale is the |value| drawn at full colour, a number >= 0 (or None); got {scale!r}.")
    scale = float(np.abs(v).max()) if scale is None and len(v) else float(scale or 0.0)
    size, row_height = layout.fontsize, _ROW * layout.fontsize
    ax.set_xlim(0, layout.width * 72)
    ax.set_ylim(max(len(layout.rows), 1) * row_height, 0)
    ax.axis("off")
    prop = FontProperties(family=layout.families, size=size)
    drawn = []
    for row, members in enumerate(layout.rows):
        for i in members:
            drawn.append(ax.text(layout.x[i] + _PAD * size, (row + 0.5) * row_height, layout.texts[i],
                                 fontproperties=prop, va="center", ha="left", color="black",
                                 bbox=dict(boxstyle=f"round,pad={_PAD}", facecolor=_colour(v[i], scale),
                                           edgecolor="0.75")))
    return drawn
