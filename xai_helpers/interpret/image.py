"""``ImageClassifierInterpreter``: top-k predictions plus Grad-CAM, Integrated Gradients and SmoothGrad maps
for one target class, drawn in one figure. It registers no hooks of its own: Grad-CAM's hook lives only
inside each call (``methods.cam.capture_layer``), so any number of interpreters leaves the model as it was.
"""
from dataclasses import dataclass, field

import numpy as np
import torch

from .._validate import check_input, eval_mode, resolve_target
from ..methods.gradients import sum_over_channels
from ..methods.integrated import DEFAULT_IG_STEPS, integrated_gradients, output_difference
from ..methods.registry import CAM, PATH, get_method, title
from ..models.image import ImageModel
from ..viz.plotting import CAM_CMAP, overlay_heatmap, show_map, to_numpy
from .explainers import DEFAULT_EXPLAINERS, IG_MAX_ERROR, image_explainers

__all__ = ["ImageClassifierInterpreter", "ImageInterpretation"]


@dataclass
class ImageInterpretation:
    """What ``ImageClassifierInterpreter.interpret`` found for one image (all numbers from the run)."""
    image: np.ndarray            # HxWx3 in [0, 1]: exactly the pixels the model saw
    x: torch.Tensor              # the normalised 1x3xHxW input
    predictions: list            # top-k (index, label, probability)
    target: int                  # class the maps explain
    target_label: str
    target_probability: float
    maps: dict                   # method key -> HxW numpy array
    ig_delta: float = float("nan")            # IG convergence delta (sum of attributions - score difference)
    ig_score_difference: float = float("nan")  # F(x) - F(black) for the target logit
    n_steps: int = 0                          # quadrature points used for IG
    extras: dict = field(default_factory=dict)

    @property
    def ig_relative_error(self):
        """|delta| / |F(x) - F(baseline)|: how far IG's attributions are from completeness."""
        return abs(self.ig_delta) / max(abs(self.ig_score_difference), 1e-12)

    @property
    def ig_reliable(self):
        """True when IG's completeness error is at most ``IG_MAX_ERROR`` (5 %): only then read its map."""
        return bool(self.ig_relative_error <= IG_MAX_ERROR)

    def show(self, n_predictions=3, panel_size=3.2):
        """One figure: the image with its top predictions, then one panel per method; returns it."""
        import matplotlib.pyplot as plt
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
    """Predictions plus Grad-CAM, Integrated Gradients and SmoothGrad for an ``ImageModel``.

    ``n_steps``, ``n_samples``: cost knobs (forward+backward passes per map; the IG default
    is the package's measured ``DEFAULT_IG_STEPS``); every IG result carries its completeness error
    (``ig_relative_error``, ``ig_reliable``). ``top_k``: how many predictions to list. No hooks are
    registered by the constructor.
    """

    def __init__(self, image_model, n_steps=DEFAULT_IG_STEPS, n_samples=16, noise_level=0.15, top_k=5,
                 ig_baseline="black"):
        if not isinstance(image_model, ImageModel):
            raise TypeError("ImageClassifierInterpreter needs the ImageModel from load_image_model() (it "
                            f"carries preprocessing, class names and the Grad-CAM layer), got "
                            f"{type(image_model).__name__}.")
        self.image_model, self.top_k = image_model, top_k
        self.n_steps, self.ig_baseline = n_steps, ig_baseline
        self.n_samples, self.noise_level = n_samples, noise_level

    def __repr__(self):
        return (f"ImageClassifierInterpreter({self.image_model.name!r}, n_steps={self.n_steps}, "
                f"n_samples={self.n_samples})")

    def _input(self, image):
        if isinstance(image, torch.Tensor):
            return check_input(image, name="image").to(self.image_model.device)
        return self.image_model.preprocess(image)

    def interpret(self, image, target=None, methods=DEFAULT_EXPLAINERS):
        """Explain one image -> ``ImageInterpretation``.

        ``image``: course photo name, path, PIL image or normalised 1x3xHxW tensor. ``target``: class
        index or name; None = the top-1 class. ``methods``: keys of ``methods.registry.METHODS``.
        """
        methods = tuple(methods)
        m = self.image_model
        x = self._input(image)
        with torch.no_grad(), eval_mode(m.model):
            probs = m.model(x).softmax(-1)[0].cpu()
        top = probs.topk(min(self.top_k, len(probs)))
        predictions = [(int(i), m.labels[int(i)], float(p)) for p, i in zip(top.values, top.indices)]
        target = predictions[0][0] if target is None else resolve_target(target, len(probs), m.labels)
        explainers = image_explainers([k for k in methods if k != "integrated_gradients"] or (),
                                      n_samples=self.n_samples, noise_level=self.noise_level)
        maps = {k: to_numpy(explain(m, x, target)) for k, explain in explainers.items()}
        result = ImageInterpretation(image=m.to_image(x), x=x, predictions=predictions, target=target,
                                     target_label=m.labels[target], target_probability=float(probs[target]),
                                     maps={})
        if "integrated_gradients" in methods:
            attributions, delta = integrated_gradients(m, x, target, baseline=self.ig_baseline,
                                                       n_steps=self.n_steps)
            maps["integrated_gradients"] = to_numpy(sum_over_channels(attributions))
            result.ig_delta, result.n_steps = delta, self.n_steps
            result.ig_score_difference = output_difference(m, x, target, baseline=self.ig_baseline)
        result.maps = {k: maps[k] for k in methods}
        return result

    def show(self, result, n_predictions=3, panel_size=3.2):
        """One figure: the image with its top predictions, then one panel per method (``result.show()``)."""
        return result.show(n_predictions=n_predictions, panel_size=panel_size)


