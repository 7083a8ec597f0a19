"""make html: the course site (Jupyter Book 1.x, tools/build_html.py) in a real browser offline.

The staging step is checked in tests/unit/test_static_html.py. Here a lesson that raises must fail the build,
and a two-lesson site (a formula, a figure, a BertViz view; ~1 min) is built with the real configuration,
opened in headless Chromium with the network off, its navigation followed from the landing page through
every page; the figure must load, the formula be typeset by the bundled MathJax, the BertViz view draw its
attention lines and the search find a lesson; screenshots go to build/.
Accessibility: axe-core (npm registry, installed under build/npm by tools/ensure_axe.sh, which
`make test` runs) audits every page and must report no serious or critical violation, and every figure
must carry a text alternative taken from the lesson's reading after it (tools/build_html.py), not a file name.
Set XAI_SITE_DIR=build/html to run the same browser checks on the full site that `make html` built.
"""
import os
import shutil
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))
import build_html  # noqa: E402
from helpers import write_notebook  # noqa: E402

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or os.environ.get("XAI_CHROMIUM")
BUILD = ROOT / "build"
AXE = BUILD / "npm" / "node_modules" / "axe-core" / "axe.min.js"
BROWSER_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                "--no-first-run", "--disable-sync", "--disable-quic", "--proxy-server=http://127.0.0.1:9",
                "--host-resolver-rules=MAP * ~NOTFOUND"]
HEADS, SEQ = 2, 4
TOKENS = ["[CLS]", "cats", "purr", "[SEP]"]


def test_a_lesson_that_raises_fails_the_build(tmp_path):
    if shutil.which("jupyter-book", path=str(Path(sys.executable).parent)) is None:
        pytest.skip("jupyter-book is not installed (pip install -e '.[site]')")
    broken = write_notebook(tmp_path / "notebooks" / "broken.ipynb", [nbformat.v4.new_code_cell("1 / 0")], colab=False)
    with pytest.raises(RuntimeError, match="broken.ipynb failed"):
        build_html.main([str(broken), "--out", str(tmp_path / "html"), "--src", str(tmp_path / "src")])
    assert not (tmp_path / "html").exists()


# ------------------------------------------------------------------------------ the site in a browser
READING = "The checkerboard shows *two* colours in `viridis`, dark where the value is 0."
LESSON_A = [
    nbformat.v4.new_markdown_cell("# Lesson alpha: gradients\n\nThe saliency of class $c$ is "
                                  "$\\partial y_c / \\partial x$, and the word quokkaquest is only here.\n\n"
                                  "$$\\mathrm{IG}_i = (x_i - x'_i) \\int_0^1 \\partial_i F\\,d\\alpha$$"),
    nbformat.v4.new_code_cell("import matplotlib.pyplot as plt\nfig, ax = plt.subplots(figsize=(3, 2))\n"
                              "ax.imshow([[0, 1], [1, 0]], cmap='viridis'); ax.set_title('a figure')\nplt.show()"),
    nbformat.v4.new_markdown_cell(READING + " The second sentence is long enough to follow it into the alt text, "
                                  "which stops after it.\n\nA second paragraph that stays out."),
]
LESSON_B = [
    nbformat.v4.new_markdown_cell("# Lesson beta: attention"),
    nbformat.v4.new_code_cell(
        "import torch\nfrom xai_helpers.viz import bertviz_offline\ntorch.manual_seed(0)\n"
        f"att = [torch.softmax(torch.randn(1, {HEADS}, {SEQ}, {SEQ}), -1) for _ in range(2)]\n"
        f"bertviz_offline.head_view(att, {TOKENS!r})"),
    nbformat.v4.new_code_cell("import ipywidgets\nipywidgets.IntSlider(description='widgetprobe')"),
]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    if os.environ.get("XAI_SITE_DIR"):
        return Path(os.environ["XAI_SITE_DIR"]).resolve()
    if shutil.which("jupyter-book", path=str(Path(sys.executable).parent)) is None:
        pytest.skip("jupyter-book is not installed (pip install -e '.[site]')")
    work = tmp_path_factory.mktemp("site")
    sources = [write_notebook(work / "notebooks" / "a_lesson.ipynb", LESSON_A),
               write_notebook(work / "notebooks" / "b_lesson.ipynb", LESSON_B)]
    build_html.main([str(s) for s in sources] + ["--out", str(work / "html"), "--src", str(work / "src")])
    return work / "html"


