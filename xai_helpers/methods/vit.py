"""Attention maps of a ViT on its patch grid: [CLS] attention, rollout, and ink-only controls."""
import math

import torch
import torch.nn.functional as F

from ..digits import PATCH
from ..models.vit import TinyViT, VisionModel
from .attention import attention_rollout, stack_attentions

__all__ = ["vit_attention", "cls_attention_map", "rollout_map", "patch_brightness", "brightness_map",
           "cls_queries"]


@torch.no_grad()
def vit_attention(vision_model, x):
    """Run the ViT -> ``(logits [B, classes], attentions)``; attentions [layers, heads, 1+P, 1+P]
    for one image, [B, layers, heads, 1+P, 1+P] for a batch (token 0 is [CLS])."""
    x = vision_model.preprocess(x) if not isinstance(x, torch.Tensor) or x.device != vision_model.device \
        or x.dim() != 4 else x
    out = vision_model.model(x, output_attentions=True)
    if isinstance(out, tuple):
        logits, attentions = out
    else:
        logits, attentions = out.logits, out.attentions
    return logits.cpu(), stack_attentions(attentions)


# --- attention maps on the patch grid, and their score against the object's true position -----------
def _grid_of(attentions, grid):
    n = attentions.shape[-1] - 1
    grid = grid or math.isqrt(n)
    if grid * grid != n:
        raise ValueError(f"{n} patch tokens do not form a {grid}x{grid} grid; pass grid=vision_model.grid.")
    return grid


def cls_attention_map(attentions, grid=None, layer=-1, head=None):
    """[CLS] query's attention to each patch in one layer -> [grid, grid] (or [B, grid, grid]).

    ``head=None`` averages the heads. The weight [CLS] puts on itself is dropped and the rest
    re-normalised to sum to 1, so maps of different methods compare on one scale.
    """
    a = stack_attentions(attentions)
    grid = _grid_of(a, grid)
    a = a[..., layer, :, 0, 1:]                         # [(B,) heads, P]
    a = a.mean(-2) if head is None else a[..., head, :]
    a = a / a.sum(-1, keepdim=True).clamp_min(1e-12)
    return a.reshape(*a.shape[:-1], grid, grid)


def rollout_map(attentions, grid=None, head_fusion="mean", discard_ratio=0.0):
    """[CLS] row of ``attention_rollout`` over the patches -> [grid, grid] (or [B, grid, grid]), sums to 1."""
    a = stack_attentions(attentions)
    grid = _grid_of(a, grid)
    r = attention_rollout(a, head_fusion=head_fusion, discard_ratio=discard_ratio)[..., 0, 1:]
    r = r / r.sum(-1, keepdim=True).clamp_min(1e-12)
    return r.reshape(*r.shape[:-1], grid, grid)


def patch_brightness(images, patch_size=PATCH):
    """Mean pixel value ("ink") of every patch -> [B, grid, grid]; images [B, 1, H, W] in [0, 1]."""
    x = torch.as_tensor(images, dtype=torch.float32)
    if x.dim() != 4 or x.shape[-1] % patch_size or x.shape[-2] % patch_size:
        raise ValueError(f"images must be [B, C, H, W] with H and W multiples of patch_size={patch_size}; "
                         f"got shape {tuple(x.shape)}.")
    return F.avg_pool2d(x.mean(1, keepdim=True), patch_size)[:, 0]


def brightness_map(images, sharpness=20.0, patch_size=PATCH):
    """A map that knows nothing but ink: softmax(sharpness x patch brightness) over the patches -> [B, grid, grid].

    A control for attention maps: it finds whatever is brightest, digit or clutter.
    """
    b = patch_brightness(images, patch_size)
    return torch.softmax(sharpness * b.flatten(1), -1).view_as(b)


@torch.no_grad()
def cls_queries(vision_model, images, layer=0):
    """The [CLS] token's query vectors in one layer of the course's TinyViT -> [B, heads, head_dim] (CPU).

    Read with a forward hook on that layer's query/key/value projection (always removed again).
    """
    net = vision_model.model if isinstance(vision_model, VisionModel) else vision_model
    if not isinstance(net, TinyViT):
        raise TypeError(f"cls_queries reads the course's TinyViT (load_vit_model()); got {type(net).__name__}.")
    layer = range(len(net.blocks))[layer]
    attn = net.blocks[layer].attn
    captured = []
    handle = attn.qkv.register_forward_hook(lambda module, inputs, output: captured.append(output[:, 0]))
    try:
        device = next(net.parameters()).device
        net(torch.as_tensor(images, dtype=torch.float32).to(device))
    finally:
        handle.remove()
    q = captured[0][:, :attn.heads * attn.head_dim]            # qkv = [q | k | v]; keep q
    return q.view(-1, attn.heads, attn.head_dim).detach().cpu()
