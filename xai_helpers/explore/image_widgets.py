"""The ipywidgets of the image explorer: controls, their handlers, and what a worker draws into them.

Every control has a description (its ``<label for>``), a tooltip and a help line under its row; the explorer's
box carries the keyboard support of ``controls.py``. Nothing a learner does is ignored without a word: an
upload is cleared once it is read, so the same file chosen again is read again; a class name the model lacks
gets the closest names as buttons (``classes.py``); a model that cannot be loaded names the Model menu; a
cropped or upscaled photo gets a note (``image_choices.input_note``).
"""
import html

from ..data import COURSE_IMAGES
from ..methods.integrated import BASELINE_NAMES
from ..methods.registry import METHODS, title
from ..models.base import ModelUnavailableError
from ..models.image import DEFAULT_IMAGE_MODEL, IMAGE_MODELS
from .classes import closest_classes, unknown_class_message
from .controls import ROOT_CLASS, help_line, keyboard_support, save_button_clicked
from .image_choices import EXPLORER_METHODS, UPLOAD_TYPES, UPLOADED, cam_layers, uploaded_image
from .runner import error_text

__all__ = ["build_image_widgets", "ImageWidgets", "HELP", "menu_error"]

#: Each row of knobs, shown while a chosen method takes this setting.
KNOB_SETTINGS = {"cam": "layer", "smoothgrad": "noise_level", "ig": "n_steps"}

#: One line of help per control: its tooltip, and (after its description) the help line under its row.
HELP = {
    "photo": "a course photo, or 'your upload' (the file chosen with the button next to it).",
    "upload": "a photo of your own: JPEG, PNG or WebP (choosing the same file again reads it again).",
    "model": "the image classifier explained; the larger ones need a download once.",
    "target": "whose evidence the maps show; the model's top 5 are listed.",
    "search": "type any of the model's class names, then Enter; a name it lacks gets the closest ones.",
    "method": "how the map is made: Grad-CAM weighs a layer's activations by their gradients, the gradient "
              "methods ask which pixels change the class score.",
    "compare": "a second method drawn next to the first (none: one map).",
    "layer": "the block whose activations Grad-CAM weighs; the first entry is the last block (a coarse map, most "
             "about the class), the others come earlier (finer maps, more about parts and edges).",
    "noise": "SmoothGrad's noise, a fraction of the input's range (0 is the plain gradient; 0.1-0.2 smooths).",
    "samples": "how many noisy copies SmoothGrad averages (more is smoother and slower).",
    "baseline": "the input IG starts from (black, white, the blurred photo, or noise); the map explains the "
                "change of the score from the baseline to the photo.",
    "steps": "points on IG's path from the baseline to the photo (more: a smaller completeness error, slower).",
    "save": "write the figure shown to a file in the notebook's folder, named after the photo and the method.",
}


def menu_error(err, menu="Model", default=DEFAULT_IMAGE_MODEL):
    """A model that cannot be loaded, in the explorer's words: the loader's reason, then the ``menu`` to choose
    another model from (instead of the Python call the loader's message names)."""
    text = error_text(err)
    head, found, tail = text.partition(" Use the offline default instead:")
    if not found:
        return text
    rest = tail.split(". ", 1)[1] if ". " in tail else ""
    return f"{head} Choose another model in the {menu} menu ({default} works offline)." + (f" {rest}" if rest else "")


