"""Gradient saliency: vanilla gradients, Gradient x Input, SmoothGrad, SmoothGrad² and VarGrad (section 4.1)."""
import numbers

import torch

from .._typecheck import checked
from .._validate import check_count, check_device, eval_mode, module_and_input, resolve_target
from .kinds import Model, Target

__all__ = ["vanilla_gradients", "gradient_x_input", "smoothgrad", "smoothgrad_sq", "vargrad", "noise_sigma",
           "max_abs_over_channels", "sum_over_channels", "DEFAULT_SMOOTHGRAD_BATCH"]


#: Noisy copies per forward/backward pass in ``smoothgrad``. Chosen by bench/run.py (bench/RESULTS.md, "Ninth
#: session"): on 2 CPU cores, over chunks of 1, 2, 3, 5 and 10, chunks of 2 were the fastest on EfficientNet-Lite0
#: and the smallest chunk within 5 % of the best mean over EfficientNet-Lite0 and ResNet-50 (``pick_default``),
#: at 0.98 GB peak against 1.29 GB for chunks of 5; chunks of 25-50 were slower and need 3-5 GB.
DEFAULT_SMOOTHGRAD_BATCH: int = 2


def _input_gradient(module, x, target, labels=None):
    """d score_target / d x for each example in the batch ``x`` -> (gradient, resolved target index).

    Only the input receives a gradient (``torch.autograd.grad`` w.r.t. ``x``), never the parameters.
    """
    x = x.detach().requires_grad_(True)
    with torch.enable_grad():
        logits = module(x)
        target = resolve_target(target, logits.shape[1], labels)
        (grad,) = torch.autograd.grad(logits[:, target].sum(), x)
    return grad.contiguous(), target   # a channels-last model (fast_layout) gives it channels-last


@checked
def vanilla_gradients(model: Model, x: torch.Tensor, target: Target) -> torch.Tensor:
    """Gradient of the target class score w.r.t. the input (Simonyan et al. 2013); taught in 4.1.

    Signed and in the model's input space; reduce it to a 2-D map with ``max_abs_over_channels`` or
    ``sum_over_channels``.

    Args:
        model: An ``ImageModel`` or a plain ``nn.Module`` returning class scores (logits).
        x: One normalised input 1xCxHxW on the model's device (``image_model.preprocess(photo)``).
        target: The class to explain: an index, a class name or a one-element tensor.

    Returns:
        The gradient, a tensor shaped like ``x``.

    Example:
        >>> import torch
        >>> from torch import nn
        >>> import xai_helpers as xh
        >>> net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 2))
        >>> tuple(xh.vanilla_gradients(net.eval(), torch.rand(1, 3, 8, 8), target=1).shape)
        (1, 3, 8, 8)
    """
    module, labels, x = module_and_input(model, x)
    with eval_mode(module):
        return _input_gradient(module, x, target, labels)[0]


@checked
def gradient_x_input(model: Model, x: torch.Tensor, target: Target) -> torch.Tensor:
    """Gradient x Input (Shrikumar et al. 2016): ``x * d score / d x``, shaped like ``x``; taught in 4.1.

    On a normalised ``x`` this is (pixel - mean)/std * gradient: an attribution relative to the
    normalisation mean colour (0 in input space), not to black. Its channel sum is the first-order
    Taylor estimate of score(x) - score(0).

    Args:
        model: An ``ImageModel`` or a plain ``nn.Module`` returning class scores (logits).
        x: One normalised input 1xCxHxW on the model's device.
        target: The class to explain: an index, a class name or a one-element tensor.

    Returns:
        The signed attribution, a tensor shaped like ``x`` (zero wherever ``x`` is zero).

    Example:
        >>> import torch
        >>> from torch import nn
        >>> import xai_helpers as xh
        >>> net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 2))
        >>> a = xh.gradient_x_input(net.eval(), torch.zeros(1, 3, 8, 8), target=0)
        >>> tuple(a.shape), float(a.abs().sum())
        ((1, 3, 8, 8), 0.0)
    """
    module, labels, x = module_and_input(model, x)
    with eval_mode(module):
        return x.detach() * _input_gradient(module, x, target, labels)[0]


