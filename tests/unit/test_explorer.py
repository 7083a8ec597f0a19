"""The explorers' logic that needs no pretrained model, on the tiny CNN of test_fuzz.py: where they run (widgets,
a note and a window, or only the figure), the closest class names, the note on cropped or upscaled photos, the
figure's titles, colourbars and captions, tokens wrapped onto rows, glyphs no font has, saving, and the widgets'
answers to a repeated upload and an unknown class name."""
import datetime
import html
import io
import re
import sys
import types

import numpy as np
import pytest
import torchvision.transforms as T
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image

import xai_helpers as xh
from unit.test_fuzz import LABELS, WRAPPED
from xai_helpers.explore import controls, image_widgets, runner as ex
from xai_helpers.explore.classes import closest_classes, unknown_class_message
from xai_helpers.explore.image import ImageExplorer, method_settings
from xai_helpers.explore.image_choices import NOTE_CUT_OFF, input_note
from xai_helpers.explore.text import token_notes
from xai_helpers.viz import tokens as vt

pytest.importorskip("ipywidgets")


def _fake_ipython(monkeypatch, shell):
    monkeypatch.setitem(sys.modules, "IPython", types.SimpleNamespace(get_ipython=lambda: shell))


# --------------------------------------------------------------------------------- static / interactive
def test_interactive_auto_detection_follows_the_kernel(monkeypatch):
    assert ex.in_jupyter_kernel() is False
    _fake_ipython(monkeypatch, types.SimpleNamespace(kernel=object()))
    assert ex.in_jupyter_kernel() is True and ex.resolve_interactive(None) is True
    assert ex.resolve_interactive(False) is False
    with pytest.raises(TypeError, match="interactive must be"):
        ex.resolve_interactive("yes")


def test_where_the_code_runs_is_told_apart(monkeypatch):
    monkeypatch.delattr(sys, "ps1", raising=False)
    _fake_ipython(monkeypatch, None)
    assert ex.running_in() == "script"
    _fake_ipython(monkeypatch, types.SimpleNamespace(kernel=None))    # IPython's terminal shell: no kernel
    assert ex.running_in() == "terminal"
    _fake_ipython(monkeypatch, None)
    monkeypatch.setattr(sys, "ps1", ">>> ", raising=False)              # python's own prompt
    assert ex.running_in() == "terminal"
    _fake_ipython(monkeypatch, types.SimpleNamespace(kernel=object()))
    assert ex.running_in() == "jupyter"


def test_in_a_terminal_the_explorer_says_it_needs_jupyter_and_opens_its_figure(monkeypatch, capsys):
    import matplotlib.pyplot as plt
    shown = []
    monkeypatch.setattr(ex, "running_in", lambda: "terminal")
    monkeypatch.setattr(ex, "_window_backend", lambda: True)
    monkeypatch.setattr(plt, "show", lambda block=None: shown.append((block, plt.gcf())))
    explorer = ImageExplorer("cat", model=WRAPPED)                      # interactive=None, the default
    said = capsys.readouterr().out
    assert "explore_image() needs Jupyter for its controls (JupyterLab, Jupyter Notebook or Colab)" in said
    assert "matplotlib window" in said and explorer.widget is None
    (block, fig), = shown
    png = Image.open(io.BytesIO(explorer.png))
    assert block is False and fig.axes[0].images[0].get_array().shape[:2] == (png.height, png.width)
    plt.close("all")


def test_without_a_window_the_note_points_to_save_png_and_false_stays_silent(monkeypatch, capsys):
    monkeypatch.setattr(ex, "running_in", lambda: "terminal")
    monkeypatch.setattr(ex, "_window_backend", lambda: False)
    ImageExplorer("cat", model=WRAPPED)
    assert "needs Jupyter" in capsys.readouterr().out
    monkeypatch.setattr(ex, "running_in", lambda: "script")
    ImageExplorer("cat", model=WRAPPED)
    assert ".save_png()" in capsys.readouterr().out
    ImageExplorer("cat", model=WRAPPED, interactive=False)
    assert capsys.readouterr().out == ""


# ---------------------------------------------------------------------------------------- class names
def test_closest_classes_rank_spelling_then_words_and_complete_short_lists():
    labels = ["tabby", "tiger cat", "Persian cat", "goldfish", "hotdog", "Egyptian cat"]
    assert closest_classes("tabyy", labels, k=1) == ["tabby"]
    assert closest_classes("hot dog", labels, k=1) == ["hotdog"]
    assert closest_classes("cat", labels, k=3) == ["tiger cat", "Persian cat", "Egyptian cat"]
    everything = closest_classes("zebra", labels, k=10)
    assert sorted(everything) == sorted(labels)                         # a short list is shown whole
    assert closest_classes("cat", labels, k=0) == []
    with pytest.raises(ValueError, match="query"):
        closest_classes("  ", labels)


