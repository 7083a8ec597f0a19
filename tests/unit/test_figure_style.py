"""Figure style: no rainbow colormap (jet and kin) in the package, the notebooks or the tools.

Rainbow maps are not perceptually uniform (they invent edges, hide others) and are not colour-blind
safe; the course draws magnitudes with viridis/inferno/magma/cividis and signed values with a
diverging map centred at 0. Two checks: a scan of every code source (package, tools, benchmarks, and
the code cells of every notebook, solution and exercise), and the colormaps the package's plotting
functions actually draw with by default (rendered with Agg).
"""
import inspect
import io
import re
import tokenize
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import nbformat  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import xai_helpers as xh  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
RAINBOW = ("jet", "rainbow", "gist_rainbow", "hsv", "nipy_spectral", "spectral", "turbo", "gist_ncar",
           "prism", "flag")
_NAMES = "|".join(RAINBOW)
_PATTERNS = [
    re.compile(rf"""(['"])(?:{_NAMES})(?:_r)?\1""", re.IGNORECASE),                # cmap="jet", colormaps["turbo"]
    re.compile(rf"\b(?:cm|colormaps)\s*\.\s*(?:{_NAMES})(?:_r)?\b", re.IGNORECASE),  # plt.cm.jet
    re.compile(rf"\b(?:plt|pyplot)\s*\.\s*(?:{_NAMES})\s*\(", re.IGNORECASE),       # plt.jet() sets the default
    re.compile(r"\bCOLORMAP_(?:JET|RAINBOW|HSV|TURBO)\b"),                           # OpenCV's rainbows
    re.compile(r"\bshow_cam_on_image\s*\((?![^)]*colormap\s*=)"),                    # pytorch-grad-cam: jet by default
    re.compile(rf"\bimage\.cmap\s*:\s*(?:{_NAMES})\b", re.IGNORECASE),              # matplotlibrc / .mplstyle
]
SCANNED_DIRS = ("xai_helpers", "notebooks", "solutions", "exercises", "tools", "bench")


def without_comments(code):
    """Python source with its comments removed (a comment may name a map to warn against it)."""
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(code).readline))
    except (tokenize.TokenError, IndentationError, SyntaxError):   # e.g. IPython magics: keep the raw text
        return code
    lines = code.splitlines(keepends=True)
    for tok in reversed([t for t in tokens if t.type == tokenize.COMMENT]):
        (row, col), (_, end) = tok.start, tok.end
        lines[row - 1] = lines[row - 1][:col] + lines[row - 1][end:]
    return "".join(lines)


def rainbow_uses(code):
    """The places in Python ``code`` that draw with, or select, a rainbow colormap."""
    code = without_comments(code)
    return [m.group(0) for pattern in _PATTERNS for m in pattern.finditer(code)]


def _sources():
    """(label, code) for every .py file and every notebook code cell under the scanned folders."""
    for folder in SCANNED_DIRS:
        base = ROOT / folder
        if not base.is_dir():
            continue
        for path in sorted(base.rglob("*")):
            parts = path.relative_to(ROOT).parts
            if any(p.startswith(".") or p in ("__pycache__", "_build", "build") for p in parts):
                continue
            if path.suffix == ".py":
                yield str(path.relative_to(ROOT)), path.read_text(encoding="utf-8")
            elif path.suffix == ".ipynb":
                nb = nbformat.read(path, as_version=4)
                for i, cell in enumerate(nb.cells):
                    if cell.cell_type == "code":
                        yield f"{path.relative_to(ROOT)} cell {i}", cell.source
            elif path.suffix == ".mplstyle" or path.name == "matplotlibrc":
                yield str(path.relative_to(ROOT)), path.read_text(encoding="utf-8")


# ------------------------------------------------------------------------- the scanner can fail
@pytest.mark.parametrize("code", [
    'plt.imshow(m, cmap="jet")',
    "ax.imshow(m, cmap='jet_r', alpha=0.5)",
    "cmap = plt.cm.jet",
    'matplotlib.colormaps["turbo"]',
    "plt.set_cmap('nipy_spectral')",
    "plt.jet()",
    "heat = cv2.applyColorMap(m, cv2.COLORMAP_JET)",
    "show_cam_on_image(img, cam, use_rgb=True)",
    'sns.heatmap(m, cmap="Spectral")',
    "image.cmap: rainbow",
])
def test_scanner_finds_rainbow_colormaps(code):
    assert rainbow_uses(code), code


