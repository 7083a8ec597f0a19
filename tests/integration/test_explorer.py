"""The interactive explorers, driven from their Python side: value changes recompute,
bad uploads become a message in the widget, stale choices are superseded, nothing is left behind."""
import base64
import datetime
import html
import io
import re
import threading

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from PIL import Image

import xai_helpers as xh
from helpers import hook_count, live_tensors  # noqa: E402  (tests/helpers.py)
from xai_helpers.explore import runner as ex
from xai_helpers.explore import runner
from xai_helpers.explore.classes import closest_classes
from xai_helpers.explore.image_choices import UPLOADED
from xai_helpers.methods.integrated import output_difference
from xai_helpers.viz.tokens import layout_tokens

pytest.importorskip("ipywidgets")


def _explorer_threads():
    """Explorer threads besides the process's one long-lived worker: a thread per change would show here."""
    return [t for t in threading.enumerate() if t.name.startswith("explorer-") and t.is_alive()
            and t is not ex.WORKER.thread]


def _upload(name, content, kind="image/png"):
    return ({"name": name, "type": kind, "size": len(content), "content": memoryview(content),
             "last_modified": datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)},)


def _image_bytes(fmt, size=(320, 240), colour=(200, 30, 30)):
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format=fmt)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def explorer(image_model):
    return xh.explore_image("cat", model=image_model, interactive=True)


def _wait(explorer):
    assert explorer.runner.wait(120), "the explorer's worker did not finish"


# --------------------------------------------------------------------------------- static / interactive
def test_outside_a_kernel_the_explorer_is_one_static_figure_of_grad_cam(image_model):
    e = xh.explore_image(model=image_model)          # pytest is no Jupyter kernel: interactive=None -> static
    assert e.widget is None and e.ui is None
    bundle = e._repr_mimebundle_()
    assert set(bundle) == {"image/png", "text/plain"}
    png = Image.open(io.BytesIO(base64.b64decode(bundle["image/png"])))
    assert png.width > 1.6 * png.height and png.height > 200   # the photo and the Grad-CAM overlay, side by side
    assert [m[0] for m in e.view["maps"]] == ["grad_cam"]
    assert e.view["target"] == e.view["top"][0][0]      # default class: the top-1


def test_the_widget_output_also_carries_the_static_figure(explorer):
    bundle = explorer._repr_mimebundle_()
    assert {"application/vnd.jupyter.widget-view+json", "image/png", "text/plain"} <= set(bundle)


def test_the_figure_follows_the_course_habits(image_model):
    e = xh.explore_image(model=image_model, interactive=False)
    fig = e.figure()
    photo, cam = fig.axes[0], fig.axes[1]
    assert all(ax.get_title() for ax in (photo, cam))
    assert min(ax.title.get_fontsize() for ax in (photo, cam)) >= 8
    assert cam.images[-1].get_cmap().name == "magma" and len(fig.axes) == 3   # + its colourbar
    view = e.compute(dict(e.settings, method="integrated_gradients", n_steps=16), e.photo, image_model,
                     e.runner.generation)
    signed = e.figure(view).axes[1].images[-1]
    assert signed.get_cmap().name == "RdBu_r" and signed.norm.vmin == -signed.norm.vmax
    assert "completeness error" in view["maps"][0][3]


# ------------------------------------------------------------------------------------- value changes
def test_changing_method_class_compare_and_knobs_recomputes(explorer):
    ui = explorer.ui
    before = explorer.image_model.labels and ui.image.value
    ui.method.value = "gradient_x_input"
    _wait(explorer)
    assert explorer.view["maps"][0][0] == "gradient_x_input" and explorer.view["maps"][0][2] is True
    assert ui.image.value != before and "Ready" == ui.progress.description
    second = explorer.view["top"][1][0]
    ui.target.value = second
    _wait(explorer)
    assert explorer.view["target"] == second
    ui.search.value = "goldfish"                            # type-ahead over all 1000 labels
    _wait(explorer)
    assert explorer.view["label"].startswith("goldfish")
    assert any("goldfish" in label for label, _ in ui.target.options)
    ui.method.value, ui.compare.value = "grad_cam_plus_plus", "grad_cam"
    _wait(explorer)
    assert [m[0] for m in explorer.view["maps"]] == ["grad_cam_plus_plus", "grad_cam"]
    assert ui.knobs["cam"].layout.display is None and ui.knobs["ig"].layout.display == "none"
    ui.layer.value = ui.layer.options[1]
    _wait(explorer)
    assert explorer.view["settings"]["layer"] == ui.layer.options[1]
    ui.compare.value = "none"
    ui.steps.value = 16
    ui.method.value = "integrated_gradients"
    _wait(explorer)
    assert "completeness error" in ui.status.value and ui.knobs["ig"].layout.display is None
    ui.method.value = "grad_cam"
    _wait(explorer)


