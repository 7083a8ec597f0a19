"""make html: executed notebooks become static pages with their figures and offline BertViz views."""
import re
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import build_html  # noqa: E402


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    work = tmp_path_factory.mktemp("html")
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("# A lesson page"),
        nbformat.v4.new_code_cell("import matplotlib.pyplot as plt\nimport xai_helpers as xh\n"
                                  "m = xh.load_image_model(); x = m.preprocess('cat')\n"
                                  "fig = xh.show_panels({'photo': m.to_image(x)})"),
        nbformat.v4.new_code_cell("from xai_helpers import text, attention, bertviz_offline\n"
                                  "tokens, att = attention.attention_maps(text.load_text_model(), 'The cat sat')\n"
                                  "bertviz_offline.head_view(att, tokens)"),
    ]
    source = work / "lesson.ipynb"
    nbformat.write(nb, source)
    out = work / "site"
    build_html.main([str(source), "--out", str(out)])
    return out


def test_pages_and_index_are_written(page):
    assert (page / "lesson.html").exists()
    assert "lesson.html" in (page / "index.html").read_text()


def test_page_embeds_the_figures(page):
    html = (page / "lesson.html").read_text()
    assert re.search(r'<img[^>]+src="data:image/png;base64,', html)


def test_bertviz_view_is_inlined_and_loads_nothing_from_the_internet(page):
    html = (page / "lesson.html").read_text()
    assert "bertviz" in html.lower()
    external = re.findall(r'<script[^>]+src="(https?:[^"]+)"', html)
    lesson_scripts = [s for s in external if "require" in s or "d3" in s or "jquery" in s]
    assert not lesson_scripts, f"scripts fetched from the internet: {lesson_scripts}"
