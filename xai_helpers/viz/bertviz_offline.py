"""BertViz head and model views that render without internet: the JavaScript they need ships with us.

BertViz (Vig 2019) draws its views with d3 and jQuery, which it asks require.js to fetch from a CDN
when the output is displayed -- a blank cell offline, in exported HTML and in classrooms without
internet. Here the three libraries (``xai_helpers/assets/bertviz/``: require.js 2.3.6, d3 5.7.0,
jQuery 2.2.4, from the npm registry; licences in ``LICENSES/``) are inlined into the view's HTML.

require.js is inlined *inside a function*, so its ``require``/``define`` stay private to that one
output: JupyterLab (which has no global require.js), the classic notebook (which has its own) and a
plain browser page all see their globals untouched. d3 and jQuery are registered in that private
loader as the AMD modules ``"d3"`` and ``"jquery"`` that BertViz's script asks for.
"""
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import torch
from IPython.display import HTML

from .._typecheck import checked
from .._validate import check_attentions

__all__ = ["head_view", "model_view", "OfflineView", "ASSETS_DIR", "JS_LIBRARIES"]

#: The folder of the JavaScript libraries the views inline.
ASSETS_DIR: Path = Path(__file__).resolve().parent.parent / "assets" / "bertviz"
#: AMD module name -> (file, version, licence) of the inlined libraries; origin: registry.npmjs.org.
JS_LIBRARIES: dict[str, tuple[str, str, str]] = {
    "requirejs": ("require-2.3.6.js", "2.3.6", "MIT"),
    "d3": ("d3-5.7.0.min.js", "5.7.0", "BSD-3-Clause"),
    "jquery": ("jquery-2.2.4.min.js", "2.2.4", "MIT"),
}

_CDN_LOADER = re.compile(r'<script src="https?://[^"]*require(\.min)?\.js"></script>')
_REQUIRE_CONFIG = re.compile(r"require\.config\(\{.*?\}\);", re.S)
_SELECT_NAMES = {"layer": "Layer", "filter": "Attention"}   # BertViz's menus: id -> accessible name
_SCRIPT = re.compile(r'<script type="text/javascript">\n(.*)\n</script>', re.S)


class OfflineView(HTML):
    """A BertViz view as self-contained HTML (no network needed); displays itself in Jupyter (taught in 4.4a).

    ``view.data`` is an HTML fragment for a notebook output; ``view.save(path)`` writes a complete
    page that opens in any browser, offline. ``head_view`` and ``model_view`` return one.

    Args:
        data: The HTML fragment (as for ``IPython.display.HTML``).

    Example:
        >>> import torch
        >>> import xai_helpers as xh
        >>> view = xh.viz.head_view(torch.full((1, 2, 3, 3), 1 / 3), ["[CLS]", "hi", "[SEP]"])
        >>> type(view).__name__, "cdn" in view.data.lower()
        ('OfflineView', False)
    """

    @checked
    def __init__(self, data: str) -> None:
        super().__init__(data=data)

    @checked
    def save(self, path: str | Path) -> Path:
        """Write the view as a standalone HTML page that opens in any browser, offline.

        Args:
            path: The file to write (an ``.html`` name); its folder must exist.

        Returns:
            ``path`` as a ``Path``.

        Example:
            >>> import tempfile
            >>> from pathlib import Path
            >>> import torch
            >>> import xai_helpers as xh
            >>> view = xh.viz.head_view(torch.full((1, 2, 3, 3), 1 / 3), ["[CLS]", "hi", "[SEP]"])
            >>> page = view.save(Path(tempfile.mkdtemp()) / "head_view.html")
            >>> page.name, page.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
            ('head_view.html', True)
        """
        path = Path(path)
        if path.suffix.lower() not in (".html", ".htm"):
            raise ValueError(f"path must name an .html file (e.g. 'head_view.html'); got {str(path)!r}.")
        if not path.parent.is_dir():
            raise ValueError(f"path's folder {str(path.parent)!r} does not exist; create it first or pick another.")
        path.write_text(standalone_page(self.data), encoding="utf-8")
        return path

    def __repr__(self):
        return f"<OfflineView: BertViz HTML, {len(self.data) / 1e3:.0f} kB, renders offline>"


