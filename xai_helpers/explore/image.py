"""The image explorer: a course photo or the learner's own, six attribution methods, ipywidgets.

``explore_image()`` shows the photo as the model sees it, the chosen method's map laid over it
(``overlay_heatmap``: opacity follows the map, magma for magnitudes, RdBu_r centred at 0 for signed
maps, a colourbar, the top fifth outlined), the top-5 prediction, and optionally a second method
side by side. See ``runner.py`` for superseding and for what is shown where widgets cannot run.
"""
import html
import math
import os
import tempfile
from pathlib import Path

from ..methods.cam import grad_cam, grad_cam_plus_plus
from ..data import load_image
from .runner import Runner, figure_png, png_bundle, resolve_interactive, watch_forward_passes
from ..methods.gradients import (DEFAULT_SMOOTHGRAD_BATCH, gradient_x_input, max_abs_over_channels, smoothgrad,
                                 sum_over_channels, vanilla_gradients)
from ..methods.integrated import (DEFAULT_IG_BATCH, DEFAULT_IG_STEPS, NOISE_DRAWS, integrated_gradients,
                                  output_difference)
from ..models.image import ImageModel, load_image_model
from ..viz.plotting import overlay_heatmap
from ..models.prediction import predict

__all__ = ["explore_image", "ImageExplorer", "METHODS", "UPLOAD_TYPES"]

#: Method key -> its name on screen.
METHODS = {"grad_cam": "Grad-CAM", "grad_cam_plus_plus": "Grad-CAM++", "vanilla": "Vanilla gradient",
           "gradient_x_input": "Gradient × Input", "smoothgrad": "SmoothGrad", "integrated_gradients":
           "Integrated Gradients"}
SIGNED = {"gradient_x_input", "integrated_gradients"}   # maps whose sign is kept (sum over channels)
UPLOAD_TYPES = "image/jpeg,image/png,image/webp,.jpg,.jpeg,.png,.webp"
UPLOADED = "__upload__"


def _default_settings(method, target):
    if method not in METHODS:
        raise ValueError(f"Unknown method {method!r}; choose one of: {', '.join(METHODS)}.")
    return {"method": method, "compare": None, "target": target, "layer": None, "noise_level": 0.15,
            "n_samples": 20, "baseline": "black", "n_steps": DEFAULT_IG_STEPS}


def forward_passes(method, s):
    """How many forward passes ``method`` makes with settings ``s`` (for the progress bar)."""
    if method == "smoothgrad":
        return math.ceil(s["n_samples"] / DEFAULT_SMOOTHGRAD_BATCH)
    if method == "integrated_gradients":
        k = NOISE_DRAWS if s["baseline"] == "noise" else 1
        return 2 + k * math.ceil(s["n_steps"] / DEFAULT_IG_BATCH)
    return 1


def attribution_map(image_model, x, target, method, s):
    """One method's map for class ``target`` -> ``(HxW map, signed, note)``; note: IG's completeness."""
    if method in ("grad_cam", "grad_cam_plus_plus"):
        fn = grad_cam if method == "grad_cam" else grad_cam_plus_plus
        return fn(image_model, x, target, layer=s["layer"]), False, ""
    if method == "vanilla":
        return max_abs_over_channels(vanilla_gradients(image_model, x, target)), False, ""
    if method == "gradient_x_input":
        return sum_over_channels(gradient_x_input(image_model, x, target)), True, ""
    if method == "smoothgrad":
        grads = smoothgrad(image_model, x, target, n_samples=s["n_samples"], noise_level=s["noise_level"])
        return max_abs_over_channels(grads), False, ""
    difference = output_difference(image_model, x, target, baseline=s["baseline"])
    attributions, delta = integrated_gradients(image_model, x, target, baseline=s["baseline"], n_steps=s["n_steps"])
    error = abs(delta) / max(abs(difference), 1e-12)
    return sum_over_channels(attributions), True, f"completeness error {error:.1%}"


def uploaded_image(upload_value):
    """FileUpload's value (ipywidgets 8: a tuple of dicts) -> ``(RGB PIL image, file name)``.

    The bytes go through ``load_image``, so a file that is not an image gets its error text (naming
    the uploaded file, not the temporary copy).
    """
    if not upload_value:
        raise ValueError("No file was uploaded.")
    item = upload_value[-1]
    name = os.path.basename(str(item.get("name") or "upload"))
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        path.write_bytes(bytes(item["content"]))
        try:
            return load_image(path), name
        except (ValueError, OSError) as err:
            raise ValueError(str(err).replace(str(path), name)) from None


def cam_layers(image_model):
    """Layer names offered for the CAM methods: the default target layer, then two earlier ones."""
    names = dict(image_model.model.named_children())
    if "_blocks" in names:
        n = len(names["_blocks"])
        extra = [f"_blocks.{n - 1}", f"_blocks.{n - 5}"]
    else:
        extra = [n for n in ("layer3", "layer2") if n in names]
    return [image_model.target_layer_name] + extra


