"""The offline BertViz views really draw, in a real browser, with no network -- and keep the page's globals
(what their HTML holds is checked in tests/unit/test_bertviz_offline.py).

Chromium is run headless with every network route closed (a dead proxy, no DNS, and a fresh network
namespace where the kernel allows it); the DOM it dumps must hold BertViz's SVG with attention lines.
"""
import json
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from helpers import BERTVIZ_HEADS as HEADS
from helpers import BERTVIZ_LAYERS as LAYERS
from helpers import BERTVIZ_TOKENS as TOKENS
from helpers import bertviz_attentions as _attentions
from xai_helpers.viz import bertviz_offline as bv

ROOT = Path(__file__).resolve().parents[2]
SEQ = len(TOKENS)


def _find_chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


@pytest.fixture(scope="module")
def chromium():
    path = _find_chromium()
    if path is None:  # try to install it (works where apt can reach a mirror; make test does this first)
        try:
            result = subprocess.run([str(ROOT / "tools" / "ensure_chromium.sh")], capture_output=True, text=True,
                                    timeout=900)
            reason = result.stderr.strip()[-300:]
        except (OSError, subprocess.TimeoutExpired) as err:
            reason = str(err)
        path = _find_chromium()
        if path is None:
            pytest.skip(f"Chromium is not installed and could not be installed here ({reason}). "
                        "Run tools/ensure_chromium.sh with network access, then rerun.")
    return path


def _no_network_prefix():
    """Run the browser in a new network namespace (loopback only) when the kernel lets us."""
    try:
        ok = subprocess.run(["unshare", "-rn", "true"], capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        ok = False
    return ["unshare", "-rn"] if ok else []


def render_dom(chromium, html, wait_ms=4000):
    """Load ``html`` from a file in headless Chromium with networking disabled; return the DOM after JS ran."""
    with tempfile.TemporaryDirectory() as tmp:
        page = Path(tmp) / "page.html"
        page.write_text(html, encoding="utf-8")
        cmd = _no_network_prefix() + [
            chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--no-first-run", "--disable-dev-shm-usage",
            "--proxy-server=http://127.0.0.1:9", "--host-resolver-rules=MAP * ~NOTFOUND",
            f"--user-data-dir={tmp}/profile", f"--virtual-time-budget={wait_ms}", "--dump-dom", page.as_uri()]
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert "<body" in result.stdout, f"Chromium produced no DOM (exit {result.returncode}): {result.stderr[-1500:]}"
    return result.stdout


def _svg_stats(dom):
    """Count what was drawn: SVG elements, attention lines/paths in them, options of the layer dropdown."""
    dom = re.sub(r"<script\b.*?</script>", "", dom, flags=re.S)   # the inlined libraries' source text
    svgs = re.findall(r"<svg.*?</svg>", dom, flags=re.S)
    inside = "".join(svgs)
    layer_select = re.search(r'<select id="layer"[^>]*>(.*?)</select>', dom, flags=re.S)
    return dict(svg=len(svgs), lines=len(re.findall(r"<line\b", inside)), paths=len(re.findall(r"<path\b", inside)),
                layer_options=len(re.findall(r"<option\b", layer_select.group(1))) if layer_select else 0)


def test_head_view_draws_attention_lines_offline(chromium):
    stats = _svg_stats(render_dom(chromium, bv.standalone_page(bv.head_view(_attentions(), TOKENS).data)))
    assert stats["svg"] >= 1, stats
    assert stats["layer_options"] == LAYERS, stats          # the dropdown ...
    assert stats["lines"] == HEADS * SEQ * SEQ, stats       # ... and a line per head and token pair


def test_model_view_draws_attention_lines_offline(chromium):
    stats = _svg_stats(render_dom(chromium, bv.standalone_page(bv.model_view(_attentions(), TOKENS).data)))
    assert stats["lines"] == LAYERS * HEADS * SEQ * SEQ, stats


def test_bertviz_cdn_version_draws_nothing_offline(chromium):
    """The control: BertViz's own HTML loads its libraries from a CDN, so offline nothing is drawn."""
    from bertviz import head_view
    html = head_view(tuple(_attentions()[:, None]), TOKENS, html_action="return").data
    stats = _svg_stats(render_dom(chromium, bv.standalone_page(html)))
    assert stats["lines"] == 0 and stats["svg"] == 0, stats


JUPYTERLAB_LIKE_PAGE = """<!DOCTYPE html><html><head><meta charset="utf-8">
<script>window.define = "host loader"; window.marker = 1;</script></head><body>
<div id="out1"></div><div id="out2"></div>
<script>
// What JupyterLab does with an HTML output: set innerHTML (scripts do not run), then re-create each
// <script> element so that it executes (its evalInnerHTMLScriptTags). No require.js on the page.
function insert(id, html) {
  const host = document.getElementById(id);
  host.innerHTML = html;
  for (const old of Array.from(host.querySelectorAll("script"))) {
    const s = document.createElement("script");
    s.textContent = old.textContent;
    old.parentNode.replaceChild(s, old);
  }
}
insert("out1", OUTPUT1);
insert("out2", OUTPUT2);
setTimeout(function () {
  document.body.setAttribute("data-report", JSON.stringify({
    define: typeof window.define === "string" ? window.define : typeof window.define,
    require: typeof window.require, requirejs: typeof window.requirejs,
    d3: typeof window.d3, jQuery: typeof window.jQuery, dollar: typeof window.$,
    lines1: document.querySelectorAll("#out1 svg line").length,
    lines2: document.querySelectorAll("#out2 svg line").length}));
}, 2500);
</script></body></html>"""


def test_views_work_when_inserted_like_jupyterlab_and_keep_globals(chromium):
    att = _attentions()
    page = (JUPYTERLAB_LIKE_PAGE.replace("OUTPUT1", json.dumps(bv.head_view(att, TOKENS).data).replace("</", "<\\/"))
            .replace("OUTPUT2", json.dumps(bv.model_view(att, TOKENS).data).replace("</", "<\\/")))
    dom = render_dom(chromium, page, wait_ms=6000)
    match = re.search(r'data-report="([^"]*)"', dom)
    assert match, "the page's report was not written: a script failed"
    report = json.loads(match.group(1).replace("&quot;", '"'))
    assert report["lines1"] == HEADS * SEQ * SEQ and report["lines2"] == LAYERS * HEADS * SEQ * SEQ, report
    # The private require.js, d3 and jQuery left the page's globals exactly as they were.
    assert report["define"] == "host loader", report
    assert {report[k] for k in ("require", "requirejs", "d3", "jQuery", "dollar")} == {"undefined"}, report