PAGE_STATE = """() => {
    const article = document.querySelector('article') || document.body;
    const imgs = [...article.querySelectorAll('.cell_output img')];
    return {
        title: document.title,
        figures: imgs.length,
        figures_drawn: imgs.filter(i => i.complete && i.naturalWidth > 0).length,
        formulas: article.querySelectorAll('mjx-container').length,
        formulas_wide: [...article.querySelectorAll('mjx-container')].filter(
            m => m.getBoundingClientRect().width > 5).length,
        raw_tex: (() => {  // TeX left in the prose (code cells and outputs may hold TeX on purpose)
            const prose = article.cloneNode(true);
            prose.querySelectorAll('pre, code, .cell_input, .cell_output, mjx-container').forEach(e => e.remove());
            return /\\\\(partial|int|mathrm|frac|sum)|\\\\\\(|\\$\\$/.test(prose.textContent);
        })(),
        text: article.innerText,
        bertviz_lines: [...article.querySelectorAll('svg')].reduce((n, s) => n + s.querySelectorAll('line').length, 0),
        next: (document.querySelector('a.right-next') || {}).href || null,
        nav: [...document.querySelectorAll('nav.bd-docs-nav a.reference')].map(a => a.href),
    };
}"""


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed: run tools/ensure_chromium.sh")
def test_site_navigates_and_renders_figure_formula_bertviz_and_search_offline(site):
    from playwright.sync_api import sync_playwright
    BUILD.mkdir(exist_ok=True)
    index = site / "index.html"
    assert index.exists(), f"no site at {site}: run make html"
    external, states = [], {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=BROWSER_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1300, "height": 900}, offline=True)

            def local_only(route):
                if not route.request.url.startswith(("file:", "data:", "blob:", "about:")):
                    external.append(route.request.url)
                    return route.abort()
                return route.continue_()
            context.route("**/*", local_only)
            page = context.new_page()
            page.goto(index.as_uri())
            page.wait_for_load_state("load")
            landing = page.evaluate(PAGE_STATE)
            page.screenshot(path=str(BUILD / "site-landing.png"))
            assert page.locator("article table").count() >= 1 and "Course map" in page.inner_text("article")
            # follow the navigation: the sidebar's first entry, then each page's "next" link to the end
            assert landing["nav"], "the landing page has no navigation sidebar"
            page.goto(landing["nav"][0])
            while True:
                page.wait_for_load_state("load")
                page.wait_for_timeout(1500)      # MathJax typesets and BertViz draws after load
                state = page.evaluate(PAGE_STATE)
                states[page.url] = state
                if state["formulas"] and "formula" not in states:
                    states["formula"] = page.url
                    page.locator("mjx-container").first.scroll_into_view_if_needed()
                    page.screenshot(path=str(BUILD / "site-formula.png"))
                if state["figures_drawn"] and "figure" not in states:
                    states["figure"] = page.url
                    page.locator(".cell_output img").first.scroll_into_view_if_needed()
                    page.screenshot(path=str(BUILD / "site-figure.png"))
                if state["bertviz_lines"] and "bertviz" not in states:
                    states["bertviz"] = page.url
                    page.locator("article svg").first.scroll_into_view_if_needed()
                    page.screenshot(path=str(BUILD / "site-bertviz.png"))
                if not state["next"] or state["next"] in states or len(states) > 60:
                    break
                page.goto(state["next"])
            page.goto((site / "search.html").as_uri() + "?q=quokkaquest" if not os.environ.get("XAI_SITE_DIR")
                      else (site / "search.html").as_uri() + "?q=saliency")
            page.wait_for_selector("ul.search li", timeout=20_000)
            hits = page.locator("ul.search li a").evaluate_all("as => as.map(a => a.href)")
        finally:
            browser.close()
    pages = {url: s for url, s in states.items() if isinstance(s, dict)}
    visited = [url.split("#")[0] for url in pages]
    assert [u.split("#")[0] for u in landing["nav"]] == visited, "next links do not walk the sidebar's pages"
    assert not external, f"the site asked the network for {external[:5]}"
    for url, s in pages.items():
        assert s["figures_drawn"] == s["figures"], f"{url}: {s['figures'] - s['figures_drawn']} figures missing"
        assert not s["raw_tex"], f"{url}: untypeset TeX on the page"
        assert s["formulas_wide"] == s["formulas"], f"{url}: a formula was typeset empty"
    assert {"formula", "figure", "bertviz"} <= set(states), {u: s for u, s in pages.items()}
    if not os.environ.get("XAI_SITE_DIR"):
        assert pages[states["bertviz"]]["bertviz_lines"] == HEADS * SEQ * SEQ   # a line per head and token pair
        assert any("a_lesson" in h for h in hits), hits
        # an ipywidget (needs a live kernel; its page scripts would come from a CDN) shows its text instead
        assert "IntSlider(" in pages[states["bertviz"]]["text"] and "widgetprobe" in pages[states["bertviz"]]["text"]
    else:
        assert hits, "search found nothing for 'saliency'"