def standalone_page(fragment: str, title: str = "BertViz (offline)") -> str:
    """Wrap an HTML fragment in a minimal page (UTF-8, white background) for browsers and tests."""
    return (f'<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>{title}</title></head>\n'
            f"<body>\n{fragment}\n</body></html>\n")


def _read_asset(name):
    path = ASSETS_DIR / JS_LIBRARIES[name][0]
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: the offline BertViz views need the JavaScript files "
                                f"shipped in xai_helpers/assets/bertviz/. Reinstall xai_helpers "
                                f"(pip install -e .) or restore that folder from the repository.")
    return path.read_text(encoding="utf-8").replace("</script", "<\\/script")


def _module(name, source):
    # The library runs only when first required, with `module`/`exports` to write to and `define`
    # hidden, so it neither touches window.d3 / window.$ nor registers itself anonymously.
    return (f'define("{name}", [], function () {{\n'
            f"var module = {{exports: {{}}}}, exports = module.exports, define = undefined;\n"
            f"{source}\n;return module.exports;\n}});\n")


def _offline_script(bertviz_js):
    """BertViz's script, run against a private require.js that already holds d3 and jQuery."""
    return ("<script type=\"text/javascript\">\n"
            "(function () {  // private scope: nothing below leaks into the page's globals\n"
            "var require = {skipDataMain: true}, requirejs, define;\n"
            f"{_read_asset('requirejs')}\n"
            f"{_module('d3', _read_asset('d3'))}"
            f"{_module('jquery', _read_asset('jquery'))}"
            f"{bertviz_js}\n"
            "})();\n</script>")


def _make_offline(html):
    """Replace BertViz's CDN loading by the inlined libraries; fail loudly if BertViz changed."""
    script = _SCRIPT.search(html)
    if not _CDN_LOADER.search(html) or script is None or not _REQUIRE_CONFIG.search(script.group(1)):
        raise RuntimeError("This BertViz version builds its HTML differently from bertviz 1.4.x, so the "
                           "CDN links could not be replaced. Install bertviz 1.4.1 (the course's pin) or "
                           "use bertviz.head_view directly (it needs internet).")
    # "</" inside the script (e.g. a token "</s>" in the JSON data) would end the <script> element early.
    bertviz_js = _REQUIRE_CONFIG.sub("", script.group(1), count=1).replace("</", "<\\/")
    html = html[:script.start()] + _offline_script(bertviz_js) + html[script.end():]
    # BertViz labels its menus with plain text beside them; screen readers need the name on the <select>
    for select, name in _SELECT_NAMES.items():
        html = html.replace(f'<select id="{select}">', f'<select id="{select}" aria-label="{name}">')
    return _CDN_LOADER.sub("", html, count=1)


def _layers_and_tokens(attentions, tokens, layer_choices=(), head_choices=()):
    """Checked attentions -> (BertViz's tuple of [1, heads, seq, seq], tokens).

    ``layer_choices`` / ``head_choices``: ``(argument name, None or an index or indices)`` pairs, each checked
    against the number of layers / heads."""
    a = check_attentions(attentions, tokens)
    for choices, n, what in ((layer_choices, a.shape[0], "layer"), (head_choices, a.shape[1], "head")):
        for name, chosen in choices:
            bad = [i for i in ([chosen] if isinstance(chosen, int) else chosen or ()) if not 0 <= i < n]
            if bad:
                raise ValueError(f"{name} has {bad[0]!r}, but there are {n} {what}s: use indices 0 ... {n - 1}.")
    return tuple(layer.unsqueeze(0) for layer in a), list(tokens)


def _check_sentence_b_start(start, tokens):
    if start is not None and not 0 < start < len(tokens):
        raise ValueError(f"sentence_b_start is the position where the second sentence starts, 1 ... "
                         f"{len(tokens) - 1}; got {start!r}. Pass None for a single sentence.")


