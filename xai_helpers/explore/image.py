"""The image explorer: a course photo or the learner's own, the registry's attribution methods, ipywidgets.

``explore_image()`` shows the photo as the model sees it, the chosen method's map laid over it
(``overlay_heatmap``: opacity follows the map, magma for magnitudes, RdBu_r centred at 0 for signed
maps, a colourbar, the top fifth outlined), the top-5 prediction, and optionally a second method
side by side. See ``runner.py`` for superseding and for what is shown where widgets cannot run.
"""
import html
from matplotlib.figure import Figure

from ..data import load_image
from ..methods.registry import CAM, PATH, get_method, title
from ..methods.integrated import DEFAULT_IG_STEPS, output_difference
from ..models.image import ImageModel, load_image_model
from ..models.prediction import predict
from ..viz.plotting import overlay_heatmap
from .image_choices import EXPLORER_METHODS, UPLOAD_TYPES
from .image_widgets import build_image_widgets
from .runner import Runner, figure_png, png_bundle, resolve_interactive, watch_forward_passes

__all__ = ["explore_image", "ImageExplorer", "EXPLORER_METHODS", "UPLOAD_TYPES"]

#: The explorer's settings that a method may take (each method uses those its function takes).
KNOBS = ("layer", "noise_level", "n_samples", "baseline", "n_steps")


def _default_settings(method, target):
    if method not in EXPLORER_METHODS:
        raise ValueError(f"Unknown method {method!r}; choose one of: {', '.join(EXPLORER_METHODS)}.")
    return {"method": method, "compare": None, "target": target, "layer": None, "noise_level": 0.15,
            "n_samples": 20, "baseline": "black", "n_steps": DEFAULT_IG_STEPS}


def _knobs(s):
    return {k: s[k] for k in KNOBS}


def forward_passes(method, s):
    """How many forward passes ``method`` makes with settings ``s`` (for the progress bar); a path method also
    runs one pass for its completeness check."""
    m = get_method(method)
    return m.passes(m.settings(**_knobs(s))) + (m.kind == PATH)


def attribution_map(image_model, x, target, method, s):
    """One method's map for class ``target`` -> ``(HxW map, signed, note)``; note: IG's completeness."""
    m = get_method(method)
    heatmap, delta = m.map(image_model, x, target, **_knobs(s))
    if m.kind != PATH:
        return heatmap, m.signed, ""
    difference = output_difference(image_model, x, target, baseline=m.settings(**_knobs(s))["baseline"])
    error = abs(delta) / max(abs(difference), 1e-12)
    return heatmap, m.signed, f"completeness error {error:.1%}"


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
            heading = f"{title(method)} for '{view['label']}'" + (f"\n{note}" if note else "")
            contour = 0.8 if get_method(method).kind == CAM else None  # pixel maps: too ragged to outline
            overlay_heatmap(view["pixels"], heatmap, ax=ax, signed=signed, title=heading, contour=contour)
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
            ui.busy(title(s["method"]))
        return self.runner.submit(compute, draw, lambda err: (setattr(self, "last_error", err), on_error(err)))


def explore_image(image="cat", model=None, *, method="grad_cam", target=None, interactive=None):
    """Explore attribution maps of a photo -> ``ImageExplorer`` (displays as widgets or a figure).

    ``image``: a course photo name, a path or a PIL image (the learner can upload one in the widget:
    JPEG, PNG or WebP); ``model``: a name from ``IMAGE_MODELS`` or an ``ImageModel`` (default: the
    offline course model); ``method``: one of ``EXPLORER_METHODS``; ``target``: class index or name (default:
    the top-1 class). ``interactive``: see ``explore.runner.resolve_interactive`` (None = widgets inside a kernel).
    """
    return ImageExplorer(image, model=model, method=method, target=target, interactive=interactive)