def test_the_unknown_class_message_names_the_typed_name_and_the_closest():
    text = unknown_class_message(" lighthouse ", ["beacon", "pier"])
    assert text.startswith("no class 'lighthouse' — closest: beacon, pier")
    assert "closest: none" in unknown_class_message("x", [])


# -------------------------------------------------------------------------------- cropped or upscaled
@pytest.mark.parametrize("size", [(3000, 300), (300, 3000), (16, 16), (50, 80), (900, 600), (451, 300), (1000, 1000)])
def test_the_input_note_says_what_torchvision_does_to_the_photo(size):
    width, height = size
    resized = T.Resize(256)(Image.new("RGB", size))
    cut_off = 1 - 224 * 224 / (resized.width * resized.height)
    note = input_note(width, height, resize=256, crop=224)
    if min(size) < 224:
        assert note.startswith(f"This {width}×{height} ") and f"to {resized.width}×{resized.height}" in note
        assert f"upscaled {256 / min(size):.1f}".rstrip("0").rstrip(".") in note
        assert ("no finer detail" in note) == (256 / min(size) >= 4) != ("slightly blurred" in note)
    elif cut_off >= NOTE_CUT_OFF:
        said = f"resized to {resized.width}×{resized.height}: {cut_off:.0%} of it is cut off".replace("%", " %")
        assert said in note
    else:
        assert note == ""
    with pytest.raises(ValueError, match="width"):
        input_note(0, 10, 256, 224)


def test_panoramas_and_icons_are_called_so():
    assert "3000×300 panorama" in input_note(3000, 300, 256, 224)
    assert "300×3000 tall photo" in input_note(300, 3000, 256, 224)
    assert "16×16 icon" in input_note(16, 16, 256, 224)


# ----------------------------------------------------------------------------------------- the figure
@pytest.fixture(scope="module")
def tiny():
    return ImageExplorer("cat", model=WRAPPED, method="grad_cam", interactive=False)


def test_each_map_is_titled_with_its_method_class_and_settings(tiny):
    view = tiny.compute(dict(tiny.settings, method="smoothgrad", compare="integrated_gradients", n_samples=4,
                             noise_level=0.2, n_steps=8, baseline="white", target="fox"), tiny.photo, WRAPPED, 0)
    fig = tiny.figure(view)
    smooth, ig = fig.axes[1].get_title(), fig.axes[2].get_title()
    assert smooth.splitlines() == ["SmoothGrad for 'fox'", "4 samples, noise 0.20"]
    lines = ig.splitlines()
    assert lines[:2] == ["Integrated Gradients for 'fox'", "8 steps from a white baseline"]
    _, heatmap, _, note = view["maps"][1]
    said = re.search(r"attributions sum to (\S+), F\(x\) − F\(baseline\) = (\S+): completeness error (\S+)%",
                     " ".join(lines))
    total, difference, error = (float(v) for v in said.groups())
    assert total == pytest.approx(float(np.asarray(heatmap).sum()), rel=0.01)
    rounding = 100 * 0.005 * (abs(total) + abs(difference)) / abs(difference) + 0.05   # 3 digits each, 0.1 %
    assert error == pytest.approx(100 * abs(total - difference) / abs(difference), abs=rounding)
    assert note.endswith(f"{error}%")
    cam = tiny.figure()
    assert cam.axes[1].get_title().splitlines() == [f"Grad-CAM for '{tiny.view['label']}'", "layer features.3"]
    assert method_settings("vanilla_gradients", tiny.settings, "x") == ""


def test_colourbars_say_what_the_colour_means_and_the_outline_has_a_caption(tiny):
    cam = tiny.figure()
    bar = cam.axes[2]
    assert bar.get_ylabel().startswith(f"importance for '{tiny.view['label']}'") and "maximum" in bar.get_ylabel()
    assert max(bar.get_ylim()) <= 1.0 + 1e-6                               # drawn as a share of the maximum
    assert "white outline" in cam.axes[1].get_xlabel()
    view = tiny.compute(dict(tiny.settings, method="gradient_x_input"), tiny.photo, WRAPPED, 0)
    signed = tiny.figure(view)
    assert "← against · for" in signed.axes[2].get_ylabel() and signed.axes[1].get_xlabel() == ""
    assert cam._suptitle.get_text() == f"cat · {WRAPPED.name}"