class ImageExplorer:
    """The state and drawing of the image explorer; ``.widget`` is its ipywidgets box (or None).

    ``.view`` is the newest drawn view (a dict), ``.png`` its figure, ``.runner`` the worker machinery.
    """

    def __init__(self, image="cat", model=None, method="grad_cam", target=None, interactive=None):
        self.image_model = model if isinstance(model, ImageModel) else load_image_model(model)
        self.settings = _default_settings(method, target)
        self.photo_name = image if isinstance(image, str) else "your photo"
        self.photo = load_image(image)
        self.runner, self.view, self.png, self.widget, self.ui = Runner(), None, None, None, None
        self.last_error = None
        self.runner.run_now(self._compute_now, self._store)
        if resolve_interactive(interactive):
            from .image_widgets import build_image_widgets
            self.widget = build_image_widgets(self)

    def __repr__(self):
        return f"ImageExplorer({self.image_model.name!r}, {self.photo_name!r}, {self.settings['method']!r})"

    def _repr_mimebundle_(self, include=None, exclude=None):
        return png_bundle(self.png, repr(self), self.widget)

    # --- computing and drawing ----------------------------------------------------------------
    def _compute_now(self, generation):
        return self.compute(dict(self.settings), self.photo, self.image_model, generation)

    def compute(self, s, photo, image_model, generation, progress=None):
        """Prediction and map(s) for settings ``s``; checks for a newer choice before every forward pass."""
        methods = [s["method"]] + ([s["compare"]] if s["compare"] and s["compare"] != s["method"] else [])
        total = 1 + sum(forward_passes(m, s) for m in methods)

        def on_forward(count):
            self.runner.check(generation)
            if progress is not None:
                progress(min(count / total, 1.0))

        with watch_forward_passes(image_model.model, on_forward):
            x = image_model.preprocess(photo)
            top = predict(image_model, x, k=5)
            target = top[0][0] if s["target"] is None else s["target"]
            if isinstance(target, str):
                target = image_model.labels.index(target) if target in image_model.labels else int(target)
            maps = [(m,) + attribution_map(image_model, x, target, m, s) for m in methods]
        return {"pixels": image_model.to_image(x), "top": top, "target": int(target), "maps": maps,
                "label": image_model.labels[int(target)], "settings": s, "model": image_model.name,
                "photo": self.photo_name}

    def figure(self, view=None):
        """The view as a matplotlib ``Figure`` (no pyplot): the photo, then one overlay per method."""
        from matplotlib.figure import Figure
        view = view or self.view
        n = 1 + len(view["maps"])
        fig = Figure(figsize=(3.6 * n, 3.9))
        axes = fig.subplots(1, n, squeeze=False)[0]
        best = view["top"][0]
        axes[0].imshow(view["pixels"])
        axes[0].set_xticks([]), axes[0].set_yticks([])
        axes[0].set_title(f"what the model sees ({view['pixels'].shape[0]} px)\ntop-1: {best[1]} ({best[2]:.1%})",
                          fontsize=10)
        for ax, (method, heatmap, signed, note) in zip(axes[1:], view["maps"]):
            title = f"{METHODS[method]} for '{view['label']}'" + (f"\n{note}" if note else "")
            contour = 0.8 if method in ("grad_cam", "grad_cam_plus_plus") else None  # pixel maps: too ragged
            overlay_heatmap(view["pixels"], heatmap, ax=ax, signed=signed, title=title, contour=contour)
        return fig

    def _store(self, view):
        self.view, self.png = view, figure_png(self.figure(view))
        return view

    def prediction_html(self, view=None):
        """The top-5 classes with probabilities, HTML-escaped, the explained class in bold."""
        view = view or self.view
        rows = "".join(f"<li>{'<b>' if i == view['target'] else ''}{html.escape(label)}: {p:.1%}"
                       f"{'</b>' if i == view['target'] else ''}</li>" for i, label, p in view["top"])
        return f"<div style='font-size:90%'>Top-5 of {html.escape(view['model'])}:<ol>{rows}</ol></div>"

    # --- choices (called by the widgets, or directly) ------------------------------------------
    def update(self, **changes):
        """Change settings (method, compare, target, layer, noise_level, n_samples, baseline, n_steps)
        and recompute in the worker; returns the worker thread."""
        unknown = set(changes) - set(self.settings)
        if unknown:
            raise ValueError(f"Unknown explorer setting(s) {sorted(unknown)}; known: {sorted(self.settings)}.")
        self.settings.update(changes)
        return self.refresh()

    def set_photo(self, image, name=None):
        """Explain another photo (a course name, a path or a PIL image); the class goes back to the top-1."""
        self.photo, self.photo_name = load_image(image), name or (image if isinstance(image, str) else "your photo")
        self.settings["target"] = None
        return self.refresh()

    def set_model(self, name):
        """Switch the model; an unavailable one raises ``ModelUnavailableError`` and nothing changes."""
        model = load_image_model(name)
        self.image_model, self.settings["layer"], self.settings["target"] = model, None, None
        return self.refresh()

    def refresh(self):
        """Recompute the current choice in a worker; an older one still running is superseded."""
        s, photo, model = dict(self.settings), self.photo, self.image_model
        ui = self.ui
        progress = ui.set_progress if ui else None
        compute = lambda generation: self.compute(s, photo, model, generation, progress)  # noqa: E731
        draw = (lambda view: ui.show_view(self._store(view))) if ui else self._store
        on_error = ui.show_error if ui else (lambda err: None)
        if ui:
            ui.busy(METHODS[s["method"]])
        return self.runner.submit(compute, draw, lambda err: (setattr(self, "last_error", err), on_error(err)))


def explore_image(image="cat", model=None, *, method="grad_cam", target=None, interactive=None):
    """Explore attribution maps of a photo -> ``ImageExplorer`` (displays as widgets or a figure).

    ``image``: a course photo name, a path or a PIL image (the learner can upload one in the widget:
    JPEG, PNG or WebP); ``model``: a name from ``IMAGE_MODELS`` or an ``ImageModel`` (default: the
    offline course model); ``method``: one of ``METHODS``; ``target``: class index or name (default:
    the top-1 class). ``interactive``: see ``xai_helpers.explorer`` (None = widgets inside a kernel).
    """
    return ImageExplorer(image, model=model, method=method, target=target, interactive=interactive)

