"""The ipywidgets of the image explorer: controls, their handlers, and what a worker draws into them."""
import html

from ..data import COURSE_IMAGES
from .runner import error_text
from .image_choices import EXPLORER_METHODS, UPLOAD_TYPES, UPLOADED, cam_layers, uploaded_image
from ..methods.integrated import BASELINE_NAMES
from ..methods.registry import METHODS, title
from ..models.image import IMAGE_MODELS

__all__ = ["build_image_widgets", "ImageWidgets"]

#: Each row of knobs, shown while a chosen method takes this setting.
KNOB_SETTINGS = {"cam": "layer", "smoothgrad": "noise_level", "ig": "n_steps"}


class ImageWidgets:
    """All controls of one ``ImageExplorer``; ``.box`` is what is displayed."""

    def __init__(self, explorer):
        import ipywidgets as W
        self.explorer, self._quiet = explorer, False
        s, model = explorer.settings, explorer.image_model
        self.photo = W.Dropdown(description="Photo", value=explorer.photo_name if explorer.photo_name in COURSE_IMAGES
                                else UPLOADED, options=[(f"{k}: {d}", k) for k, (_, d) in COURSE_IMAGES.items()]
                                + [("your upload", UPLOADED)])
        self.upload = W.FileUpload(accept=UPLOAD_TYPES, multiple=False, description="Your photo")
        self.model = W.Dropdown(description="Model", options=list(IMAGE_MODELS),
                                value=model.name if model.name in IMAGE_MODELS else None)
        self.target = W.Dropdown(description="Class", options=[])
        self.search = W.Combobox(description="Search", placeholder="type a class name (1000 classes)",
                                 options=list(model.labels), ensure_option=True)
        choices = [(title(k), k) for k in EXPLORER_METHODS]
        self.method = W.Dropdown(description="Method", options=choices, value=s["method"])
        self.compare = W.Dropdown(description="Compare", options=[("(none)", "none")] + choices)
        self.layer = W.Dropdown(description="Layer", options=cam_layers(model))
        self.noise = W.FloatSlider(description="Noise", value=s["noise_level"], min=0.0, max=0.5, step=0.05,
                                   continuous_update=False)
        self.samples = W.IntSlider(description="Samples", value=s["n_samples"], min=5, max=100, step=5,
                                   continuous_update=False)
        self.baseline = W.Dropdown(description="Baseline", options=list(BASELINE_NAMES), value=s["baseline"])
        self.steps = W.IntSlider(description="IG steps", value=s["n_steps"], min=8, max=300, step=8,
                                 continuous_update=False)
        self.progress = W.FloatProgress(value=1.0, min=0.0, max=1.0, description="Ready")
        self.status = W.HTML()
        self.prediction = W.HTML()
        self.image = W.Image(format="png")
        self._layout(W)
        self._connect()
        self.show_view(explorer.view)

    def _layout(self, W):
        self.knobs = {"cam": W.HBox([self.layer]), "smoothgrad": W.HBox([self.noise, self.samples]),
                      "ig": W.HBox([self.baseline, self.steps])}
        controls = W.VBox([W.HBox([self.photo, self.upload, self.model]),
                           W.HBox([self.target, self.search]), W.HBox([self.method, self.compare]),
                           *self.knobs.values(), W.HBox([self.progress, self.status])])
        self.box = W.VBox([controls, W.HBox([self.image, self.prediction])])
        self._show_knobs()

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
        elif self.upload.value:
            self._uploaded(self.upload.value)

    def _uploaded(self, value):
        if not value:
            return
        try:
            image, name = uploaded_image(value)
        except ValueError as err:
            self.show_error(err)
            return
        self._set_quietly(self.photo, value=UPLOADED)
        self.explorer.set_photo(image, name=name)

    def _model_changed(self, name):
        previous = self.explorer.image_model
        try:
            self.explorer.set_model(name)
        except Exception as err:  # ModelUnavailableError: the offline message, and back to the old model
            self._set_quietly(self.model, value=previous.name if previous.name in IMAGE_MODELS else None)
            self.show_error(err)
            return
        self._set_quietly(self.layer, options=cam_layers(self.explorer.image_model))

    def _searched(self, label):
        labels = self.explorer.image_model.labels
        if label in labels:
            self.explorer.update(target=labels.index(label))

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
        self.progress.description, self.progress.value = "Ready", 1.0

    def show_error(self, err):
        self.progress.description, self.progress.value = "Error", 0.0
        self.status.value = f"<span style='color:#b00020'>{html.escape(error_text(err))}</span>"


def build_image_widgets(explorer):
    """Build the widgets of ``explorer``, attach them as ``explorer.ui`` and return the displayed box."""
    explorer.ui = ImageWidgets(explorer)
    return explorer.ui.box
