"""System test of the explorers in a real browser: JupyterLab on localhost, headless Chromium.

A notebook with ``xh.explore_image()``, ``xh.explore_text()`` and a last, plain cell is written to a temporary
folder and run in JupyterLab (started as in test_jupyterlab_browser.py; run the suite under tools/offline.sh for
no network). Then, through the page, as a learner would, with files made here (never the course photos): upload
a WebP photo, a 3000x300 panorama and a 16x16 icon (each note must appear), upload the same file twice (it must
be read again), type a class the model lacks ("lighthouse": the closest classes appear as buttons, one click
explains it), work the controls from the keyboard (Tab reaches every control, ArrowDown changes the method
menu without moving the notebook to another cell, ArrowRight moves a slider), save the figure, and in the text
explorer press Enter on a 77-word sentence and on a Chinese one. Every control must carry a label a screen
reader reads. After each step the explorer's image must change and no error may appear. Screenshots are saved
under build/.

The tests share one page and run in file order (each starts from what the previous one left).
"""
import json
import os
import shutil
from pathlib import Path

import pytest
from helpers import run_all_in_jupyterlab, running_jupyterlab

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("XAI_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
BUILD = ROOT / "build"
NOTEBOOK = "explorers.ipynb"
CELLS = ["import xai_helpers as xh\nimage_explorer = xh.explore_image('cat')\nimage_explorer",
         "text_explorer = xh.explore_text('The film was wonderful.')\ntext_explorer",
         "after_the_explorers = True"]
IMAGE, TEXT = 0, 1   # the explorers' places among the page's widget images
LONG_SENTENCE = " ".join((("The acting was wonderful and the music was lovely, but the plot was slow and the ending "
                           "came far too late for a film that had so little to say. ") * 3).split()[:76])
LONG_SENTENCE += " <b>boring</b>"   # 77 words, one of them with tags that must be shown as text"
CJK_SENTENCE = "这部电影很好看，演员很棒。"

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


def _files(folder):
    """The learner's own files: a WebP photo that is not 224 px, a 3000x300 panorama, a 16x16 icon."""
    from PIL import Image, ImageDraw
    import xai_helpers as xh
    photo = folder / "my holiday photo.webp"
    xh.load_image("dog").resize((900, 600)).save(photo, format="WEBP")
    panorama = Image.new("RGB", (3000, 300), (90, 140, 200))
    draw = ImageDraw.Draw(panorama)
    for x in range(0, 3000, 150):
        draw.rectangle((x, 150, x + 90, 300), fill=(60 + x % 120, 110, 40))
    panorama.save(folder / "panorama.png")
    icon = Image.new("RGB", (16, 16), (240, 240, 240))
    ImageDraw.Draw(icon).ellipse((3, 3, 12, 12), fill=(200, 30, 30))
    icon.save(folder / "icon.png")
    return photo, folder / "panorama.png", folder / "icon.png"


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    work = tmp_path_factory.mktemp("lab")
    _write_notebook(work)
    with running_jupyterlab(work) as url:   # tests/helpers.py: the one JupyterLab start-up
        yield url, work


@pytest.fixture(scope="module")
def page(lab):
    from playwright.sync_api import sync_playwright
    url, work = lab
    BUILD.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--no-first-run", "--disable-sync", "--disable-quic"])
        try:
            page = browser.new_page(viewport={"width": 1500, "height": 1100})
            _run_all(page, url)
            yield page
        finally:
            browser.close()


def _image_src(page, n):
    return page.evaluate(f"() => (document.querySelectorAll('.jp-OutputArea img.widget-image')[{n}] || {{}}).src || ''")


def _wait_for_new_image(page, n, old, timeout=180_000):
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


def _explorer(page, n):
    return page.locator(".xai-explorer").nth(n)


def _select(page, description, **option):
    _explorer(page, IMAGE).locator(f".widget-dropdown:has(label:text-is('{description}')) select").first \
        .select_option(**option)


def _wait_for_text(page, text, timeout=120_000):
    page.wait_for_function("t => document.body.innerText.includes(t)", arg=text, timeout=timeout, polling=250)


def _upload(page, path):
    """Choose ``path`` with the image explorer's upload button and wait for the new figure."""
    src = _image_src(page, IMAGE)
    with page.expect_file_chooser() as chooser:      # FileUpload's <input type=file> is detached
        _explorer(page, IMAGE).locator("button.widget-upload").click()
    chooser.value.set_files(str(path))
    return _wait_for_new_image(page, IMAGE, src)


def _active_cell(page):
    return page.evaluate("() => [...document.querySelectorAll('.jp-Notebook .jp-Cell')]"
                         ".findIndex(c => c.classList.contains('jp-mod-active'))")


def _focused(page):
    """What has the keyboard focus: its tag, classes, and the name a screen reader gives it."""
    return page.evaluate("""() => {
        const e = document.activeElement;
        const byFor = e.id ? document.querySelector(`label[for="${e.id}"]`) : null;
        const name = e.getAttribute('aria-label') || (byFor && byFor.textContent.trim())
                     || (e.tagName === 'BUTTON' && e.textContent.trim()) || '';
        return {tag: e.tagName, cls: e.className || '', name: name,
                inside: !!e.closest('.xai-explorer'), cell: !!e.closest('.jp-Cell')};
    }""")


def _run_all(page, url):
    run_all_in_jupyterlab(page, url, NOTEBOOK)   # tests/helpers.py
    page.wait_for_function("() => document.querySelectorAll('.jp-OutputArea img.widget-image').length >= 2",
                           timeout=300_000, polling=1000)
    page.wait_for_function("() => document.querySelectorAll('.xai-explorer[data-lm-suppress-shortcuts]').length >= 2",
                           timeout=60_000, polling=250)
    if page.locator("button:text-is('No')").count():
        page.locator("button:text-is('No')").first.click()  # JupyterLab's news prompt


# --------------------------------------------------------------------------------------------- image explorer
def test_an_upload_a_method_and_a_class_redraw_the_image_explorer(page, lab):
    photo, _, _ = _files(lab[1])
    _upload(page, photo)
    _wait_for_text(page, "my holiday photo.webp")
    src = _image_src(page, IMAGE)
    _select(page, "Method", label="Gradient × Input")
    src = _wait_for_new_image(page, IMAGE, src)
    _select(page, "Class", index=2)
    _wait_for_new_image(page, IMAGE, src)
    page.screenshot(path=str(BUILD / "explorer-image-jupyterlab.png"))
    assert _errors(page) == (0, []), f"the image explorer showed an error: {_errors(page)}"


def test_a_panorama_and_an_icon_get_a_note_on_what_the_model_sees(page, lab):
    _, panorama, icon = _files(lab[1])
    _upload(page, panorama)
    _wait_for_text(page, "3000×300 panorama resized to 2560×256: 92 % of it is cut off")
    page.screenshot(path=str(BUILD / "explorer-panorama-jupyterlab.png"))
    _upload(page, icon)
    _wait_for_text(page, "16×16 icon is upscaled 16× to 256×256")
    assert "maps with no finer detail" in page.inner_text(".xai-explorer >> nth=0")
    assert _errors(page) == (0, [])


def test_the_same_file_uploaded_again_is_read_again(page, lab):
    from xai_helpers.data import COURSE_IMAGES
    _, _, icon = _files(lab[1])
    for _ in range(2):                                    # a course photo, then the same file as before, twice
        src = _image_src(page, IMAGE)
        _select(page, "Photo", index=list(COURSE_IMAGES).index("dog"))
        _wait_for_new_image(page, IMAGE, src)
        _wait_for_text(page, "dog · efficientnet_lite0")
        _upload(page, icon)                               # waits for the icon's figure
        _wait_for_text(page, "icon.png · efficientnet_lite0")
    assert _errors(page) == (0, [])


def test_a_class_the_model_lacks_offers_the_closest_ones(page):
    search = _explorer(page, IMAGE).locator(".widget-text:has(label:text-is('Search')) input")
    search.fill("lighthouse")
    search.press("Enter")
    _wait_for_text(page, "no class 'lighthouse' — closest: beacon")
    suggestion = _explorer(page, IMAGE).locator("button:text-is('beacon')")
    suggestion.wait_for(timeout=30_000)                   # the buttons render just after the message
    src = _image_src(page, IMAGE)
    suggestion.click()
    _wait_for_new_image(page, IMAGE, src)
    chosen = _explorer(page, IMAGE).locator(".widget-dropdown:has(label:text-is('Class')) select")
    page.wait_for_function("s => s.options[s.selectedIndex].text.startsWith('beacon')", arg=chosen.element_handle(),
                           timeout=60_000)
    assert _errors(page) == (0, [])


def test_the_method_menu_answers_arrow_keys_without_moving_the_notebook(page):
    method = _explorer(page, IMAGE).locator(".widget-dropdown:has(label:text-is('Method')) select")
    _explorer(page, IMAGE).locator(".widget-text:has(label:text-is('Search')) input").focus()
    cell = _active_cell(page)
    page.keyboard.press("Tab")                            # from the class search to the method menu
    assert _focused(page)["name"] == "Method"
    before, src = method.input_value(), _image_src(page, IMAGE)
    page.keyboard.press("ArrowDown")
    _wait_for_new_image(page, IMAGE, src)
    after = method.input_value()
    assert after != before, "ArrowDown on the method menu did not change the method"
    assert _active_cell(page) == cell and _focused(page)["name"] == "Method", \
        "JupyterLab took the key: the notebook moved to another cell"
    page.keyboard.press("x")                              # a command-mode shortcut (cut the cell): ignored here
    assert page.locator(".jp-Notebook .jp-Cell").count() == len(CELLS)
    page.keyboard.press("Escape")                         # back to the notebook
    assert _focused(page)["cell"] and not _focused(page)["inside"]


def test_a_slider_moves_with_the_arrow_keys(page):
    _select(page, "Method", label="SmoothGrad")
    slider = _explorer(page, IMAGE).locator(".widget-slider:has(label:text-is('Samples'))")
    handle = slider.locator(".noUi-handle").first
    page.wait_for_function("h => h.offsetParent !== null", arg=handle.element_handle(), timeout=60_000)
    before, src = slider.locator(".widget-readout").inner_text(), _image_src(page, IMAGE)
    handle.focus()
    assert _focused(page)["name"].startswith("Samples")
    page.keyboard.press("ArrowRight")
    _wait_for_new_image(page, IMAGE, src)
    assert int(slider.locator(".widget-readout").inner_text()) == int(before) + 5


def test_tab_reaches_every_control_and_each_has_a_name(page):
    _explorer(page, IMAGE).locator(".widget-dropdown:has(label:text-is('Photo')) select").focus()
    seen = [_focused(page)]
    for _ in range(40):
        page.keyboard.press("Tab")
        now = _focused(page)
        if not now["inside"]:
            break
        seen.append(now)
    names = [f["name"] for f in seen]
    for control in ("Photo", "Model", "Class", "Search", "Method", "Compare", "Save PNG"):
        assert any(n == control or n.startswith(control + ":") for n in names), f"Tab never reached {control}: {names}"
    assert any("Your photo" in n for n in names) and any(n.startswith("Noise") for n in names)
    assert all(names), f"a control has no name for a screen reader: {seen}"
    upload_title = _explorer(page, IMAGE).locator("button.widget-upload").get_attribute("title")
    assert upload_title and upload_title != "null" and "JPEG" in upload_title


def test_save_png_writes_the_figure_and_says_where(page, lab):
    _explorer(page, IMAGE).locator("button:text-is('Save PNG')").click()
    _wait_for_text(page, "Saved ")
    saved = sorted(lab[1].glob("explorer-*.png"))
    assert saved and saved[0].read_bytes().startswith(b"\x89PNG")
    assert saved[0].name in page.inner_text(".xai-explorer >> nth=0")
    link = _explorer(page, IMAGE).locator("a[download]")
    assert link.get_attribute("href").startswith("data:image/png;base64,")
    page.screenshot(path=str(BUILD / "explorer-keyboard-jupyterlab.png"))
    assert _errors(page) == (0, [])


# ---------------------------------------------------------------------------------------------- text explorer
def test_enter_explains_a_long_sentence(page):
    assert len(LONG_SENTENCE.split()) == 77
    src = _image_src(page, TEXT)
    box = _explorer(page, TEXT).locator(".widget-text input")
    box.fill(LONG_SENTENCE)
    box.press("Enter")                                    # Enter explains (continuous_update=False)
    _wait_for_new_image(page, TEXT, src)
    _wait_for_text(page, "boring")
    bold = _explorer(page, TEXT).locator(".widget-html b").count()
    _explorer(page, TEXT).scroll_into_view_if_needed()
    page.screenshot(path=str(BUILD / "explorer-text-jupyterlab.png"))
    assert _errors(page) == (0, [])
    assert bold == 0 and "< b > boring < / b >" in page.inner_text(".xai-explorer >> nth=1")   # typed tags shown


def test_a_chinese_sentence_is_explained_and_the_explain_button_recomputes(page):
    src = _image_src(page, TEXT)
    box = _explorer(page, TEXT).locator(".widget-text input")
    box.fill(CJK_SENTENCE)
    box.press("Enter")
    src = _wait_for_new_image(page, TEXT, src)
    _wait_for_text(page, "部")
    status = _explorer(page, TEXT).locator(".widget-html:has-text('Ready (explanation')")
    before = status.inner_text()
    _explorer(page, TEXT).locator("button:text-is('Explain')").click()   # the same sentence, computed again
    page.wait_for_function("([s, old]) => s.innerText !== old && s.innerText.startsWith('Ready (explanation')",
                           arg=[status.element_handle(), before], timeout=120_000)
    _explorer(page, TEXT).scroll_into_view_if_needed()
    page.screenshot(path=str(BUILD / "explorer-text-cjk-jupyterlab.png"))
    assert _errors(page) == (0, [])
