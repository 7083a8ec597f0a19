"""End-to-end interpreters for an image and a text classifier, and misclassification reports (4.5).

* ``ImageClassifierInterpreter``: top-k predictions plus Grad-CAM, Integrated Gradients and
  SmoothGrad maps for one target class, drawn in one figure. It registers no hooks of its own:
  Grad-CAM's hook lives only inside each call (``cam.capture_layer``), so any number of
  interpreters leaves the model as it was.
* ``TextClassifierInterpreter``: Layer Integrated Gradients (Captum) on the classifier's embeddings
  layer, the model run on ``input_ids`` + ``attention_mask``; reference = the same sequence with
  [CLS]/[SEP] kept and every other token replaced by [PAD]. One attribution per token, signed. By
  default it explains the *margin* that decides the prediction (the target's log-odds; with two
  classes, logit(target) - logit(other)), not one logit, and it reports the margin on the reference.
* ``diagnose_misclassification``: maps for the predicted and the true class, the true class's rank
  and probability, and a diagnosis worded from those numbers (nothing pre-written).
"""
import html
import warnings
from dataclasses import dataclass, field

import numpy as np
import torch

from ._checks import check_input, eval_mode, resolve_target
from .gradients import max_abs_over_channels, smoothgrad, sum_over_channels
from .integrated import DEFAULT_IG_STEPS
from .models import ImageModel
from .plotting import CAM_CMAP, SIGNED_CMAP, overlay_heatmap, show_map, to_numpy
from .text import check_text

__all__ = ["ImageClassifierInterpreter", "ImageInterpretation", "image_explainers", "IMAGE_METHODS",
           "TextClassifierInterpreter", "TextInterpretation", "render_tokens_html", "show_token_attributions",
           "captum_text_visualization", "diagnose_misclassification", "MisclassificationReport",
           "top_region_iou", "IG_MAX_ERROR", "TEXT_QUANTITIES"]

#: Largest IG completeness error |delta| / |F(x) - F(baseline)| at which an IG map is read at all.
IG_MAX_ERROR = 0.05
#: What ``TextClassifierInterpreter`` can attribute: the decision margin (log-odds) or one logit.
TEXT_QUANTITIES = ("margin", "logit")

#: Method key -> title used in figures and tables.
IMAGE_METHODS = {"grad_cam": "Grad-CAM", "integrated_gradients": "Integrated Gradients",
                 "smoothgrad": "SmoothGrad", "gradient": "Gradient"}


