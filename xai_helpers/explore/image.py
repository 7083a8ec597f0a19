"""The image explorer: a course photo or the learner's own, the registry's attribution methods, ipywidgets.

``explore_image()`` shows the photo as the model sees it, the chosen method's map laid over it
(``overlay_heatmap``: opacity follows the map, magma for magnitudes, RdBu_r centred at 0 for signed
maps, the top fifth of a CAM outlined), the top-5 prediction, and optionally a second method side by side.
The figure describes itself: each panel's title names the method, the class and the settings that shape its
map (layer; samples and noise; steps and baseline, with IG's completeness check), each colourbar says what its
colour means (maps are drawn as shares of their largest value), a caption explains the outline, and a note
says when the model sees a cropped or upscaled version of the photo (``input_note``). See ``runner.py`` for
superseding and for what is shown where widgets cannot run.
"""
import html
import math
import textwrap
from pathlib import Path
from typing import Callable, Literal

from matplotlib.figure import Figure
from PIL import Image

from .._typecheck import checked
from .._validate import check_count, resolve_layer
from ..data import read_image
from ..methods.registry import CAM, PATH, get_method, title
from ..methods.integrated import BASELINE_NAMES, DEFAULT_IG_STEPS, output_difference
from ..models.image import ImageInput, ImageModel, load_image_model
from ..models.prediction import predict
from ..viz.plotting import overlay_heatmap, to_numpy
from .controls import png_file_name, save_png
from .image_choices import EXPLORER_METHODS, UPLOAD_TYPES, check_method, input_note
from .image_widgets import build_image_widgets
from .runner import (Choice, Runner, announce_static, figure_png, png_bundle, resolve_interactive,
                     watch_forward_passes)
from .settings import check_settings, check_view, class_index

__all__ = ["explore_image", "ImageExplorer", "EXPLORER_METHODS", "UPLOAD_TYPES"]

#: The explorer's settings that a method may take (each method uses those its function takes).
KNOBS = ("layer", "noise_level", "n_samples", "baseline", "n_steps")
#: Images per forward/backward pass of the explorer's SmoothGrad and IG (the only methods it offers that batch
#: images). Measured on the course machine, EfficientNet-Lite0, the cat: one image per pass costs the CPU time of
#: the methods' defaults on one torch thread (IG 200 steps 14.0 s against 15.0 s at 4 per pass; SmoothGrad 50
#: samples 3.6 s against 3.5 s at 5) and ~10 % more on two, while a redraw's memory peak rises by ~20 MB instead of
#: 325 MB (IG) and 406 MB (SmoothGrad). An explorer runs beside a lesson in the same kernel, and in a class many
#: kernels share a machine: the peak decides how many learners it holds.
EXPLORER_BATCH = 1
#: What a view from ``compute`` holds (``figure`` and ``prediction_html`` draw it).
IMAGE_VIEW_KEYS = ("pixels", "top", "target", "maps", "label", "settings", "model", "photo", "layer", "input_note")
#: The caption under a CAM panel: what its outline marks.
OUTLINE_CAPTION = "white outline: the map's top fifth (the 20 % of pixels with the highest values)"
#: Every setting of the image explorer and the kind of value it takes (``update`` checks changes against it).
IMAGE_SETTING_HINTS = {"method": str, "compare": str | None, "target": int | str | None, "layer": str | None,
                 "noise_level": float, "n_samples": int, "baseline": Literal[BASELINE_NAMES], "n_steps": int}


def _default_settings():
    return {"method": "grad_cam", "compare": None, "target": None, "layer": None, "noise_level": 0.15,
            "n_samples": 20, "baseline": "black", "n_steps": DEFAULT_IG_STEPS}


def _wrap(text, width):
    return "\n".join(textwrap.wrap(text, width))


def _knobs(s):
    return {**{k: s[k] for k in KNOBS}, "batch_size": EXPLORER_BATCH}


