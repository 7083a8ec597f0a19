"""The offline BertViz views: self-contained HTML, clear errors, the model's own attention tuple accepted.
That they really draw, in a browser with no network, is checked in tests/system/test_bertviz_offline.py."""
import re

import pytest
import torch

from helpers import BERTVIZ_TOKENS as TOKENS
from helpers import bertviz_attentions as _attentions
from xai_helpers.viz import bertviz_offline as bv


def test_html_is_self_contained():
    html = bv.head_view(_attentions(), TOKENS).data
    assert "cdnjs" not in html and not re.search(r"<script[^>]+src=", html)
    for marker in ("RequireJS 2.3.6", "d3js.org v5.7.0", "jQuery v2.2.4"):
        assert marker in html, marker
    page = bv.standalone_page(html)
    assert page.startswith("<!DOCTYPE html>") and '<meta charset="utf-8">' in page


def test_menus_have_accessible_names():
    """BertViz writes "Layer:" beside its <select>; a screen reader needs the name on the element (axe: select-name)."""
    html = bv.head_view(_attentions(), TOKENS).data
    assert '<select id="layer" aria-label="Layer">' in html
    markup = html.split("<script", 1)[0]                     # the view's own elements, not the libraries
    assert not re.search(r"<select(?![^>]*aria-label)[^>]*>", markup)


def test_clear_errors_for_wrong_inputs():
    att = _attentions()
    with pytest.raises(ValueError, match="batch"):
        bv.head_view(tuple(torch.stack([att, att], dim=1)), TOKENS)  # two sentences per layer
    with pytest.raises(ValueError, match="tokens"):
        bv.model_view(att, TOKENS[:-1])
    with pytest.raises(ValueError, match="eager"):
        bv.head_view((), TOKENS)


def test_accepts_the_models_tuple_and_saves_a_page(tmp_path):
    per_layer = tuple(_attentions()[:, None])          # what model(..., output_attentions=True) returns
    view = bv.head_view(per_layer, TOKENS, layer=1)
    path = view.save(tmp_path / "head_view.html")
    text = path.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and '"layer": 1' in text
