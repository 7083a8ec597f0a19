"""System test of the explorers in a real browser: JupyterLab on localhost, headless Chromium.

A notebook with ``xh.explore_image()`` and ``xh.explore_text()`` is written to a temporary folder and
run in JupyterLab (started as in test_jupyterlab_browser.py; run the suite under tools/offline.sh for no
network). Through the page, as a learner would: upload a photo with the FileUpload control, switch the
method and the class, type a sentence; after each step the explorer's image must change and no error
may appear. Screenshots are saved under build/.
"""
import json
import os
import shutil
from pathlib import Path

import pytest
from helpers import running_jupyterlab

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("XAI_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
BUILD = ROOT / "build"
NOTEBOOK = "explorers.ipynb"
CELLS = ["import xai_helpers as xh\nimage_explorer = xh.explore_image('cat')\nimage_explorer",
         "text_explorer = xh.explore_text('The film was wonderful.')\ntext_explorer"]

pytestmark = [
    pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed: run tools/ensure_chromium.sh "
                                                "(make test does this)"),
]



def _write_notebook(folder):
    cells = [{"cell_type": "code", "execution_count": None, "id": f"cell{i}", "metadata": {}, "outputs": [],
              "source": source} for i, source in enumerate(CELLS)]
    nb = {"cells": cells, "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                      "language": "python"}}, "nbformat": 4, "nbformat_minor": 5}
    (folder / NOTEBOOK).write_text(json.dumps(nb))


def _photo(folder):
    import xai_helpers as xh
    path = folder / "my holiday photo.webp"            # the learner's own photo: WebP, not 224 px
    xh.load_image("dog").resize((900, 600)).save(path, format="WEBP")
    return path


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    work = tmp_path_factory.mktemp("lab")
    _write_notebook(work)
    with running_jupyterlab(work) as url:   # tests/helpers.py: the one JupyterLab start-up
        yield url, work


def _image_src(page, n):
    return page.evaluate(f"() => (document.querySelectorAll('.jp-OutputArea img.widget-image')[{n}] || {{}}).src || ''")


def _wait_for_new_image(page, n, old, what, timeout=180_000):
    page.wait_for_function(
        f"old => {{ const img = document.querySelectorAll('.jp-OutputArea img.widget-image')[{n}];"
        f" return img && img.src && img.src !== old; }}", arg=old, timeout=timeout, polling=250)
    return _image_src(page, n)


def _errors(page):
    tracebacks = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']"
                              " >> text=Traceback").count()
    widget_errors = page.evaluate("() => [...document.querySelectorAll('.jp-OutputArea .widget-html')]"
                                  ".filter(e => e.innerHTML.includes('#b00020')).map(e => e.textContent)")
    return tracebacks, widget_errors


def _select(page, description, **option):
    page.locator(f".widget-dropdown:has(label:text-is('{description}')) select").first.select_option(**option)


def _run_all(page, url):
    page.goto(f"{url}/lab/tree/{NOTEBOOK}", timeout=120_000)
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=120_000)
    page.wait_for_timeout(2000)  # let the kernel connect
    page.click("div.lm-MenuBar-itemLabel:text-is('Run')")
    page.click("div.lm-Menu-itemLabel:text-is('Run All Cells')")
    page.wait_for_function("() => document.querySelectorAll('.jp-OutputArea img.widget-image').length >= 2",
                           timeout=300_000, polling=1000)
    if page.locator("button:text-is('No')").count():
        page.locator("button:text-is('No')").first.click()  # JupyterLab's news prompt


def test_explorers_react_to_upload_method_class_and_sentence_in_jupyterlab(lab):
    from playwright.sync_api import sync_playwright
    url, work = lab
    photo = _photo(work)
    BUILD.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--no-first-run", "--disable-sync", "--disable-quic"])
        try:
            page = browser.new_page(viewport={"width": 1500, "height": 1100})
            _run_all(page, url)
            src = _image_src(page, 0)
            with page.expect_file_chooser() as chooser:      # FileUpload's <input type=file> is detached
                page.locator("button.widget-upload").first.click()
            chooser.value.set_files(str(photo))
            src = _wait_for_new_image(page, 0, src, "upload")
            page.wait_for_function("() => document.body.innerText.includes('my holiday photo.webp')", timeout=60_000)
            _select(page, "Method", label="Gradient × Input")
            src = _wait_for_new_image(page, 0, src, "method")
            _select(page, "Class", index=2)
            src = _wait_for_new_image(page, 0, src, "class")
            page.locator(".widget-image").first.scroll_into_view_if_needed()
            page.screenshot(path=str(BUILD / "explorer-image-jupyterlab.png"))
            image_errors = _errors(page)

            text_src = _image_src(page, 1)
            box = page.locator(".widget-textarea textarea").first
            box.fill("A dull, <b>boring</b> film that went on far too long.")
            box.press("Tab")                                   # continuous_update=False: sent on blur
            _wait_for_new_image(page, 1, text_src, "sentence")
            page.wait_for_function("() => document.body.innerText.includes('boring')", timeout=60_000)
            bold = page.evaluate("() => document.querySelectorAll('.jp-Cell:has(.widget-textarea) .widget-html b').length")
            page.locator(".widget-textarea").first.scroll_into_view_if_needed()
            page.screenshot(path=str(BUILD / "explorer-text-jupyterlab.png"))
            text_errors = _errors(page)
        finally:
            browser.close()
    assert image_errors == (0, []), f"the image explorer showed an error: {image_errors}"
    assert text_errors == (0, []), f"the text explorer showed an error: {text_errors}"
    assert bold == 0, "the typed <b> tag was rendered as HTML instead of shown as text"
