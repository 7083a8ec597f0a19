"""``ImageClassifierInterpreter``: top-k predictions plus Grad-CAM, Integrated Gradients and SmoothGrad maps
for one target class, drawn in one figure. It registers no hooks of its own: Grad-CAM's hook lives only
inside each call (``methods.cam.capture_layer``), so any number of interpreters leaves the model as it was.
"""
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from matplotlib.figure import Figure

from .. import _memory
from .._typecheck import checked
from .._validate import check_channels, check_count, check_device, check_input, eval_mode, resolve_target
from ..methods.gradients import sum_over_channels
from ..methods.integrated import DEFAULT_IG_STEPS, integrated_gradients, output_difference
from ..methods.registry import CAM, PATH, get_method, title
from ..models.image import ImageInput, ImageModel
from ..models.prediction import Prediction
from ..viz.plotting import CAM_CMAP, overlay_heatmap, show_map, to_numpy
from .explainers import DEFAULT_EXPLAINERS, IG_MAX_ERROR, image_explainers

__all__ = ["ImageClassifierInterpreter", "ImageInterpretation"]


def model_input(image_model, image):
    """``image`` (a photo, or a normalised 1x3xHxW tensor checked here) -> the model's input on its device."""
    if isinstance(image, torch.Tensor):
        check_device(image, image_model.device, name="image")
        x = check_channels(image_model, check_input(image, name="image"), name="image")
        return x.to(image_model.device)
    return image_model.preprocess(image)


def ranked(probabilities, labels, k):
    """The ``k`` most probable classes of one probability vector, most probable first -> ``Prediction``s."""
    top = probabilities.topk(min(k, len(probabilities)))
    return [Prediction(int(i), labels[int(i)], float(p)) for p, i in zip(top.values, top.indices)]


@dataclass
class ImageInterpretation:
    """What ``ImageClassifierInterpreter.interpret`` found for one image; every number comes from the run (4.5).

    ``show()`` draws the image with its top predictions and one panel per map. Read IG's map only when
    ``ig_reliable`` (its completeness error is at most ``IG_MAX_ERROR``).

    Args:
        image: HxWx3 array in [0, 1]: exactly the pixels the model saw.
        x: The normalised 1x3xHxW input.
        predictions: The top-k classes, most probable first.
        target: The class index the maps explain.
        target_label: That class's name.
        target_probability: That class's softmax probability.
        maps: Method key -> HxW numpy map, in the order asked for.
        ig_delta: IG's convergence delta (sum of attributions - score difference); NaN without IG.
        ig_score_difference: F(x) - F(baseline) of the target logit; NaN without IG.
        n_steps: Quadrature points IG used (0 without IG).
        extras: Room for whatever a lesson adds to the record.

    Example:
        >>> import xai_helpers as xh
        >>> interpreter = xh.ImageClassifierInterpreter(xh.load_image_model())
        >>> result = interpreter.interpret("cat", methods=("grad_cam",))
        >>> result.predictions[0]
        Prediction(index=285, label='Egyptian cat', probability=0.39...)
        >>> result.target_label, list(result.maps), result.maps["grad_cam"].shape
        ('Egyptian cat', ['grad_cam'], (224, 224))
    """
    image: np.ndarray
    x: torch.Tensor
    predictions: list[Prediction]
    target: int
    target_label: str
    target_probability: float
    maps: dict[str, np.ndarray]
    ig_delta: float = float("nan")
    ig_score_difference: float = float("nan")
    n_steps: int = 0
    extras: dict = field(default_factory=dict)

    @property
    def ig_relative_error(self) -> float:
        """|delta| / |F(x) - F(baseline)|: how far IG's attributions are from completeness (NaN without IG)."""
        return abs(self.ig_delta) / max(abs(self.ig_score_difference), 1e-12)

    @property
    def ig_reliable(self) -> bool:
        """True when IG's completeness error is at most ``IG_MAX_ERROR`` (5 %): only then read its map."""
        return bool(self.ig_relative_error <= IG_MAX_ERROR)

    @checked
    def show(self, n_predictions: int = 3, panel_size: float = 3.2) -> Figure:
        """One figure: the image with its top predictions, then one panel per method.

        Args:
            n_predictions: How many predictions the image's title lists.
            panel_size: Height of a panel in inches.

        Returns:
            The matplotlib figure.

        Example:
            >>> import xai_helpers as xh
            >>> interpreter = xh.ImageClassifierInterpreter(xh.load_image_model())
            >>> fig = interpreter.interpret("cat", methods=("grad_cam",)).show()
            >>> len(fig.axes) >= 2
            True
        """
        import matplotlib.pyplot as plt
        n_predictions = check_count(n_predictions, "n_predictions")
        if not panel_size > 0:
            raise ValueError(f"panel_size must be a positive number of inches, got {panel_size!r}.")
        n = 1 + len(self.maps)
        fig, axes = plt.subplots(1, n, figsize=(panel_size * n * 1.12, panel_size + 0.6), squeeze=False)
        axes = axes[0]
        axes[0].imshow(self.image)
        lines = [f"{i + 1}. {label} {p:.1%}" for i, (_, label, p) in enumerate(self.predictions[:n_predictions])]
        axes[0].set_title("\n".join(lines), fontsize=9, loc="left")
        axes[0].set_xticks([]), axes[0].set_yticks([])
        for ax, (key, heat) in zip(axes[1:], self.maps.items()):
            heading, method = f"{title(key)}\n'{self.target_label}'", get_method(key)
            if method.kind == CAM:
                overlay_heatmap(self.image, heat, ax=ax, cmap=CAM_CMAP, signed=False, title=heading)
            elif method.kind == PATH:
                verdict = "" if self.ig_reliable else f" > {IG_MAX_ERROR:.0%}: do not read"
                show_map(heat, ax=ax, signed=True, title=f"{heading} (signed)\ncompleteness error "
                         f"{self.ig_relative_error:.1%}{verdict}")
            else:
                show_map(heat, ax=ax, signed=method.signed, title=heading)
        fig.tight_layout()
        return fig


