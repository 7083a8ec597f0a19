"""Vision Transformer attention with a ground truth: a small ViT the course trains itself, offline.

No pretrained ImageNet ViT can be installed offline, so the course trains its own: digits from
scikit-learn's bundled data set, pasted at random positions onto 48x48 canvases full of clutter
(strokes and digit fragments). Because we placed each digit, we know where the object is, and can
*score* an attention map: how much of its mass falls on the object, against the share a uniform
map would put there (chance).

The trained weights (``assets/vit/tiny_vit_digits.safetensors``, < 1 MB) ship with the package; the
training code is not part of it: ``python tools/train_tiny_vit.py`` rebuilds the file bit for bit (fixed
seeds, one thread, about 2 minutes of CPU). If the file is missing, ``load_vit_model`` raises
``ModelUnavailableError`` naming that command; nothing is trained on first use.
``"google/vit-base-patch16-224"`` is selectable by name where the Hugging Face Hub can be reached.
"""
import functools
import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .attention import attention_rollout, stack_attentions
from .device import get_device
from .models import ModelUnavailableError, _reachable, _unreachable_reason, freeze, unavailable_error

__all__ = ["TinyViT", "VisionModel", "VIT_MODELS", "DEFAULT_VIT_MODEL", "CHECKPOINT", "ClutteredDigits",
           "make_cluttered_digits", "load_vit_model", "vit_attention",
           "cls_attention_map", "rollout_map", "box_patch_overlap", "object_attention_mass",
           "localisation_scores", "head_localisation", "patch_brightness", "brightness_map", "cls_queries",
           "erase_digits", "accuracy", "draw_box", "plot_scene_attention"]

DEFAULT_VIT_MODEL = "tiny-vit-digits"
HUB_VIT = "google/vit-base-patch16-224"
CHECKPOINT = Path(__file__).resolve().parent / "assets" / "vit" / "tiny_vit_digits.safetensors"
CANVAS, PATCH, DIGIT_SCALE = 48, 8, 2           # 6x6 grid of 8-pixel patches; digits drawn 16x16
TINY_CONFIG = dict(image_size=CANVAS, patch_size=PATCH, in_channels=1, num_classes=10, dim=64, depth=4,
                   heads=4, mlp_dim=128, stem_channels=16)
TEST_RENDER_SEED = 12345


# --- the data: digits on clutter, with known positions --------------------------------------------
@dataclass
class ClutteredDigits:
    """``images`` [N, 1, 48, 48] in [0, 1]; ``labels`` [N]; ``boxes`` [N, 4] = (top, left, bottom, right)
    pixel rows/columns of the digit's ink, bottom/right exclusive; ``digit_index`` into sklearn's digits."""
    images: torch.Tensor
    labels: torch.Tensor
    boxes: torch.Tensor
    digit_index: torch.Tensor

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, i):
        i = slice(i, i + 1) if isinstance(i, int) else i
        return ClutteredDigits(self.images[i], self.labels[i], self.boxes[i], self.digit_index[i])


