"""Build the course site under build/html with Jupyter Book 1.x (make html).

Jupyter Book 1 (Sphinx + myst-nb + sphinx-book-theme, all from PyPI) builds with no network: the theme,
the search index and MathJax (sphinx-mathjax-offline) are copied into the site's _static folder.
(Jupyter Book 2 / mystmd fetches its HTML theme from the internet at build time, which the course's
offline rule forbids.)

The notebooks are not edited: this script stages a copy of the book in build/site-src --
site/_config.yml, a _toc.yml made from notebooks/*.ipynb (sorted) and solutions/*.ipynb, copies of the
notebooks (the Colab set-up cell tagged ``remove-cell``, it does nothing off Colab) and a landing page
cut from README.md (its title, introduction and course map, links turned into links between pages) --
executes the staged notebooks, each in a fresh kernel (nbclient; ``--jobs`` at a time, so a teacher's
laptop builds the course in the time of its slowest lesson), and runs ``jupyter-book build`` on them.
BertViz views carry their own JavaScript (xai_helpers.bertviz_offline), so they work on the pages too.

Accessibility: every figure a lesson draws gets a text alternative (the ``alt`` of its ``<img>``), taken from
the reading the lesson states right after it -- the first sentences of the next markdown cell, as plain text
(``figure_alt_texts``; myst-nb's cell metadata ``mystnb.image.alt``, written into the staged copy only).
tests/system/test_static_html.py audits every built page with axe-core.
"""
import argparse
import functools
import os
import re
import shutil
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
SITE_CONFIG = ROOT / "site"
COLAB_TAG = "colab-setup"
# a markdown cell that opens a new section or a new task (a heading, "Task 2a.", "**Problem 3**") is no reading
NEW_SECTION = re.compile(r"\s{0,3}(#|\**(Task|Problem|Exercise)\b)")
IMAGE_MIMES = ("image/png", "image/jpeg", "image/gif", "image/svg+xml")
ALT_MIN_CHARS, ALT_MAX_SENTENCES = 150, 3


def default_sources():
    """Lessons in sorted order, then the solutions -- globbed, so split or new notebooks join the site."""
    return sorted((ROOT / "notebooks").glob("*.ipynb")) + sorted((ROOT / "solutions").glob("*.ipynb"))


def _section(markdown, heading):
    """The text under ``## heading`` up to the next ``## ``; ValueError if README lost the section."""
    match = re.search(rf"^## {re.escape(heading)}\n(.*?)(?=^## |\Z)", markdown, flags=re.M | re.S)
    if match is None:
        raise ValueError(f"README.md has no '## {heading}' section; the landing page is cut from it")
    return match.group(1).strip()


def landing_page(readme, pages):
    """index.md: README's title, introduction and course map; `path.ipynb` cells become page links.

    ``pages`` maps a notebook's repository path (``notebooks/4.1_x.ipynb``) to its page in the book.
    A course-map row whose notebook is not in the book (renamed or split) keeps its plain text.
    """
    title = re.search(r"^# (.+)$", readme, flags=re.M)
    if title is None:
        raise ValueError("README.md has no '# title' line")
    intro = readme[title.end():].split("\n## ", 1)[0].strip()
    course_map = _section(readme, "Course map")

    def link(match):
        path = match.group(1)
        if path in pages:
            return f"[`{path}`]({pages[path]})"
        folder = path.rstrip("/")
        inside = [p for p in pages if p.startswith(folder + "/")]
        return f"[`{path}`]({pages[inside[0]]})" if path.endswith("/") and inside else match.group(0)

    course_map = re.sub(r"`([\w./-]+(?:\.ipynb|/))`", link, course_map)
    lessons = "\n".join(f"* [{Path(p).stem}]({page})" for p, page in pages.items())
    return (f"# {title.group(1).strip()}\n\n{intro}\n\n## Course map\n\n{course_map}\n\n"
            f"## Pages\n\n{lessons}\n")


