"""Signed maps of several images in one batched pass: the cheap maps the randomisation sanity check compares."""
import torch
from torch import nn

from .._validate import check_count, eval_mode
from ..methods.gradients import DEFAULT_SMOOTHGRAD_BATCH, noise_sigma
from ..methods.registry import get_method
from .common import _require_image_model

__all__ = ["signed_maps", "RANDOMISATION_METHODS"]

#: Registry keys of the methods ``signed_maps`` computes in one batched pass per model (cheap: 1 + n_samples passes).
RANDOMISATION_METHODS = tuple(get_method(m).name for m in ("grad_cam", "vanilla_gradients", "gradient_x_input",
                                                           "smoothgrad"))


def signed_maps(image_model, x, targets, methods=RANDOMISATION_METHODS, n_samples=8, noise_level=0.15,
                seed=0, batch_size=None, upsample=True):
    """Signed maps of several images in one batched pass -> ``{method: N x H x W numpy array}``.

    ``x``: N x 3 x H x W normalised images; ``targets``: one class index per image. Methods:
    ``grad_cam``: the weighted sum of the target layer's feature maps *before* Grad-CAM's ReLU
    (``xh.grad_cam`` = ReLU of it, upsampled, divided by its max; ``upsample=False`` keeps the layer's
    grid, bilinear upsampling to x's HxW otherwise); ``vanilla_gradients``: the input gradient
    summed over colour channels; ``gradient_x_input``: ``x * gradient`` summed over channels;
    ``smoothgrad``: the mean gradient over ``n_samples`` noisy copies (sigma =
    ``noise_level`` x each image's range, generator seeded with ``seed``: the same noise as
    ``xh.smoothgrad(..., n_samples=n_samples, batch_size=n_samples, seed=seed)``),
    summed over channels. Per image these equal the package's one-image functions (tests assert it);
    batching only saves time. Cost: one forward+backward pass of N images, plus N x
    ``n_samples`` noisy images in chunks of ``batch_size`` (default: SmoothGrad's measured
    ``DEFAULT_SMOOTHGRAD_BATCH``) when SmoothGrad is asked for.
    """
    _require_image_model(image_model, "signed_maps")
    other = [get_method(m).name for m in methods if m not in RANDOMISATION_METHODS]   # unknown names: ValueError
    if other:
        raise ValueError(f"signed_maps has no batched signed map of {other}; it computes "
                         f"{', '.join(RANDOMISATION_METHODS)} (pass others as explainers).")
    if x.dim() != 4 or len(targets) != x.shape[0]:
        raise ValueError(f"x must be N x 3 x H x W with one target per image; got {tuple(x.shape)} and "
                         f"{len(targets)} targets.")
    n_samples = check_count(n_samples, "n_samples")
    batch_size = check_count(DEFAULT_SMOOTHGRAD_BATCH if batch_size is None else batch_size, "batch_size")
    net, size = image_model.model, x.shape[-2:]
    tgt = torch.tensor([int(t) for t in targets], device=x.device)
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
            xr = x.detach().requires_grad_(True)
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
            chunk = noisy[start:start + batch_size].requires_grad_(True)
            who = owner[start:start + batch_size]
            (grad,) = torch.autograd.grad(net(chunk)[torch.arange(len(chunk), device=x.device), tgt[who]].sum(), chunk)
            total.index_add_(0, who, grad)
    return (total / n_samples).sum(1).detach().cpu().numpy()