@checked
def head_view(attentions: torch.Tensor | Sequence[torch.Tensor], tokens: Sequence[str], *, layer: int | None = None,
              heads: Sequence[int] | None = None, include_layers: Sequence[int] | None = None,
              sentence_b_start: int | None = None) -> OfflineView:
    """BertViz head view (one layer, chosen heads; lines from each token to the tokens it attends to; taught in 4.4a).

    ``attentions``: [layers, heads, seq, seq] (``attention_maps``) or the model's per-layer tuple.
    Returns an ``OfflineView`` (self-contained HTML; shows itself when it ends a notebook cell).

    Args:
        attentions: One example's attention weights: [layers, heads, seq, seq] or the model's tuple of
            [1, heads, seq, seq].
        tokens: The ``seq`` tokens returned with the attentions.
        layer: The layer shown first; ``None`` lets BertViz choose.
        heads: The heads selected first; ``None`` means all.
        include_layers: The layers offered; ``None`` means all.
        sentence_b_start: Position where a second sentence starts (sentence pairs); ``None`` for one sentence.

    Returns:
        The head view, as self-contained HTML (``.save(path)`` writes it as a page).

    Raises:
        ValueError: The attentions are not one example's, or do not match the tokens.

    Example:
        >>> import torch
        >>> import xai_helpers as xh
        >>> view = xh.viz.head_view(torch.full((2, 4, 3, 3), 1 / 3), ["[CLS]", "hi", "[SEP]"], layer=1)
        >>> repr(view).startswith("<OfflineView: BertViz HTML")
        True
    """
    from bertviz import head_view as _bertviz_head_view
    layers, tokens = _layers_and_tokens(attentions, tokens, [("layer", layer), ("include_layers", include_layers)],
                                        [("heads", heads)])
    _check_sentence_b_start(sentence_b_start, tokens)
    html = _bertviz_head_view(attention=layers, tokens=tokens, layer=layer, heads=heads,
                              include_layers=include_layers, sentence_b_start=sentence_b_start,
                              html_action="return")
    return OfflineView(_make_offline(html.data))


@checked
def model_view(attentions: torch.Tensor | Sequence[torch.Tensor], tokens: Sequence[str], *,
               include_layers: Sequence[int] | None = None, include_heads: Sequence[int] | None = None,
               sentence_b_start: int | None = None, display_mode: Literal["light", "dark"] = "light") -> OfflineView:
    """BertViz model view (a thumbnail per layer and head; click one to enlarge), rendered offline (taught in 4.4a).

    Same inputs as ``head_view``; ``include_layers``/``include_heads`` keep long inputs responsive.
    Returns an ``OfflineView``.

    Args:
        attentions: One example's attention weights, as for ``head_view``.
        tokens: The ``seq`` tokens.
        include_layers: The layers drawn; ``None`` means all.
        include_heads: The heads drawn; ``None`` means all.
        sentence_b_start: Position where a second sentence starts; ``None`` for one sentence.
        display_mode: ``"light"`` (default) or ``"dark"`` background.

    Returns:
        The model view, as self-contained HTML.

    Raises:
        ValueError: The attentions are not one example's, or do not match the tokens.

    Example:
        >>> import torch
        >>> import xai_helpers as xh
        >>> view = xh.viz.model_view(torch.full((2, 4, 3, 3), 1 / 3), ["[CLS]", "hi", "[SEP]"], include_layers=[0])
        >>> type(view).__name__
        'OfflineView'
    """
    from bertviz import model_view as _bertviz_model_view
    layers, tokens = _layers_and_tokens(attentions, tokens, [("include_layers", include_layers)],
                                        [("include_heads", include_heads)])
    _check_sentence_b_start(sentence_b_start, tokens)
    html = _bertviz_model_view(attention=layers, tokens=tokens, include_layers=include_layers,
                               include_heads=include_heads, sentence_b_start=sentence_b_start,
                               display_mode=display_mode, html_action="return")
    return OfflineView(_make_offline(html.data))