def test_a_course_photo_and_an_upload_replace_the_photo(explorer):
    ui = explorer.ui
    ui.photo.value = "dog"
    _wait(explorer)
    assert explorer.view["photo"] == "dog" and explorer.view["target"] == explorer.view["top"][0][0]
    before = ui.image.value
    ui.upload.value = _upload("holiday.webp", _image_bytes("WEBP", size=(3000, 2000)), "image/webp")
    _wait(explorer)
    assert explorer.view["photo"] == "holiday.webp" and ui.photo.value == UPLOADED
    assert ui.image.value != before and explorer.last_error is None
    ui.upload.value = _upload("small.jpg", _image_bytes("JPEG", size=(50, 80)), "image/jpeg")
    _wait(explorer)
    assert explorer.view["photo"] == "small.jpg"
    ui.photo.value = "cat"
    _wait(explorer)


@pytest.mark.parametrize("name, content, message", [
    ("notes.txt", b"this is not a photo", "is not an image Pillow can read"),
    ("broken.jpg", _image_bytes("JPEG")[:300], "could not be decoded"),
])
def test_a_bad_upload_is_a_message_in_the_widget_not_a_traceback(explorer, name, content, message):
    ui = explorer.ui
    view, generation = explorer.view, explorer.runner.generation
    ui.upload.value = _upload(name, content)                # must not raise
    assert message in ui.status.value and name in ui.status.value
    assert "/tmp" not in ui.status.value and "Traceback" not in ui.status.value
    assert explorer.view is view and explorer.runner.generation == generation   # nothing recomputed


def test_an_unavailable_model_names_the_model_menu_and_keeps_the_model(explorer, monkeypatch):
    def unavailable(name):
        raise xh.models.unavailable_error(f"The {name} weights", "they are not cached", "load_image_model()")
    monkeypatch.setattr("xai_helpers.explore.image.load_image_model", unavailable)
    model = explorer.image_model
    explorer.ui.model.value = "resnet50"
    shown = html.unescape(explorer.ui.status.value)
    assert "The resnet50 weights cannot be loaded: they are not cached." in shown
    assert "Choose another model in the Model menu (efficientnet_lite0 works offline)." in shown
    assert "load_image_model" not in shown
    assert explorer.image_model is model and explorer.ui.model.value == model.name


# ------------------------------------------------------------------------------- superseding, leaks
def test_a_newer_choice_supersedes_a_slow_computation(explorer):
    completed, superseded = explorer.runner.completed, explorer.runner.superseded
    explorer.update(method="smoothgrad", n_samples=100)      # 20 forward passes
    explorer.update(method="grad_cam")                      # supersedes it: no queue of stale work
    _wait(explorer)
    assert explorer.view["maps"][0][0] == "grad_cam"
    assert explorer.runner.completed == completed + 1       # the SmoothGrad map was never drawn
    assert explorer.runner.superseded == superseded + 1
    assert hook_count(explorer.image_model.model) == 0 and not _explorer_threads()


