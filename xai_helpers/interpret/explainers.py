"""Image attribution methods as explainers: ``explain(image_model, x, target) -> 2-D map`` (HxW, on the CPU).

Explainers are what ``evaluation`` scores and what the interpreters draw; the methods are those of
``methods.registry`` (any registered key).
"""
import warnings
from collections.abc import Callable, Sequence

import torch

from .. import _memory
from .._typecheck import checked
from .._validate import check_count, resolve_target
from ..methods.integrated import BASELINE_NAMES, DEFAULT_IG_STEPS, output_difference
from ..methods.registry import METHODS, PATH, get_method
from ..models.image import ImageModel

__all__ = ["image_explainers", "DEFAULT_EXPLAINERS", "IG_MAX_ERROR"]


#: Largest IG completeness error |delta| / |F(x) - F(baseline)| at which an IG map is read at all (4.3).
IG_MAX_ERROR: float = 0.05

#: The methods the interpreters draw when none are named: Grad-CAM, Integrated Gradients, SmoothGrad.
DEFAULT_EXPLAINERS: tuple[str, ...] = ("grad_cam", "integrated_gradients", "smoothgrad")

#: An explainer: ``explain(image_model, x, target) -> HxW map`` on the CPU.
Explainer = Callable[[ImageModel, torch.Tensor, int | str], torch.Tensor]


@checked
def image_explainers(methods: Sequence[str] = DEFAULT_EXPLAINERS, n_steps: int = DEFAULT_IG_STEPS,
                     ig_baseline: str | torch.Tensor = "black", n_samples: int = 16, noise_level: float = 0.15,
                     batch_size: int | None = None) -> dict[str, Explainer]:
    """One explainer per method, all with the same settings: what ``evaluation`` scores (taught in 4.5).

    Each map is the method's result reduced to HxW as the registry says. grad_cam: Grad-CAM at the model's
    ``target_layer``, in [0, 1]. integrated_gradients: IG from ``ig_baseline`` with ``n_steps``
    Gauss-Legendre points, summed over colour channels (signed: positive = evidence for the class); every call
    appends ``{"target", "steps", "relative_error", "score_difference"}`` to
    ``explainers["integrated_gradients"].completeness`` and warns when the completeness error is above
    ``IG_MAX_ERROR``. smoothgrad: ``n_samples`` seeded noisy copies, largest |gradient| over channels.
    Cost per map: Grad-CAM 1, IG ``n_steps``, SmoothGrad ``n_samples`` forward+backward passes.

    Args:
        methods: Keys of ``methods.registry.METHODS`` (e.g. ``("grad_cam", "smoothgrad")``).
        n_steps: Quadrature points of Integrated Gradients.
        ig_baseline: IG's baseline: a name (``"black"``, ``"white"``, ``"blur"``, ``"noise"``) or a tensor in
            the model's input space, shaped like the input.
        n_samples: Noisy copies SmoothGrad averages.
        noise_level: SmoothGrad's noise, as a fraction of the input's range (>= 0).
        batch_size: Images per pass for IG and SmoothGrad; ``None`` = the package's measured defaults.

    Returns:
        A dict method key -> ``explain(image_model, x, target) -> HxW tensor`` (larger = more important).

    Raises:
        ValueError: An unknown method or baseline name, or a count below 1.

    Example:
        >>> import xai_helpers as xh
        >>> model = xh.load_image_model()
        >>> explain = xh.interpret.image_explainers(("grad_cam",))["grad_cam"]
        >>> tuple(explain(model, model.preprocess("cat"), "tabby").shape)
        (224, 224)
    """
    for key in methods:
        if key not in METHODS:
            raise ValueError(f"methods: unknown method {key!r}; choose from {', '.join(METHODS)}.")
    if isinstance(ig_baseline, str) and ig_baseline not in BASELINE_NAMES:
        raise ValueError(f"ig_baseline must be one of {', '.join(map(repr, BASELINE_NAMES))} or a tensor, "
                         f"got {ig_baseline!r}.")
    if not noise_level >= 0:
        raise ValueError(f"noise_level must be >= 0 (a fraction of the input's range), got {noise_level!r}.")
    settings = {"n_steps": check_count(n_steps, "n_steps"), "baseline": ig_baseline,
                "n_samples": check_count(n_samples, "n_samples"), "noise_level": float(noise_level)}
    if batch_size is not None:
        settings["batch_size"] = check_count(batch_size, "batch_size")
    chosen = [get_method(m) for m in methods]
    return {m.name: (_path_explainer if m.kind == PATH else _explainer)(m, settings) for m in chosen}


def _explainer(method, settings):
    def explain(model, x, target):
        return method.map(model, x, target, **settings)[0].cpu()
    explain.__name__ = method.name
    return explain


def _path_explainer(method, settings):
    """A path method's explainer: its signed map; every call records and checks IG's completeness."""
    @_memory.releasing()   # the n_steps passes' freed activations go back to the system
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