def _noise_level(value):
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"noise_level must be a finite number >= 0 (a fraction of the input's range, e.g. 0.15); "
                         f"got {value!r}.")
    return float(value)


def forward_passes(method, s):
    """How many forward passes ``method`` makes with settings ``s`` (for the progress bar); a path method also
    runs one pass for its completeness check."""
    m = get_method(method)
    return m.passes(m.settings(**_knobs(s))) + (m.kind == PATH)


def attribution_map(image_model, x, target, method, s):
    """One method's map for class ``target`` -> ``(HxW map, signed, note)``; note: IG's completeness check, the sum
    of the attributions against F(x) - F(baseline), ending in the relative error (``"... error 1.2%"``)."""
    m = get_method(method)
    heatmap, delta = m.map(image_model, x, target, **_knobs(s))
    if m.kind != PATH:
        return heatmap, m.signed, ""
    difference = output_difference(image_model, x, target, baseline=m.settings(**_knobs(s))["baseline"])
    error = abs(delta) / max(abs(difference), 1e-12)
    return heatmap, m.signed, (f"attributions sum to {difference + delta:+.3g}, F(x) − F(baseline) = "
                               f"{difference:+.3g}: completeness error {error:.1%}")


def method_settings(method, s, layer):
    """The settings that shape ``method``'s map, in words (``"layer _blocks.15"``, ``"20 samples, noise 0.15"``,
    ``"200 steps from a black baseline"``); ``""`` for a method without settings."""
    m, words = get_method(method), []
    if m.takes("layer"):
        words.append(f"layer {layer}")
    if m.takes("n_samples"):
        words.append(f"{s['n_samples']} samples")
    if m.takes("noise_level"):
        words.append(f"noise {s['noise_level']:.2f}")
    if m.takes("n_steps"):
        words.append(f"{s['n_steps']} steps")
    if m.takes("baseline"):
        words.append(f"from a {s['baseline']} baseline")
    return ", ".join(words).replace("steps, from", "steps from")


def _colourbar_label(signed, label):
    if signed:
        return f"← against · for '{label}' →\n(share of the largest |value|)"
    return f"importance for '{label}'\n(share of the map's maximum)"


