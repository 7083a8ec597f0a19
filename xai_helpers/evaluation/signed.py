"""Signed maps of several images in one batched pass: the cheap maps the randomisation sanity check compares."""
from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from .._typecheck import checked
from .._validate import check_batch, check_channels, check_count, check_device, eval_mode, readable_tensor
from ..methods.gradients import DEFAULT_SMOOTHGRAD_BATCH, noise_sigma
from ..methods.registry import get_method
from ..models.image import ImageModel

__all__ = ["signed_maps", "RANDOMISATION_METHODS"]

#: Registry keys of the methods ``signed_maps`` computes in one batched pass per model (cheap: 1 + n_samples passes).
RANDOMISATION_METHODS: tuple[str, ...] = tuple(get_method(m).name for m in ("grad_cam", "vanilla_gradients",
                                                                            "gradient_x_input", "smoothgrad"))


@checked
def signed_maps(image_model: ImageModel, x: torch.Tensor, targets: Sequence[int] | torch.Tensor,
                methods: Sequence[str] = RANDOMISATION_METHODS, n_samples: int = 8, noise_level: float = 0.15,
                seed: int = 0, batch_size: int | None = None, upsample: bool = True) -> dict[str, np.ndarray]:
    """Signed maps of several images in one batched pass: the maps the randomisation sanity check compares (4.5).

    Methods: ``grad_cam``: the weighted sum of the target layer's feature maps *before* Grad-CAM's ReLU
    (``xh.grad_cam`` = ReLU of it, upsampled, divided by its max); ``vanilla_gradients``: the input gradient
    summed over colour channels; ``gradient_x_input``: ``x * gradient`` summed over channels;
    ``smoothgrad``: the mean gradient over ``n_samples`` noisy copies (the same noise as
    ``xh.smoothgrad(..., n_samples=n_samples, batch_size=n_samples, seed=seed)``), summed over channels.
    Per image these equal the package's one-image functions; batching only saves time. Cost: one
    forward+backward pass of N images, plus N x ``n_samples`` noisy images in chunks of ``batch_size``.

    Args:
        image_model: The ``ImageModel`` explained.
        x: N x 3 x H x W normalised images, on the CPU or the model's device.
        targets: One class index per image.
        methods: Some of ``RANDOMISATION_METHODS``.
        n_samples: SmoothGrad's noisy copies per image.
        noise_level: SmoothGrad's noise sigma as a share of each image's range.
        seed: Seed of SmoothGrad's noise.
        batch_size: Noisy images per pass (default: SmoothGrad's measured ``DEFAULT_SMOOTHGRAD_BATCH``).
        upsample: Grad-CAM upsampled to x's HxW (True) or on the layer's grid (False).

    Returns:
        ``{method: N x H x W numpy array}`` of signed maps.

    Example:
        >>> from xai_helpers.evaluation import signed_maps
        >>> import torch, xai_helpers as xh
        >>> net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3, padding=1), torch.nn.ReLU(),
        ...                           torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(4, 3)).eval()
        >>> toy = xh.models.ImageModel("toy", net, ["cat", "dog", "fox"], net[1], "1", mean=(0.5,) * 3,
        ...                            std=(0.5,) * 3, resize=16, crop=16, device=torch.device("cpu"))
        >>> maps = signed_maps(toy, torch.randn(2, 3, 16, 16), [0, 2], n_samples=2)
        >>> {name: m.shape for name, m in maps.items()}
        {'grad_cam': (2, 16, 16), 'vanilla_gradients': (2, 16, 16), 'gradient_x_input': (2, 16, 16),
         'smoothgrad': (2, 16, 16)}
    """
    try:
        other = [get_method(m).name for m in methods if m not in RANDOMISATION_METHODS]   # unknown: ValueError
    except ValueError as err:
        raise ValueError(f"methods: {err}") from None
    if other or not methods:
        raise ValueError(f"methods must be some of {', '.join(RANDOMISATION_METHODS)} (the maps signed_maps "
                         f"batches); got {list(methods)!r}." + (f" Pass {other} as explainers." if other else ""))
    if isinstance(x, torch.Tensor):
        check_device(x, image_model.device)
    x = check_channels(image_model, check_batch(x)).to(image_model.device)
    if not noise_level >= 0:
        raise ValueError(f"noise_level must be a share of each image's range, >= 0 (e.g. 0.15); got {noise_level}.")
    t = readable_tensor(targets, "targets")
    if t.dim() != 1 or len(t) != x.shape[0] or t.is_floating_point() or t.dtype == torch.bool:
        raise ValueError(f"targets must be one class index per image of x ({x.shape[0]}); got {list(t.shape)} "
                         f"of {t.dtype}.")
    if len(t) and not (0 <= int(t.min()) and int(t.max()) < len(image_model.labels)):
        raise ValueError(f"targets must be class indices in 0 ... {len(image_model.labels) - 1}; got {t.tolist()}.")
    n_samples = check_count(n_samples, "n_samples")
    batch_size = check_count(DEFAULT_SMOOTHGRAD_BATCH if batch_size is None else batch_size, "batch_size")
    net, size = image_model.model, x.shape[-2:]
    tgt = t.long().to(x.device)
    out = {}
    if set(methods) - {"smoothgrad"}:  # the one plain pass serves Grad-CAM and both gradient maps
        out.update(_plain_pass_maps(image_model, x, tgt, methods, size if upsample else None))
    if "smoothgrad" in methods:
        out["smoothgrad"] = _batched_smoothgrad(net, x, tgt, n_samples, noise_level, seed, batch_size)
    return {m: out[m] for m in methods}


