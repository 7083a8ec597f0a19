"""Render the executed course to static HTML pages under build/html (make html).

Each notebook is executed in a fresh kernel (nbclient) and exported with its outputs -- figures
embedded as PNG, BertViz views with their JavaScript inlined, so the pages work offline and can be
served from any static host. An index.html links the pages in course order.
"""
import argparse
import html
import os
import shutil
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbconvert import HTMLExporter

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SOURCES = sorted((ROOT / "notebooks").glob("*.ipynb")) + sorted((ROOT / "solutions").glob("*.ipynb"))


def render(notebook, out_dir, timeout=600):
    """Execute ``notebook`` and write ``out_dir/<name>.html``; return the page's path."""
    nb = nbformat.read(notebook, as_version=4)
    NotebookClient(nb, timeout=timeout, kernel_name="python3",
                   resources={"metadata": {"path": str(notebook.parent)}}).execute()
    exporter = HTMLExporter(template_name="lab")
    exporter.require_js_url = REQUIRE_JS  # the copy shipped with the package, not the CDN's
    body, _ = exporter.from_notebook_node(nb)
    page = out_dir / (notebook.stem + ".html")
    page.write_text(body, encoding="utf-8")
    return page


REQUIRE_JS = "_static/require.js"


def copy_static(out_dir):
    """Put the page template's require.js next to the pages (offline; MathJax still comes from its CDN)."""
    from xai_helpers.bertviz_offline import ASSETS_DIR, JS_LIBRARIES
    static = out_dir / "_static"
    static.mkdir(exist_ok=True)
    shutil.copy(ASSETS_DIR / JS_LIBRARIES["requirejs"][0], out_dir / REQUIRE_JS)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: notebooks/ and solutions/")
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "html")
    args = parser.parse_args(argv)
    os.environ.pop("MPLBACKEND", None)  # kernels must use the inline backend so figures are embedded
    args.out.mkdir(parents=True, exist_ok=True)
    copy_static(args.out)
    pages = []
    for nb in (args.notebooks or DEFAULT_SOURCES):
        start = time.perf_counter()
        pages.append(render(nb.resolve(), args.out))
        print(f"{pages[-1].relative_to(args.out.parent.parent) if args.out.is_relative_to(ROOT) else pages[-1]}"
              f"  ({time.perf_counter() - start:.0f} s)")
    links = "\n".join(f'<li><a href="{html.escape(p.name)}">{html.escape(p.stem)}</a></li>' for p in pages)
    (args.out / "index.html").write_text(
        "<!doctype html><meta charset='utf-8'><title>Interpreting deep learning models</title>"
        f"<h1>Interpreting deep learning models: chapter 4</h1><ul>{links}</ul>\n", encoding="utf-8")
    print(f"open {args.out / 'index.html'}")


if __name__ == "__main__":
    sys.exit(main())