class ImageWidgets:
    """All controls of one ``ImageExplorer``; ``.box`` is what is displayed."""

    def __init__(self, explorer):
        import ipywidgets as W
        self.explorer, self._quiet, self._upload = explorer, False, None
        s, model = explorer.settings, explorer.image_model
        wide = {"description_width": "initial"}
        self.photo = W.Dropdown(description="Photo", value=explorer.photo_name if explorer.photo_name in COURSE_IMAGES
                                else UPLOADED, options=[(f"{k}: {d}", k) for k, (_, d) in COURSE_IMAGES.items()]
                                + [("your upload", UPLOADED)], tooltip=HELP["photo"])
        self.upload = W.FileUpload(accept=UPLOAD_TYPES, multiple=False, description="Your photo",
                                   tooltip=HELP["upload"])
        self.model = W.Dropdown(description="Model", options=list(IMAGE_MODELS), tooltip=HELP["model"],
                                value=model.name if model.name in IMAGE_MODELS else None)
        self.target = W.Dropdown(description="Class", options=[], tooltip=HELP["target"])
        self.search = W.Combobox(description="Search", placeholder="type a class name, then Enter",
                                 options=list(model.labels), ensure_option=False, continuous_update=False,
                                 tooltip=HELP["search"])
        self.suggestions = W.HBox([])
        choices = [(title(k), k) for k in EXPLORER_METHODS]
        self.method = W.Dropdown(description="Method", options=choices, value=s["method"], tooltip=HELP["method"])
        self.compare = W.Dropdown(description="Compare", options=[("(none)", "none")] + choices,
                                  tooltip=HELP["compare"])
        self.layer = W.Dropdown(description="Layer", options=cam_layers(model), tooltip=HELP["layer"])
        self.noise = W.FloatSlider(description="Noise", value=s["noise_level"], min=0.0, max=0.5, step=0.05,
                                   continuous_update=False, tooltip=HELP["noise"])
        self.samples = W.IntSlider(description="Samples", value=s["n_samples"], min=5, max=100, step=5,
                                   continuous_update=False, tooltip=HELP["samples"])
        self.baseline = W.Dropdown(description="Baseline", options=list(BASELINE_NAMES), value=s["baseline"],
                                   tooltip=HELP["baseline"])
        self.steps = W.IntSlider(description="Steps", value=s["n_steps"], min=8, max=300, step=8,
                                 continuous_update=False, tooltip=HELP["steps"])
        self.progress = W.FloatProgress(value=1.0, min=0.0, max=1.0, description="Ready", style=wide)
        self.status = W.HTML()
        self.note = W.HTML()
        self.prediction = W.HTML()
        self.image = W.Image(format="png")
        self.save = W.Button(description="Save PNG", icon="download", tooltip=HELP["save"])
        self.saved = W.HTML()
        self._layout(W)
        self._connect()
        self.show_view(explorer.view)

    def _layout(self, W):
        def row(*controls):
            return W.VBox([W.HBox(list(controls)), self._help(W, controls)])
        self.knobs = {"cam": row(self.layer), "smoothgrad": row(self.noise, self.samples),
                      "ig": row(self.baseline, self.steps)}
        controls = W.VBox([row(self.photo, self.upload, self.model),
                           W.VBox([W.HBox([self.target, self.search]), self.suggestions,
                                   self._help(W, (self.target, self.search))]),
                           row(self.method, self.compare), *self.knobs.values(),
                           W.HBox([self.progress, self.status]), self.note])
        self.box = W.VBox([controls, W.HBox([self.image, self.prediction]), W.HBox([self.save, self.saved]),
                           self._help(W, (self.save,)), keyboard_support(W)])
        self.box.add_class(ROOT_CLASS)
        self._show_knobs()

    def _help(self, W, controls):
        """The help line of a row: each control's description and its line of ``HELP`` (its tooltip)."""
        return help_line(W, " · ".join(f"{c.description}: {c.tooltip}" for c in controls))

    def _connect(self):
        on = self._guarded
        self.photo.observe(on(self._photo_changed), "value")
        self.upload.observe(on(self._uploaded), "value")
        self.model.observe(on(self._model_changed), "value")
        self.target.observe(on(lambda v: self.explorer.update(target=v)), "value")
        self.search.observe(on(self._searched), "value")
        self.method.observe(on(lambda v: (self._show_knobs(), self.explorer.update(method=v))), "value")
        self.compare.observe(on(lambda v: (self._show_knobs(), self.explorer.update(compare=None if v == "none" else v))),
                             "value")
        self.layer.observe(on(lambda v: self.explorer.update(layer=v)), "value")
        self.noise.observe(on(lambda v: self.explorer.update(noise_level=float(v))), "value")
        self.samples.observe(on(lambda v: self.explorer.update(n_samples=int(v))), "value")
        self.baseline.observe(on(lambda v: self.explorer.update(baseline=v)), "value")
        self.steps.observe(on(lambda v: self.explorer.update(n_steps=int(v))), "value")
        self.save.on_click(lambda _button: self._saved())

    def _guarded(self, handler):
        """A widget observer: ignores changes made by the explorer itself; errors go to the status line."""
        def observer(change):
            if self._quiet:
                return
            try:
                handler(change["new"])
            except Exception as err:  # a message in the widget, never a traceback
                self.show_error(err)
        return observer

    def _set_quietly(self, widget, **values):
        self._quiet = True
        try:
            for name, value in values.items():
                setattr(widget, name, value)
        finally:
            self._quiet = False

    # --- handlers --------------------------------------------------------------------------------
    def _photo_changed(self, name):
        if name != UPLOADED:
            self.explorer.set_photo(name)
        elif self._upload is not None:
            self.explorer.set_photo(*self._upload)
        else:
            self.show_message("Choose a file with the 'Your photo' button first.")

    def _uploaded(self, value):
        if not value:
            return
        try:
            image, name = uploaded_image(value)
        except ValueError as err:
            self.show_error(err)
            return
        finally:   # FileUpload reports no change for the same file chosen again unless its value is cleared
            self._set_quietly(self.upload, value=())
        self._upload = (image, name)
        self._set_quietly(self.photo, value=UPLOADED)
        self.explorer.set_photo(image, name=name)

    def _model_changed(self, name):
        previous = self.explorer.image_model
        try:
            self.explorer.set_model(name)
        except ModelUnavailableError as err:   # the offline message, and back to the old model
            self._set_quietly(self.model, value=previous.name if previous.name in IMAGE_MODELS else None)
            self.show_error(menu_error(err))
            return
        labels = self.explorer.image_model.labels
        self._set_quietly(self.layer, options=cam_layers(self.explorer.image_model))
        self._set_quietly(self.search, options=list(labels))

    def _searched(self, typed):
        typed = (typed or "").strip()
        self.suggestions.children = ()
        if not typed:
            return
        labels = self.explorer.image_model.labels
        lowered = [label.lower() for label in labels]
        if typed.lower() in lowered:
            self.explorer.update(target=lowered.index(typed.lower()))
            return
        closest = closest_classes(typed, labels, k=5)
        self.show_message(unknown_class_message(typed, closest), colour="#8a4b00")
        self.suggestions.children = tuple(self._suggestion(name) for name in closest)

    def _suggestion(self, name):
        import ipywidgets as W
        button = W.Button(description=name, tooltip=f"explain the class '{name}'",
                          layout=W.Layout(width="auto"))
        button.on_click(lambda _button: self._picked(name))
        return button

    def _picked(self, name):
        self.suggestions.children = ()
        self._set_quietly(self.search, value=name)
        self.explorer.update(target=self.explorer.image_model.labels.index(name))

    def _saved(self):
        save_button_clicked(self)

    def _show_knobs(self):
        chosen = [METHODS[k] for k in (self.method.value, self.compare.value) if k in METHODS]
        wanted = {key: any(m.takes(setting) for m in chosen) for key, setting in KNOB_SETTINGS.items()}
        for key, box in self.knobs.items():
            box.layout.display = None if wanted[key] else "none"

    # --- called by the worker ------------------------------------------------------------------
    def busy(self, what):
        self.progress.description, self.progress.value = "Working", 0.0
        self.status.value = f"<span style='color:#555'>computing {html.escape(what)} …</span>"

    def set_progress(self, fraction):
        self.progress.value = float(fraction)

    def show_view(self, view):
        options = [(f"{label} ({p:.1%})", i) for i, label, p in view["top"]]
        if view["target"] not in [i for _, i in options]:
            options.append((f"{view['label']} (searched)", view["target"]))
        self._set_quietly(self.target, options=options, value=view["target"])
        self.image.value = self.explorer.png
        self.prediction.value = self.explorer.prediction_html(view)
        notes = [note for *_, note in view["maps"] if note]
        self.status.value = html.escape(f"{view['photo']} · {view['model']}" + (f" · {'; '.join(notes)}" if notes else ""))
        self.note.value = (f"<div style='color:#8a4b00'>{html.escape(view['input_note'])}</div>"
                           if view["input_note"] else "")
        self.progress.description, self.progress.value = "Ready", 1.0

    def show_message(self, text, colour="#555"):
        self.status.value = f"<span style='color:{colour}'>{html.escape(text)}</span>"

    def show_error(self, err):
        self.progress.description, self.progress.value = "Error", 0.0
        text = err if isinstance(err, str) else error_text(err)
        self.status.value = f"<span style='color:#b00020'>{html.escape(text)}</span>"


def build_image_widgets(explorer):
    """Build the widgets of ``explorer``, attach them as ``explorer.ui`` and return the displayed box."""
    explorer.ui = ImageWidgets(explorer)
    return explorer.ui.box