def _plain_pass_maps(image_model, x, tgt, methods, size):
    """Grad-CAM before its ReLU (upsampled to ``size`` unless None), gradient and gradient x input, as asked."""
    activation, grad_a, grad_x = _layer_and_input_gradients(image_model, x, tgt)
    out = {}
    if "grad_cam" in methods:
        cam = (grad_a.mean((2, 3), keepdim=True) * activation.detach()).sum(1, keepdim=True)  # eq. 2, no ReLU
        if size is not None:
            cam = nn.functional.interpolate(cam, size=tuple(size), mode="bilinear", align_corners=False)
        out["grad_cam"] = cam[:, 0].detach().cpu().numpy()
    if "vanilla_gradients" in methods:
        out["vanilla_gradients"] = grad_x.sum(1).detach().cpu().numpy()
    if "gradient_x_input" in methods:
        out["gradient_x_input"] = (x.detach() * grad_x).sum(1).detach().cpu().numpy()
    return out


def _layer_and_input_gradients(image_model, x, tgt):
    """One batched forward+backward pass -> (target layer's activation, its gradient, the input gradient)."""
    net, layer = image_model.model, image_model.target_layer
    seen = []
    handle = layer.register_forward_hook(lambda module, inputs, output: seen.append(output))
    try:
        with eval_mode(net), torch.enable_grad():
            xr = x.detach().contiguous(memory_format=torch.channels_last).requires_grad_(True)   # the CPU's faster layout
            logits = net(xr)
            if len(seen) != 1:
                raise ValueError(f"The target layer {image_model.target_layer_name!r} ran {len(seen)} times in one "
                                 "forward pass; Grad-CAM needs a layer that runs once.")
            activation = seen[0]
            index = torch.arange(x.shape[0], device=x.device)
            grad_x, grad_a = torch.autograd.grad(logits[index, tgt].sum(), [xr, activation])
    finally:
        handle.remove()
    return activation, grad_a, grad_x


def _batched_smoothgrad(net, x, tgt, n_samples, noise_level, seed, batch_size):
    noisy, owner = [], []
    for i in range(x.shape[0]):
        generator = torch.Generator().manual_seed(int(seed))  # per image, as xh.smoothgrad draws it
        noise = torch.randn((n_samples, *x.shape[1:]), generator=generator).to(x.device)
        noisy.append(x[i:i + 1].detach() + noise * noise_sigma(x[i:i + 1], noise_level))
        owner += [i] * n_samples
    noisy, owner = torch.cat(noisy), torch.tensor(owner, device=x.device)
    total = torch.zeros_like(x)
    with eval_mode(net), torch.enable_grad():
        for start in range(0, len(noisy), batch_size):
            chunk = noisy[start:start + batch_size].contiguous(memory_format=torch.channels_last).requires_grad_(True)
            who = owner[start:start + batch_size]
            (grad,) = torch.autograd.grad(net(chunk)[torch.arange(len(chunk), device=x.device), tgt[who]].sum(), chunk)
            total.index_add_(0, who, grad)
    return (total / n_samples).sum(1).detach().cpu().numpy()
