"""Gradient saliency: vanilla gradients, Gradient x Input and SmoothGrad (section 4.1)."""
import numbers

import torch

from .._validate import module_and_input, check_count, eval_mode, resolve_target

__all__ = ["vanilla_gradients", "gradient_x_input", "smoothgrad", "noise_sigma", "max_abs_over_channels",
           "sum_over_channels", "DEFAULT_SMOOTHGRAD_BATCH"]

#: Noisy copies per forward/backward pass in ``smoothgrad``. Chosen by bench/run.py (bench/RESULTS.md):
#: on 2 CPU cores chunks of 5 were fastest on EfficientNet-Lite0 and within 2 % of the best on
#: ResNet-50, at 1.2-1.3 GB peak; chunks of 25-50 were slower and need 3-5 GB.
DEFAULT_SMOOTHGRAD_BATCH = 5


def _input_gradient(module, x, target, labels=None):
    """d score_target / d x for each example in the batch ``x`` -> (gradient, resolved target index).

    Only the input receives a gradient (``torch.autograd.grad`` w.r.t. ``x``), never the parameters.
    """
    x = x.detach().requires_grad_(True)
    with torch.enable_grad():
        logits = module(x)
        target = resolve_target(target, logits.shape[1], labels)
        (grad,) = torch.autograd.grad(logits[:, target].sum(), x)
    return grad, target


def vanilla_gradients(model, x, target):
    """Gradient of the target class score w.r.t. the input (Simonyan et al. 2013), shaped like ``x``.

    Signed and in the model's input space; reduce it to a 2-D map with ``max_abs_over_channels`` or
    ``sum_over_channels``. ``model``: an ``ImageModel`` or ``nn.Module``; ``target``: index or class name.
    """
    module, labels, x = module_and_input(model, x)
    with eval_mode(module):
        return _input_gradient(module, x, target, labels)[0]


def gradient_x_input(model, x, target):
    """Gradient x Input (Shrikumar et al. 2016): ``x * d score / d x``, shaped like ``x``.

    On a normalised ``x`` this is (pixel - mean)/std * gradient: an attribution relative to the
    normalisation mean colour (0 in input space), not to black. Its channel sum is the first-order
    Taylor estimate of score(x) - score(0).
    """
    module, labels, x = module_and_input(model, x)
    with eval_mode(module):
        return x.detach() * _input_gradient(module, x, target, labels)[0]


def noise_sigma(x, noise_level):
    """SmoothGrad's noise standard deviation: ``noise_level * (x.max() - x.min())`` (Smilkov et al. 2017)."""
    if isinstance(noise_level, bool) or not isinstance(noise_level, numbers.Real):
        raise TypeError(f"noise_level must be a number (a fraction of the input's range, e.g. 0.15), got "
                        f"{type(noise_level).__name__}.")
    if not 0 <= noise_level:
        raise ValueError(f"noise_level must be >= 0 (a fraction of the input's range, 0.1-0.2 is "
                         f"typical), got {noise_level}.")
    return float(noise_level) * float(x.max() - x.min())


def smoothgrad(model, x, target, n_samples=50, noise_level=0.15, batch_size=None, seed=0):
    """SmoothGrad (Smilkov et al. 2017): mean input gradient over ``n_samples`` noisy copies of ``x``.

    Noise is Gaussian with sigma = ``noise_level`` x (x.max() - x.min()), the paper's definition, drawn
    from a generator seeded with ``seed`` (same seed -> same map; equal to Captum's
    ``NoiseTunnel(Saliency(model)).attribute(..., nt_type="smoothgrad", stdevs=sigma, abs=False)``
    after ``torch.manual_seed(seed)`` on the CPU, where Captum draws from the same stream). Copies are
    processed ``batch_size`` at a time, which bounds memory. Returns a signed tensor shaped like ``x``;
    two seeds' results differ by an amount that falls as 1/sqrt(n_samples) (independent copies).
    """
    module, labels, x = module_and_input(model, x)
    n_samples = check_count(n_samples, "n_samples")
    batch_size = check_count(DEFAULT_SMOOTHGRAD_BATCH if batch_size is None else batch_size, "batch_size")
    sigma = noise_sigma(x, noise_level)
    generator = torch.Generator().manual_seed(int(seed))  # CPU generator: same noise on every device
    total = torch.zeros_like(x)
    with eval_mode(module):
        for start in range(0, n_samples, batch_size):
            n = min(batch_size, n_samples - start)
            noise = torch.randn((n, *x.shape[1:]), generator=generator).to(x.device) * sigma
            grad, target = _input_gradient(module, x.detach() + noise, target, labels)
            total += grad.sum(0, keepdim=True)
    return total / n_samples


def _one_attribution(attribution, name):
    if not isinstance(attribution, torch.Tensor):
        raise TypeError(f"{name} needs a torch.Tensor shaped 1xCxHxW or CxHxW (an attribution such as "
                        f"vanilla_gradients(...) returns), got {type(attribution).__name__}.")
    a = attribution.detach()
    if a.dim() == 4 and a.shape[0] == 1:
        return a[0]
    if a.dim() == 3:
        return a
    hint = " Reduce one example at a time: attribution[i:i+1]." if a.dim() == 4 else ""
    raise ValueError(f"{name} needs one attribution shaped 1xCxHxW or CxHxW, got shape "
                     f"{tuple(a.shape)}.{hint}")


def max_abs_over_channels(attribution):
    """Reduce 1xCxHxW (or CxHxW) to HxW by the largest |value| over channels: unsigned magnitude.

    Stays on the attribution's device; use ``xh.to_numpy(...)`` (not ``.numpy()``) to plot it.
    """
    return _one_attribution(attribution, "max_abs_over_channels").abs().amax(0)


def sum_over_channels(attribution):
    """Reduce 1xCxHxW (or CxHxW) to HxW by summing channels: keeps the sign and additivity.

    Stays on the attribution's device; use ``xh.to_numpy(...)`` (not ``.numpy()``) to plot it.
    """
    return _one_attribution(attribution, "sum_over_channels").sum(0)