class ImageExplorer:
    """The image explorer: a photo, a model, attribution maps, and the widgets to change them (4.2, 4.3, 4.5).

    ``explore_image`` builds one; the lessons 4.2 (Grad-CAM), 4.3 (Integrated Gradients) and 4.5 (end to end)
    embed it. It draws its first view at once, in the calling thread; every later change (``update``,
    ``set_photo``, ``set_model``, or a widget) is computed in a worker thread, where a newer change supersedes
    an older one. ``.view`` is the newest drawn view (a dict), ``.png`` its figure as PNG bytes, ``.widget`` the
    ipywidgets box (``None`` for the static figure), ``.runner`` the worker machinery (``runner.wait()``
    blocks until the newest change is drawn) and ``.last_error`` the error of the newest failed change.

    Args:
        image: The photo (as for ``explore_image``: a course photo name, a path or a PIL image).
        model: The model, its name, or ``None`` for the offline course model.
        method: The first method shown, one of ``EXPLORER_METHODS``.
        target: The class explained (index or name), ``None`` for the top-1.
        interactive: Widgets or the static figure (see ``explore_image``).
        **settings: Other settings of the first view, as for ``update`` (e.g. ``n_steps=64``).

    Raises:
        TypeError, ValueError, FileNotFoundError: As ``explore_image`` (each message names the argument).

    Example:
        >>> import xai_helpers as xh
        >>> explorer = xh.explore.ImageExplorer("cat", method="grad_cam", interactive=False)
        >>> explorer
        ImageExplorer('efficientnet_lite0', 'cat', 'grad_cam')
        >>> explorer.view["label"], explorer.widget is None
        ('Egyptian cat', True)
    """

    @checked
    def __init__(self, image: ImageInput = "cat", model: str | ImageModel | None = None, method: str = "grad_cam",
                 target: int | str | None = None, interactive: bool | None = None, **settings: object) -> None:
        asked, interactive = interactive, resolve_interactive(interactive)
        self.image_model = model if isinstance(model, ImageModel) else load_image_model(model)
        self.settings = _default_settings()
        given = {"method": method, "target": target, **settings}
        self.settings.update(check_settings("ImageExplorer", IMAGE_SETTING_HINTS, given, self._checked_value))
        self.photo_name = image if isinstance(image, str) else "your photo"
        self.photo = read_image(image, "image")
        self.runner, self.view, self.png, self.widget, self.ui = Runner(), None, None, None, None
        self.last_error = None
        self.runner.run_now(self._compute_now, self._store)
        if interactive:
            self.widget = build_image_widgets(self)
        elif asked is None:
            announce_static(self, "explore_image")

    def __repr__(self):
        return f"ImageExplorer({self.image_model.name!r}, {self.photo_name!r}, {self.settings['method']!r})"

    def _repr_mimebundle_(self, include=None, exclude=None):
        return png_bundle(self.png, repr(self), self.widget)

    def _checked_value(self, name, value):
        """A setting's value of the right kind checked -> the value stored (a class name becomes its index)."""
        if value is None:
            return None
        if name in ("method", "compare"):
            return check_method(value, name)
        if name == "target":
            return class_index(value, self.image_model.labels)
        if name == "layer":
            return resolve_layer(self.image_model, value)[2]
        if name == "noise_level":
            return _noise_level(value)
        return check_count(value, name) if name in ("n_samples", "n_steps") else value

    # --- computing and drawing ----------------------------------------------------------------
    def _compute_now(self, generation):
        return self.compute(dict(self.settings), self.photo, self.image_model, generation)

    def compute(self, s: dict, photo: Image.Image, image_model: ImageModel, generation: int,
                progress: Callable[[float], None] | None = None) -> dict:
        """Compute the view for settings ``s``: the top-5 prediction and the map of each chosen method.

        The worker calls this; before every forward pass it checks that no newer change exists (else it
        gives up with ``Superseded``). Nothing is stored: ``figure(view)`` draws the result.

        Args:
            s: The settings, as in ``.settings`` (method, compare, target, layer, noise_level, n_samples,
                baseline, n_steps).
            photo: The RGB photo.
            image_model: The model to explain.
            generation: The change this computation belongs to (``.runner.generation``).
            progress: Called with the fraction done (0 to 1) before every forward pass, or ``None``.

        Returns:
            The view: a dict with ``pixels`` (what the model sees), ``top`` (top-5 predictions), ``target``
            and ``label`` (the class explained), ``maps`` (``(method, map, signed, note)`` per method),
            ``settings``, ``model``, ``photo``, ``layer`` (the CAM layer's name) and ``input_note`` (how the photo
            was cropped or upscaled, ``input_note``; ``""`` when it reached the model as it is).

        Example:
            >>> import xai_helpers as xh
            >>> explorer = xh.explore_image("cat", interactive=False)
            >>> view = explorer.compute(dict(explorer.settings, method="vanilla_gradients"), explorer.photo,
            ...                         explorer.image_model, explorer.runner.generation)
            >>> view["maps"][0][0], tuple(view["maps"][0][1].shape), view["label"]
            ('vanilla_gradients', (224, 224), 'Egyptian cat')
        """
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
        layer = s["layer"] or image_model.target_layer_name
        note = input_note(*photo.size, resize=image_model.resize, crop=image_model.crop)
        return {"pixels": image_model.to_image(x), "top": top, "target": int(target), "maps": maps,
                "label": image_model.labels[int(target)], "settings": s, "model": image_model.name,
                "photo": self.photo_name, "layer": layer, "input_note": note}

    @checked
    def figure(self, view: dict | None = None) -> Figure:
        """Draw a view as a matplotlib ``Figure`` (made without pyplot, so it is never shown twice).

        Every panel says what it shows: the photo's panel the input size and the top-1 class; each map's panel
        the method, the class, the settings that shape the map and (IG) the completeness check, a colourbar
        saying what the colour means and, for a CAM, a caption on the outline. The figure's title names the
        photo and the model, and a note under it says when the photo was cropped or upscaled.

        Args:
            view: A view from ``compute``; ``None`` means the newest drawn view (``.view``).

        Returns:
            The figure: the photo as the model sees it with its top-1 class, then one overlay per method.

        Example:
            >>> import xai_helpers as xh
            >>> fig = xh.explore_image("cat", interactive=False).figure()
            >>> fig.axes[1].get_title().splitlines()
            ["Grad-CAM for 'Egyptian cat'", 'layer _head_activation']
            >>> fig.axes[2].get_ylabel().splitlines()
            ["importance for 'Egyptian cat'", "(share of the map's maximum)"]
        """
        view = check_view(view, self.view, IMAGE_VIEW_KEYS)
        n = 1 + len(view["maps"])
        fig = Figure(figsize=(3.9 * n, 4.3))
        axes = fig.subplots(1, n, squeeze=False)[0]
        best = view["top"][0]
        axes[0].imshow(view["pixels"])
        axes[0].set_xticks([]), axes[0].set_yticks([])
        side = view["pixels"].shape[0]
        axes[0].set_title(f"what the model sees ({side}×{side} px)\ntop-1: {best[1]} ({best[2]:.1%})", fontsize=10)
        for ax, (method, heatmap, signed, note) in zip(axes[1:], view["maps"]):
            shape = method_settings(method, view["settings"], view["layer"])
            heading = "\n".join(line for line in (f"{title(method)} for '{view['label']}'", shape,
                                                   _wrap(note, 52)) if line)
            contour = 0.8 if get_method(method).kind == CAM else None  # pixel maps: too ragged to outline
            values = to_numpy(heatmap)
            largest = float(abs(values).max())
            image = overlay_heatmap(view["pixels"], values / largest if largest > 0 else values, ax=ax,
                                    signed=signed, title=heading, contour=contour)
            image.colorbar.set_label(_colourbar_label(signed, view["label"]), fontsize=8)
            image.colorbar.ax.tick_params(labelsize=8)
            if contour is not None:
                ax.set_xlabel(_wrap(OUTLINE_CAPTION, 48), fontsize=8)
        fig.suptitle(f"{view['photo']} · {view['model']}", fontsize=10)
        if view["input_note"]:
            fig.text(0.5, 0.0, _wrap(view["input_note"], 50 * n), ha="center", va="top", fontsize=9,
                     color="#8a4b00")
        fig.tight_layout()
        return fig

    def _store(self, view):
        self.view, self.png = view, figure_png(self.figure(view))
        return view

    @checked
    def prediction_html(self, view: dict | None = None) -> str:
        """The top-5 classes of a view as an HTML list, the explained class in bold (labels HTML-escaped).

        Args:
            view: A view from ``compute``; ``None`` means the newest drawn view (``.view``).

        Returns:
            An HTML ``<div>`` with an ordered list of the five classes and their probabilities.

        Example:
            >>> import xai_helpers as xh
            >>> xh.explore_image("cat", interactive=False).prediction_html()
            "<div style='font-size:90%'>Top-5 of efficientnet_lite0:<ol><li><b>Egyptian cat: ...%</b></li>...</div>"
        """
        view = check_view(view, self.view, IMAGE_VIEW_KEYS)
        rows = "".join(f"<li>{'<b>' if i == view['target'] else ''}{html.escape(label)}: {p:.1%}"
                       f"{'</b>' if i == view['target'] else ''}</li>" for i, label, p in view["top"])
        return f"<div style='font-size:90%'>Top-5 of {html.escape(view['model'])}:<ol>{rows}</ol></div>"

    @checked
    def save_png(self, folder: str | Path | None = None) -> Path:
        """Write the newest drawn figure (``.png``) to a file named after the photo and the method(s) shown.

        The name is ``explorer-<photo>-<method>[-<method>].png``; an existing file is never overwritten (the
        next free ``-2``, ``-3``, ... is taken). The Save PNG button calls this.

        Args:
            folder: The folder to write to; ``None`` means the current working directory (in a notebook: the
                notebook's folder).

        Returns:
            The absolute path of the file written.

        Raises:
            FileNotFoundError: ``folder`` does not exist.

        Example:
            >>> import tempfile
            >>> import xai_helpers as xh
            >>> explorer = xh.explore_image("cat", interactive=False)
            >>> explorer.save_png(tempfile.mkdtemp()).name
            'explorer-cat-grad_cam.png'
        """
        methods = [method for method, *_ in self.view["maps"]]
        return save_png(self.png, png_file_name(self.view["photo"], *methods), folder)

    # --- choices (called by the widgets, or directly) ------------------------------------------
    def update(self, **changes: object) -> Choice:
        """Change settings and recompute in the worker (what the widgets call; also callable directly).

        Each change is checked at once, before anything is computed: an unknown setting or a wrong value
        raises here, naming the setting. ``.settings`` shows the current ones.

        Args:
            **changes: Any of ``method`` and ``compare`` (one of ``EXPLORER_METHODS``; ``compare=None`` shows
                one map), ``target`` (a class index or name; ``None`` = the top-1 class), ``layer`` (a CAM
                layer's name; ``None`` = the model's target layer), ``noise_level`` (SmoothGrad's noise, a
                fraction of the input range), ``n_samples`` (SmoothGrad's samples), ``baseline`` (IG's:
                ``"black"``, ``"white"``, ``"blur"`` or ``"noise"``) and ``n_steps`` (IG's steps).

        Returns:
            A ``Choice`` for this change: ``.join()`` waits until its view is drawn (or a newer change replaced
            it); ``.is_alive()`` says whether it is still pending.

        Raises:
            TypeError: A setting's value is of the wrong kind.
            ValueError: An unknown setting, method, class name or layer, or a number out of range.

        Example:
            >>> import xai_helpers as xh
            >>> explorer = xh.explore_image("cat", interactive=False)
            >>> explorer.update(method="gradient_x_input", target="tabby").join()
            >>> explorer.view["maps"][0][0], explorer.view["label"]
            ('gradient_x_input', 'tabby')
        """
        self.settings.update(check_settings("update", IMAGE_SETTING_HINTS, changes, self._checked_value))
        return self.refresh()

    @checked
    def set_photo(self, image: ImageInput, name: str | None = None) -> Choice:
        """Explain another photo and recompute in the worker; the class goes back to the top-1.

        Args:
            image: A course photo name (``"dog"``), the path of an image file, or a PIL image.
            name: What the view calls the photo; ``None`` means the name or path given, else ``"your photo"``.

        Returns:
            A ``Choice``: ``.join()`` waits until the new view is drawn (or a newer change replaced it).

        Example:
            >>> import xai_helpers as xh
            >>> explorer = xh.explore_image("cat", interactive=False)
            >>> explorer.set_photo("dog").join()
            >>> explorer.view["photo"], explorer.view["target"] == explorer.view["top"][0].index
            ('dog', True)
        """
        photo = read_image(image, "image")
        self.photo, self.photo_name = photo, name or (image if isinstance(image, str) else "your photo")
        self.settings["target"] = None
        return self.refresh()

    @checked
    def set_model(self, name: str) -> Choice:
        """Switch to another model and recompute in the worker; the layer and class go back to the defaults.

        Args:
            name: A key of ``IMAGE_MODELS``. One whose weights are neither cached nor downloadable raises
                ``ModelUnavailableError`` and nothing changes.

        Returns:
            A ``Choice``: ``.join()`` returns once the new model's view is drawn.

        Example:
            >>> import xai_helpers as xh
            >>> explorer = xh.explore_image("cat", method="grad_cam", interactive=False)
            >>> explorer.update(layer="_blocks.10").join()
            >>> explorer.set_model("efficientnet_lite0").join()
            >>> explorer.view["model"], explorer.settings["layer"]
            ('efficientnet_lite0', None)
        """
        model = load_image_model(name)
        self.image_model, self.settings["layer"], self.settings["target"] = model, None, None
        return self.refresh()

    def refresh(self) -> Choice:
        """Recompute the current settings in a worker; an older computation still running is superseded.

        Returns:
            A ``Choice``: ``.join()`` waits until the new view is drawn (or a newer change replaced it).

        Example:
            >>> import xai_helpers as xh
            >>> explorer = xh.explore_image("cat", interactive=False)
            >>> explorer.refresh().join()
            >>> explorer.runner.completed, explorer.last_error
            (1, None)
        """
        s, photo, model = dict(self.settings), self.photo, self.image_model
        ui = self.ui
        progress = ui.set_progress if ui else None
        compute = lambda generation: self.compute(s, photo, model, generation, progress)  # noqa: E731
        draw = (lambda view: ui.show_view(self._store(view))) if ui else self._store
        on_error = ui.show_error if ui else (lambda err: None)
        if ui:
            ui.busy(title(s["method"]))
        return self.runner.submit(compute, draw, lambda err: (setattr(self, "last_error", err), on_error(err)))