def stage(sources, src_dir):
    """Write the book's sources into ``src_dir``; return {repository path: staged path} of the notebooks."""
    if src_dir.exists():
        shutil.rmtree(src_dir)
    src_dir.mkdir(parents=True)
    shutil.copy(SITE_CONFIG / "_config.yml", src_dir / "_config.yml")
    shutil.copytree(SITE_CONFIG / "_templates", src_dir / "_templates")   # theme components, accessible
    pages = {}
    for source in sources:
        source = Path(source).resolve()
        rel = source.relative_to(ROOT) if source.is_relative_to(ROOT) else Path("notebooks") / source.name
        nb = nbformat.read(source, as_version=4)
        for cell in nb.cells:
            if COLAB_TAG in cell.metadata.get("tags", []):
                cell.metadata["tags"] = [*cell.metadata["tags"], "remove-cell"]
        (src_dir / rel.parent).mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, src_dir / rel)
        pages[rel.as_posix()] = rel.as_posix()
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    (src_dir / "index.md").write_text(landing_page(readme, pages), encoding="utf-8")
    toc = ["format: jb-book", "root: index", "chapters:"]
    toc += [f"- file: {Path(page).with_suffix('').as_posix()}" for page in pages.values()]
    (src_dir / "_toc.yml").write_text("\n".join(toc) + "\n", encoding="utf-8")
    # notebooks that read ../data etc. run in the staged folder: point those folders at the repository's
    for name in ("data",):
        if (ROOT / name).exists() and not (src_dir / name).exists():
            (src_dir / name).symlink_to(ROOT / name, target_is_directory=True)
    return pages


def plain_text(markdown):
    """Markdown -> the text a screen reader should say: no headings, code ticks, emphasis, links or $ signs."""
    text = re.sub(r"^\s{0,3}#{1,6}\s.*$", "", markdown, flags=re.M)          # headings
    text = re.sub(r"!\[([^\]]*)\]\([^)]*\)", r"\1", text)                 # images -> their alt
    text = re.sub(r"\[([^\]]+)\]\([^)]*\)", r"\1", text)                   # links -> their text
    text = re.sub(r"<[^>]+>", "", text)                                     # inline HTML tags
    text = re.sub(r"\$\$(.+?)\$\$|\$(.+?)\$", lambda m: tex_to_text(m.group(1) or m.group(2)), text, flags=re.S)
    text = re.sub(r"`+([^`]*)`+", r"\1", text)
    text = re.sub(r"\*\*|(?<![\s\\])\*|\*(?!\s)", "", text)                     # *emphasis*, **strong**
    text = re.sub(r"^\s*(?:[-*+]|\d+\.)\s+", "", text, flags=re.M)            # list bullets
    return re.sub(r"\s+", " ", text).strip()


TEX_WORDS = {"alpha": "α", "beta": "β", "gamma": "γ", "delta": "δ", "epsilon": "ε", "lambda": "λ", "mu": "μ",
             "pi": "π", "rho": "ρ", "sigma": "σ", "tau": "τ", "Delta": "Δ", "Sigma": "Σ", "times": "×", "cdot": "·",
             "odot": "⊙", "approx": "≈", "le": "≤", "leq": "≤", "ge": "≥", "geq": "≥", "neq": "≠", "pm": "±",
             "to": "→", "rightarrow": "→", "infty": "∞", "partial": "∂", "sqrt": "√", "sum": "Σ", "int": "∫"}


def tex_to_text(tex):
    """Inline TeX as a reader would say it: Greek letters and common symbols as characters, no braces."""
    tex = re.sub(r"\\(?:mathrm|text|mathbf|operatorname|mathit)\{([^}]*)\}", r"\1", tex)
    tex = re.sub(r"\\([A-Za-z]+)", lambda m: TEX_WORDS.get(m.group(1), m.group(1)), tex)
    return re.sub(r"[{}]|\\[,;!]", "", tex)


def first_sentences(text, min_chars=ALT_MIN_CHARS, max_sentences=ALT_MAX_SENTENCES):
    """The leading sentences of ``text``: as many as make ``min_chars`` characters, at most ``max_sentences``."""
    sentences = re.split(r"(?<=[.!?])\s+(?=[A-Z(\"'])", text)
    chosen = []
    for sentence in sentences:
        chosen.append(sentence)
        if len(" ".join(chosen)) >= min_chars or len(chosen) >= max_sentences:
            break
    return " ".join(chosen).strip()


def _paragraphs(markdown):
    """The cell's prose paragraphs (headings, code fences and display math left out)."""
    markdown = re.sub(r"^```.*?^```", "", markdown, flags=re.M | re.S)
    return [p for p in (plain_text(block) for block in re.split(r"\n\s*\n", markdown)) if p]