@checked
def noise_sigma(x: torch.Tensor, noise_level: float) -> float:
    """SmoothGrad's noise standard deviation: ``noise_level * (x.max() - x.min())`` (Smilkov et al. 2017).

    Args:
        x: The input the noise is added to (any shape).
        noise_level: A fraction of the input's range, >= 0 (0.1-0.2 is typical).

    Returns:
        The standard deviation as a float.

    Example:
        >>> import torch
        >>> import xai_helpers as xh
        >>> xh.methods.noise_sigma(torch.tensor([-1.0, 3.0]), 0.25)
        1.0
    """
    if isinstance(noise_level, bool) or not isinstance(noise_level, numbers.Real):
        raise TypeError(f"noise_level must be a number (a fraction of the input's range, e.g. 0.15), got "
                        f"{type(noise_level).__name__}.")
    if not 0 <= noise_level:
        raise ValueError(f"noise_level must be >= 0 (a fraction of the input's range, 0.1-0.2 is "
                         f"typical), got {noise_level}.")
    check_device(x, name="x")
    if x.numel() == 0 or x.dtype == torch.bool or x.is_complex():
        raise ValueError(f"x must hold real numbers, the noise being a fraction of their range; got {x.dtype} of "
                         f"shape {tuple(x.shape)}.")
    return float(noise_level) * float(x.max() - x.min())


@checked
def smoothgrad(model: Model, x: torch.Tensor, target: Target, n_samples: int = 50, noise_level: float = 0.15,
               batch_size: int | None = None, seed: int = 0) -> torch.Tensor:
    """SmoothGrad (Smilkov et al. 2017): mean input gradient over ``n_samples`` noisy copies of ``x``; taught in 4.1.

    Noise is Gaussian with sigma = ``noise_level`` x (x.max() - x.min()), the paper's definition, drawn
    from a generator seeded with ``seed`` (same seed -> same map; equal to Captum's
    ``NoiseTunnel(Saliency(model)).attribute(..., nt_type="smoothgrad", stdevs=sigma, abs=False)``
    after ``torch.manual_seed(seed)`` on the CPU, where Captum draws from the same stream). Two seeds'
    results differ by an amount that falls as 1/sqrt(n_samples) (independent copies).

    Args:
        model: An ``ImageModel`` or a plain ``nn.Module`` returning class scores (logits).
        x: One normalised input 1xCxHxW on the model's device.
        target: The class to explain: an index, a class name or a one-element tensor.
        n_samples: How many noisy copies are averaged (a positive integer).
        noise_level: The noise's standard deviation as a fraction of the input's range (>= 0).
        batch_size: Copies per forward/backward pass, which bounds memory (None: ``DEFAULT_SMOOTHGRAD_BATCH``).
        seed: Seed of the noise generator.

    Returns:
        The averaged signed gradient, a tensor shaped like ``x``.

    Example:
        >>> import torch
        >>> from torch import nn
        >>> import xai_helpers as xh
        >>> net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 2))
        >>> x = torch.rand(1, 3, 8, 8)
        >>> a, b = (xh.smoothgrad(net.eval(), x, 1, n_samples=4, seed=3) for _ in range(2))
        >>> tuple(a.shape), torch.equal(a, b)
        ((1, 3, 8, 8), True)
    """
    total, _ = _noisy_gradient_moments(model, x, target, n_samples, noise_level, batch_size, seed)
    return total / n_samples


