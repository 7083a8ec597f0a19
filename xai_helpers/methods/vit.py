"""Attention maps of a ViT on its patch grid: [CLS] attention, rollout, and ink-only controls (section 4.4b)."""
import math
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from .._typecheck import checked
from .._validate import check_batch, check_count, check_device, readable_tensor
from ..attention_arrays import Attentions, check_index
from ..digits import PATCH
from ..models.vit import TinyViT, VisionModel
from .attention import attention_rollout, stack_attentions
from .kinds import LoadedVisionModel

__all__ = ["vit_attention", "cls_attention_map", "rollout_map", "patch_brightness", "brightness_map",
           "cls_queries"]

#: What the ViT functions take as images: pixels as a tensor or array (HxW, 1xHxW or Bx1xHxW).
Images = torch.Tensor | np.ndarray


def _vit_input(vision_model, x):
    """``x`` -> the ViT's input batch on its device; a hub ViT also takes an already preprocessed batch."""
    if vision_model.processor is not None and isinstance(x, torch.Tensor):
        return check_device(check_batch(x, name="x"), vision_model.device, name="x")
    return vision_model._batch(x, "x")


@checked
@torch.no_grad()
def vit_attention(vision_model: LoadedVisionModel, x: Images | str | Path | Image.Image) -> tuple[torch.Tensor, torch.Tensor]:
    """Run the ViT and keep its attention weights (token 0 is [CLS]); taught in 4.4b.

    Args:
        vision_model: The ``VisionModel`` from ``load_vit_model``.
        x: For the course's ViT, pixels in [0, 1] (HxW, 1xHxW or Bx1xHxW, e.g. ``make_cluttered_digits().images``);
            for a hub ViT, a photo (PIL image, name or path) or its preprocessed batch.

    Returns:
        ``(logits [B, classes], attentions)`` on the CPU; attentions are [layers, heads, 1+P, 1+P] for one
        image, [B, layers, heads, 1+P, 1+P] for a batch.

    Example:
        >>> import torch
        >>> import xai_helpers as xh
        >>> logits, attentions = xh.methods.vit_attention(xh.load_vit_model(), torch.rand(2, 1, 48, 48))
        >>> tuple(logits.shape), tuple(attentions.shape)
        ((2, 10), (2, 4, 4, 37, 37))
    """
    out = vision_model.model(_vit_input(vision_model, x), output_attentions=True)
    if isinstance(out, tuple):
        logits, attentions = out
    else:
        logits, attentions = out.logits, out.attentions
    return logits.cpu(), stack_attentions(attentions)


# --- attention maps on the patch grid ----------------------------------------------------------------
def _grid_of(attentions, grid):
    n = attentions.shape[-1] - 1
    if grid is not None:
        grid = check_count(grid, "grid")
    grid = grid or math.isqrt(n)
    if grid * grid != n:
        raise ValueError(f"attentions are over [CLS] + {n} patch tokens, which do not form a {grid}x{grid} grid; "
                         "pass grid=vision_model.grid and the attentions vit_attention returns.")
    return grid


@checked
def cls_attention_map(attentions: Attentions, grid: int | None = None, layer: int = -1,
                      head: int | None = None) -> torch.Tensor:
    """The [CLS] query's attention to each patch in one layer, on the patch grid; taught in 4.4b.

    The weight [CLS] puts on itself is dropped and the rest re-normalised to sum to 1, so maps of different
    methods compare on one scale.

    Args:
        attentions: A ViT's attention weights [layers, heads, 1+P, 1+P] or a batch [B, layers, heads, 1+P, 1+P]
            (as ``vit_attention`` returns them), token 0 being [CLS].
        grid: Patches per side (default: the square root of P).
        layer: The layer (negative counts from the end; default the last).
        head: One head, or None to average the heads.

    Returns:
        The map [grid, grid] (or [B, grid, grid]), summing to 1.

    Example:
        >>> import torch
        >>> import xai_helpers as xh
        >>> uniform = torch.full((2, 3, 5, 5), 0.2)            # [CLS] + a 2x2 grid of patches
        >>> xh.methods.cls_attention_map(uniform, head=0)
        tensor([[0.2500, 0.2500],
                [0.2500, 0.2500]])
    """
    a = stack_attentions(attentions)
    grid = _grid_of(a, grid)
    layer = check_index(layer, a.shape[-4], "layer")
    a = a[..., layer, :, 0, 1:]                         # [(B,) heads, P]
    a = a.mean(-2) if head is None else a[..., check_index(head, a.shape[-2], "head"), :]
    a = a / a.sum(-1, keepdim=True).clamp_min(1e-12)
    return a.reshape(*a.shape[:-1], grid, grid)


@checked
def rollout_map(attentions: Attentions, grid: int | None = None, head_fusion: str = "mean",
                discard_ratio: float = 0.0) -> torch.Tensor:
    """The [CLS] row of ``attention_rollout`` over the patches, on the patch grid; taught in 4.4b.

    Args:
        attentions: A ViT's attention weights [layers, heads, 1+P, 1+P] or a batch [B, layers, heads, 1+P, 1+P].
        grid: Patches per side (default: the square root of P).
        head_fusion: How the heads of a layer are fused: ``"mean"``, ``"max"`` or ``"min"``.
        discard_ratio: The share of lowest weights set to zero per layer, in [0, 1).

    Returns:
        The map [grid, grid] (or [B, grid, grid]), summing to 1.

    Example:
        >>> import torch
        >>> import xai_helpers as xh
        >>> uniform = torch.full((2, 3, 5, 5), 0.2)
        >>> tuple(xh.methods.rollout_map(uniform).shape), round(float(xh.methods.rollout_map(uniform).sum()), 3)
        ((2, 2), 1.0)
    """
    a = stack_attentions(attentions)
    grid = _grid_of(a, grid)
    r = attention_rollout(a, head_fusion=head_fusion, discard_ratio=discard_ratio)[..., 0, 1:]
    r = r / r.sum(-1, keepdim=True).clamp_min(1e-12)
    return r.reshape(*r.shape[:-1], grid, grid)


