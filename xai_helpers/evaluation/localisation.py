"""Scores of ViT attention maps against the digits' true boxes (4.4b): mass on the object vs chance."""
import torch
import pandas as pd

from ..digits import CANVAS, PATCH
from ..methods.vit import cls_attention_map, rollout_map, vit_attention

__all__ = ["box_patch_overlap", "object_attention_mass", "localisation_scores", "head_localisation"]


def box_patch_overlap(boxes, image_size=CANVAS, patch_size=PATCH):
    """Fraction of each patch's area inside each box -> [B, grid, grid] in [0, 1].

    ``boxes`` [B, 4] = (top, left, bottom, right) in pixels, bottom/right exclusive.
    """
    boxes = torch.as_tensor(boxes, dtype=torch.float32).view(-1, 4)
    edges = torch.arange(0, image_size, patch_size, dtype=torch.float32)
    def overlap(lo, hi):  # [B, grid]: length of [edge, edge+patch) inside [lo, hi)
        return ((torch.minimum(edges + patch_size, hi[:, None]) - torch.maximum(edges, lo[:, None]))
                .clamp_min(0) / patch_size)
    return overlap(boxes[:, 0], boxes[:, 2])[:, :, None] * overlap(boxes[:, 1], boxes[:, 3])[:, None, :]


def object_attention_mass(patch_maps, boxes, image_size=CANVAS, patch_size=PATCH):
    """Share of a patch map's mass on the object, and what a uniform map would get (chance).

    ``patch_maps`` [B, grid, grid] (non-negative; normalised here). A patch partly covered by the
    object's box counts with the covered fraction. Returns ``(mass [B], chance [B])``.
    """
    m = torch.as_tensor(patch_maps, dtype=torch.float32).detach().cpu()
    m = m.reshape(-1, *m.shape[-2:])
    m = m / m.sum((-2, -1), keepdim=True).clamp_min(1e-12)
    cover = box_patch_overlap(boxes, image_size, patch_size)
    if cover.shape != m.shape:
        raise ValueError(f"{len(cover)} boxes for {len(m)} maps of {tuple(m.shape[-2:])} patches: "
                         f"pass one box per map and the model's image_size and patch_size.")
    return (m * cover).sum((-2, -1)), cover.mean((-2, -1))  # device-ok: m was moved to the CPU above


def localisation_scores(vision_model, data, batch_size=256, random_seed=0, extra_maps=None):
    """Score attention maps against the digits' true boxes -> pandas DataFrame, one row per method.

    Columns: mean share of the map's mass on the object, mean chance share (uniform map), their
    ratio, and the pointing game (how often the map's highest patch overlaps the object).
    Methods: [CLS] attention of each layer (head mean), attention rollout, a random map, and any
    ``extra_maps`` (name -> [N, grid, grid] non-negative maps, e.g. ``brightness_map(data.images)``).
    """
    maps = {}
    for b in range(0, len(data), batch_size):
        _, att = vit_attention(vision_model, data.images[b:b + batch_size].to(vision_model.device))
        att = att if att.dim() == 5 else att[None]
        for layer in range(att.shape[1]):
            maps.setdefault(f"[CLS] attention, layer {layer}", []).append(
                cls_attention_map(att, vision_model.grid, layer=layer))
        maps.setdefault("attention rollout", []).append(rollout_map(att, vision_model.grid))
    g = torch.Generator().manual_seed(random_seed)
    maps = {k: torch.cat(v) for k, v in maps.items()}
    maps["random map (control)"] = torch.rand(next(iter(maps.values())).shape, generator=g)
    for name, m in (extra_maps or {}).items():
        m = torch.as_tensor(m, dtype=torch.float32).detach().cpu()
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


def head_localisation(vision_model, data, layer=-1, batch_size=256):
    """Each head's [CLS] map in one layer, scored like ``localisation_scores`` -> DataFrame, one row per head."""
    maps = []
    for b in range(0, len(data), batch_size):
        _, att = vit_attention(vision_model, data.images[b:b + batch_size].to(vision_model.device))
        att = att if att.dim() == 5 else att[None]
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