@checked
def explore_image(image: ImageInput = "cat", model: str | ImageModel | None = None, *, method: str = "grad_cam",
                  target: int | str | None = None, interactive: bool | None = None,
                  **settings: object) -> ImageExplorer:
    """Explore the attribution maps of a photo: widgets in a notebook, a static figure elsewhere (4.2, 4.3, 4.5).

    The explorer shows the photo as the model sees it, the chosen method's map laid over it and the top-5
    prediction; its widgets change the photo (a course photo, or an upload: JPEG, PNG or WebP), the model,
    the class explained, the method (and a second one side by side) and the method's settings. Each change is
    computed in the background; a newer change supersedes an older one still running.

    Args:
        image: A course photo name (``"cat"``), the path of an image file, or a PIL image.
        model: A name from ``IMAGE_MODELS`` or an ``ImageModel``; ``None`` loads the offline course model.
        method: The attribution method shown first, one of ``EXPLORER_METHODS`` (default ``"grad_cam"``).
        target: The class explained: an index or a class name; ``None`` means the top-1 class.
        interactive: ``True`` for widgets, ``False`` for the static figure, ``None`` for widgets inside a
            Jupyter kernel and the static figure elsewhere.
        **settings: Other settings of the first view, as for ``ImageExplorer.update`` (``layer``,
            ``noise_level``, ``n_samples``, ``baseline``, ``n_steps``, ``compare``); the rest keep their defaults.

    Returns:
        The ``ImageExplorer``; as the last expression of a cell it displays itself (widgets, or the figure).

    Raises:
        TypeError: An argument is of the wrong kind (the message names it).
        ValueError: An unknown method, model or class name (the message names the argument).
        FileNotFoundError: There is no photo at ``image``.

    Example:
        >>> import xai_helpers as xh
        >>> explorer = xh.explore_image("cat", method="grad_cam_plus_plus", target="tabby", interactive=False)
        >>> explorer.view["maps"][0][0], explorer.view["label"], explorer.view["top"][0].label
        ('grad_cam_plus_plus', 'tabby', 'Egyptian cat')
    """
    return ImageExplorer(image, model=model, method=method, target=target, interactive=interactive, **settings)