# --- image methods as explainers: (image_model, x, target) -> 2-D map -------------------------------
def image_explainers(methods=("grad_cam", "integrated_gradients", "smoothgrad"), ig_steps=DEFAULT_IG_STEPS,
                     ig_baseline="black", smoothgrad_samples=16, noise_level=0.15, batch_size=None):
    """Dict method key -> ``explain(image_model, x, target) -> HxW tensor`` (larger = more important).

    grad_cam: Grad-CAM at the model's ``target_layer``, in [0, 1]. integrated_gradients: IG from a
    true-black baseline with ``ig_steps`` Gauss-Legendre points, summed over colour channels (signed:
    positive = evidence for the class); every call appends ``{"target", "steps", "relative_error",
    "score_difference"}``
    to ``explainers["integrated_gradients"].completeness`` and warns when the completeness error is
    above ``IG_MAX_ERROR``. smoothgrad: SmoothGrad with ``smoothgrad_samples`` seeded noisy copies
    (sigma = ``noise_level`` x input range), largest |gradient| over channels (unsigned). gradient:
    the plain input gradient, largest |value| over channels. ``batch_size``: images per pass for IG
    and SmoothGrad (None = the package's measured defaults). Cost per map: Grad-CAM 1, IG
    ``ig_steps``, SmoothGrad ``smoothgrad_samples`` forward+backward passes.
    """
    from .cam import grad_cam
    from .integrated import DEFAULT_IG_BATCH, integrated_gradients, output_difference
    from .gradients import vanilla_gradients

    def _grad_cam(model, x, target):
        return grad_cam(model, None, x, target)

    def _integrated_gradients(model, x, target):
        if isinstance(model, ImageModel):
            target = resolve_target(target, len(model.labels), model.labels)
        attributions, delta = integrated_gradients(model, x, target, baseline=ig_baseline, n_steps=ig_steps,
                                                   internal_batch_size=batch_size or DEFAULT_IG_BATCH)
        difference = output_difference(model, x, target, baseline=ig_baseline)
        error = abs(delta) / max(abs(difference), 1e-12)
        _integrated_gradients.completeness.append({"target": target, "steps": ig_steps, "relative_error": error,
                                                   "score_difference": difference})
        if error > IG_MAX_ERROR:
            warnings.warn(f"IG completeness error {error:.1%} at {ig_steps} steps (target {target!r}) is above "
                          f"{IG_MAX_ERROR:.0%}: do not read this map; raise ig_steps.", UserWarning, stacklevel=2)
        return sum_over_channels(attributions).cpu()

    _integrated_gradients.completeness = []

    def _smoothgrad(model, x, target):
        return max_abs_over_channels(smoothgrad(model, x, target, n_samples=smoothgrad_samples,
                                                noise_level=noise_level, batch_size=batch_size)).cpu()

    def _gradient(model, x, target):
        return max_abs_over_channels(vanilla_gradients(model, x, target)).cpu()

    table = {"grad_cam": _grad_cam, "integrated_gradients": _integrated_gradients,
             "smoothgrad": _smoothgrad, "gradient": _gradient}
    unknown = [m for m in methods if m not in table]
    if unknown:
        raise ValueError(f"Unknown method(s) {unknown}; choose from {', '.join(table)}.")
    return {m: table[m] for m in methods}


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
    ig_steps: int = 0                         # quadrature points used for IG
    extras: dict = field(default_factory=dict)

    @property
    def ig_relative_error(self):
        """|delta| / |F(x) - F(baseline)|: how far IG's attributions are from completeness."""
        return abs(self.ig_delta) / max(abs(self.ig_score_difference), 1e-12)

    @property
    def ig_reliable(self):
        """True when IG's completeness error is at most ``IG_MAX_ERROR`` (5 %): only then read its map."""
        return bool(self.ig_relative_error <= IG_MAX_ERROR)


