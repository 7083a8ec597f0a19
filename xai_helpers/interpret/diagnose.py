"""``diagnose_misclassification``: maps for the predicted and the true class, the true class's rank and
probability, and a diagnosis worded from those numbers (nothing pre-written)."""
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from matplotlib.figure import Figure

from .._typecheck import checked
from .._validate import as_float_array, check_count, eval_mode, resolve_target
from ..methods.integrated import DEFAULT_IG_STEPS
from ..methods.registry import CAM, get_method, title
from ..models.image import ImageInput, ImageModel
from ..models.prediction import Prediction
from ..viz.plotting import CAM_CMAP, overlay_heatmap, show_map, to_numpy
from .explainers import IG_MAX_ERROR, image_explainers
from .image import model_input, ranked

__all__ = ["diagnose_misclassification", "MisclassificationReport", "top_region_iou", "CONFIDENT_AT"]

#: The one criterion of the report's "Confident" / "Unsure": the top-1 probability, confident from this value on
#: (at most a fifth of the probability left for all other classes together).
CONFIDENT_AT: float = 0.8

#: What ``top_region_iou`` compares: a map as a tensor (any device with values) or an array.
MapLike = torch.Tensor | np.ndarray


# --- misclassification report -----------------------------------------------------------------------
@checked
def top_region_iou(map_a: MapLike, map_b: MapLike, fraction: float = 0.2) -> float:
    """Intersection over union of the top ``fraction`` of pixels of two maps: do they point at the same region?

    Taught in 4.5, where it compares the maps of the predicted and the true class. Ties are broken by
    position, so the result is deterministic.

    Args:
        map_a: A map of any shape (e.g. HxW).
        map_b: A map of the same shape.
        fraction: The share of pixels each map's top region holds, in (0, 1].

    Returns:
        The IoU in [0, 1]: 1 = the same top region, 0 = disjoint.

    Raises:
        ValueError: The maps differ in shape or hold no values, or ``fraction`` is outside (0, 1].

    Example:
        >>> import numpy as np
        >>> from xai_helpers.interpret import top_region_iou
        >>> a = np.array([[1.0, 0.9], [0.0, 0.1]])
        >>> top_region_iou(a, a, fraction=0.5), top_region_iou(a, 1 - a, fraction=0.5)
        (1.0, 0.0)
    """
    a, b = as_float_array(map_a, "map_a"), as_float_array(map_b, "map_b")
    if a.shape != b.shape or a.size == 0:
        raise ValueError(f"map_a and map_b must be maps of the same shape, with values; got shapes {a.shape} "
                         f"and {b.shape}.")
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction must be in (0, 1] (the share of pixels in the top region), got {fraction!r}.")
    a, b = a.ravel(), b.ravel()
    k = max(1, int(round(fraction * a.size)))
    top_a = np.zeros(a.size, bool)
    top_b = np.zeros(b.size, bool)
    top_a[np.argsort(-a, kind="stable")[:k]] = True
    top_b[np.argsort(-b, kind="stable")[:k]] = True
    return float((top_a & top_b).sum() / (top_a | top_b).sum())


