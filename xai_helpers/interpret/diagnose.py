"""``diagnose_misclassification``: maps for the predicted and the true class, the true class's rank and
probability, and a diagnosis worded from those numbers (nothing pre-written)."""
from dataclasses import dataclass, field

import numpy as np
import torch

from .._validate import check_input, eval_mode, resolve_target
from ..models.image import ImageModel
from ..methods.integrated import DEFAULT_IG_STEPS
from ..viz.plotting import CAM_CMAP, overlay_heatmap, show_map, to_numpy
from ..methods.registry import CAM, get_method, title
from .explainers import IG_MAX_ERROR, image_explainers

__all__ = ["diagnose_misclassification", "MisclassificationReport", "top_region_iou"]


# --- misclassification report -----------------------------------------------------------------------
def top_region_iou(map_a, map_b, fraction=0.2):
    """Intersection over union of the top ``fraction`` of pixels of two maps (same shape)."""
    a, b = to_numpy(map_a).ravel(), to_numpy(map_b).ravel()
    k = max(1, int(round(fraction * a.size)))
    top_a = np.zeros(a.size, bool)
    top_b = np.zeros(b.size, bool)
    top_a[np.argsort(-a, kind="stable")[:k]] = True
    top_b[np.argsort(-b, kind="stable")[:k]] = True
    return float((top_a & top_b).sum() / (top_a | top_b).sum())


@dataclass
class MisclassificationReport:
    """Predicted vs true class of one image, with maps for both and a diagnosis from the numbers."""
    image: np.ndarray
    predictions: list                 # top-k (index, label, probability)
    predicted: tuple                  # (index, label, probability)
    true: tuple                       # (index, label, probability)
    true_rank: int                    # 1 = top-1
    maps_predicted: dict              # method -> HxW map for the predicted class
    maps_true: dict                   # method -> HxW map for the true class
    overlap: dict                     # method -> IoU of the top-20 % regions of the two maps
    diagnosis: list                   # sentences, each derived from a number above
    n_classes: int = 1000
    ig_errors: dict = field(default_factory=dict)  # class label -> IG completeness error (when IG was used)

    @property
    def correct(self):
        return self.predicted[0] == self.true[0]

    def report(self):
        """The report as text (every number comes from this run)."""
        lines = [f"predicted: {self.predicted[1]} ({self.predicted[2]:.1%})",
                 f"true:      {self.true[1]} ({self.true[2]:.1%}), rank {self.true_rank} of "
                 f"{self.n_classes}",
                 "top predictions: " + ", ".join(f"{label} {p:.1%}" for _, label, p in self.predictions)]
        lines += [f"overlap of the top-20 % regions ({title(k)}): IoU {v:.2f}"
                  for k, v in self.overlap.items()]
        lines += [f"IG completeness error for '{label}': {e:.1%}" + ("" if e <= IG_MAX_ERROR else
                  f" (above {IG_MAX_ERROR:.0%}: IG's map and IoU are not read)") for label, e in self.ig_errors.items()]
        lines += ["diagnosis:"] + [f"  - {d}" for d in self.diagnosis]
        return "\n".join(lines)

    def show(self, panel_size=3.0):
        """Figure: row 1 the predicted class's maps, row 2 the true class's maps; returns it.

        When the prediction is correct both rows would be the same maps: then one row is drawn.
        """
        import matplotlib.pyplot as plt
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
            ax.set_title(f"{name}: {info[1]}\np = {info[2]:.1%}" + (f", rank {self.true_rank}" if row else ""),
                         fontsize=9)
            ax.set_xticks([]), ax.set_yticks([])
            for ax, key in zip(axes[row, 1:], methods):
                heading = f"{title(key)}: '{info[1]}'"
                if get_method(key).kind == CAM:   # the white line outlines the top-20 % region that the IoU compares
                    overlay_heatmap(self.image, maps[key], ax=ax, cmap=CAM_CMAP, signed=False, title=heading,
                                    contour=0.8)
                else:
                    show_map(maps[key], ax=ax, signed=bool((maps[key] < 0).any()), title=heading)
        fig.tight_layout()
        return fig


