"""Integrated Gradients with baselines built in pixel space (section 4.3).

IG (Sundararajan et al. 2017, eq. 1) attributes ``F(x) - F(x')`` to the input features:
``IG_i = (x_i - x'_i) * integral_0^1 dF(x' + a (x - x')) / dx_i da``. The integral is replaced by a
quadrature rule (Gauss-Legendre nodes by default, or a Riemann sum), so the attributions sum to the
score difference only up to the *convergence delta*, which this module always reports.
"""
import math

import numpy as np
import torch

from .._typecheck import checked
from .._validate import (check_channels, check_count, check_device, check_input, eval_mode, module_and_input,
                         resolve_target)
from ..models.image import ImageModel
from .kinds import LoadedImageModel, Model, Target

__all__ = ["integrated_gradients", "step_convergence", "make_baseline", "output_difference", "quadrature", "BASELINE_NAMES",
           "DEFAULT_IG_STEPS", "DEFAULT_IG_BATCH", "BLUR_SIGMA", "NOISE_DRAWS", "IG_METHODS"]

#: Default number of points per path of ``integrated_gradients``, measured with tools/measure_ig_steps.py on EfficientNet-Lite0 (top-1
#: class, black baseline, Gauss-Legendre): the smallest tried step count whose completeness error
#: |delta| / |F(x) - F(black)| is below 5 % on all nine course photos: at 200 steps the worst is
#: 2.6 % (squirrel; cat 2.4 %), while the cat needs more than 128 (11.7 % at 50, 5.2 % at 128).
#: Captum's default of 50 is not enough for this model. Other models: measure again.
DEFAULT_IG_STEPS: int = 200
#: Points on the path evaluated per forward/backward pass: bounds memory. Chosen by
#: bench/run.py (bench/RESULTS.md): on 2 CPU cores small batches were the fastest per point.
DEFAULT_IG_BATCH: int = 4
#: Standard deviation, in pixels of the model's 224-px view, of the "blur" baseline's Gaussian.
BLUR_SIGMA: float = 10.0
#: Number of seeded uniform-noise images averaged for the "noise" baseline.
NOISE_DRAWS = 4
#: The baselines ``make_baseline`` builds by name (taught in 4.3).
BASELINE_NAMES: tuple[str, ...] = ("black", "white", "blur", "noise")
IG_METHODS = ("gausslegendre", "riemann_right", "riemann_left", "riemann_middle")


