"""Integrated Gradients with baselines built in pixel space (section 4.3).

IG (Sundararajan et al. 2017, eq. 1) attributes ``F(x) - F(x')`` to the input features:
``IG_i = (x_i - x'_i) * integral_0^1 dF(x' + a (x - x')) / dx_i da``. The integral is replaced by a
quadrature rule (Gauss-Legendre nodes by default, or a Riemann sum), so the attributions sum to the
score difference only up to the *convergence delta*, which this module always reports.
"""
import math

import numpy as np
import torch
import torchvision.transforms.functional as TF

from .._validate import check_channels, check_count, check_input, eval_mode, resolve_target, unwrap_model
from ..models.image import ImageModel

__all__ = ["integrated_gradients", "make_baseline", "output_difference", "quadrature", "BASELINE_NAMES",
           "DEFAULT_IG_STEPS", "DEFAULT_IG_BATCH", "BLUR_SIGMA", "NOISE_DRAWS", "IG_METHODS"]

#: Default number of steps, measured with tools/measure_ig_steps.py on EfficientNet-Lite0 (top-1
#: class, black baseline, Gauss-Legendre): the smallest tried step count whose completeness error
#: |delta| / |F(x) - F(black)| is below 5 % on all nine course photos: at 200 steps the worst is
#: 2.6 % (squirrel; cat 2.4 %), while the cat needs more than 128 (11.7 % at 50, 5.2 % at 128).
#: Captum's default of 50 is not enough for this model. Other models: measure again.
DEFAULT_IG_STEPS = 200
#: Points on the path evaluated per forward/backward pass: bounds memory. Chosen by
#: bench/run.py (bench/RESULTS.md): on 2 CPU cores small batches were the fastest per point.
DEFAULT_IG_BATCH = 4
#: Standard deviation, in pixels of the model's 224-px view, of the "blur" baseline's Gaussian.
BLUR_SIGMA = 10.0
#: Number of seeded uniform-noise images averaged for the "noise" baseline.
NOISE_DRAWS = 4
BASELINE_NAMES = ("black", "white", "blur", "noise")
IG_METHODS = ("gausslegendre", "riemann_right", "riemann_left", "riemann_middle")


def quadrature(method, n_steps):
    """Nodes ``a_k`` in [0, 1] and weights ``w_k`` of a rule for ``integral_0^1 f(a) da ~ sum_k w_k f(a_k)``.

    ``"gausslegendre"``: Gauss-Legendre nodes mapped from [-1, 1] (exact for polynomials of degree
    < 2n); ``"riemann_right"``: a_k = k/n, k = 1..n, the sum written in the source text;
    ``"riemann_left"``, ``"riemann_middle"``: the other Riemann sums. Same nodes as Captum's.
    """
    n = check_count(n_steps, "n_steps", minimum=2)
    if method == "gausslegendre":
        t, w = np.polynomial.legendre.leggauss(n)
        return 0.5 * (t + 1), 0.5 * w
    offsets = {"riemann_right": 1.0, "riemann_left": 0.0, "riemann_middle": 0.5}
    if method not in offsets:
        raise ValueError(f"method={method!r} is not one of {', '.join(map(repr, IG_METHODS))}.")
    return (np.arange(n) + offsets[method]) / n, np.full(n, 1.0 / n)


def make_baseline(image_model, x, name, *, sigma=BLUR_SIGMA, n_draws=NOISE_DRAWS, seed=0):
    """A named IG baseline for input ``x``, built in pixel space and then normalised -> Kx3xHxW.

    ``"black"``/``"white"``: pixels 0 / 1 (in the model's input space these are NOT 0 / 1: a zero
    tensor there is the normalisation's mean colour, a grey); ``"blur"``: ``x``'s own 224-px pixels
    blurred with a Gaussian of ``sigma`` pixels and a kernel of 2*ceil(3 sigma)+1 >= 6 sigma + 1 taps;
    ``"noise"``: ``n_draws`` images of uniform noise in [0, 1], from a generator seeded with ``seed``
    (K = n_draws rows; ``integrated_gradients`` averages over them). Other names: K = 1.
    """
    if not isinstance(image_model, ImageModel):
        raise TypeError(f"Baseline names ({', '.join(BASELINE_NAMES)}) are built in pixel space, which "
                        "needs the normalisation of an ImageModel from load_image_model(); for a plain "
                        "nn.Module pass the baseline as a tensor in the model's input space instead.")
    check_channels(image_model, check_input(x))
    pixels = image_model.denormalize(x.detach())
    if name == "black":
        base = torch.zeros_like(pixels)
    elif name == "white":
        base = torch.ones_like(pixels)
    elif name == "blur":
        if not sigma > 0:
            raise ValueError(f"sigma must be > 0 pixels, got {sigma}.")
        kernel = 2 * math.ceil(3 * sigma) + 1
        if kernel > min(pixels.shape[-2:]):
            raise ValueError(f"sigma={sigma} needs a {kernel}-tap kernel, larger than the "
                             f"{tuple(pixels.shape[-2:])} image; use sigma <= {min(pixels.shape[-2:]) // 6}.")
        base = TF.gaussian_blur(pixels.clamp(0, 1), kernel_size=[kernel, kernel], sigma=[sigma, sigma])
    elif name == "noise":
        n_draws = check_count(n_draws, "n_draws")
        generator = torch.Generator().manual_seed(int(seed))  # CPU generator: same noise on every device
        base = torch.rand((n_draws, *pixels.shape[1:]), generator=generator).to(pixels.device)
    else:
        raise ValueError(f"Unknown baseline {name!r}: use one of {', '.join(map(repr, BASELINE_NAMES))}, "
                         "or pass a tensor in the model's input space.")
    return image_model.normalize(base)