@pytest.mark.parametrize("code", [
    'plt.imshow(m, cmap="magma")',
    'xh.show_map(m, cmap="RdBu_r")  # not "jet": it invents edges',
    "jetty = 3",
    'label = "jet engine"',
    "show_cam_on_image(img, cam, use_rgb=True, colormap=cv2.COLORMAP_VIRIDIS)",
    "%matplotlib inline",
])
def test_scanner_accepts_uniform_colormaps_and_comments(code):
    assert rainbow_uses(code) == []


# ------------------------------------------------------------------------------------ the scan
def test_no_rainbow_colormap_in_package_tools_or_notebooks():
    labels = [label for label, _ in _sources()]
    assert any(label.startswith("xai_helpers") for label in labels)
    assert any(label.startswith("notebooks") for label in labels)
    found = [f"{label}: {use}" for label, code in _sources() for use in rainbow_uses(code)]
    assert not found, ("Rainbow colormaps (not perceptually uniform, not colour-blind safe); use viridis/"
                       "inferno/magma/cividis for magnitudes, a diverging map centred at 0 (RdBu_r) for "
                       "signed values:\n" + "\n".join(found))


# ------------------------------------------------------------- what the helpers draw by default
def _is_rainbow(cmap_name):
    return cmap_name.lower().removesuffix("_r") in RAINBOW


def rainbow_artists(fig):
    """Names of rainbow colormaps used by any image or collection drawn in ``fig``."""
    found = []
    for ax in fig.axes:
        for artist in (*ax.images, *ax.collections):
            cmap = getattr(artist, "get_cmap", lambda: None)()
            if cmap is not None and _is_rainbow(cmap.name):
                found.append(cmap.name)
    return found


def _draw_with_defaults():
    """Figures drawn by the package's plotting helpers with their default colormaps."""
    rng = np.random.default_rng(0)
    image, unsigned, signed = rng.random((16, 16, 3)), rng.random((4, 4)), rng.standard_normal((16, 16))
    figures = []
    for draw in (lambda ax: xh.show_map(unsigned, ax=ax), lambda ax: xh.show_map(signed, ax=ax),
                 lambda ax: xh.overlay_heatmap(image, unsigned, ax=ax, contour=0.8),
                 lambda ax: xh.overlay_heatmap(image, signed, ax=ax),
                 lambda ax: xh.plot_attention(rng.random((3, 3)), ["a", "b", "c"], ax=ax)):
        fig, ax = plt.subplots(figsize=(2, 2))
        draw(ax)
        figures.append(fig)
    figures.append(xh.show_panels({"photo": image, "map": unsigned, "signed": signed}))
    figures.append(xh.show_panels({"overlay": unsigned}, image=image, overlay=True))
    return figures


def test_plotting_helpers_draw_with_uniform_colormaps_by_default():
    figures = _draw_with_defaults()
    try:
        assert all(fig.axes for fig in figures)
        drawn = {artist.get_cmap().name for fig in figures for ax in fig.axes
                 for artist in (*ax.images, *ax.collections) if hasattr(artist, "get_cmap")}
        assert {xh.viz.CAM_CMAP, xh.viz.SIGNED_CMAP, xh.viz.ABSOLUTE_CMAP} <= drawn
        assert [name for fig in figures for name in rainbow_artists(fig)] == []
    finally:
        plt.close("all")


def test_rendered_check_catches_a_rainbow_figure():
    fig, ax = plt.subplots()
    xh.show_map(np.random.default_rng(0).random((4, 4)), ax=ax, cmap="jet")
    try:
        assert set(rainbow_artists(fig)) == {"jet"}        # the map and its colourbar
    finally:
        plt.close(fig)


def test_no_default_colormap_argument_or_constant_is_a_rainbow():
    """Every ``cmap=`` default of a public helper, and every ``*_CMAP`` constant of the package."""
    import importlib
    import pkgutil
    checked = []
    for info in pkgutil.walk_packages(xh.__path__, prefix="xai_helpers."):   # subpackages too
        module = importlib.import_module(info.name)
        for name, value in vars(module).items():
            if name.endswith("CMAP") and isinstance(value, str):
                checked.append((f"{info.name}.{name}", value))
            elif inspect.isfunction(value) and value.__module__ == module.__name__:
                parameter = inspect.signature(value).parameters.get("cmap")
                if parameter is not None and isinstance(parameter.default, str):
                    checked.append((f"{info.name}.{name}(cmap=...)", parameter.default))
    assert len(checked) >= 4
    assert [(where, cmap) for where, cmap in checked if _is_rainbow(cmap)] == []