@checked
def quadrature(method: str, n_steps: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes ``a_k`` in [0, 1] and weights ``w_k`` of a rule for ``integral_0^1 f(a) da ~ sum_k w_k f(a_k)`` (4.3).

    ``"gausslegendre"``: Gauss-Legendre nodes mapped from [-1, 1] (exact for polynomials of degree
    < 2n); ``"riemann_right"``: a_k = k/n, k = 1..n, the sum written in the source text;
    ``"riemann_left"``, ``"riemann_middle"``: the other Riemann sums. Same nodes as Captum's.

    Args:
        method: One of ``IG_METHODS``: ``"gausslegendre"``, ``"riemann_right"``, ``"riemann_left"`` or
            ``"riemann_middle"``.
        n_steps: The number of nodes (an integer >= 2).

    Returns:
        ``(nodes, weights)``, two float arrays of length ``n_steps``; the weights sum to 1.

    Example:
        >>> import xai_helpers as xh
        >>> nodes, weights = xh.methods.quadrature("riemann_right", 4)
        >>> nodes.tolist(), weights.tolist()
        ([0.25, 0.5, 0.75, 1.0], [0.25, 0.25, 0.25, 0.25])
    """
    n = check_count(n_steps, "n_steps", minimum=2)
    if method == "gausslegendre":
        t, w = np.polynomial.legendre.leggauss(n)
        return 0.5 * (t + 1), 0.5 * w
    offsets = {"riemann_right": 1.0, "riemann_left": 0.0, "riemann_middle": 0.5}
    if method not in offsets:
        raise ValueError(f"method={method!r} is not one of {', '.join(map(repr, IG_METHODS))}.")
    return (np.arange(n) + offsets[method]) / n, np.full(n, 1.0 / n)


@checked
def make_baseline(image_model: LoadedImageModel, x: torch.Tensor, name: str, *, sigma: float = BLUR_SIGMA,
                  n_draws: int = NOISE_DRAWS, seed: int = 0) -> torch.Tensor:
    """A named IG baseline for input ``x``, built in pixel space and then normalised -> Kx3xHxW; taught in 4.3.

    ``"black"``/``"white"``: pixels 0 / 1 (in the model's input space these are NOT 0 / 1: a zero
    tensor there is the normalisation's mean colour, a grey); ``"blur"``: ``x``'s own 224-px pixels
    blurred with a Gaussian of ``sigma`` pixels and a kernel of 2*ceil(3 sigma)+1 >= 6 sigma + 1 taps;
    ``"noise"``: ``n_draws`` images of uniform noise in [0, 1], from a generator seeded with ``seed``
    (K = n_draws rows; ``integrated_gradients`` averages over them). Other names: K = 1.

    Args:
        image_model: The ``ImageModel`` whose normalisation maps pixels to its input space.
        x: The input being explained, 1x3xHxW, normalised (``image_model.preprocess(photo)``).
        name: One of ``BASELINE_NAMES``: ``"black"``, ``"white"``, ``"blur"`` or ``"noise"``.
        sigma: The blur's standard deviation in pixels (``"blur"`` only; > 0).
        n_draws: How many noise images (``"noise"`` only; a positive integer).
        seed: Seed of the noise generator (``"noise"`` only).

    Returns:
        The baseline in the model's input space, Kx3xHxW on ``x``'s device.

    Example:
        >>> import xai_helpers as xh
        >>> model = xh.load_image_model()
        >>> x = model.preprocess("cat")
        >>> black = xh.methods.make_baseline(model, x, "black")
        >>> tuple(black.shape), float(model.denormalize(black).abs().max()) < 1e-6    # pixels 0, not tensor 0
        ((1, 3, 224, 224), True)
        >>> tuple(xh.methods.make_baseline(model, x, "noise", n_draws=2).shape)
        (2, 3, 224, 224)
    """
    check_device(x, image_model.device, name="x")
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
        import torchvision.transforms.functional as TF  # torchvision pulls in torch._dynamo, ~170 MB: load it when used
        base = TF.gaussian_blur(pixels.clamp(0, 1), kernel_size=[kernel, kernel], sigma=[sigma, sigma])
    elif name == "noise":
        n_draws = check_count(n_draws, "n_draws")
        generator = torch.Generator().manual_seed(int(seed))  # CPU generator: same noise on every device
        base = torch.rand((n_draws, *pixels.shape[1:]), generator=generator).to(pixels.device)
    else:
        raise ValueError(f"Unknown baseline name {name!r}: use one of {', '.join(map(repr, BASELINE_NAMES))}, "
                         "or pass a tensor in the model's input space.")
    return image_model.normalize(base)


def _baseline_tensor(model, x, baseline):
    if isinstance(baseline, str):
        if not isinstance(model, ImageModel):
            raise TypeError(f"baseline={baseline!r}: baseline names ({', '.join(BASELINE_NAMES)}) are built in "
                            "pixel space, which needs the normalisation of an ImageModel from load_image_model(); "
                            "for a plain nn.Module pass the baseline as a tensor in the model's input space instead.")
        return make_baseline(model, x, baseline)
    if not isinstance(baseline, torch.Tensor):
        raise TypeError(f"baseline must be a name ({', '.join(BASELINE_NAMES)}) or a tensor in the model's "
                        f"input space, got {type(baseline).__name__}.")
    if baseline.dim() == 3:
        baseline = baseline.unsqueeze(0)
    if baseline.dim() != 4 or baseline.shape[1:] != x.shape[1:]:
        raise ValueError(f"A baseline tensor must be shaped like x {tuple(x.shape)} (or K x {tuple(x.shape[1:])} "
                         f"for K baselines to average); got {tuple(baseline.shape)}.")
    check_device(baseline, x.device, name="baseline")
    if not torch.isfinite(baseline).all():
        raise ValueError("The baseline contains NaN or infinite values.")
    return baseline.detach().to(device=x.device, dtype=x.dtype)


def _scores(module, points, target):
    with torch.no_grad():
        return module(points)[:, target]


@checked
def output_difference(model: Model, x: torch.Tensor, target: Target, baseline: str | torch.Tensor = "black") -> float:
    """``F(x) - F(x')`` for the target's logit (averaged over K baselines): what IG's attributions sum to (4.3).

    Args:
        model: An ``ImageModel`` or a plain ``nn.Module`` returning class scores (logits).
        x: One normalised input 1xCxHxW on the model's device.
        target: The class whose logit is compared: an index, a class name or a one-element tensor.
        baseline: A name of ``BASELINE_NAMES`` (needs an ``ImageModel``) or a tensor 1xCxHxW / KxCxHxW in the
            model's input space.

    Returns:
        The score difference as a float.

    Example:
        >>> import torch
        >>> import xai_helpers as xh
        >>> total = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 1, bias=False)).eval()
        >>> torch.nn.init.ones_(total[1].weight)                       # the score is the sum of the inputs
        Parameter containing:
        tensor([[1., 1., 1., 1.]], requires_grad=True)
        >>> xh.methods.output_difference(total, torch.ones(1, 1, 2, 2), 0, baseline=torch.zeros(1, 1, 2, 2))
        4.0
    """
    module, labels, x = module_and_input(model, x)
    base = _baseline_tensor(model, x, baseline)
    with eval_mode(module):
        scores = _scores(module, torch.cat([x.detach(), base]), slice(None))
        target = resolve_target(target, scores.shape[1], labels)
        return float(scores[0, target] - scores[1:, target].mean())


@checked
def integrated_gradients(model: Model, x: torch.Tensor, target: Target, baseline: str | torch.Tensor = "black",
                         n_steps: int = DEFAULT_IG_STEPS, method: str = "gausslegendre",
                         batch_size: int = DEFAULT_IG_BATCH) -> tuple[torch.Tensor, float]:
    """Integrated Gradients -> ``(attributions shaped like x, convergence_delta: float)``; taught in 4.3.

    With K > 1 baselines (``"noise"``) the attributions are the mean of the K IG maps (the
    expected-gradients idea, one full path per baseline) and the delta refers to the mean baseline
    score: ``delta = sum(attributions) - (F(x) - mean_k F(x'_k))``. Cost: K * n_steps forward+backward
    passes plus one forward pass. Attributions are in the model's input space;
    ``delta / output_difference(...)`` is the relative completeness error.

    Args:
        model: An ``ImageModel`` or a plain ``nn.Module`` returning class scores (logits).
        x: One normalised input 1xCxHxW on the model's device.
        target: The class whose logit is explained: an index, a class name or a one-element tensor.
        baseline: ``"black"``, ``"white"``, ``"blur"``, ``"noise"`` (built by ``make_baseline``, needs an
            ``ImageModel``) or a tensor in the model's input space, 1xCxHxW or KxCxHxW.
        n_steps: Points per path (an integer >= 2).
        method: The quadrature: ``"gausslegendre"`` or ``"riemann_right"`` / ``"riemann_left"`` /
            ``"riemann_middle"``.
        batch_size: Points per forward/backward pass (memory ~ batch size, result unchanged).

    Returns:
        ``(attributions shaped like x, convergence delta as a float)``.

    Example:
        >>> import torch
        >>> from torch import nn
        >>> import xai_helpers as xh
        >>> net = nn.Sequential(nn.Flatten(), nn.Linear(3 * 4 * 4, 2)).eval()
        >>> x = torch.rand(1, 3, 4, 4)
        >>> attributions, delta = xh.integrated_gradients(net, x, 1, baseline=torch.zeros_like(x), n_steps=8)
        >>> tuple(attributions.shape), abs(delta) < 1e-4
        ((1, 3, 4, 4), True)
    """
    module, labels, x = module_and_input(model, x)
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


@checked
def step_convergence(model: Model, x: torch.Tensor, target: Target, baseline: str | torch.Tensor = "black",
                     n_steps: int = DEFAULT_IG_STEPS, method: str = "gausslegendre",
                     batch_size: int = DEFAULT_IG_BATCH) -> tuple[torch.Tensor, float]:
    """Per-pixel convergence of Integrated Gradients: the map at ``n_steps`` against the map at ``2 * n_steps``; 4.3.

    The convergence delta checks only the SUM of the attributions: errors of opposite sign at different pixels
    cancel in it. This compares every pixel: ``|IG_n - IG_2n|`` shaped like ``x``, and its largest value relative
    to the largest ``|IG_2n|``. A few percent or less: the map has converged at n steps. Cost: 3 n gradients.

    Args:
        model: An ``ImageModel`` or a plain ``nn.Module`` returning class scores (logits).
        x: One normalised input 1xCxHxW on the model's device.
        target: The class whose logit is explained: an index, a class name or a one-element tensor.
        baseline: As for ``integrated_gradients``.
        n_steps: The step count checked (an integer >= 2); it is compared with twice as many.
        method: The quadrature, as for ``integrated_gradients``.
        batch_size: Points per forward/backward pass.

    Returns:
        ``(|IG_n - IG_2n| shaped like x, max |IG_n - IG_2n| / max |IG_2n|)``.

    Example:
        >>> import torch
        >>> from torch import nn
        >>> import xai_helpers as xh
        >>> net = nn.Sequential(nn.Flatten(), nn.Linear(3 * 4 * 4, 2)).eval()          # linear: exact at any n
        >>> change, relative = xh.methods.step_convergence(net, torch.rand(1, 3, 4, 4), 1,
        ...                                                baseline=torch.zeros(1, 3, 4, 4), n_steps=4)
        >>> tuple(change.shape), relative < 1e-5
        ((1, 3, 4, 4), True)
    """
    coarse, _ = integrated_gradients(model, x, target, baseline, n_steps=n_steps, method=method,
                                     batch_size=batch_size)
    fine, _ = integrated_gradients(model, x, target, baseline, n_steps=2 * check_count(n_steps, "n_steps", minimum=2),
                                   method=method, batch_size=batch_size)
    change = (coarse - fine).abs()
    scale = float(fine.abs().max())
    return change, float(change.max()) / scale if scale > 0 else 0.0