# --- controls that know nothing but ink -----------------------------------------------------------------
@checked
def patch_brightness(images: Images, patch_size: int = PATCH) -> torch.Tensor:
    """Mean pixel value ("ink") of every patch; taught in 4.4b.

    Args:
        images: Pixels in [0, 1], [B, C, H, W] with H and W multiples of ``patch_size``.
        patch_size: Side of one patch in pixels.

    Returns:
        The brightness [B, grid, grid] (channels averaged).

    Example:
        >>> import torch
        >>> import xai_helpers as xh
        >>> images = torch.zeros(1, 1, 16, 16)
        >>> images[..., :8, :8] = 1.0                            # the top-left patch is bright
        >>> xh.methods.patch_brightness(images, patch_size=8)
        tensor([[[1., 0.],
                 [0., 0.]]])
    """
    x = _pixels(images, "images")
    patch_size = check_count(patch_size, "patch_size")
    if x.dim() != 4 or x.shape[-1] % patch_size or x.shape[-2] % patch_size or not x.numel():
        raise ValueError(f"images must be [B, C, H, W] with H and W multiples of patch_size={patch_size}; "
                         f"got shape {tuple(x.shape)}.")
    return F.avg_pool2d(x.mean(1, keepdim=True), patch_size)[:, 0]


def _pixels(images, name):
    """Images as a float CPU tensor of finite values; else an error naming ``name``."""
    x = readable_tensor(images, name)
    if x.is_complex():
        raise TypeError(f"{name} must hold real pixel values; got {x.dtype}.")
    x = x.float().cpu()
    if not torch.isfinite(x).all():
        raise ValueError(f"{name} contains NaN or infinite values; pass pixels in [0, 1].")
    return x


@checked
def brightness_map(images: Images, sharpness: float = 20.0, patch_size: int = PATCH) -> torch.Tensor:
    """A map that knows nothing but ink: softmax(sharpness x patch brightness) over the patches; taught in 4.4b.

    A control for attention maps: it finds whatever is brightest, digit or clutter.

    Args:
        images: Pixels in [0, 1], [B, C, H, W] with H and W multiples of ``patch_size``.
        sharpness: How strongly the brightest patches win (0: a uniform map).
        patch_size: Side of one patch in pixels.

    Returns:
        The map [B, grid, grid]; each image's map sums to 1.

    Example:
        >>> import torch
        >>> import xai_helpers as xh
        >>> xh.methods.brightness_map(torch.zeros(1, 1, 16, 16), patch_size=8)
        tensor([[[0.2500, 0.2500],
                 [0.2500, 0.2500]]])
    """
    b = patch_brightness(images, patch_size)
    return torch.softmax(float(sharpness) * b.flatten(1), -1).view_as(b)


@checked
@torch.no_grad()
def cls_queries(vision_model: LoadedVisionModel | TinyViT, images: Images, layer: int = 0) -> torch.Tensor:
    """The [CLS] token's query vectors in one layer of the course's TinyViT; taught in 4.4b.

    Read with a forward hook on that layer's query/key/value projection (always removed again).

    Args:
        vision_model: The ``VisionModel`` from ``load_vit_model()`` (the course's ViT) or a ``TinyViT``.
        images: Pixels in [0, 1], HxW, 1xHxW or Bx1xHxW, of the ViT's input size.
        layer: The layer (negative counts from the end).

    Returns:
        The queries [B, heads, head_dim] on the CPU.

    Example:
        >>> import torch
        >>> import xai_helpers as xh
        >>> tuple(xh.methods.cls_queries(xh.load_vit_model(), torch.rand(3, 1, 48, 48), layer=1).shape)
        (3, 4, 16)
    """
    net = vision_model.model if isinstance(vision_model, VisionModel) else vision_model
    if not isinstance(net, TinyViT):
        raise TypeError(f"cls_queries reads the course's TinyViT (load_vit_model()); got vision_model with a "
                        f"{type(net).__name__}.")
    layer = check_index(layer, len(net.blocks), "layer")
    x = _tiny_vit_input(net, images)
    attn = net.blocks[layer].attn
    captured = []
    handle = attn.qkv.register_forward_hook(lambda module, inputs, output: captured.append(output[:, 0]))
    try:
        net(x)
    finally:
        handle.remove()
    q = captured[0][:, :attn.heads * attn.head_dim]            # qkv = [q | k | v]; keep q
    return q.view(-1, attn.heads, attn.head_dim).detach().cpu()


def _tiny_vit_input(net, images):
    """``images`` -> a float batch [B, C, H, W] on the TinyViT's device, of its input size."""
    x = _pixels(images, "images")
    while x.dim() < 4:
        x = x.unsqueeze(0)
    shape = (net.stem[0].in_channels, net.image_size, net.image_size)
    if x.dim() != 4 or not len(x) or tuple(x.shape[1:]) != shape:
        raise ValueError(f"images must be [B, {shape[0]}, {shape[1]}, {shape[2]}] pixels in [0, 1] (the ViT's input, "
                         f"e.g. make_cluttered_digits().images); got shape {tuple(x.shape)}.")
    return x.to(next(net.parameters()).device)