@functools.lru_cache(maxsize=1)
def _digits_split():
    """sklearn's 1,797 bundled 8x8 digits, split 70/30 stratified (fixed): disjoint train/test digits."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    digits = load_digits()
    index = np.arange(len(digits.target))
    train, test = train_test_split(index, test_size=0.3, random_state=0, stratify=digits.target)
    images = torch.tensor(digits.images / 16.0, dtype=torch.float32)
    return images, torch.tensor(digits.target), {"train": torch.tensor(train), "test": torch.tensor(test)}


def _segments(n, k, generator, size):
    """Draw k random line segments (4-14 px long, 1 px wide) on each of n blank canvases -> [n, size, size]."""
    p0 = torch.rand(n, k, 1, 2, generator=generator) * size
    length = 4 + torch.rand(n, k, 1, 1, generator=generator) * 10
    angle = torch.rand(n, k, 1, 1, generator=generator) * 2 * math.pi
    brightness = 0.35 + 0.65 * torch.rand(n, k, 1, generator=generator)
    t = torch.linspace(0, 1, 29).view(1, 1, -1, 1)
    points = (p0 + t * length * torch.cat([angle.sin(), angle.cos()], -1)).long()     # [n, k, 29, 2]
    inside = ((points >= 0) & (points < size)).all(-1)
    flat = (points[..., 0] * size + points[..., 1]).clamp(0, size * size - 1)
    values = (brightness * inside).flatten(1)
    canvas = torch.zeros(n, size * size)
    canvas.scatter_reduce_(1, flat.flatten(1), values, reduce="amax")
    return canvas.view(n, size, size)


def _window(n, top, left, h, w):
    """Advanced-indexing triple selecting an h x w window at (top, left) in each of n canvases."""
    return (torch.arange(n, device=top.device)[:, None, None],
            (top[:, None] + torch.arange(h, device=top.device))[:, :, None],
            (left[:, None] + torch.arange(w, device=left.device))[:, None, :])


def _paste(canvas, patches, top, left):
    idx = _window(len(patches), top, left, *patches.shape[1:])
    canvas[idx] = torch.maximum(canvas[idx], patches)


def _render(digit_images, generator, n_strokes=5, n_fragments=3, noise=0.05):
    """Paste 16x16 digits at random positions onto cluttered 48x48 canvases (all randomness from ``generator``).

    Clutter never touches the digit (it is cleared from the digit's square and a 1-pixel margin),
    so the digit's box is exactly where the evidence for the label is.
    """
    n, size, s = len(digit_images), CANVAS, 8 * DIGIT_SCALE
    big = F.interpolate(digit_images[:, None], scale_factor=DIGIT_SCALE, mode="bilinear", align_corners=False)[:, 0]
    canvas = _segments(n, n_strokes, generator, size)
    # Distractors: 4x4 pieces of random digits (drawn 8x8) -- strokes and curves that are no digit.
    all_digits, _, _ = _digits_split()
    for _ in range(n_fragments):
        src = all_digits[torch.randint(len(all_digits), (n,), generator=generator)]
        r, c = torch.randint(0, 5, (2, n), generator=generator)
        frag = src[_window(n, r, c, 4, 4)]
        frag = F.interpolate(frag[:, None], scale_factor=2, mode="bilinear", align_corners=False)[:, 0]
        frag = frag * (0.4 + 0.6 * torch.rand(n, 1, 1, generator=generator))  # device-ok: scenes are made on the CPU
        top, left = torch.randint(0, size - 8 + 1, (2, n), generator=generator)
        _paste(canvas, frag, top, left)
    top, left = torch.randint(0, size - s + 1, (2, n), generator=generator)
    rows, cols = torch.arange(size)[None, :], torch.arange(size)[None, :]
    keep_out = (((rows >= top[:, None] - 1) & (rows < top[:, None] + s + 1))[:, :, None]
                & ((cols >= left[:, None] - 1) & (cols < left[:, None] + s + 1))[:, None, :])
    canvas = canvas.masked_fill(keep_out, 0.0)
    _paste(canvas, big, top, left)
    canvas = (canvas + noise * torch.randn(canvas.shape, generator=generator)).clamp(0, 1)
    ink = big > 0.1  # the digit's ink -> its tight bounding box on the canvas
    ink_rows, ink_cols = ink.any(2), ink.any(1)
    first = lambda m: m.float().argmax(1)                       # noqa: E731
    last = lambda m: s - m.flip(1).float().argmax(1)            # noqa: E731
    boxes = torch.stack([top + first(ink_rows), left + first(ink_cols), top + last(ink_rows),
                         left + last(ink_cols)], 1)
    return canvas[:, None], boxes


def erase_digits(data, seed=0, noise=0.05):
    """The same scenes with each digit's box painted over with background noise -> ``ClutteredDigits``.

    Only clutter is left (the clutter never enters the digit's box); ``boxes`` and ``labels`` still say
    where the digit was and what it was. The noise has the scenes' own level (seeded).
    """
    if not isinstance(data, ClutteredDigits):
        raise TypeError(f"erase_digits needs ClutteredDigits (make_cluttered_digits); got {type(data).__name__}.")
    g = torch.Generator().manual_seed(seed)
    images = data.images.clone()
    background = (noise * torch.randn(images.shape, generator=g)).clamp(0, 1)
    for i, (top, left, bottom, right) in enumerate(data.boxes.tolist()):
        images[i, :, top:bottom, left:right] = background[i, :, top:bottom, left:right]
    return ClutteredDigits(images, data.labels.clone(), data.boxes.clone(), data.digit_index.clone())


def make_cluttered_digits(split="test", seed=None, n=None):
    """Render the train or test digits on clutter -> ``ClutteredDigits``.

    The test set is fixed (render seed 12345; 540 digits never seen in training). ``n`` keeps the
    first n digits of the split.
    """
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}.")
    images, labels, index = _digits_split()
    idx = index[split][:n] if n is not None else index[split]
    g = torch.Generator().manual_seed(TEST_RENDER_SEED if seed is None and split == "test" else (seed or 0))
    canvas, boxes = _render(images[idx], g)
    return ClutteredDigits(canvas, labels[idx], boxes, idx)


# --- the model: a ViT small enough to train on a laptop CPU ----------------------------------------
class Attention(nn.Module):
    """Multi-head self-attention that returns its weights: softmax(Q K^T / sqrt(d_k)) (Vaswani et al. 2017)."""

    def __init__(self, dim, heads):
        super().__init__()
        self.heads, self.head_dim = heads, dim // heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        b, n, d = x.shape
        q, k, v = self.qkv(x).view(b, n, 3, self.heads, self.head_dim).permute(2, 0, 3, 1, 4)
        weights = (q @ k.transpose(-2, -1) / math.sqrt(self.head_dim)).softmax(dim=-1)  # [B, H, N, N]
        out = (weights @ v).transpose(1, 2).reshape(b, n, d)
        return self.proj(out), weights


class Block(nn.Module):
    """Pre-norm Transformer encoder block: x + attention(LN(x)), then x + MLP(LN(x))."""

    def __init__(self, dim, heads, mlp_dim):
        super().__init__()
        self.norm1, self.attn = nn.LayerNorm(dim), Attention(dim, heads)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, mlp_dim), nn.GELU(), nn.Linear(mlp_dim, dim))

    def forward(self, x):
        h, weights = self.attn(self.norm1(x))
        x = x + h
        return x + self.mlp(self.norm2(x)), weights


class TinyViT(nn.Module):
    """A Vision Transformer (Dosovitskiy et al. 2021) in miniature: patches -> [CLS] + tokens -> blocks -> head.

    Input: pixel images [B, C, H, W] in [0, 1]. A small convolutional stem (one 3x3 layer, as in
    Xiao et al. 2021, "Early convolutions help transformers see better") feeds the patch embedding;
    it makes the ViT learn from few images but sees only 1 pixel beyond each patch, so token k still
    stands for patch k. ``forward(x, output_attentions=True)`` also returns the per-layer attention
    weights, a tuple of [B, heads, 1 + patches, 1 + patches].
    """

    def __init__(self, image_size=48, patch_size=8, in_channels=1, num_classes=10, dim=64, depth=4, heads=4,
                 mlp_dim=128, stem_channels=16):
        super().__init__()
        self.image_size, self.patch_size = image_size, patch_size
        self.grid = image_size // patch_size
        self.stem = nn.Sequential(nn.Conv2d(in_channels, stem_channels, 3, padding=1), nn.GELU())
        self.patch_embed = nn.Conv2d(stem_channels, dim, kernel_size=patch_size, stride=patch_size)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embed = nn.Parameter(0.02 * torch.randn(1, 1 + self.grid ** 2, dim))
        self.blocks = nn.ModuleList(Block(dim, heads, mlp_dim) for _ in range(depth))
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, num_classes)

    def forward(self, x, output_attentions=False):
        tokens = self.patch_embed(self.stem((x - 0.5) / 0.5)).flatten(2).transpose(1, 2)   # [B, patches, dim]
        x = torch.cat([self.cls_token.expand(len(tokens), -1, -1), tokens], 1) + self.pos_embed
        attentions = []
        for block in self.blocks:
            x, weights = block(x)
            attentions.append(weights)
        logits = self.head(self.norm(x[:, 0]))
        return (logits, tuple(attentions)) if output_attentions else logits


def _read_checkpoint(path):
    from safetensors import safe_open
    from safetensors.torch import load_file
    with safe_open(str(path), framework="pt") as f:
        info = json.loads(f.metadata()["info"])
    model = TinyViT(**info["config"])
    model.load_state_dict(load_file(str(path)))
    return model, info


@torch.no_grad()
def accuracy(model, images, labels, batch_size=256):
    """Top-1 accuracy of ``model`` (a TinyViT or VisionModel) on image tensors."""
    net = model.model if isinstance(model, VisionModel) else model
    device = next(net.parameters()).device
    correct = 0
    for b in range(0, len(images), batch_size):
        logits = net(images[b:b + batch_size].to(device))
        logits = getattr(logits, "logits", logits)
        correct += (logits.argmax(-1).cpu() == labels[b:b + batch_size]).sum().item()
    return correct / len(images)


# --- loading: the course's tiny ViT, or the hub's ViT-Base ------------------------------------------
@dataclass(eq=False)
class VisionModel:
    """A frozen ViT plus what is needed to feed it and to lay its attention over the pixels it saw.

    ``preprocess`` maps an image (PIL, array, or tensor) to the model's input batch on its device;
    ``to_image`` maps one input back to an HxWx3 array in [0, 1] -- the exact pixels the patches cut
    (for ViT-Base: resized to 224x224, no crop), so overlays line up.
    """
    name: str
    model: nn.Module
    labels: list
    image_size: int
    patch_size: int
    description: str = ""
    info: dict = field(default_factory=dict)
    processor: object = None
    device: torch.device = field(default_factory=get_device)

    @property
    def grid(self):
        return self.image_size // self.patch_size

    def __repr__(self):
        n = sum(p.numel() for p in self.model.parameters())
        acc = f", test accuracy {self.info['test_accuracy']:.3f}" if "test_accuracy" in self.info else ""
        return (f"VisionModel({self.name!r}, {n / 1e6:.3f} M parameters, {self.image_size}px input, "
                f"{self.grid}x{self.grid} patches of {self.patch_size}px{acc}, device={self.device})")

    def preprocess(self, image):
        """Image -> input batch [B, C, H, W] on the device."""
        if self.processor is not None:
            from .data import load_image
            if isinstance(image, torch.Tensor):
                raise TypeError(f"{self.name} takes PIL images, course photo names or paths; the processor "
                                "resizes them to 224x224 and normalises.")
            pixels = self.processor(images=load_image(image), return_tensors="pt")["pixel_values"]
            return pixels.to(self.device)
        x = torch.as_tensor(image, dtype=torch.float32)
        while x.dim() < 4:
            x = x.unsqueeze(0)
        if tuple(x.shape[-3:]) != (1, self.image_size, self.image_size):
            raise ValueError(f"{self.name} takes 1x{self.image_size}x{self.image_size} images in [0, 1] "
                             f"(make_cluttered_digits); got shape {tuple(x.shape)}.")
        return x.to(self.device)

    def to_image(self, x):
        """One input [1, C, H, W] (or [C, H, W]) -> HxWx3 pixels in [0, 1], as the model saw them."""
        x = x.detach().cpu().float()
        x = x[0] if x.dim() == 4 else x
        if self.processor is not None:
            mean = torch.tensor(self.processor.image_mean).view(-1, 1, 1)
            std = torch.tensor(self.processor.image_std).view(-1, 1, 1)
            x = x * std + mean
        x = x.expand(3, -1, -1) if x.shape[0] == 1 else x
        return x.clamp(0, 1).permute(1, 2, 0).numpy()

    @torch.no_grad()
    def predict(self, x):
        """Input batch -> (predicted class indices [B], probabilities [B, classes]) on the CPU."""
        logits, _ = vit_attention(self, x)
        probs = logits.softmax(-1).cpu()
        return probs.argmax(-1), probs


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


VIT_MODELS = {
    "tiny-vit-digits": "the course's ViT: 4 layers x 4 heads, 6x6 patches of 8 px + [CLS], 0.2 M parameters, "
                       "trained on sklearn digits pasted on clutter (tools/train_tiny_vit.py); ships with "
                       "xai_helpers",
    HUB_VIT: "Google's ViT-B/16, ImageNet-21k + 1k, 86 M parameters, 14x14 patches of 16 px; downloaded from "
             "the Hugging Face Hub on first use (AutoImageProcessor: 224x224 resize, no crop, mean/std 0.5)",
}


def load_vit_model(name=None):
    """Load a ViT whose attention we can read -> ``VisionModel`` (frozen, eval mode, on ``get_device()``).

    ``name`` defaults to env ``XAI_VIT_MODEL``, else ``"tiny-vit-digits"`` (offline; its checkpoint ships
    with the package -- if it is missing, ``ModelUnavailableError`` names the command that rebuilds it). ``"google/vit-base-patch16-224"`` needs the Hugging Face Hub (or
    its local cache); otherwise ``ModelUnavailableError``. Cached per process.
    """
    name = name or os.environ.get("XAI_VIT_MODEL") or DEFAULT_VIT_MODEL
    key = str(name).strip()
    key = {"tiny_vit_digits": DEFAULT_VIT_MODEL, "vit-base-patch16-224": HUB_VIT}.get(key.lower(), key)
    if key.lower() == DEFAULT_VIT_MODEL:
        key = DEFAULT_VIT_MODEL
    if key not in VIT_MODELS:
        raise ValueError(f"Unknown ViT {name!r}. Choose one of: {', '.join(VIT_MODELS)} (the offline default "
                         f"is {DEFAULT_VIT_MODEL!r}).")
    return _load_cached(key, str(get_device()))


REBUILD_COMMAND = "python tools/train_tiny_vit.py"


@functools.lru_cache(maxsize=None)
def _load_cached(key, device):
    if key == HUB_VIT:
        return _load_hub_vit(device)
    if not CHECKPOINT.exists():
        raise ModelUnavailableError(
            f"The offline default ViT {DEFAULT_VIT_MODEL!r} cannot be loaded: its checkpoint {CHECKPOINT} is "
            f"missing (it ships with xai_helpers). Rebuild it from the course repository: {REBUILD_COMMAND} "
            f"(about 2 minutes of one CPU core; gives the shipped weights bit for bit), or reinstall xai_helpers.")
    model, info = _read_checkpoint(CHECKPOINT)
    return VisionModel(name=DEFAULT_VIT_MODEL, model=freeze(model).to(device), labels=[str(d) for d in range(10)],
                       image_size=info["config"]["image_size"], patch_size=info["config"]["patch_size"],
                       description=VIT_MODELS[DEFAULT_VIT_MODEL], info=info, device=torch.device(device))


def _load_hub_vit(device):
    from transformers import AutoImageProcessor, ViTForImageClassification
    from .text import _no_progress_bars

    def load(local_only):
        with _no_progress_bars():
            processor = AutoImageProcessor.from_pretrained(HUB_VIT, local_files_only=local_only)
            net = ViTForImageClassification.from_pretrained(HUB_VIT, local_files_only=local_only,
                                                            attn_implementation="eager")
        return processor, net
    default = f"load_vit_model({DEFAULT_VIT_MODEL!r}) (or unset XAI_VIT_MODEL)"
    try:
        processor, net = load(local_only=True)
    except OSError as cached_err:
        if not _reachable("huggingface.co"):
            raise unavailable_error(
                repr(HUB_VIT), _unreachable_reason("huggingface.co", "it is not in the local Hugging Face cache"),
                default) from cached_err
        try:
            processor, net = load(local_only=False)
        except Exception as err:
            raise unavailable_error(repr(HUB_VIT), f"the download from the Hugging Face Hub failed ({err})",
                                    default, "Or retry with a working connection.") from err
    size = processor.size  # a dict in transformers 4, a SizeDict in 5: the square the photo is resized to
    size = int(size["height"] if isinstance(size, dict) else getattr(size, "height", None) or 224)
    labels = [net.config.id2label[i] for i in range(net.config.num_labels)]
    return VisionModel(name=HUB_VIT, model=freeze(net).to(device), labels=labels, image_size=size,
                       patch_size=net.config.patch_size, description=VIT_MODELS.get(HUB_VIT, HUB_VIT),
                       processor=processor, device=torch.device(device))


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


def localisation_scores(vision_model, data, batch_size=256, random_seed=0, extra_maps=None):
    """Score attention maps against the digits' true boxes -> pandas DataFrame, one row per method.

    Columns: mean share of the map's mass on the object, mean chance share (uniform map), their
    ratio, and the pointing game (how often the map's highest patch overlaps the object).
    Methods: [CLS] attention of each layer (head mean), attention rollout, a random map, and any
    ``extra_maps`` (name -> [N, grid, grid] non-negative maps, e.g. ``brightness_map(data.images)``).
    """
    import pandas as pd
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
    import pandas as pd
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


# --- figures --------------------------------------------------------------------------------------------
def draw_box(ax, box, color="lime", linewidth=1.5):
    """Outline a (top, left, bottom, right) pixel box (bottom/right exclusive) on an image axis."""
    import matplotlib.pyplot as plt
    top, left, bottom, right = [float(v) for v in box]
    ax.add_patch(plt.Rectangle((left - 0.5, top - 0.5), right - left, bottom - top, fill=False, ec=color,
                               lw=linewidth))


def plot_scene_attention(vision_model, data, indices, layers=(0, -1), rollout=True, panel_size=2.4,
                         extra_maps=None):
    """One row per scene: the image with the digit's true box and the prediction, then [CLS] attention
    of the chosen layers, the rollout and any ``extra_maps`` (title -> [len(indices), grid, grid]), each
    laid over the pixels (opacity follows the map), with a colourbar, the true box in green and the
    panel's title giving its share of mass on the object. Returns the figure."""
    import matplotlib.pyplot as plt
    from .plotting import overlay_heatmap
    indices = list(indices)
    sub = data[indices]
    logits, att = vit_attention(vision_model, sub.images.to(vision_model.device))
    att = att if att.dim() == 5 else att[None]
    n_layers = att.shape[1]
    maps = {f"[CLS] attn, layer {layer % n_layers}": cls_attention_map(att, vision_model.grid, layer=layer)
            for layer in layers}
    if rollout:
        maps["rollout"] = rollout_map(att, vision_model.grid)
    for title, m in (extra_maps or {}).items():
        m = torch.as_tensor(m, dtype=torch.float32).detach().cpu()
        if m.shape != (len(indices), vision_model.grid, vision_model.grid):
            raise ValueError(f"extra_maps[{title!r}] must hold one {vision_model.grid}x{vision_model.grid} map "
                             f"per scene ({len(indices)}); got shape {tuple(m.shape)}.")
        maps[title] = m / m.sum((-2, -1), keepdim=True).clamp_min(1e-12)
    ncols = 1 + len(maps)
    fig, axes = plt.subplots(len(indices), ncols, figsize=(panel_size * ncols * 1.12, panel_size * len(indices)),
                             squeeze=False, layout="constrained")
    pred = logits.argmax(-1)
    for row, i in enumerate(indices):
        image = vision_model.to_image(sub.images[row:row + 1])
        ax = axes[row, 0]
        ax.imshow(image)
        draw_box(ax, sub.boxes[row])
        ok = "right" if pred[row] == sub.labels[row] else "wrong"
        ax.set_title(f"#{i}: digit {sub.labels[row].item()}, says {pred[row].item()} ({ok})", fontsize=8)
        ax.set_xticks([])
        ax.set_yticks([])
        for col, (title, m) in enumerate(maps.items(), start=1):
            mass, chance = object_attention_mass(m[row:row + 1], sub.boxes[row:row + 1], vision_model.image_size,
                                                 vision_model.patch_size)
            ax = axes[row, col]
            im = overlay_heatmap(image, m[row], ax=ax, colorbar=False, alpha=0.85, clip_percentile=None,
                                 title=f"{title}\non object {mass.item():.0%} (chance {chance.item():.0%})")
            draw_box(ax, sub.boxes[row])
            ax.title.set_fontsize(8)
            bar = fig.colorbar(im, ax=ax, fraction=0.046, pad=0.03)
            bar.ax.tick_params(labelsize=8)
            if row == 0 and col == len(maps):
                bar.set_label("share of the map per patch", fontsize=8)
    return fig
