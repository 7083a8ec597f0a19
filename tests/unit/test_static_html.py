"""make html: the course site (Jupyter Book 1.x, tools/build_html.py) -- staging.

What the build step writes before Jupyter Book runs: the table of contents globbed from notebooks/ and
solutions/, the landing page cut from README.md's course map, the Colab cell hidden. The site itself, built
and opened in a browser offline, is checked in tests/system/test_static_html.py.
"""
import re
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))
import build_html  # noqa: E402
from helpers import write_notebook  # noqa: E402


def test_table_of_contents_is_the_sorted_glob_of_lessons_then_solutions():
    sources = build_html.default_sources()
    lessons = [p for p in sources if p.parent.name == "notebooks"]
    assert lessons == sorted((ROOT / "notebooks").glob("*.ipynb")) and lessons, lessons
    assert sources[len(lessons):] == sorted((ROOT / "solutions").glob("*.ipynb"))


README = """# A course

Intro line with **bold**.

## Two commands

make lab

## Course map

| notebook | topics |
|---|---|
| `notebooks/4.1_saliency_maps.ipynb` | saliency |
| `notebooks/4.9_gone.ipynb` | renamed since |
| `exercises/`, `solutions/` | Problems |

## The package
"""


def test_landing_page_is_readme_intro_and_course_map_with_links():
    pages = {"notebooks/4.1_saliency_maps.ipynb": "notebooks/4.1_saliency_maps.ipynb",
             "solutions/chapter4_solutions.ipynb": "solutions/chapter4_solutions.ipynb"}
    page = build_html.landing_page(README, pages)
    assert page.startswith("# A course\n") and "Intro line with **bold**." in page
    assert "make lab" not in page and "The package" not in page          # only intro + course map
    assert "[`notebooks/4.1_saliency_maps.ipynb`](notebooks/4.1_saliency_maps.ipynb)" in page
    assert "| `notebooks/4.9_gone.ipynb` |" in page                       # no page: plain text, no dead link
    assert "[`solutions/`](solutions/chapter4_solutions.ipynb)" in page
    assert "* [4.1_saliency_maps](notebooks/4.1_saliency_maps.ipynb)" in page


def test_landing_page_needs_the_course_map_section():
    with pytest.raises(ValueError, match="Course map"):
        build_html.landing_page("# Title\n\nintro\n\n## Other\n", {})


def test_stage_writes_toc_landing_page_and_hides_the_colab_cell(tmp_path):
    source = write_notebook(tmp_path / "in" / "notebooks" / "lesson.ipynb", [nbformat.v4.new_markdown_cell("# L")])
    before = source.read_text()
    pages = build_html.stage([source], tmp_path / "src")
    assert pages == {"notebooks/lesson.ipynb": "notebooks/lesson.ipynb"}
    assert "- file: notebooks/lesson\n" in (tmp_path / "src" / "_toc.yml").read_text()
    assert (tmp_path / "src" / "_config.yml").read_text() == (ROOT / "site" / "_config.yml").read_text()
    assert (tmp_path / "src" / "index.md").read_text().startswith("# ")
    staged = nbformat.read(tmp_path / "src" / "notebooks" / "lesson.ipynb", as_version=4)
    assert staged.cells[0].metadata["tags"] == ["colab-setup", "remove-cell"]
    assert source.read_text() == before                                   # the source notebook is untouched


def test_site_config_keeps_the_build_offline():
    config = (ROOT / "site" / "_config.yml").read_text()
    assert "sphinx-mathjax-offline" in config                             # MathJax from _static, not a CDN
    assert "thebe: false" in config and "nb_ipywidgets_js: {}" in config    # no CDN scripts for widgets


def test_parallel_kernels_share_the_cores_instead_of_oversubscribing_them(monkeypatch):
    monkeypatch.setattr(build_html.os, "cpu_count", lambda: 2)
    assert build_html.kernel_threads(2) == 1 and build_html.kernel_threads(1) == 2
    monkeypatch.setattr(build_html.os, "cpu_count", lambda: 8)
    assert build_html.kernel_threads(3) == 2 and build_html.kernel_threads(16) == 1


# ------------------------------------------------------------------------------ accessibility
PNG = {"image/png": "iVBORw0KGgo=", "text/plain": "<Figure size 300x200 with 1 Axes>"}


def _figure_cell(alt=None):
    cell = nbformat.v4.new_code_cell("plt.show()")
    cell.outputs = [nbformat.v4.new_output("display_data", data=PNG)]
    if alt:
        cell.metadata["mystnb"] = {"image": {"alt": alt}}
    return cell


def test_a_figure_gets_the_reading_after_it_as_plain_text():
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("We draw the map."),
        nbformat.v4.new_code_cell("x = 1"),                                   # no figure: untouched
        _figure_cell(),
        nbformat.v4.new_markdown_cell("The **map** of `x` peaks at $\\alpha = 0.5$ on the [dog](a.md). It is *smooth* "
                                      "everywhere else, and its sum is 9.\nA short third. A fourth sentence stays out of the alt text."
                                      "\n\nA second paragraph stays out too.")])
    written = build_html.figure_alt_texts(nb)
    # short sentences: up to three of them (a long first sentence would stand alone: ALT_MIN_CHARS)
    assert written == {2: "The map of x peaks at α = 0.5 on the dog. It is smooth everywhere else, and its sum is 9. "
                          "A short third."}
    assert nb.cells[2].metadata["mystnb"]["image"]["alt"] == written[2]
    assert "mystnb" not in nb.cells[1].metadata


def test_a_figure_before_a_new_section_or_task_gets_the_reading_before_it():
    for opening in ("## Next section\n\nUnrelated.", "**Task 2b.** Write a function.", "Task 3a. Complete it."):
        nb = nbformat.v4.new_notebook(cells=[
            nbformat.v4.new_markdown_cell("# Title\n\nIntro.\n\nThe maps of three methods, side by side (given code):"),
            _figure_cell(), nbformat.v4.new_markdown_cell(opening)])
        assert build_html.figure_alt_texts(nb) == {1: "The maps of three methods, side by side (given code):"}, opening


def test_an_alt_text_set_by_hand_is_kept_and_a_reading_ending_in_a_colon_keeps_its_list():
    nb = nbformat.v4.new_notebook(cells=[_figure_cell("By hand."), _figure_cell(),
                                         nbformat.v4.new_markdown_cell("Three readings:\n\n- one\n- two")])
    assert build_html.figure_alt_texts(nb) == {1: "Three readings: one two"}
    assert nb.cells[0].metadata["mystnb"]["image"]["alt"] == "By hand."


def test_stage_brings_the_accessible_theme_components():
    config = (ROOT / "site" / "_config.yml").read_text()
    assert 'templates_path: ["_templates"]' in config
    search = (ROOT / "site" / "_templates" / "search-button-field.html").read_text()
    switcher = (ROOT / "site" / "_templates" / "theme-switcher.html").read_text()
    # the accessible name must contain the visible text (axe: label-content-name-mismatch)
    assert "aria-label" not in search.split("#}")[-1] and "search-button__default-text" in search
    assert not re.search(r"<i [^>]*\btitle=", switcher) and switcher.count('aria-hidden="true"') == 3
