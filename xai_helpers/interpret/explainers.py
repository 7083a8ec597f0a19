"""Image attribution methods as explainers: ``explain(image_model, x, target) -> 2-D map`` (HxW, on the CPU).

Explainers are what ``evaluation`` scores and what the interpreters draw; the methods are those of
``methods.registry`` (any registered key).
"""
import warnings

from .._validate import resolve_target
from ..methods.integrated import DEFAULT_IG_STEPS, output_difference
from ..methods.registry import PATH, get_method
from ..models.image import ImageModel

__all__ = ["image_explainers", "DEFAULT_EXPLAINERS", "IG_MAX_ERROR"]


#: Largest IG completeness error |delta| / |F(x) - F(baseline)| at which an IG map is read at all.
IG_MAX_ERROR = 0.05

#: The methods the interpreters draw when none are named.
DEFAULT_EXPLAINERS = ("grad_cam", "integrated_gradients", "smoothgrad")


def image_explainers(methods=DEFAULT_EXPLAINERS, n_steps=DEFAULT_IG_STEPS, ig_baseline="black", n_samples=16,
                     noise_level=0.15, batch_size=None):
    """Dict method key -> ``explain(image_model, x, target) -> HxW tensor`` (larger = more important).

    ``methods``: keys of ``methods.registry.METHODS``; each map is the method's result reduced to HxW as the
    registry says. grad_cam: Grad-CAM at the model's ``target_layer``, in [0, 1]. integrated_gradients: IG
    from the ``ig_baseline`` (default a true-black image) with ``n_steps`` Gauss-Legendre points, summed over
    colour channels (signed: positive = evidence for the class); every call appends ``{"target", "steps",
    "relative_error", "score_difference"}`` to ``explainers["integrated_gradients"].completeness`` and warns
    when the completeness error is above ``IG_MAX_ERROR``. smoothgrad: SmoothGrad with ``n_samples`` seeded
    noisy copies (sigma = ``noise_level`` x input range), largest |gradient| over channels (unsigned).
    vanilla_gradients: the plain input gradient, largest |value| over channels. ``batch_size``: images per
    pass for IG and SmoothGrad (None = the package's measured defaults). Cost per map: Grad-CAM 1, IG
    ``n_steps``, SmoothGrad ``n_samples`` forward+backward passes.
    """
    settings = {"n_steps": n_steps, "baseline": ig_baseline, "n_samples": n_samples, "noise_level": noise_level}
    if batch_size is not None:
        settings["batch_size"] = batch_size
    chosen = [get_method(m) for m in methods]
    return {m.name: (_path_explainer if m.kind == PATH else _explainer)(m, settings) for m in chosen}


def _explainer(method, settings):
    def explain(model, x, target):
        return method.map(model, x, target, **settings)[0].cpu()
    explain.__name__ = method.name
    return explain


def _path_explainer(method, settings):
    """A path method's explainer: its signed map; every call records and checks IG's completeness."""
    def explain(model, x, target):
        if isinstance(model, ImageModel):
            target = resolve_target(target, len(model.labels), model.labels)
        heatmap, delta = method.map(model, x, target, **settings)
        used = method.settings(**settings)
        difference = output_difference(model, x, target, baseline=used["baseline"])
        error = abs(delta) / max(abs(difference), 1e-12)
        explain.completeness.append({"target": target, "steps": used["n_steps"], "relative_error": error,
                                     "score_difference": difference})
        if error > IG_MAX_ERROR:
            warnings.warn(f"IG completeness error {error:.1%} at {used['n_steps']} steps (target {target!r}) is "
                          f"above {IG_MAX_ERROR:.0%}: do not read this map; raise n_steps.", UserWarning, stacklevel=2)
        return heatmap.cpu()

    explain.__name__ = method.name
    explain.completeness = []
    return explain