def _noisy_gradient_moments(model, x, target, n_samples, noise_level, batch_size, seed, squares=False):
    """Sum of the input gradients over ``n_samples`` noisy copies of ``x`` (and of their squares if ``squares``).

    The noise is that of ``smoothgrad``: Gaussian, sigma = ``noise_level`` x (x.max() - x.min()), drawn in chunks
    of ``batch_size`` copies from one CPU generator seeded with ``seed`` -> ``(sum, sum of squares or None)``.
    """
    module, labels, x = module_and_input(model, x)
    n_samples = check_count(n_samples, "n_samples")
    batch_size = check_count(DEFAULT_SMOOTHGRAD_BATCH if batch_size is None else batch_size, "batch_size")
    sigma = noise_sigma(x, noise_level)
    generator = torch.Generator().manual_seed(int(seed))  # CPU generator: same noise on every device
    total = torch.zeros_like(x)
    total_sq = torch.zeros_like(x) if squares else None
    with eval_mode(module):
        for start in range(0, n_samples, batch_size):
            n = min(batch_size, n_samples - start)
            noise = torch.randn((n, *x.shape[1:]), generator=generator).to(x.device) * sigma
            grad, target = _input_gradient(module, x.detach() + noise, target, labels)
            total += grad.sum(0, keepdim=True)
            if squares:
                total_sq += (grad * grad).sum(0, keepdim=True)
    return total, total_sq


@checked
def smoothgrad_sq(model: Model, x: torch.Tensor, target: Target, n_samples: int = 50, noise_level: float = 0.15,
                  batch_size: int | None = None, seed: int = 0) -> torch.Tensor:
    """SmoothGrad² (Hooker et al. 2019, "A benchmark for interpretability methods", arXiv:1806.10758): the mean
    of the SQUARED input gradients over noisy copies of ``x``; taught in 4.1.

    Same noise as ``smoothgrad`` (same ``seed`` -> the same copies), so it equals Captum's
    ``NoiseTunnel(Saliency(model)).attribute(..., nt_type="smoothgrad_sq", stdevs=sigma, abs=False)`` after
    ``torch.manual_seed(seed)`` on the CPU. Unsigned (>= 0): squaring drops the sign and stresses the largest
    gradients, which sharpens the map.

    Args:
        model: An ``ImageModel`` or a plain ``nn.Module`` returning class scores (logits).
        x: One normalised input 1xCxHxW on the model's device.
        target: The class to explain: an index, a class name or a one-element tensor.
        n_samples: How many noisy copies are averaged (a positive integer).
        noise_level: The noise's standard deviation as a fraction of the input's range (>= 0).
        batch_size: Copies per forward/backward pass (None: ``DEFAULT_SMOOTHGRAD_BATCH``).
        seed: Seed of the noise generator.

    Returns:
        The mean squared gradient, a tensor shaped like ``x`` (>= 0).

    Example:
        >>> import torch
        >>> from torch import nn
        >>> import xai_helpers as xh
        >>> net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 2))
        >>> sq = xh.methods.smoothgrad_sq(net.eval(), torch.rand(1, 3, 8, 8), 1, n_samples=4)
        >>> tuple(sq.shape), bool((sq >= 0).all())
        ((1, 3, 8, 8), True)
    """
    _, total_sq = _noisy_gradient_moments(model, x, target, n_samples, noise_level, batch_size, seed, squares=True)
    return total_sq / n_samples


