"""Scores of ViT attention maps against the digits' true boxes (4.4b): mass on the object vs chance."""
from collections.abc import Mapping, Sequence

import pandas as pd
import torch

from .._typecheck import checked
from .._validate import check_count, readable_tensor
from ..digits import CANVAS, PATCH, ClutteredDigits
from ..methods.vit import cls_attention_map, rollout_map, vit_attention
from ..models.vit import VisionModel
from ..viz.plotting import ArrayLike

__all__ = ["box_patch_overlap", "object_attention_mass", "localisation_scores", "head_localisation"]

#: What the scores accept as boxes or maps: a tensor, an array or a (nested) list of numbers.
Numbers = ArrayLike | Sequence


def _finite(a, name, dtype=torch.float32):
    """A tensor or array of numbers -> a finite CPU tensor of ``dtype``; else an error naming ``name``."""
    t = readable_tensor(a, name)
    if t.is_complex() or t.dtype == torch.bool:
        raise TypeError(f"{name} must hold real numbers; got {t.dtype}.")
    t = t.to(dtype).cpu()
    if not torch.isfinite(t).all():
        raise ValueError(f"{name} contains NaN or infinite values.")
    return t


def _boxes(boxes):
    b = _finite(boxes, "boxes")
    if b.numel() == 0 or b.shape[-1] != 4:
        raise ValueError(f"boxes must be [B, 4] = (top, left, bottom, right) in pixels; got shape {tuple(b.shape)}.")
    return b.reshape(-1, 4)


def _sizes(image_size, patch_size):
    check_count(image_size, "image_size")
    check_count(patch_size, "patch_size")
    if patch_size > image_size:
        raise ValueError(f"patch_size ({patch_size}) must not exceed image_size ({image_size}).")


@checked
def box_patch_overlap(boxes: Numbers, image_size: int = CANVAS, patch_size: int = PATCH) -> torch.Tensor:
    """Fraction of each patch's area inside each box (taught in 4.4b).

    Args:
        boxes: [B, 4] = (top, left, bottom, right) in pixels, bottom/right exclusive.
        image_size: Side of the square image in pixels.
        patch_size: Side of one patch in pixels.

    Returns:
        A float tensor [B, grid, grid] in [0, 1], grid = image_size / patch_size.

    Example:
        >>> from xai_helpers.evaluation import box_patch_overlap
        >>> box_patch_overlap([[0, 0, 12, 8]], image_size=16, patch_size=8)
        tensor([[[1.0000, 0.0000],
                 [0.5000, 0.0000]]])
    """
    _sizes(image_size, patch_size)
    boxes = _boxes(boxes)
    edges = torch.arange(0, image_size, patch_size, dtype=torch.float32)

    def overlap(lo, hi):  # [B, grid]: length of [edge, edge+patch) inside [lo, hi)
        return ((torch.minimum(edges + patch_size, hi[:, None]) - torch.maximum(edges, lo[:, None]))
                .clamp_min(0) / patch_size)
    return overlap(boxes[:, 0], boxes[:, 2])[:, :, None] * overlap(boxes[:, 1], boxes[:, 3])[:, None, :]


@checked
def object_attention_mass(patch_maps: Numbers, boxes: Numbers, image_size: int = CANVAS,
                          patch_size: int = PATCH) -> tuple[torch.Tensor, torch.Tensor]:
    """Share of a patch map's mass on the object, and what a uniform map would get (chance); taught in 4.4b.

    A patch partly covered by the object's box counts with the covered fraction.

    Args:
        patch_maps: [B, grid, grid] non-negative maps (normalised here), one per box.
        boxes: [B, 4] = (top, left, bottom, right) in pixels, bottom/right exclusive.
        image_size: Side of the square image in pixels.
        patch_size: Side of one patch in pixels.

    Returns:
        ``(mass [B], chance [B])``: the share of each map's mass on its box, and the box's share of the patches.

    Example:
        >>> import torch
        >>> from xai_helpers.evaluation import object_attention_mass
        >>> mass, chance = object_attention_mass(torch.tensor([[[3.0, 1.0], [0.0, 0.0]]]), [[0, 0, 8, 8]], 16, 8)
        >>> mass, chance
        (tensor([0.7500]), tensor([0.2500]))
    """
    _sizes(image_size, patch_size)
    m = _finite(patch_maps, "patch_maps")
    if m.dim() < 2 or m.numel() == 0:
        raise ValueError(f"patch_maps must be [B, grid, grid]; got shape {tuple(m.shape)}.")
    m = m.reshape(-1, *m.shape[-2:])
    m = m / m.sum((-2, -1), keepdim=True).clamp_min(1e-12)
    cover = box_patch_overlap(boxes, image_size, patch_size)
    if cover.shape != m.shape:
        raise ValueError(f"{len(cover)} boxes for {len(m)} patch_maps of {tuple(m.shape[-2:])} patches: "
                         f"pass one box per map and the model's image_size and patch_size.")
    return (m * cover).sum((-2, -1)), cover.mean((-2, -1))  # device-ok: m was moved to the CPU above


