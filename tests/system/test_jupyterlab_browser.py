"""Smoke test in a real browser: JupyterLab on localhost, notebook 4.4a run in headless Chromium.

Checks what a learner would see: the BertViz views drew their attention lines (offline, no CDN), the
matplotlib figures appeared and no cell raised. The notebook runs up to and including its attention explorer
(the widget cell after the two BertViz views), less the corpus statistics (the cells that load the 641-sentence
corpus and those that read their results, found by tests/lesson_cells.py's dataflow): that part holds every kind
of output the lesson shows, while the parts left out (~35 s) only add more figures of the same kind, and the whole
lesson is executed by nbval in the same `make test`. A screenshot is saved under build/.
The copy lives in a temporary folder, so JupyterLab's autosave cannot write outputs into the repository.
"""
import shutil
from pathlib import Path

import nbformat
import pytest
from helpers import open_notebook, run_all_in_jupyterlab, run_menu_until_started, running_jupyterlab
from lesson_cells import without

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = ROOT / "notebooks" / "4.4a_attention_text.ipynb"  # holds the BertViz views
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
BUILD = ROOT / "build"

pytestmark = [
    pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed: run tools/ensure_chromium.sh "
                                                "(make test does this)"),
]


@pytest.fixture(scope="module")
def lab_url(tmp_path_factory):
    work = tmp_path_factory.mktemp("lab")
    notebook = nbformat.read(str(NOTEBOOK), as_version=4)
    last = next(i for i, c in enumerate(notebook.cells) if c.cell_type == "code" and "attention_explorer(" in c.source)
    sources = "\n".join(c.source for c in notebook.cells[:last + 1] if c.cell_type == "code")
    assert sources.count("xh.viz.model_view(") + sources.count("xh.viz.head_view(") >= 1, "no BertViz view before the cut"
    notebook.cells = without(notebook.cells[:last + 1], lambda cell: "load_sentence_corpus(" in cell.source)
    assert len([c for c in notebook.cells if c.cell_type == "code"]) >= 12
    nbformat.write(notebook, str(work / NOTEBOOK.name))
    with running_jupyterlab(work) as url:   # tests/helpers.py: the one JupyterLab start-up
        yield url


#: Finished when the last cell has an execution count and no cell shows [*].
FINISHED = """() => {
    const prompts = [...document.querySelectorAll('.jp-CodeCell .jp-InputArea-prompt')];
    if (!prompts.length) return false;
    if (prompts.some(p => p.textContent.includes('*'))) return false;
    return /\\[\\d+\\]/.test(prompts[prompts.length - 1].textContent);
}"""
#: The notebook runs in under a minute in the suite (37 s with the browser); a run not finished by then has stalled.
STALL_MS = 240_000


def test_notebook_4_4_runs_in_jupyterlab_and_draws_bertviz_and_figures(lab_url):
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import sync_playwright
    BUILD.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--no-first-run", "--disable-sync", "--disable-quic"])
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            run_all_in_jupyterlab(page, lab_url, NOTEBOOK.name)   # tests/helpers.py
            try:
                page.wait_for_function(FINISHED, timeout=STALL_MS, polling=1000)
            except PlaywrightTimeout:
                # Seen once in a fresh-clone run (2026-12-08): the cells started, and the run had not finished after 420 s. What
                # the page showed is printed and saved; then the page is reloaded and run again, as a learner would.
                stalled = page.evaluate("() => [...document.querySelectorAll('.jp-CodeCell .jp-InputArea-prompt')]"
                                        ".map(p => p.textContent.trim())")
                page.screenshot(path=str(BUILD / "jupyterlab-4.4-stalled.png"))
                print(f"Run All Cells had not finished after {STALL_MS / 1000:g} s; prompts: {stalled}; "
                      f"dialogs: {page.locator('.jp-Dialog').all_inner_texts()}; reloading and running again")
                open_notebook(page)
                run_menu_until_started(page, "Run All Cells", page.locator(".jp-CodeCell .jp-InputArea-prompt"))
                page.wait_for_function(FINISHED, timeout=420_000, polling=1000)
            errors = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']"
                                  " >> text=Traceback").count()
            lines = page.evaluate("""() => {
                const svgs = [...document.querySelectorAll('.jp-OutputArea svg')];
                return svgs.reduce((n, s) => n + s.querySelectorAll('line, path').length, 0);
            }""")
            figures = page.locator(".jp-OutputArea .jp-RenderedImage img").count()
            if page.locator("button:text-is('No')").count():
                page.locator("button:text-is('No')").first.click()  # JupyterLab's news prompt
            page.evaluate("""() => {  // bring the first BertViz drawing into view for the screenshot
                const count = s => s.querySelectorAll('line, path').length;
                const svgs = [...document.querySelectorAll('.jp-OutputArea svg')].sort((a, b) => count(b) - count(a));
                if (svgs.length) svgs[0].scrollIntoView({block: 'center'});
            }""")
            page.wait_for_timeout(500)
            page.screenshot(path=str(BUILD / "jupyterlab-4.4-bertviz.png"))
        finally:
            browser.close()
    assert errors == 0, "a cell raised an error in JupyterLab"
    assert lines > 0, "BertViz drew no attention lines inside JupyterLab"
    assert figures >= 3, f"only {figures} matplotlib figures appeared"