class ImageClassifierInterpreter:
    """Predictions plus Grad-CAM, Integrated Gradients and SmoothGrad for an ``ImageModel`` (taught in 4.5).

    ``interpret(image)`` returns an ``ImageInterpretation``: the top-k ``Prediction``s and one map per method for
    one target class; every IG result carries its completeness error (``ig_relative_error``, ``ig_reliable``).
    The constructor registers no hooks.

    Args:
        image_model: The ``ImageModel`` from ``load_image_model()`` (it carries preprocessing, class names and
            the Grad-CAM layer).
        n_steps: IG's quadrature points (forward+backward passes per IG map); the default is the package's
            measured ``DEFAULT_IG_STEPS``.
        n_samples: SmoothGrad's noisy copies (passes per SmoothGrad map).
        noise_level: SmoothGrad's noise, as a fraction of the input's range.
        top_k: How many predictions to list.
        ig_baseline: IG's baseline: ``"black"``, ``"white"``, ``"blur"``, ``"noise"`` or a tensor shaped like
            the input.
        batch_size: Images per forward/backward pass for IG and SmoothGrad; ``None`` = the package's defaults.
            It bounds the memory of a map (a pass's activations grow with it), not its values.

    Example:
        >>> import xai_helpers as xh
        >>> xh.ImageClassifierInterpreter(xh.load_image_model(), n_steps=32)
        ImageClassifierInterpreter('efficientnet_lite0', n_steps=32, n_samples=16)
    """

    @checked
    def __init__(self, image_model: ImageModel, n_steps: int = DEFAULT_IG_STEPS, n_samples: int = 16,
                 noise_level: float = 0.15, top_k: int = 5, ig_baseline: str | torch.Tensor = "black",
                 batch_size: int | None = None) -> None:
        image_explainers((), n_steps=n_steps, ig_baseline=ig_baseline, n_samples=n_samples,
                         noise_level=noise_level, batch_size=batch_size)   # checks the values now, not at the first map
        self.image_model, self.top_k = image_model, check_count(top_k, "top_k")
        self.n_steps, self.ig_baseline = n_steps, ig_baseline
        self.n_samples, self.noise_level, self.batch_size = n_samples, noise_level, batch_size

    def __repr__(self):
        return (f"ImageClassifierInterpreter({self.image_model.name!r}, n_steps={self.n_steps}, "
                f"n_samples={self.n_samples})")

    @checked
    @_memory.releasing()   # the passes' freed activations go back to the system: the next call starts as low
    def interpret(self, image: torch.Tensor | ImageInput, target: int | str | None = None,
                  methods: Sequence[str] = DEFAULT_EXPLAINERS) -> ImageInterpretation:
        """Explain one image: its top-k predictions and one map per method for ``target``.

        Args:
            image: A course photo name (``"cat"``), a path, a PIL image or a normalised 1x3xHxW tensor.
            target: The class to explain, an index or a name; None = the top-1 class.
            methods: Keys of ``methods.registry.METHODS``, drawn in this order.

        Returns:
            An ``ImageInterpretation`` (its ``predictions`` are ``Prediction`` records).

        Raises:
            ValueError: An unknown class name or method, or an image the model cannot read.

        Example:
            >>> import xai_helpers as xh
            >>> interpreter = xh.ImageClassifierInterpreter(xh.load_image_model(), n_steps=4)
            >>> result = interpreter.interpret("cat", target="tabby", methods=("grad_cam", "integrated_gradients"))
            >>> result.target, result.target_label, result.n_steps, list(result.maps)
            (281, 'tabby', 4, ['grad_cam', 'integrated_gradients'])
        """
        methods = tuple(methods)
        m = self.image_model
        explainers = image_explainers([k for k in methods if k != "integrated_gradients"],
                                      n_samples=self.n_samples, noise_level=self.noise_level,
                                      batch_size=self.batch_size)
        x = model_input(m, image)
        with torch.no_grad(), eval_mode(m.model):
            probs = m.model(x).softmax(-1)[0].cpu()
        predictions = ranked(probs, m.labels, self.top_k)
        target = predictions[0].index if target is None else resolve_target(target, len(probs), m.labels)
        fast = x.contiguous(memory_format=torch.channels_last)   # the CPU's faster layout for the maps' passes
        maps = {k: to_numpy(explain(m, fast, target)) for k, explain in explainers.items()}
        result = ImageInterpretation(image=m.to_image(x), x=x, predictions=predictions, target=target,
                                     target_label=m.labels[target], target_probability=float(probs[target]),
                                     maps={})
        if "integrated_gradients" in methods:
            ig_batch = {} if self.batch_size is None else {"batch_size": self.batch_size}
            attributions, delta = integrated_gradients(m, fast, target, baseline=self.ig_baseline,
                                                       n_steps=self.n_steps, **ig_batch)
            maps["integrated_gradients"] = to_numpy(sum_over_channels(attributions))
            result.ig_delta, result.n_steps = delta, self.n_steps
            result.ig_score_difference = output_difference(m, x, target, baseline=self.ig_baseline)
        result.maps = {k: maps[k] for k in methods}
        return result

    @checked
    def show(self, result: ImageInterpretation, n_predictions: int = 3, panel_size: float = 3.2) -> Figure:
        """Draw ``result``: the same figure as ``result.show(n_predictions, panel_size)``.

        Args:
            result: What ``interpret`` returned.
            n_predictions: The number of top predictions listed over the image.
            panel_size: Each panel's height, inches.

        Returns:
            The figure ``result.show`` drew.

        Example:
            >>> import xai_helpers as xh
            >>> interpreter = xh.ImageClassifierInterpreter(xh.load_image_model())
            >>> fig = interpreter.show(interpreter.interpret("cat", methods=("grad_cam",)), n_predictions=2)
            >>> fig.axes[0].get_title(loc="left").splitlines()
            ['1. Egyptian cat 39.3%', '2. tiger cat 35.1%']
        """
        return result.show(n_predictions=n_predictions, panel_size=panel_size)