def diagnose_misclassification(image_model, image, true_class, methods=("grad_cam", "integrated_gradients"),
                               top_k=5, n_steps=DEFAULT_IG_STEPS, **explainer_options):
    """Why did the model predict what it did instead of ``true_class``? -> ``MisclassificationReport``.

    ``true_class``: index or full ImageNet class name (any of the model's 1000 labels). Maps are
    computed for the predicted (top-1) and the true class with ``image_explainers(methods, ...)``.
    The diagnosis states facts computed here: the true class's rank and probability, the margin to
    the prediction, and whether both classes are read from the same region (top-20 % IoU). With IG,
    each map's completeness error is reported (``ig_errors``); an IG overlap whose maps have an error
    above ``IG_MAX_ERROR`` is left out of the diagnosis.
    """
    if not isinstance(image_model, ImageModel):
        raise TypeError(f"diagnose_misclassification needs the ImageModel from load_image_model(), got "
                        f"{type(image_model).__name__}.")
    m = image_model
    x = check_input(image, name="image") if isinstance(image, torch.Tensor) else m.preprocess(image)
    true_index = resolve_target(true_class, len(m.labels), m.labels)
    with torch.no_grad(), eval_mode(m.model):
        probs = m.model(x).softmax(-1)[0].cpu()
    order = probs.argsort(descending=True)
    predictions = [(int(i), m.labels[int(i)], float(probs[i])) for i in order[:top_k]]
    predicted = predictions[0]
    true_rank = int((order == true_index).nonzero()[0, 0]) + 1
    true = (true_index, m.labels[true_index], float(probs[true_index]))
    explainers = image_explainers(methods, n_steps=n_steps, **explainer_options)
    maps_pred = {k: to_numpy(f(m, x, predicted[0])) for k, f in explainers.items()}
    maps_true = maps_pred if true_index == predicted[0] else {k: to_numpy(f(m, x, true_index))
                                                             for k, f in explainers.items()}
    overlap = {k: top_region_iou(maps_pred[k], maps_true[k]) for k in methods}
    ig_errors = {}
    if "integrated_gradients" in explainers:
        for record in explainers["integrated_gradients"].completeness:
            ig_errors[m.labels[record["target"]]] = record["relative_error"]
    readable = {k: v for k, v in overlap.items()
                if k != "integrated_gradients" or all(e <= IG_MAX_ERROR for e in ig_errors.values())}
    diagnosis = _diagnose(predicted, true, true_rank, readable, probs)
    report = MisclassificationReport(image=m.to_image(x), predictions=predictions, predicted=predicted, true=true,
                                     true_rank=true_rank, maps_predicted=maps_pred, maps_true=maps_true,
                                     overlap=overlap, diagnosis=diagnosis, n_classes=len(m.labels),
                                     ig_errors=ig_errors)
    return report


def _diagnose(predicted, true, true_rank, overlap, probs):
    """Sentences derived from the computed numbers only."""
    out = []
    if predicted[0] == true[0]:
        out.append(f"Correct: '{true[1]}' is the top-1 class ({true[2]:.1%}).")
    elif true_rank <= 5:
        out.append(f"Near miss: '{true[1]}' is rank {true_rank} ({true[2]:.1%}); '{predicted[1]}' leads by "
                   f"{predicted[2] - true[2]:.1%} points (probability ratio {predicted[2] / max(true[2], 1e-12):.1f}x).")
    else:
        out.append(f"The model barely considers '{true[1]}': rank {true_rank}, probability {true[2]:.2%}.")
    top1 = float(probs.max())
    entropy = float(-(probs * probs.clamp_min(1e-12).log()).sum())
    out.append(f"{'Unsure' if top1 < 0.5 else 'Confident'}: top-1 probability {top1:.1%}, entropy "
               f"{entropy:.2f} nats (uniform over {len(probs)} classes: {np.log(len(probs)):.2f}).")
    if predicted[0] != true[0] and overlap:
        key = "grad_cam" if "grad_cam" in overlap else next(iter(overlap))
        iou = overlap[key]
        name = title(key)
        if iou >= 0.5:
            out.append(f"{name}: both classes are read from the same region (top-20 % IoU {iou:.2f}): the "
                       "model looks at the right place and confuses the two classes there.")
        elif iou <= 0.25:
            out.append(f"{name}: the two classes are read from different regions (top-20 % IoU {iou:.2f}): "
                       f"'{predicted[1]}' rests on another part of the image than '{true[1]}'.")
        else:
            out.append(f"{name}: the regions for the two classes partly overlap (top-20 % IoU {iou:.2f}).")
    return out
