"""Image attribution methods as explainers: ``explain(image_model, x, target) -> 2-D map`` (HxW, on the CPU).

Explainers are what ``evaluation`` scores and what the interpreters draw.
"""
import warnings

from .._validate import resolve_target, renamed
from ..methods.gradients import max_abs_over_channels, smoothgrad, sum_over_channels
from ..methods.integrated import DEFAULT_IG_STEPS
from ..models.image import ImageModel

__all__ = ["image_explainers", "IMAGE_METHODS", "IG_MAX_ERROR"]


#: Largest IG completeness error |delta| / |F(x) - F(baseline)| at which an IG map is read at all.
IG_MAX_ERROR = 0.05


#: Method key -> title used in figures and tables.
IMAGE_METHODS = {"grad_cam": "Grad-CAM", "integrated_gradients": "Integrated Gradients",
                 "smoothgrad": "SmoothGrad", "gradient": "Gradient"}


# --- image methods as explainers: (image_model, x, target) -> 2-D map -------------------------------
@renamed(ig_steps="n_steps", smoothgrad_samples="n_samples")
def image_explainers(methods=("grad_cam", "integrated_gradients", "smoothgrad"), n_steps=DEFAULT_IG_STEPS,
                     ig_baseline="black", n_samples=16, noise_level=0.15, batch_size=None):
    """Dict method key -> ``explain(image_model, x, target) -> HxW tensor`` (larger = more important).

    grad_cam: Grad-CAM at the model's ``target_layer``, in [0, 1]. integrated_gradients: IG from a
    true-black baseline with ``n_steps`` Gauss-Legendre points, summed over colour channels (signed:
    positive = evidence for the class); every call appends ``{"target", "steps", "relative_error",
    "score_difference"}``
    to ``explainers["integrated_gradients"].completeness`` and warns when the completeness error is
    above ``IG_MAX_ERROR``. smoothgrad: SmoothGrad with ``n_samples`` seeded noisy copies
    (sigma = ``noise_level`` x input range), largest |gradient| over channels (unsigned). gradient:
    the plain input gradient, largest |value| over channels. ``batch_size``: images per pass for IG
    and SmoothGrad (None = the package's measured defaults). Cost per map: Grad-CAM 1, IG
    ``n_steps``, SmoothGrad ``n_samples`` forward+backward passes.
    """
    from ..methods.cam import grad_cam
    from ..methods.gradients import vanilla_gradients

    def _grad_cam(model, x, target):
        return grad_cam(model, x, target)

    def _smoothgrad(model, x, target):
        return max_abs_over_channels(smoothgrad(model, x, target, n_samples=n_samples,
                                                noise_level=noise_level, batch_size=batch_size)).cpu()

    def _gradient(model, x, target):
        return max_abs_over_channels(vanilla_gradients(model, x, target)).cpu()

    table = {"grad_cam": _grad_cam, "integrated_gradients": _ig_explainer(ig_baseline, n_steps, batch_size),
             "smoothgrad": _smoothgrad, "gradient": _gradient}
    unknown = [m for m in methods if m not in table]
    if unknown:
        raise ValueError(f"Unknown method(s) {unknown}; choose from {', '.join(table)}.")
    return {m: table[m] for m in methods}


def _ig_explainer(ig_baseline, n_steps, batch_size):
    """The IG explainer of ``image_explainers``: signed map summed over channels; records and checks completeness."""
    from ..methods.integrated import DEFAULT_IG_BATCH, integrated_gradients, output_difference

    def _integrated_gradients(model, x, target):
        if isinstance(model, ImageModel):
            target = resolve_target(target, len(model.labels), model.labels)
        attributions, delta = integrated_gradients(model, x, target, baseline=ig_baseline, n_steps=n_steps,
                                                   batch_size=batch_size or DEFAULT_IG_BATCH)
        difference = output_difference(model, x, target, baseline=ig_baseline)
        error = abs(delta) / max(abs(difference), 1e-12)
        _integrated_gradients.completeness.append({"target": target, "steps": n_steps, "relative_error": error,
                                                   "score_difference": difference})
        if error > IG_MAX_ERROR:
            warnings.warn(f"IG completeness error {error:.1%} at {n_steps} steps (target {target!r}) is above "
                          f"{IG_MAX_ERROR:.0%}: do not read this map; raise n_steps.", UserWarning, stacklevel=2)
        return sum_over_channels(attributions).cpu()

    _integrated_gradients.completeness = []
    return _integrated_gradients