def test_a_cropped_photo_gets_its_note_in_the_view_and_under_the_figure(tiny):
    panorama = Image.new("RGB", (300, 30), (90, 140, 200))
    view = tiny.compute(dict(tiny.settings), panorama, WRAPPED, 0)
    assert view["input_note"] == input_note(300, 30, resize=WRAPPED.resize, crop=WRAPPED.crop) != ""
    notes = [t.get_text().replace("\n", " ") for t in tiny.figure(view).texts]
    assert view["input_note"] in notes
    plain = tiny.figure()
    assert tiny.view["input_note"] == "" and [t for t in plain.texts if t is not plain._suptitle] == []


# ---------------------------------------------------------------------------------------- token rows
def _boxes(layout, values):
    fig = Figure(figsize=(layout.width, max(layout.height, 0.1)))
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0, 0, 1, 1))
    texts = vt.draw_tokens(layout, values, ax)
    fig.canvas.draw()                                                   # places the boxes around the texts
    renderer = fig.canvas.get_renderer()
    return [t.get_bbox_patch().get_window_extent(renderer) for t in texts], ax.get_window_extent(renderer)


def test_seventy_seven_words_wrap_onto_rows_without_overlapping():
    words = ("the acting was wonderful but the photography was even better and the plot was slow " * 6).split()[:77]
    layout = vt.layout_tokens(words, width=6.0)
    assert len(layout.rows) >= 4 and sum(len(r) for r in layout.rows) == 77
    boxes, frame = _boxes(layout, np.linspace(-1, 1, 77))
    for i, a in enumerate(boxes):
        assert frame.x0 - 1 <= a.x0 and a.x1 <= frame.x1 + 1, f"token {i} runs past the row"
        for j, b in enumerate(boxes[i + 1:], i + 1):
            assert not a.overlaps(b), f"tokens {i} ({words[i]}) and {j} ({words[j]}) overlap"


def test_characters_no_font_has_are_drawn_as_code_points_and_listed(monkeypatch):
    vt._family_for.cache_clear()
    monkeypatch.setattr(vt, "_font_files", lambda: [])                  # no font beyond the default
    layout = vt.layout_tokens(["[CLS]", "部", "good", "[SEP]"], width=4.0)
    assert layout.texts[1] == "U+90E8" and layout.missing == ["部"] and layout.families == ["DejaVu Sans"]
    notes = token_notes(["[CLS]", "[UNK]", "部"], layout.missing)
    assert notes[0].startswith("[UNK]: 1 token") and "U+90E8" in notes[1] and "部" not in notes[1]
    vt._family_for.cache_clear()


def test_an_installed_cjk_font_is_added_to_the_family_list(monkeypatch):
    vt._family_for.cache_clear()
    monkeypatch.setattr(vt, "_font_files", lambda: [("Noto Sans CJK JP", "/fonts/NotoSansCJK.ttc")])
    real = vt._charmap
    monkeypatch.setattr(vt, "_charmap", lambda path: frozenset({ord("部")}) if path.startswith("/fonts")
                        else real(path))
    layout = vt.layout_tokens(["部", "good"], width=4.0)
    assert layout.texts == ["部", "good"] and layout.missing == []
    assert layout.families == ["DejaVu Sans", "Noto Sans CJK JP"]
    vt._family_for.cache_clear()


# ------------------------------------------------------------------------------------------- saving
def test_save_png_names_the_file_after_the_photo_and_method_and_never_overwrites(tiny, tmp_path):
    first, second = tiny.save_png(tmp_path), tiny.save_png(tmp_path)
    assert first.name == "explorer-cat-grad_cam.png" and second.name == "explorer-cat-grad_cam-2.png"
    assert first.read_bytes() == tiny.png
    assert controls.png_file_name("my holiday photo.webp", "smoothgrad") == "explorer-my-holiday-photo-smoothgrad.png"
    link = controls.saved_html(first, tiny.png)
    assert "href='data:image/png;base64," in link and str(first) in link
    with pytest.raises(FileNotFoundError, match="folder"):
        tiny.save_png(tmp_path / "missing")


# -------------------------------------------------------------------------------------------- widgets
def _upload(name, content):
    return ({"name": name, "type": "image/png", "size": len(content), "content": memoryview(content),
             "last_modified": datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)},)


def _png(size):
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture
def widgets():
    explorer = ImageExplorer("cat", model=WRAPPED, interactive=True)
    yield explorer.ui
    assert explorer.runner.wait(60)