class ImageClassifierInterpreter:
    """Predictions plus Grad-CAM, Integrated Gradients and SmoothGrad for an ``ImageModel``.

    ``ig_steps``, ``smoothgrad_samples``: cost knobs (forward+backward passes per map; the IG default
    is the package's measured ``DEFAULT_IG_STEPS``); every IG result carries its completeness error
    (``ig_relative_error``, ``ig_reliable``). ``top_k``: how many predictions to list. No hooks are
    registered by the constructor.
    """

    def __init__(self, image_model, ig_steps=DEFAULT_IG_STEPS, smoothgrad_samples=16, noise_level=0.15, top_k=5,
                 ig_baseline="black"):
        if not isinstance(image_model, ImageModel):
            raise TypeError("ImageClassifierInterpreter needs the ImageModel from load_image_model() (it "
                            f"carries preprocessing, class names and the Grad-CAM layer), got "
                            f"{type(image_model).__name__}.")
        self.image_model, self.top_k = image_model, top_k
        self.ig_steps, self.ig_baseline = ig_steps, ig_baseline
        self.smoothgrad_samples, self.noise_level = smoothgrad_samples, noise_level

    def __repr__(self):
        return (f"ImageClassifierInterpreter({self.image_model.name!r}, ig_steps={self.ig_steps}, "
                f"smoothgrad_samples={self.smoothgrad_samples})")

    def _input(self, image):
        if isinstance(image, torch.Tensor):
            return check_input(image, name="image").to(self.image_model.device)
        return self.image_model.preprocess(image)

    def interpret(self, image, target=None, methods=("grad_cam", "integrated_gradients", "smoothgrad")):
        """Explain one image -> ``ImageInterpretation``.

        ``image``: course photo name, path, PIL image or normalised 1x3xHxW tensor. ``target``: class
        index or name; None = the top-1 class. ``methods``: any of ``IMAGE_METHODS``' keys.
        """
        from .integrated import integrated_gradients, output_difference
        methods = tuple(methods)
        m = self.image_model
        x = self._input(image)
        with torch.no_grad(), eval_mode(m.model):
            probs = m.model(x).softmax(-1)[0].cpu()
        top = probs.topk(min(self.top_k, len(probs)))
        predictions = [(int(i), m.labels[int(i)], float(p)) for p, i in zip(top.values, top.indices)]
        target = predictions[0][0] if target is None else resolve_target(target, len(probs), m.labels)
        explainers = image_explainers([k for k in methods if k != "integrated_gradients"] or (),
                                      smoothgrad_samples=self.smoothgrad_samples, noise_level=self.noise_level)
        maps = {k: to_numpy(explain(m, x, target)) for k, explain in explainers.items()}
        result = ImageInterpretation(image=m.to_image(x), x=x, predictions=predictions, target=target,
                                     target_label=m.labels[target], target_probability=float(probs[target]),
                                     maps={})
        if "integrated_gradients" in methods:
            attributions, delta = integrated_gradients(m, x, target, baseline=self.ig_baseline,
                                                       n_steps=self.ig_steps)
            maps["integrated_gradients"] = to_numpy(sum_over_channels(attributions))
            result.ig_delta, result.ig_steps = delta, self.ig_steps
            result.ig_score_difference = output_difference(m, x, target, baseline=self.ig_baseline)
        result.maps = {k: maps[k] for k in methods}
        return result

    def show(self, result, n_predictions=3, panel_size=3.2):
        """One figure: the image with its top predictions, then one panel per method; returns it."""
        import matplotlib.pyplot as plt
        n = 1 + len(result.maps)
        fig, axes = plt.subplots(1, n, figsize=(panel_size * n * 1.12, panel_size + 0.6), squeeze=False)
        axes = axes[0]
        axes[0].imshow(result.image)
        lines = [f"{i + 1}. {label} {p:.1%}" for i, (_, label, p) in enumerate(result.predictions[:n_predictions])]
        axes[0].set_title("\n".join(lines), fontsize=9, loc="left")
        axes[0].set_xticks([]), axes[0].set_yticks([])
        for ax, (key, heat) in zip(axes[1:], result.maps.items()):
            title = f"{IMAGE_METHODS.get(key, key)}\n'{result.target_label}'"
            if key == "grad_cam":
                overlay_heatmap(result.image, heat, ax=ax, cmap=CAM_CMAP, signed=False, title=title)
            elif key == "integrated_gradients":
                verdict = "" if result.ig_reliable else f" > {IG_MAX_ERROR:.0%}: do not read"
                show_map(heat, ax=ax, signed=True, title=f"{title} (signed)\ncompleteness error "
                         f"{result.ig_relative_error:.1%}{verdict}")
            else:
                show_map(heat, ax=ax, signed=False, title=title)
        fig.tight_layout()
        return fig


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
        lines += [f"overlap of the top-20 % regions ({IMAGE_METHODS.get(k, k)}): IoU {v:.2f}"
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
                title = f"{IMAGE_METHODS.get(key, key)}: '{info[1]}'"
                if key == "grad_cam":   # the white line outlines the top-20 % region that the IoU compares
                    overlay_heatmap(self.image, maps[key], ax=ax, cmap=CAM_CMAP, signed=False, title=title, contour=0.8)
                else:
                    show_map(maps[key], ax=ax, signed=bool((maps[key] < 0).any()), title=title)
        fig.tight_layout()
        return fig


def diagnose_misclassification(image_model, image, true_class, methods=("grad_cam", "integrated_gradients"),
                               top_k=5, ig_steps=DEFAULT_IG_STEPS, **explainer_options):
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
    explainers = image_explainers(methods, ig_steps=ig_steps, **explainer_options)
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
        name = IMAGE_METHODS.get(key, key)
        if iou >= 0.5:
            out.append(f"{name}: both classes are read from the same region (top-20 % IoU {iou:.2f}): the "
                       "model looks at the right place and confuses the two classes there.")
        elif iou <= 0.25:
            out.append(f"{name}: the two classes are read from different regions (top-20 % IoU {iou:.2f}): "
                       f"'{predicted[1]}' rests on another part of the image than '{true[1]}'.")
        else:
            out.append(f"{name}: the regions for the two classes partly overlap (top-20 % IoU {iou:.2f}).")
    return out


# --- text ---------------------------------------------------------------------------------------------
@dataclass
class TextInterpretation:
    """One attribution per token (Layer Integrated Gradients on the embeddings layer).

    The attributions explain ``quantity`` for ``target``: ``"margin"`` = the target's log-odds
    ``log p / (1 - p)`` (with two classes exactly logit(target) - logit(other), the number whose sign
    decides the prediction), or ``"logit"`` = the target's logit alone. They sum to
    ``text_score - reference_score`` (up to ``delta``): relative to the reference, not to 0.
    """
    text: str
    tokens: list                 # every token, [CLS] and [SEP] included
    attributions: np.ndarray     # one signed number per token; they sum to score_difference (+ delta)
    prediction: tuple            # (label, probability) of the top class
    target: int
    target_label: str
    probabilities: dict          # label -> probability
    delta: float                 # convergence delta: sum(attributions) - (F(x) - F(reference))
    score_difference: float      # F(text) - F(reference) of the explained quantity
    reference_tokens: list
    quantity: str = "margin"     # what F is: "margin" (log-odds of the target) or "logit"
    text_score: float = float("nan")       # F(text)
    reference_score: float = float("nan")  # F(reference): where the attributions start from

    @property
    def relative_error(self):
        return abs(self.delta) / max(abs(self.score_difference), 1e-12)

    def _repr_html_(self):
        return render_tokens_html(self.tokens, self.attributions, title=self.title())

    def title(self):
        what = "margin (log-odds)" if self.quantity == "margin" else "logit"
        return (f"prediction: {self.prediction[0]} ({self.prediction[1]:.1%}) · attributions of the {what} of "
                f"'{self.target_label}': text {self.text_score:+.2f}, reference {self.reference_score:+.2f}, "
                f"sum {self.attributions.sum():+.2f} (delta {self.delta:+.1e})")


def _log_odds(logits, target):
    """log p_target / (1 - p_target) from logits: logit(target) - logsumexp(other logits)."""
    others = torch.cat([logits[:, :target], logits[:, target + 1:]], dim=1)
    return logits[:, target] - torch.logsumexp(others, dim=1)


class TextClassifierInterpreter:
    """Token attributions for a ``TextClassifier`` (``load_text_classifier()``) with Layer IG.

    The model is run on ``input_ids`` and ``attention_mask`` exactly as in prediction; Captum's
    ``LayerIntegratedGradients`` interpolates the output of ``classifier.embeddings`` between the
    reference sequence ([CLS]/[SEP] kept, all other tokens -> [PAD]) and the text. ``n_steps``
    Gauss-Legendre points (Captum's default rule). ``explain``: ``"margin"`` (default) attributes the
    target's log-odds, i.e. with two classes logit(target) - logit(other), the quantity whose sign is
    the decision; ``"logit"`` attributes the target's logit alone (it also moves with whatever raises
    both logits together, which changes no prediction).
    """

    def __init__(self, classifier, n_steps=50, internal_batch_size=None, explain="margin"):
        for attr in ("model", "tokenizer", "labels", "embeddings"):
            if not hasattr(classifier, attr):
                raise TypeError(f"TextClassifierInterpreter needs a classifier from load_text_classifier() "
                                f"(with .model, .tokenizer, .labels, .embeddings); {type(classifier).__name__} "
                                f"has no .{attr}.")
        if explain not in TEXT_QUANTITIES:
            raise ValueError(f"explain must be 'margin' (the log-odds that decide the prediction) or 'logit', "
                             f"got {explain!r}.")
        self.classifier, self.n_steps, self.internal_batch_size = classifier, n_steps, internal_batch_size
        self.explain = explain

    def reference_ids(self, input_ids):
        """The LIG reference: special tokens ([CLS], [SEP], [PAD]) kept, every other token -> [PAD]."""
        tok = self.classifier.tokenizer
        special = torch.tensor(tok.get_special_tokens_mask(input_ids[0].tolist(), already_has_special_tokens=True),
                               dtype=torch.bool, device=input_ids.device)
        return torch.where(special, input_ids, torch.full_like(input_ids, tok.pad_token_id))

    def _score(self, logits, target):
        return _log_odds(logits, target) if self.explain == "margin" else logits[:, target]

    def interpret(self, text, target=None):
        """Explain one text -> ``TextInterpretation`` (tokens, one attribution each, prediction, delta)."""
        from captum.attr import LayerIntegratedGradients
        clf = self.classifier
        enc = clf.encode([check_text(text)])  # a text that is too long is truncated with a warning
        input_ids, attention_mask = enc["input_ids"], enc["attention_mask"]
        reference = self.reference_ids(input_ids)
        with torch.no_grad():
            logits = clf.model(torch.cat([input_ids, reference]), attention_mask.repeat(2, 1))
        probs = logits[0].softmax(-1).cpu()
        best = int(probs.argmax())
        target = best if target is None else resolve_target(target, len(clf.labels), clf.labels)
        scores = self._score(logits, target).cpu()

        def forward(ids, mask):
            return self._score(clf.model(ids, mask), target)

        lig = LayerIntegratedGradients(forward, clf.embeddings)
        attributions, delta = lig.attribute(inputs=input_ids, baselines=reference,
                                            additional_forward_args=(attention_mask,),
                                            n_steps=self.n_steps, internal_batch_size=self.internal_batch_size,
                                            return_convergence_delta=True)
        per_token = attributions.sum(-1)[0].detach().cpu().numpy()
        convert = clf.tokenizer.convert_ids_to_tokens
        return TextInterpretation(
            text=text, tokens=convert(input_ids[0].tolist()), attributions=per_token,
            prediction=(clf.labels[best], float(probs[best])), target=target, target_label=clf.labels[target],
            probabilities={label: float(p) for label, p in zip(clf.labels, probs)}, delta=float(delta),
            score_difference=float(scores[0] - scores[1]), reference_tokens=convert(reference[0].tolist()),
            quantity=self.explain, text_score=float(scores[0]), reference_score=float(scores[1]))

    def show(self, result, ax=None):
        """Draw the tokens coloured by attribution (matplotlib); returns the figure."""
        return show_token_attributions(result, ax=ax)


def _token_colour(value, scale):
    """Diverging colour centred at 0: red = for the target class, blue = against, white = 0."""
    import matplotlib
    cmap = matplotlib.colormaps[SIGNED_CMAP]
    # the outer 15 % of the palette is too dark for black text: use 0.5 +- 0.35
    return cmap(0.5 + 0.35 * float(np.clip(value / scale, -1, 1)) if scale > 0 else 0.5)


def render_tokens_html(tokens, attributions, title=None):
    """HTML: every token on a diverging background centred at 0 (scale = max |attribution|), escaped.

    Tokens are HTML-escaped, so a token such as ``<script>`` is shown as text, never run.
    """
    import matplotlib.colors as mcolors
    values = to_numpy(attributions).ravel()
    if len(tokens) != len(values):
        raise ValueError(f"{len(tokens)} tokens but {len(values)} attributions.")
    scale = float(np.abs(values).max()) if len(values) else 0.0
    spans = []
    for token, value in zip(tokens, values):
        colour = mcolors.to_hex(_token_colour(value, scale))
        spans.append(f'<span title="{value:+.4f}" style="background-color:{colour}; color:black; padding:1px 3px; '
                     f'margin:1px; border-radius:3px; display:inline-block; font-family:monospace">'
                     f"{html.escape(str(token))}</span>")
    head = f"<div style='font-size:90%'>{html.escape(title)}</div>" if title else ""
    legend = (f"<div style='font-size:80%'>colour scale: ±{scale:.3g} (red = for the class, blue = against, "
              "white = 0)</div>")
    return f"<div>{head}<div style='line-height:2'>{' '.join(spans)}</div>{legend}</div>"


def show_token_attributions(result, ax=None, max_chars_per_line=70):
    """Matplotlib drawing of a ``TextInterpretation``: every token, wrapped over lines, diverging colours."""
    import matplotlib.pyplot as plt
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize
    tokens, values = result.tokens, np.asarray(result.attributions, dtype=float)
    scale = float(np.abs(values).max()) or 1.0
    lines, current, width = [], [], 0
    for token, value in zip(tokens, values):
        if current and width + len(token) + 1 > max_chars_per_line:
            lines.append(current)
            current, width = [], 0
        current.append((token, value))
        width += len(token) + 1
    if current:
        lines.append(current)
    if ax is None:
        fig, ax = plt.subplots(figsize=(min(12, 0.13 * max_chars_per_line + 2), 0.55 * len(lines) + 1.3))
    fig = ax.figure
    ax.set_xlim(0, max_chars_per_line + 2)
    ax.set_ylim(len(lines) + 0.3, -0.6)
    ax.axis("off")
    for row, line in enumerate(lines):
        x = 0.5
        for token, value in line:
            ax.text(x, row, token, fontsize=11, family="monospace", va="center",
                    bbox=dict(boxstyle="round,pad=0.25", facecolor=_token_colour(value, scale), edgecolor="0.8"))
            x += len(token) + 1.2
    ax.set_title(_wrap(result.title(), 110), fontsize=9)
    what = "margin" if getattr(result, "quantity", "logit") == "margin" else "logit"
    fig.colorbar(ScalarMappable(norm=Normalize(-scale, scale), cmap=SIGNED_CMAP), ax=ax, orientation="horizontal",
                 fraction=0.08, pad=0.02, aspect=40, label=f"attribution to the {what} of '{result.target_label}' "
                 "(red = for, blue = against, white = 0)")
    return fig


def _wrap(text, width):
    import textwrap
    return "\n".join(textwrap.wrap(text, width))


def captum_text_visualization(results, true_labels=None):
    """Captum's ``visualize_text`` table for several ``TextInterpretation`` -> IPython HTML.

    Tokens are HTML-escaped first (Captum inserts them verbatim) and attributions are divided by
    their max |value|, so Captum's green/red scale is centred at 0 and no token is dropped.
    """
    from captum.attr import visualization as viz
    records = []
    for i, r in enumerate(results):
        scale = float(np.abs(r.attributions).max()) or 1.0
        true = true_labels[i] if true_labels is not None else "?"
        records.append(viz.VisualizationDataRecord(
            torch.tensor(r.attributions / scale), r.prediction[1], html.escape(r.prediction[0]),
            html.escape(str(true)), html.escape(r.target_label), float(r.attributions.sum()),
            [html.escape(t) for t in r.tokens], r.delta))
    return viz.visualize_text(records)