@dataclass
class MisclassificationReport:
    """Predicted vs true class of one image, with maps for both and a diagnosis from the numbers (taught in 4.5).

    ``report()`` prints it as text, ``show()`` draws both classes' maps; ``correct`` says whether the top-1
    class is the true one. ``diagnose_misclassification`` makes it.

    Args:
        image: HxWx3 array in [0, 1]: the pixels the model saw.
        predictions: The top-k classes, most probable first.
        predicted: The top-1 class.
        true: The true class with its probability.
        true_rank: The true class's rank (1 = top-1).
        maps_predicted: Method key -> HxW map for the predicted class.
        maps_true: Method key -> HxW map for the true class.
        overlap: Method key -> IoU of the top-20 % regions of the two maps.
        diagnosis: Sentences, each derived from a number above.
        n_classes: How many classes the model has.
        ig_errors: Class label -> IG completeness error (when IG was used).

    Example:
        >>> import xai_helpers as xh
        >>> report = xh.interpret.diagnose_misclassification(xh.load_image_model(), "grace_hopper",
        ...                                                  "military uniform", methods=("grad_cam",))
        >>> report.predicted.label, report.true.label, report.true_rank, report.correct
        ('academic gown', 'military uniform', 3, False)
    """
    image: np.ndarray
    predictions: list[Prediction]
    predicted: Prediction
    true: Prediction
    true_rank: int
    maps_predicted: dict[str, np.ndarray]
    maps_true: dict[str, np.ndarray]
    overlap: dict[str, float]
    diagnosis: list[str]
    n_classes: int = 1000
    ig_errors: dict[str, float] = field(default_factory=dict)

    @property
    def correct(self) -> bool:
        """Whether the top-1 class is the true class."""
        return self.predicted.index == self.true.index

    def report(self) -> str:
        """The report as text; every number comes from this run.

        Returns:
            Lines: predicted and true class, the top predictions, the overlaps, IG errors and the diagnosis.

        Example:
            >>> import xai_helpers as xh
            >>> report = xh.interpret.diagnose_misclassification(xh.load_image_model(), "cat", "tabby",
            ...                                                  methods=("grad_cam",))
            >>> print(report.report())
            predicted: Egyptian cat (39.3%)
            true:      tabby (...%), rank 3 of 1000
            ...
        """
        lines = [f"predicted: {self.predicted.label} ({self.predicted.probability:.1%})",
                 f"true:      {self.true.label} ({self.true.probability:.1%}), rank {self.true_rank} of "
                 f"{self.n_classes}",
                 "top predictions: " + ", ".join(f"{label} {p:.1%}" for _, label, p in self.predictions)]
        lines += [f"overlap of the top-20 % regions ({title(k)}): IoU {v:.2f}"
                  for k, v in self.overlap.items()]
        lines += [f"IG completeness error for '{label}': {e:.1%}" + ("" if e <= IG_MAX_ERROR else
                  f" (above {IG_MAX_ERROR:.0%}: IG's map and IoU are not read)") for label, e in self.ig_errors.items()]
        lines += ["diagnosis:"] + [f"  - {d}" for d in self.diagnosis]
        return "\n".join(lines)

    @checked
    def show(self, panel_size: float = 3.0) -> Figure:
        """Figure: row 1 the predicted class's maps, row 2 the true class's maps.

        When the prediction is correct both rows would be the same maps: then one row is drawn.

        Args:
            panel_size: Height of a panel in inches.

        Returns:
            The matplotlib figure.

        Example:
            >>> import xai_helpers as xh
            >>> report = xh.interpret.diagnose_misclassification(xh.load_image_model(), "grace_hopper",
            ...                                                  "military uniform", methods=("grad_cam",))
            >>> report.show().axes[0].get_title().splitlines()
            ['predicted: academic gown', 'p = 26.0%']
        """
        import matplotlib.pyplot as plt
        if not panel_size > 0:
            raise ValueError(f"panel_size must be a positive number of inches, got {panel_size!r}.")
        methods = list(self.maps_predicted)
        n = 1 + len(methods)
        rows = [("predicted", self.maps_predicted, self.predicted)]
        if not self.correct:
            rows.append(("true", self.maps_true, self.true))
        fig, axes = plt.subplots(len(rows), n, figsize=(panel_size * n * 1.12, panel_size * len(rows) + 0.5),
                                 squeeze=False)
        for row, (name, maps, info) in enumerate(rows):
            ax = axes[row, 0]
            ax.imshow(self.image)
            name = "predicted = true" if self.correct else name
            ax.set_title(f"{name}: {info.label}\np = {info.probability:.1%}"
                         + (f", rank {self.true_rank}" if row else ""), fontsize=9)
            ax.set_xticks([]), ax.set_yticks([])
            for ax, key in zip(axes[row, 1:], methods):
                heading = f"{title(key)}: '{info.label}'"
                if get_method(key).kind == CAM:   # the white line outlines the top-20 % region that the IoU compares
                    overlay_heatmap(self.image, maps[key], ax=ax, cmap=CAM_CMAP, signed=False, title=heading,
                                    contour=0.8)
                else:
                    show_map(maps[key], ax=ax, signed=bool((maps[key] < 0).any()), title=heading)
        fig.tight_layout()
        return fig