def test_a_hundred_changes_leave_no_hooks_threads_or_tensors_behind(explorer):
    ui, net = explorer.ui, explorer.image_model.model
    ui.method.value, ui.photo.value = "grad_cam", "cat"
    _wait(explorer)
    tensors = live_tensors()
    methods, photos = ["grad_cam", "vanilla_gradients", "smoothgrad", "grad_cam_plus_plus"], ["dog", "coffee", "cat"]
    for i in range(100):
        if i % 3 == 0:
            ui.method.value = methods[i % len(methods)]
        elif i % 3 == 1:
            ui.target.value = ui.target.options[i % len(ui.target.options)][1]
        else:
            ui.photo.value = photos[i % len(photos)]
    ui.method.value, ui.photo.value = "grad_cam", "cat"
    _wait(explorer)
    assert explorer.runner.superseded > 0                   # stale choices were dropped, not queued
    assert hook_count(net) == 0 and not _explorer_threads()
    assert explorer.view["maps"][0][0] == "grad_cam" and explorer.view["photo"] == "cat"
    assert live_tensors() <= tensors, "tensors accumulate across explorer changes"


def test_a_hook_is_released_when_the_computation_fails(image_model):
    runner, errors = ex.Runner(), []

    def compute(generation):
        with ex.watch_forward_passes(image_model.model, lambda count: None):
            xh.grad_cam(image_model, image_model.preprocess("cat"), 5000)   # no class 5000
    runner.submit(compute, lambda result: None, errors.append)
    assert runner.wait(60)
    assert errors and "5000" in str(errors[0]) and hook_count(image_model.model) == 0


def test_choices_run_on_one_worker_and_join_waits_for_the_newest():
    runner, started, release, drawn = ex.Runner(), threading.Event(), threading.Event(), []

    def slow(generation):
        started.set()
        release.wait(30)
        runner.check(generation)
        return generation
    runner.submit(slow, drawn.append, drawn.append)
    assert started.wait(30)
    runner.submit(lambda g: g, drawn.append, drawn.append)          # pending while the first still runs
    choice = runner.submit(lambda g: ("threads", threading.current_thread()), drawn.append, drawn.append)
    assert choice.is_alive()
    release.set()
    choice.join(30)
    assert not choice.is_alive() and drawn == [("threads", ex.WORKER.thread)]
    assert runner.superseded == 2 and runner.completed == 1 and not _explorer_threads()


def test_bad_settings_are_refused_with_the_known_names(explorer):
    with pytest.raises(ValueError, match="Unknown explorer setting"):
        explorer.update(colour="red")
    with pytest.raises(ValueError, match="Unknown method"):
        xh.explore_image(method="lime", interactive=False)


# ------------------------------------------------------------------------------------------------ text
@pytest.fixture(scope="module")
def text_explorer():
    return xh.explore_text("I <script>alert(1)</script> loved this film", interactive=True)


def test_the_text_explorer_escapes_html(text_explorer):
    shown = text_explorer.ui.tokens.value
    assert "<script>" not in shown and "&lt;" in shown and "script" in shown
    assert "margin" in shown and "reference" in shown and "delta" in shown


def test_typing_a_sentence_and_choosing_the_class_recompute(text_explorer):
    ui = text_explorer.ui
    before = ui.image.value
    ui.text.value = "A dull, boring and far too long film."
    _wait(text_explorer)
    result = text_explorer.view["result"]
    assert result.text.startswith("A dull") and result.prediction.label == "negative"
    assert ui.image.value != before and "dull" in ui.tokens.value
    ui.target.value = text_explorer.classifier.labels.index("positive")
    _wait(text_explorer)
    assert text_explorer.view["result"].target_label == "positive"
    ui.layer.value = 0
    _wait(text_explorer)
    assert text_explorer.view["attention"][2] == 0
    ui.text.value = ""                                      # empty: a message, never a traceback
    _wait(text_explorer)
    assert "color:#b00020" in ui.status.value and isinstance(text_explorer.last_error, (ValueError, TypeError))


def test_the_text_explorer_static_figure_has_tokens_and_attention():
    e = xh.explore_text(interactive=False)
    assert e.widget is None and set(e._repr_mimebundle_()) == {"image/png", "text/plain"}
    titles = [ax.get_title() for ax in e.figure().axes]
    assert any("attention" in t for t in titles) and any("prediction" in t for t in titles)
    assert np.isfinite(e.view["result"].attributions).all()


def test_the_text_explorer_explains_on_enter_and_on_its_button(text_explorer):
    import ipywidgets as W
    ui = text_explorer.ui
    assert isinstance(ui.text, W.Text) and ui.text.continuous_update is False   # Enter (or leaving) sends it
    ui.text.value = "A warm and funny film."
    _wait(text_explorer)
    drawn, status = text_explorer.runner.completed, ui.status.value
    ui.explain.click()                                     # the same sentence: computed again on request
    _wait(text_explorer)
    assert text_explorer.runner.completed == drawn + 1 and ui.status.value != status
    assert text_explorer.view["result"].text == "A warm and funny film."


