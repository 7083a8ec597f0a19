"""Expected gradients (Erion et al. 2021, Nature Machine Intelligence 3:620, arXiv:1906.10670); section 4.3.

Integrated Gradients needs ONE baseline and the answer depends on it (black, white, blur...). Expected gradients
averages IG over baselines drawn from the DATA and, instead of a quadrature along each path, draws one random
point per sample: with ``b ~ D`` (the data set's images) and ``a ~ U(0, 1)``,

    EG(x) = E_{b, a} [ (x - b) * dF/dx (b + a (x - b)) ],

a Monte-Carlo estimate of the mean of IG over the data's baselines: its sum tends to ``F(x) - E_b F(b)`` as the
number of samples grows (completeness in expectation, measured here as the returned delta). It is what Captum
calls ``GradientShap`` (with ``stdevs=0``), and it equals it when fed the same draws: baseline indices
``choice(K, n)`` then coefficients ``uniform(0, 1, n)`` from numpy's legacy generator.
"""
import numpy as np
import torch

from .._typecheck import checked
from .._validate import check_count, check_device, eval_mode, module_and_input, resolve_target
from .kinds import Model, Target

__all__ = ["expected_gradients", "draw_baselines", "DEFAULT_EG_SAMPLES"]

#: Samples (baseline, point) of ``expected_gradients`` by default.
DEFAULT_EG_SAMPLES: int = 64


@checked
def draw_baselines(n_baselines: int, n_samples: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The random draws of ``expected_gradients``: which baseline and which point on its path, per sample (4.3).

    Drawn from ``np.random.RandomState(seed)`` as Captum's GradientShap draws them from numpy's global generator
    after ``np.random.seed(seed)``: first the baseline indices (``choice``), then the coefficients (``uniform``).

    Args:
        n_baselines: How many baselines there are to draw from (a positive integer).
        n_samples: How many samples to draw (a positive integer).
        seed: Seed of the generator.

    Returns:
        ``(indices, alphas)``: ``n_samples`` baseline indices in [0, n_baselines) and coefficients in [0, 1).

    Example:
        >>> import xai_helpers as xh
        >>> indices, alphas = xh.methods.draw_baselines(3, 4, seed=0)
        >>> indices.tolist(), bool(((0 <= alphas) & (alphas < 1)).all())
        ([0, 1, 0, 1], True)
    """
    n_baselines, n_samples = check_count(n_baselines, "n_baselines"), check_count(n_samples, "n_samples")
    rng = np.random.RandomState(int(seed) % 2**32)
    indices = rng.choice(n_baselines, n_samples)
    return indices, rng.uniform(0.0, 1.0, n_samples)


def _baselines(baselines, x):
    if not isinstance(baselines, torch.Tensor):
        raise TypeError(f"baselines must be a tensor of K images in the model's input space (K x C x H x W), e.g. "
                        f"torch.cat([image_model.preprocess(p) for p in photos]); got {type(baselines).__name__}.")
    check_device(baselines, x.device, name="baselines")
    if baselines.dim() == 3:
        baselines = baselines.unsqueeze(0)
    if baselines.dim() != 4 or baselines.shape[1:] != x.shape[1:] or len(baselines) == 0:
        raise ValueError(f"baselines must be K images shaped like x, K x {tuple(x.shape[1:])} (drawn from a data set), "
                         f"got shape {tuple(baselines.shape)}.")
    if not baselines.is_floating_point() or not torch.isfinite(baselines).all():
        raise ValueError("baselines must hold finite floating-point values (images in the model's input space).")
    return baselines.detach().to(device=x.device, dtype=x.dtype)


@checked
def expected_gradients(model: Model, x: torch.Tensor, target: Target, *, baselines: torch.Tensor,
                       n_samples: int = DEFAULT_EG_SAMPLES, batch_size: int | None = None,
                       seed: int = 0) -> tuple[torch.Tensor, float]:
    """Expected gradients (Erion et al. 2021) -> ``(attributions shaped like x, delta: float)``; taught in 4.3.

    The mean over ``n_samples`` draws of ``(x - b) * dF/dx(b + a (x - b))``, each with a baseline ``b`` from
    ``baselines`` and a point ``a ~ U(0, 1)`` (``draw_baselines(len(baselines), n_samples, seed)``). Equal to
    Captum's ``GradientShap(model).attribute(x, baselines, n_samples=n_samples, stdevs=0.0, target=target)``
    after ``np.random.seed(seed)``. ``delta = sum(attributions) - (F(x) - mean F(b))`` over the drawn baselines:
    the completeness error of this Monte-Carlo estimate, which shrinks as ``n_samples`` grows (unlike IG's,
    which a quadrature rule drives to zero). Cost: n_samples gradients plus one forward pass of the drawn
    baselines.

    Args:
        model: An ``ImageModel`` or a plain ``nn.Module`` returning class scores (logits).
        x: One normalised input 1xCxHxW on the model's device.
        target: The class whose logit is explained: an index, a class name or a one-element tensor.
        baselines: K images of a data set in the model's input space, K x C x H x W (the distribution the
            baselines are drawn from).
        n_samples: How many (baseline, point) draws are averaged (a positive integer).
        batch_size: Draws per forward/backward pass (None: 4, as ``DEFAULT_IG_BATCH``).
        seed: Seed of the draws.

    Returns:
        ``(attributions shaped like x, delta as a float)``.

    Example:
        >>> import torch
        >>> from torch import nn
        >>> import xai_helpers as xh
        >>> net = nn.Sequential(nn.Flatten(), nn.Linear(3 * 4 * 4, 2)).eval()
        >>> data = torch.rand(5, 3, 4, 4)
        >>> attributions, delta = xh.methods.expected_gradients(net, torch.rand(1, 3, 4, 4), 1, baselines=data,
        ...                                                     n_samples=8)
        >>> tuple(attributions.shape), abs(delta) < 1e-4            # a linear model: exact for any draw
        ((1, 3, 4, 4), True)
    """
    module, labels, x = module_and_input(model, x)
    base = _baselines(baselines, x)
    n_samples = check_count(n_samples, "n_samples")
    batch_size = check_count(4 if batch_size is None else batch_size, "batch_size")
    indices, alphas = draw_baselines(len(base), n_samples, seed)
    x = x.detach()
    drawn = base[torch.from_numpy(indices).to(base.device)]
    # float32 on the CPU first: numpy's float64 must never reach the device (Apple MPS has no float64)
    alphas = torch.from_numpy(alphas.astype(np.float32)).to(device=x.device, dtype=x.dtype).view(-1, 1, 1, 1)
    total = torch.zeros_like(x)
    with eval_mode(module):
        with torch.no_grad():   # in chunks: one pass over K photos at once would hold K images' activations
            scores = torch.cat([module(chunk) for chunk in torch.cat([x, base]).split(batch_size)])
        target = resolve_target(target, scores.shape[1], labels)
        for start in range(0, n_samples, batch_size):
            b, a = drawn[start:start + batch_size], alphas[start:start + batch_size]
            points = (a * x + (1 - a) * b).requires_grad_(True)          # Captum's order of operations
            with torch.enable_grad():
                (grad,) = torch.autograd.grad(module(points)[:, target].sum(), points)
            total += ((x - b) * grad).sum(0, keepdim=True)
    attributions = total / n_samples
    baseline_score = scores[1:, target][torch.from_numpy(indices).to(scores.device)].mean()
    delta = float(attributions.sum() - (scores[0, target] - baseline_score))
    return attributions, delta