@checked
def diagnose_misclassification(image_model: ImageModel, image: torch.Tensor | ImageInput, true_class: int | str,
                               methods: Sequence[str] = ("grad_cam", "integrated_gradients"), top_k: int = 5,
                               n_steps: int = DEFAULT_IG_STEPS, **explainer_options: Any) -> MisclassificationReport:
    """Why did the model predict what it did instead of ``true_class``? (taught in 4.5).

    Maps are computed for the predicted (top-1) and the true class with ``image_explainers(methods, ...)``.
    The diagnosis states facts computed here: the true class's rank and probability, the margin to the
    prediction, whether the model is sure (one criterion: "Confident" when the top-1 probability is at least
    ``CONFIDENT_AT``, otherwise "Unsure"), and whether both classes are read from the same region (top-20 % IoU). With IG, each map's
    completeness error is reported (``ig_errors``); an IG overlap whose maps have an error above
    ``IG_MAX_ERROR`` is left out of the diagnosis.

    Args:
        image_model: The ``ImageModel`` from ``load_image_model()``.
        image: A course photo name, a path, a PIL image or a normalised 1x3xHxW tensor.
        true_class: The true class: an index or a class name (any of the model's labels).
        methods: Keys of ``methods.registry.METHODS`` to draw and compare.
        top_k: How many predictions the report lists.
        n_steps: IG's quadrature points (when IG is among ``methods``).
        **explainer_options: Further settings of ``image_explainers`` (``ig_baseline``, ``n_samples``, ...).

    Returns:
        A ``MisclassificationReport``; its ``predictions``, ``predicted`` and ``true`` are ``Prediction`` records.

    Raises:
        ValueError: An unknown class name or method, or an image the model cannot read.

    Example:
        >>> import xai_helpers as xh
        >>> report = xh.interpret.diagnose_misclassification(xh.load_image_model(), "grace_hopper",
        ...                                                  "military uniform", methods=("grad_cam",))
        >>> report.true
        Prediction(index=652, label='military uniform', probability=0.12...)
        >>> report.diagnosis[0]
        "Near miss: 'military uniform' is rank 3 (12.9%); 'academic gown' leads by ...% points (...)."
    """
    m = image_model
    explainers = image_explainers(methods, n_steps=n_steps, **explainer_options)
    top_k = check_count(top_k, "top_k")
    x = model_input(m, image)
    true_index = resolve_target(true_class, len(m.labels), m.labels, name="true_class")
    with torch.no_grad(), eval_mode(m.model):
        probs = m.model(x).softmax(-1)[0].cpu()
    predictions = ranked(probs, m.labels, top_k)
    predicted = predictions[0]
    true_rank = int((probs.argsort(descending=True) == true_index).nonzero()[0, 0]) + 1
    true = Prediction(true_index, m.labels[true_index], float(probs[true_index]))
    maps_pred = {k: to_numpy(f(m, x, predicted.index)) for k, f in explainers.items()}
    maps_true = maps_pred if true_index == predicted.index else {k: to_numpy(f(m, x, true_index))
                                                                for k, f in explainers.items()}
    overlap = {k: top_region_iou(maps_pred[k], maps_true[k]) for k in explainers}
    ig_errors = {}
    if "integrated_gradients" in explainers:
        for record in explainers["integrated_gradients"].completeness:
            ig_errors[m.labels[record["target"]]] = record["relative_error"]
    readable = {k: v for k, v in overlap.items()
                if k != "integrated_gradients" or all(e <= IG_MAX_ERROR for e in ig_errors.values())}
    return MisclassificationReport(image=m.to_image(x), predictions=predictions, predicted=predicted, true=true,
                                   true_rank=true_rank, maps_predicted=maps_pred, maps_true=maps_true,
                                   overlap=overlap, diagnosis=_diagnose(predicted, true, true_rank, readable, probs),
                                   n_classes=len(m.labels), ig_errors=ig_errors)


def _diagnose(predicted, true, true_rank, overlap, probs):
    """Sentences derived from the computed numbers only."""
    out = []
    if predicted.index == true.index:
        out.append(f"Correct: '{true.label}' is the top-1 class ({true.probability:.1%}).")
    elif true_rank <= 5:
        lead, ratio = predicted.probability - true.probability, predicted.probability / max(true.probability, 1e-12)
        out.append(f"Near miss: '{true.label}' is rank {true_rank} ({true.probability:.1%}); '{predicted.label}' "
                   f"leads by {lead:.1%} points (probability ratio {ratio:.1f}x).")
    else:
        out.append(f"The model barely considers '{true.label}': rank {true_rank}, "
                   f"probability {true.probability:.2%}.")
    top1, runner_up = (float(p) for p in probs.topk(2).values) if len(probs) > 1 else (float(probs.max()), 0.0)
    word = "Confident" if top1 >= CONFIDENT_AT else "Unsure"
    out.append(f"{word}: top-1 probability {top1:.1%}, runner-up {runner_up:.1%} (the report calls a prediction "
               f"confident when its top-1 probability is at least {CONFIDENT_AT:.0%}).")
    if predicted.index != true.index and overlap:
        key = "grad_cam" if "grad_cam" in overlap else next(iter(overlap))
        iou = overlap[key]
        name = title(key)
        if iou >= 0.5:
            out.append(f"{name}: both classes are read from the same region (top-20 % IoU {iou:.2f}): the "
                       "model looks at the right place and confuses the two classes there.")
        elif iou <= 0.25:
            out.append(f"{name}: the two classes are read from different regions (top-20 % IoU {iou:.2f}): "
                       f"'{predicted.label}' rests on another part of the image than '{true.label}'.")
        else:
            out.append(f"{name}: the regions for the two classes partly overlap (top-20 % IoU {iou:.2f}).")
    return out