def test_save_png_buttons_write_the_figures_and_say_where(text_explorer, explorer, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for shown in (text_explorer, explorer):
        shown.ui.save.click()
    saved = sorted(p.name for p in tmp_path.glob("*.png"))
    assert saved == ["explorer-a-warm-and-funny-film-lig.png", f"explorer-{explorer.view['photo']}-grad_cam.png"]
    assert "Saved" in text_explorer.ui.saved.value and str(tmp_path) in text_explorer.ui.saved.value
    assert (tmp_path / saved[0]).read_bytes() == text_explorer.png


# ------------------------------------------------------------------------------- figures that say what they show
def test_closest_classes_by_meaning_find_what_imagenet_calls_it():
    labels = xh.load_image_model().labels
    assert closest_classes("lighthouse", labels)[0] == "beacon"
    assert "studio couch" in closest_classes("sofa", labels, k=3)
    assert closest_classes("espreso", labels, k=1) == ["espresso"]


def test_an_unknown_class_typed_in_the_explorer_offers_beacon(explorer):
    ui = explorer.ui
    ui.search.value = "lighthouse"
    assert "no class 'lighthouse' — closest: beacon" in html.unescape(ui.status.value)
    beacon = [b for b in ui.suggestions.children if b.description == "beacon"]
    beacon[0].click()
    _wait(explorer)
    assert explorer.view["label"] == "beacon" and ui.search.value == "beacon"
    explorer.update(target=None).join()


def test_the_ig_title_shows_the_completeness_check_the_lesson_reads(explorer, image_model):
    view = explorer.compute(dict(explorer.settings, method="integrated_gradients", n_steps=16, compare=None),
                            explorer.photo, image_model, explorer.runner.generation)
    heading = " ".join(explorer.figure(view).axes[1].get_title().splitlines())
    difference = output_difference(image_model, image_model.preprocess(explorer.photo), view["target"], "black")
    shown = re.search(r"F\(x\) − F\(baseline\) = (\S+):", heading)
    assert float(shown.group(1)) == pytest.approx(difference, rel=5e-3)
    note = view["maps"][0][3]
    assert float(note.split()[-1].rstrip("%")) >= 0 and note.split()[-1] in heading   # 4.3 reads the last word


def test_a_long_sentence_wraps_and_a_cjk_one_says_what_it_cannot_draw():
    words = ("the acting was wonderful but the photography was even better and the plot was slow " * 6).split()[:77]
    e = xh.explore_text(" ".join(words), interactive=False)
    fig = e.figure()
    FigureCanvasAgg(fig).draw()                               # places the boxes around the token texts
    boxes = [t.get_bbox_patch().get_window_extent() for t in fig.axes[0].texts]
    assert len(boxes) == len(e.view["result"].tokens)
    assert not any(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1:]), "token boxes overlap"
    cjk = xh.explore_text("这部电影很好看，演员很棒。", interactive=False)
    layout = layout_tokens(cjk.view["result"].tokens, width=9.4)
    notes = [t.get_text() for t in cjk.figure().texts]
    if layout.missing:                                        # no CJK font installed: code points and a note
        assert any(n.startswith("No installed font can draw U+") for n in notes)
        assert any(t.get_text().startswith("U+") for t in cjk.figure().axes[0].texts)
    else:                                                     # a CJK font: added to the family list
        assert len(layout.families) > 1 and not any(n.startswith("No installed font") for n in notes)
    assert any(n.startswith("[UNK]: ") for n in notes)


def test_outside_jupyter_the_text_explorer_says_so(monkeypatch, capsys):
    monkeypatch.setattr(runner, "running_in", lambda: "script")
    e = xh.explore_text("Fine.")
    said = capsys.readouterr().out
    assert said.startswith("explore_text() needs Jupyter for its controls (JupyterLab, Jupyter Notebook or Colab)")
    assert e.widget is None and ".save_png()" in said