def figure_alt_texts(nb):
    """Give every code cell that draws a figure a text alternative: the reading the lesson states after it.

    The alt text is the first sentences of the next markdown cell's first paragraph (with the list that
    follows when the paragraph ends in a colon). When that cell opens a new section or task (``NEW_SECTION``),
    the reading is the one before the figure instead: the last paragraph of the previous markdown cell. A cell
    whose metadata already sets ``mystnb.image.alt`` keeps it. Written as myst-nb cell metadata, which Jupyter
    Book turns into the ``alt`` of the ``<img>``.
    Returns {cell index: alt text} of the cells it set.
    """
    cells, written = nb.cells, {}
    for index, cell in enumerate(cells):
        if cell.cell_type != "code" or not any(
                mime in output.get("data", {}) for output in cell.get("outputs", []) for mime in IMAGE_MIMES):
            continue
        image_options = cell.metadata.setdefault("mystnb", {}).setdefault("image", {})
        if image_options.get("alt"):
            continue
        after = next((c for c in cells[index + 1:] if c.cell_type == "markdown"), None)
        before = next((c for c in reversed(cells[:index]) if c.cell_type == "markdown"), None)
        reading = ""
        if after is not None and not NEW_SECTION.match(after.source) and _paragraphs(after.source):
            paragraphs = _paragraphs(after.source)
            reading = paragraphs[0]
            if reading.endswith(":") and len(paragraphs) > 1:      # "... as follows:" and its list
                reading += " " + paragraphs[1]
        elif before is not None and _paragraphs(before.source):
            reading = _paragraphs(before.source)[-1]
        alt = first_sentences(reading) if reading else "A figure drawn by the code cell above."
        image_options["alt"] = alt
        written[index] = alt
    return written


def kernel_threads(jobs):
    """Threads per kernel when ``jobs`` kernels run at once: the cores shared out, at least 1.

    PyTorch starts as many threads as there are cores in every process; two kernels with two threads each
    on two cores wait for each other's spinning threads, which made a lesson ten times slower.
    """
    return max(1, (os.cpu_count() or 1) // max(1, jobs))


def execute(notebook, timeout=600, threads=None):
    """Run a staged notebook in a fresh kernel in its own folder and save it with its outputs.

    ``threads``: OMP_NUM_THREADS of the kernel (None: PyTorch's default). Returns (notebook, seconds).
    A cell that raises stops the build: RuntimeError naming the notebook.
    """
    from nbclient.exceptions import CellExecutionError

    from notebook_client import NotebookClient  # tools/: nbclient's, without the Output-widget stall
    os.environ.pop("MPLBACKEND", None)  # kernels must use the inline backend so figures are embedded
    if threads is not None:             # this is a worker process of its own: only its kernel sees it
        os.environ["OMP_NUM_THREADS"] = str(threads)
    notebook = Path(notebook)
    nb = nbformat.read(notebook, as_version=4)
    start = time.perf_counter()
    try:
        NotebookClient(nb, timeout=timeout, kernel_name="python3",
                       resources={"metadata": {"path": str(notebook.parent)}}).execute()
    except CellExecutionError as error:
        raise RuntimeError(f"{notebook.name} failed while executing for the site:\n{str(error)[-3000:]}") from None
    figure_alt_texts(nb)
    nbformat.write(nb, notebook)
    return notebook, time.perf_counter() - start


def execute_all(notebooks, jobs):
    """Execute the staged notebooks, ``jobs`` at a time; print each one's time."""
    threads = kernel_threads(jobs) if jobs > 1 else None
    with ProcessPoolExecutor(max_workers=max(1, jobs)) as pool:
        for notebook, seconds in pool.map(functools.partial(execute, threads=threads), notebooks):
            print(f"executed {notebook.name} ({seconds:.0f} s)", flush=True)


def build(src_dir, out_dir):
    """Run ``jupyter-book build`` on the staged sources; the site ends up in ``out_dir``."""
    jb = shutil.which("jupyter-book", path=str(Path(sys.executable).parent)) or shutil.which("jupyter-book")
    if jb is None:
        raise RuntimeError("jupyter-book is not installed: pip install -e '.[site]' (make html does this)")
    env = dict(os.environ)
    env.pop("MPLBACKEND", None)  # kernels must use the inline backend so figures are embedded
    subprocess.run([jb, "build", str(src_dir), "--builder", "html", "--path-output", str(src_dir)],
                   check=True, env=env)
    built = src_dir / "_build" / "html"
    if out_dir.exists():
        shutil.rmtree(out_dir)
    shutil.copytree(built, out_dir)
    return out_dir


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: notebooks/*.ipynb, solutions/*.ipynb")
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "html")
    parser.add_argument("--src", type=Path, default=None, help="staging folder (default: <out>/../site-src)")
    parser.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1),
                        help="notebooks executed at the same time (default: 2; each kernel needs ~1.5 GB)")
    args = parser.parse_args(argv)
    out = args.out.resolve()
    src = (args.src or out.parent / "site-src").resolve()
    start = time.perf_counter()
    pages = stage(args.notebooks or default_sources(), src)
    execute_all([src / page for page in pages.values()], args.jobs)
    build(src, out)
    print(f"site built in {time.perf_counter() - start:.0f} s: open {out / 'index.html'}")


if __name__ == "__main__":
    sys.exit(main())