@checked
def vargrad(model: Model, x: torch.Tensor, target: Target, n_samples: int = 50, noise_level: float = 0.15,
            batch_size: int | None = None, seed: int = 0) -> torch.Tensor:
    """VarGrad (Adebayo et al. 2018, "Local explanation methods for deep neural networks lack sensitivity to
    parameter values", arXiv:1810.03307): the variance of the input gradients over noisy copies of ``x``; 4.1.

    The variance over the copies, ``mean(g^2) - mean(g)^2`` (divided by n, not n - 1), with the noise of
    ``smoothgrad``: equal to Captum's ``NoiseTunnel(Saliency(model)).attribute(..., nt_type="vargrad",
    stdevs=sigma, abs=False)`` after ``torch.manual_seed(seed)`` on the CPU, except that float rounding can
    make Captum's difference slightly negative where the gradients barely vary; here it is clipped at 0.

    Args:
        model: An ``ImageModel`` or a plain ``nn.Module`` returning class scores (logits).
        x: One normalised input 1xCxHxW on the model's device.
        target: The class to explain: an index, a class name or a one-element tensor.
        n_samples: How many noisy copies (a positive integer; 1 gives zeros).
        noise_level: The noise's standard deviation as a fraction of the input's range (>= 0).
        batch_size: Copies per forward/backward pass (None: ``DEFAULT_SMOOTHGRAD_BATCH``).
        seed: Seed of the noise generator.

    Returns:
        The variance of the gradient, a tensor shaped like ``x`` (>= 0).

    Example:
        >>> import torch
        >>> from torch import nn
        >>> import xai_helpers as xh
        >>> net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 2))
        >>> v = xh.methods.vargrad(net.eval(), torch.rand(1, 3, 8, 8), 1, n_samples=4)
        >>> tuple(v.shape), bool((v >= 0).all())
        ((1, 3, 8, 8), True)
    """
    total, total_sq = _noisy_gradient_moments(model, x, target, n_samples, noise_level, batch_size, seed,
                                              squares=True)
    mean = total / n_samples
    return (total_sq / n_samples - mean * mean).clamp(min=0)


def _one_attribution(attribution, name):
    if not isinstance(attribution, torch.Tensor):
        raise TypeError(f"{name} needs a torch.Tensor shaped 1xCxHxW or CxHxW (an attribution such as "
                        f"vanilla_gradients(...) returns), got {type(attribution).__name__}.")
    a = check_device(attribution, name="attribution").detach()
    if a.dim() == 4 and a.shape[0] == 1:
        return a[0]
    if a.dim() == 3:
        return a
    hint = " Reduce one example at a time: attribution[i:i+1]." if a.dim() == 4 else ""
    raise ValueError(f"attribution must be one attribution shaped 1xCxHxW or CxHxW ({name}), got shape "
                     f"{tuple(a.shape)}.{hint}")


@checked
def max_abs_over_channels(attribution: torch.Tensor) -> torch.Tensor:
    """Reduce 1xCxHxW (or CxHxW) to HxW by the largest |value| over channels: unsigned magnitude (taught in 4.1).

    Stays on the attribution's device; use ``xh.to_numpy(...)`` (not ``.numpy()``) to plot it.

    Args:
        attribution: One attribution shaped 1xCxHxW or CxHxW, e.g. from ``vanilla_gradients``.

    Returns:
        The HxW map, >= 0.

    Example:
        >>> import torch
        >>> import xai_helpers as xh
        >>> xh.max_abs_over_channels(torch.tensor([[[[-3.0, 1.0]], [[2.0, -0.5]]]]))
        tensor([[3., 1.]])
    """
    return _one_attribution(attribution, "max_abs_over_channels").abs().amax(0)


@checked
def sum_over_channels(attribution: torch.Tensor) -> torch.Tensor:
    """Reduce 1xCxHxW (or CxHxW) to HxW by summing channels: keeps the sign and additivity (taught in 4.1, 4.3).

    Stays on the attribution's device; use ``xh.to_numpy(...)`` (not ``.numpy()``) to plot it.

    Args:
        attribution: One attribution shaped 1xCxHxW or CxHxW, e.g. from ``gradient_x_input``.

    Returns:
        The signed HxW map.

    Example:
        >>> import torch
        >>> import xai_helpers as xh
        >>> xh.sum_over_channels(torch.tensor([[[[-3.0, 1.0]], [[2.0, -0.5]]]]))
        tensor([[-1.0000,  0.5000]])
    """
    return _one_attribution(attribution, "sum_over_channels").sum(0)