def test_the_first_view_opens_with_the_settings_given_and_the_controls_show_them():
    explorer = xh.explore_image("cat", WRAPPED, method="integrated_gradients", n_steps=16, baseline="white",
                                interactive=True)
    assert explorer.settings["n_steps"] == 16 and explorer.view["settings"]["n_steps"] == 16
    assert explorer.ui.steps.value == 16 and explorer.view["maps"][0][3]     # the slider, and IG's completeness note
    assert explorer.view["settings"]["baseline"] == "white"
    with pytest.raises(ValueError, match="Unknown explorer setting"):
        ImageExplorer("cat", model=WRAPPED, steps=16, interactive=False)
    with pytest.raises(TypeError, match="n_steps must be"):
        ImageExplorer("cat", model=WRAPPED, n_steps="many", interactive=False)


def test_the_same_file_uploaded_twice_is_read_twice(widgets):
    explorer, content = widgets.explorer, _png((40, 400))
    widgets.upload.value = _upload("strip.png", content)
    assert explorer.runner.wait(60) and explorer.view["photo"] == "strip.png" and widgets.upload.value == ()
    widgets.photo.value = "dog"
    assert explorer.runner.wait(60) and explorer.view["photo"] == "dog"
    widgets.upload.value = _upload("strip.png", content)               # the same file again
    assert explorer.runner.wait(60) and explorer.view["photo"] == "strip.png"
    assert "cut off" in widgets.note.value and "40×400" in widgets.note.value
    widgets.photo.value = "cat"
    widgets.photo.value = image_widgets.UPLOADED                        # the upload, chosen from the menu again
    assert explorer.runner.wait(60) and explorer.view["photo"] == "strip.png"


def test_an_unknown_class_gets_the_closest_as_buttons_and_a_click_explains_it(widgets):
    explorer = widgets.explorer
    widgets.search.value = "owls"
    assert "no class 'owls' — closest: owl" in html.unescape(widgets.status.value)
    assert "#b00020" not in widgets.status.value                        # a question, not an error
    buttons = widgets.suggestions.children
    assert [b.description for b in buttons][0] == "owl" and sorted(b.description for b in buttons) == sorted(LABELS)
    buttons[0].click()
    assert explorer.runner.wait(60) and explorer.view["label"] == "owl" and widgets.suggestions.children == ()
    widgets.search.value = "FOX"                                        # a known name, in any case
    assert explorer.runner.wait(60) and explorer.view["label"] == "fox"


def test_every_control_has_a_label_a_tooltip_and_a_help_line(widgets):
    import ipywidgets as W
    controls_ = [w for w in vars(widgets).values() if isinstance(w, (W.Dropdown, W.Combobox, W.FileUpload, W.Button,
                                                                     W.IntSlider, W.FloatSlider))]
    assert len(controls_) == 13
    for control in controls_:
        assert control.description and control.tooltip, f"{control.description!r} has no label or tooltip"
    help_text = " ".join(w.value for w in _all_widgets(widgets.box) if isinstance(w, W.HTML))
    for control in controls_:
        assert f"{control.description}: " in help_text, f"no help line for {control.description}"
    assert widgets.upload.tooltip.startswith("a photo of your own")


def test_the_explorer_box_carries_the_keyboard_script(widgets):
    assert controls.ROOT_CLASS in widgets.box._dom_classes
    scripts = [o["data"]["application/javascript"] for w in _all_widgets(widgets.box)
               if hasattr(w, "outputs") for o in w.outputs]
    assert scripts == [controls.KEYBOARD_SCRIPT]
    assert "data-lm-suppress-shortcuts" in scripts[0] and "aria-label" in scripts[0] and "Escape" in scripts[0]


def test_a_model_that_cannot_be_loaded_names_the_model_menu(widgets, monkeypatch):
    def unavailable(name):
        raise xh.models.unavailable_error(f"The {name} weights", "they are not cached", "load_image_model('x')",
                                          "Or copy the file w.pth into the cache.")
    monkeypatch.setattr("xai_helpers.explore.image.load_image_model", unavailable)
    widgets.model.value = "resnet50"
    shown = widgets.status.value
    assert "Choose another model in the Model menu (efficientnet_lite0 works offline)" in shown
    assert "load_image_model" not in shown and "copy the file w.pth" in shown and widgets.model.value is None


def _all_widgets(widget):
    yield widget
    for child in getattr(widget, "children", ()):
        yield from _all_widgets(child)