def _attention_batches(vision_model, data, batch_size):
    """The ViT's attention weights of ``data``'s scenes, batch after batch -> [batch, layers, heads, seq, seq]."""
    batch_size = check_count(batch_size, "batch_size")
    if len(data) == 0:
        raise ValueError("data holds no scenes: pass make_cluttered_digits(...) or a non-empty slice of it.")
    for b in range(0, len(data), batch_size):
        _, att = vit_attention(vision_model, data.images[b:b + batch_size].to(vision_model.device))
        yield att if att.dim() == 5 else att[None]


@checked
def localisation_scores(vision_model: VisionModel, data: ClutteredDigits, batch_size: int = 256,
                        random_seed: int = 0, extra_maps: Mapping[str, Numbers] | None = None) -> pd.DataFrame:
    """Score attention maps against the digits' true boxes, one row per method (taught in 4.4b).

    Methods: the [CLS] attention of each layer (mean over heads), attention rollout, a random map (the
    control) and any ``extra_maps``. Columns: mean share of the map's mass on the object, mean chance share
    (a uniform map), their ratio, and the pointing game (how often the map's highest patch overlaps the
    object).

    Args:
        vision_model: The ``VisionModel`` of ``load_vit_model()``.
        data: Scenes with known digit boxes (``make_cluttered_digits(...)``).
        batch_size: Scenes per forward pass.
        random_seed: Seed of the random control map.
        extra_maps: Name -> [N, grid, grid] non-negative maps, one per scene (e.g. ``brightness_map(data.images)``).

    Returns:
        A DataFrame, one row per method; columns "mass on object", "chance", "ratio to chance", "pointing game".

    Example:
        >>> import xai_helpers as xh
        >>> from xai_helpers.evaluation import localisation_scores
        >>> scores = localisation_scores(xh.load_vit_model(), xh.digits.make_cluttered_digits("test", n=20))
        >>> list(scores.columns)
        ['mass on object', 'chance', 'ratio to chance', 'pointing game']
        >>> scores.index[-2:].tolist()
        ['attention rollout', 'random map (control)']
    """
    maps = {}
    for att in _attention_batches(vision_model, data, batch_size):
        for layer in range(att.shape[1]):
            maps.setdefault(f"[CLS] attention, layer {layer}", []).append(
                cls_attention_map(att, vision_model.grid, layer=layer))
        maps.setdefault("attention rollout", []).append(rollout_map(att, vision_model.grid))
    g = torch.Generator().manual_seed(random_seed)
    maps = {k: torch.cat(v) for k, v in maps.items()}
    maps["random map (control)"] = torch.rand(next(iter(maps.values())).shape, generator=g)
    for name, m in (extra_maps or {}).items():
        m = _finite(m, f"extra_maps[{name!r}]")
        if m.shape != maps["random map (control)"].shape:
            raise ValueError(f"extra_maps[{name!r}] has shape {tuple(m.shape)}; expected one map per scene, "
                             f"{tuple(maps['random map (control)'].shape)}.")
        maps[name] = m
    rows = {}
    cover = box_patch_overlap(data.boxes, vision_model.image_size, vision_model.patch_size)
    for name, m in maps.items():
        mass, chance = object_attention_mass(m, data.boxes, vision_model.image_size, vision_model.patch_size)
        top = m.flatten(1).argmax(1)
        hit = cover.flatten(1).gather(1, top[:, None])[:, 0] > 0
        rows[name] = {"mass on object": mass.mean().item(), "chance": chance.mean().item(),
                      "ratio to chance": (mass.mean() / chance.mean()).item(),
                      "pointing game": hit.float().mean().item()}
    return pd.DataFrame(rows).T


@checked
def head_localisation(vision_model: VisionModel, data: ClutteredDigits, layer: int = -1,
                      batch_size: int = 256) -> pd.DataFrame:
    """Each head's [CLS] map in one layer, scored like ``localisation_scores`` (taught in 4.4b).

    Args:
        vision_model: The ``VisionModel`` of ``load_vit_model()``.
        data: Scenes with known digit boxes (``make_cluttered_digits(...)``).
        layer: The layer whose heads are scored (negative: from the end).
        batch_size: Scenes per forward pass.

    Returns:
        A DataFrame, one row per head ("head 0", ...); columns "mass on object" and "ratio to chance".

    Example:
        >>> import xai_helpers as xh
        >>> from xai_helpers.evaluation import head_localisation
        >>> table = head_localisation(xh.load_vit_model(), xh.digits.make_cluttered_digits("test", n=20), layer=0)
        >>> table.shape, table.index[0]
        ((4, 2), 'head 0')
    """
    maps = []
    for att in _attention_batches(vision_model, data, batch_size):
        if not -att.shape[1] <= layer < att.shape[1]:
            raise ValueError(f"layer must be in {-att.shape[1]} ... {att.shape[1] - 1} (the model has "
                             f"{att.shape[1]} layers); got {layer}.")
        maps.append(torch.stack([cls_attention_map(att, vision_model.grid, layer=layer, head=h)
                                 for h in range(att.shape[2])], 1))
    maps = torch.cat(maps)                                                   # [N, heads, grid, grid]
    rows = {}
    for head in range(maps.shape[1]):
        mass, chance = object_attention_mass(maps[:, head], data.boxes, vision_model.image_size,
                                             vision_model.patch_size)
        rows[f"head {head}"] = {"mass on object": mass.mean().item(),
                                "ratio to chance": (mass.mean() / chance.mean()).item()}
    return pd.DataFrame(rows).T