def _baseline_tensor(model, x, baseline):
    if isinstance(baseline, str):
        return make_baseline(model, x, baseline)
    if not isinstance(baseline, torch.Tensor):
        raise TypeError(f"baseline must be a name ({', '.join(BASELINE_NAMES)}) or a tensor in the model's "
                        f"input space, got {type(baseline).__name__}.")
    if baseline.dim() == 3:
        baseline = baseline.unsqueeze(0)
    if baseline.dim() != 4 or baseline.shape[1:] != x.shape[1:]:
        raise ValueError(f"A baseline tensor must be shaped like x {tuple(x.shape)} (or K x {tuple(x.shape[1:])} "
                         f"for K baselines to average); got {tuple(baseline.shape)}.")
    if not torch.isfinite(baseline).all():
        raise ValueError("The baseline contains NaN or infinite values.")
    return baseline.detach().to(device=x.device, dtype=x.dtype)


def _scores(module, points, target):
    with torch.no_grad():
        return module(points)[:, target]


def output_difference(model, x, target, baseline="black"):
    """``F(x) - F(x')`` for the target's logit (averaged over K baselines): what IG's attributions sum to."""
    module, labels = unwrap_model(model)
    check_input(x)
    base = _baseline_tensor(model, x, baseline)
    with eval_mode(module):
        scores = _scores(module, torch.cat([x.detach(), base]), slice(None))
        target = resolve_target(target, scores.shape[1], labels)
        return float(scores[0, target] - scores[1:, target].mean())


def integrated_gradients(model, x, target, baseline="black", n_steps=DEFAULT_IG_STEPS,
                         method="gausslegendre", batch_size=DEFAULT_IG_BATCH):
    """Integrated Gradients -> ``(attributions shaped like x, convergence_delta: float)``.

    ``model``: ``ImageModel`` or ``nn.Module``; ``target``: class index or name (the logit is
    explained); ``baseline``: ``"black"``, ``"white"``, ``"blur"``, ``"noise"`` (built by
    ``make_baseline``, needs an ImageModel) or a tensor in the model's input space, 1xCxHxW or KxCxHxW.
    With K > 1 baselines (``"noise"``) the attributions are the mean of the K IG maps (the
    expected-gradients idea, one full path per baseline) and the delta refers to the mean baseline
    score: ``delta = sum(attributions) - (F(x) - mean_k F(x'_k))``. ``method``: ``"gausslegendre"``
    (default) or ``"riemann_right"``/``"riemann_left"``/``"riemann_middle"``; ``n_steps`` points per
    path, evaluated ``batch_size`` at a time (memory ~ batch size, result unchanged).
    Cost: K * n_steps forward+backward passes plus one forward pass. Attributions are in the
    model's input space; ``delta / output_difference(...)`` is the relative completeness error.
    """
    module, labels = unwrap_model(model)
    check_input(x)
    batch_size = check_count(batch_size, "batch_size")
    alphas, weights = quadrature(method, n_steps)
    base = _baseline_tensor(model, x, baseline)
    x = x.detach()
    # float32 on the CPU first: numpy's float64 must never reach the device (Apple MPS has no float64)
    alphas = torch.from_numpy(np.asarray(alphas, dtype=np.float32)).to(device=x.device, dtype=x.dtype).view(-1, 1, 1, 1)
    weights = torch.from_numpy(np.asarray(weights, dtype=np.float32)).to(device=x.device, dtype=x.dtype).view(-1, 1, 1, 1)
    with eval_mode(module):
        scores = _scores(module, torch.cat([x, base]), slice(None))
        target = resolve_target(target, scores.shape[1], labels)
        total = torch.zeros_like(x)
        for b in base:
            b = b.unsqueeze(0)
            path_gradient = torch.zeros_like(x)  # sum_k w_k dF/dx at x' + a_k (x - x')
            for start in range(0, n_steps, batch_size):
                a, w = alphas[start:start + batch_size], weights[start:start + batch_size]
                points = (b + a * (x - b)).requires_grad_(True)
                with torch.enable_grad():
                    (grad,) = torch.autograd.grad(module(points)[:, target].sum(), points)
                path_gradient += (w * grad).sum(0, keepdim=True)
            total += (x - b) * path_gradient                # eq. 1 of Sundararajan et al., per baseline
        attributions = total / len(base)
    delta = float(attributions.sum() - (scores[0, target] - scores[1:, target].mean()))
    return attributions, delta