# ------------------------------------------------------------------------------ accessibility
AXE_RUN = """async () => {
    const result = await axe.run(document, {resultTypes: ['violations']});
    return result.violations.map(v => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.length,
                                        where: v.nodes.slice(0, 3).map(n => n.target.join(' '))}));
}"""
FIGURE_ALTS = """() => [...(document.querySelector('article') || document.body).querySelectorAll('.cell_output img')]
    .map(i => i.getAttribute('alt'))"""


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed: run tools/ensure_chromium.sh")
@pytest.mark.skipif(not AXE.exists(), reason="axe-core is not installed: run tools/ensure_axe.sh (make test does)")
def test_every_page_has_no_serious_accessibility_violation_and_every_figure_a_text_alternative(site):
    """axe-core's default rules (WCAG 2.0-2.2 A/AA, best practices) on the landing page and every page, light and dark."""
    from playwright.sync_api import sync_playwright
    index = site / "index.html"
    assert index.exists(), f"no site at {site}: run make html"
    report, alts = {}, {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=BROWSER_ARGS)
        try:
            for scheme in ("light", "dark"):     # the theme follows the reader's colour scheme: audit both
                page = browser.new_context(viewport={"width": 1300, "height": 900}, offline=True,
                                           color_scheme=scheme).new_page()
                page.goto(index.as_uri())
                urls = [index.as_uri()] + page.evaluate(PAGE_STATE)["nav"]
                for url in dict.fromkeys(u.split("#")[0] for u in urls):
                    page.goto(url)
                    page.wait_for_load_state("load")
                    page.wait_for_timeout(1500)      # MathJax typesets and BertViz draws after load
                    page.add_script_tag(path=str(AXE))
                    name = url.rsplit("/", 1)[-1]
                    assert page.evaluate("() => document.documentElement.dataset.theme") == scheme, name
                    report[f"{name} ({scheme})"] = page.evaluate(AXE_RUN)
                    alts[name] = page.evaluate(FIGURE_ALTS)
        finally:
            browser.close()
    lines = [f"{name}: {v['impact']} {v['id']} x{v['nodes']} ({v['help']}) {v['where']}"
             for name, violations in report.items() for v in violations]
    print("axe-core violations per page:\n" + ("\n".join(lines) or "none"))
    serious = [line for line in lines if line.split(": ", 1)[1].startswith(("serious", "critical"))]
    assert serious == [], "\n".join(serious)
    for name, figure_alts in alts.items():
        bad = [a for a in figure_alts if not a or len(a) < 20 or a.lower().endswith((".png", ".jpg", ".jpeg", ".svg"))]
        assert bad == [], f"{name}: figures without a meaningful text alternative: {bad[:3]}"
    assert sum(map(len, alts.values())) >= 1, "no figure was audited"
    if not os.environ.get("XAI_SITE_DIR"):
        expected = build_html.first_sentences(build_html.plain_text(READING + " The second sentence is long enough "
                                                                    "to follow it into the alt text, which stops after it."))
        assert alts["a_lesson.html"] == [expected], alts
        assert "second paragraph" not in expected and "*" not in expected and "`" not in expected
