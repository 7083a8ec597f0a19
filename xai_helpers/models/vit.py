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
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from torch import nn

from .._typecheck import checked
from .._validate import check_count, check_device, readable_tensor
from ..data import ASSET_DIR, read_image
from ..device import get_device
from ..digits import CANVAS, PATCH
from .prediction import Wrapper
from .base import ModelUnavailableError, _no_progress_bars, cached, freeze, local_or_hub, normalise_name

__all__ = ["TinyViT", "VisionModel", "VIT_MODELS", "DEFAULT_VIT_MODEL", "CHECKPOINT", "load_vit_model", "accuracy"]

#: The ViT every loader call without a name gets (offline: its checkpoint ships with the package).
DEFAULT_VIT_MODEL: str = "tiny-vit-digits"
HUB_VIT = "google/vit-base-patch16-224"
CHECKPOINT = ASSET_DIR / "vit" / "tiny_vit_digits.safetensors"
TINY_CONFIG = dict(image_size=CANVAS, patch_size=PATCH, in_channels=1, num_classes=10, dim=64, depth=4,
                   heads=4, mlp_dim=128, stem_channels=16)


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
    weights, a tuple of [B, heads, 1 + patches, 1 + patches]. Taught in 4.4b; ``load_vit_model()`` loads the
    trained one.

    Args:
        image_size: Side of the square input in pixels (default 48, the digit scenes).
        patch_size: Side of one patch in pixels (default 8: a 6x6 grid of patches).
        in_channels: Input channels (default 1, grey scale).
        num_classes: Outputs of the classification head (default 10 digits).
        dim: Width of every token (default 64).
        depth: Number of Transformer blocks, each with its own attention weights (default 4).
        heads: Attention heads per block (default 4).
        mlp_dim: Hidden width of each block's MLP (default 128).
        stem_channels: Channels of the convolutional stem (default 16).

    Example:
        >>> import torch
        >>> from xai_helpers.models import TinyViT
        >>> net = TinyViT()
        >>> logits, attentions = net(torch.rand(2, 1, 48, 48), output_attentions=True)
        >>> tuple(logits.shape), len(attentions), tuple(attentions[0].shape)
        ((2, 10), 4, (2, 4, 37, 37))
    """

    @checked
    def __init__(self, image_size: int = 48, patch_size: int = 8, in_channels: int = 1, num_classes: int = 10,
                 dim: int = 64, depth: int = 4, heads: int = 4, mlp_dim: int = 128, stem_channels: int = 16) -> None:
        sizes = dict(image_size=image_size, patch_size=patch_size, in_channels=in_channels, num_classes=num_classes,
                     dim=dim, depth=depth, heads=heads, mlp_dim=mlp_dim, stem_channels=stem_channels)
        for name, value in sizes.items():
            check_count(value, name)
        if image_size % patch_size:
            raise ValueError(f"image_size ({image_size}) must be a multiple of patch_size ({patch_size}): the "
                             "patches tile the image.")
        if dim % heads:
            raise ValueError(f"dim ({dim}) must be a multiple of heads ({heads}): each head gets dim // heads.")
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

    def forward(self, x: torch.Tensor, output_attentions: bool = False
                ) -> torch.Tensor | tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
        """Classify pixel images; optionally return every layer's attention weights too.

        Args:
            x: Images [B, in_channels, image_size, image_size] in [0, 1].
            output_attentions: ``True`` also returns the attention weights (default ``False``: logits only).

        Returns:
            The logits [B, num_classes]; with ``output_attentions=True`` the pair ``(logits, attentions)``,
            ``attentions`` a tuple of ``depth`` tensors [B, heads, 1 + patches, 1 + patches] (token 0 is [CLS]).

        Example:
            >>> import torch
            >>> from xai_helpers.models import TinyViT
            >>> tuple(TinyViT(depth=2)(torch.rand(3, 1, 48, 48)).shape)
            (3, 10)
        """
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
class VisionModel(Wrapper):
    """A frozen ViT plus what is needed to feed it and to lay its attention over the pixels it saw (taught in 4.4b).

    ``preprocess`` maps an image (PIL, array, or tensor) to the model's input batch on its device;
    ``to_image`` maps one input back to an HxWx3 array in [0, 1] -- the exact pixels the patches cut
    (for ViT-Base: resized to 224x224, no crop), so overlays line up. ``load_vit_model`` builds one.

    Args:
        name: The model's name, shown in ``repr``.
        model: The network (a ``TinyViT`` or a Hugging Face ViT), frozen and in eval mode.
        labels: The class names in output order.
        image_size: Side of the square input in pixels.
        patch_size: Side of one patch in pixels.
        description: One line on the model and where its weights come from.
        info: What the checkpoint records (configuration, test accuracy, ...); empty for hub models.
        processor: The Hugging Face image processor of a hub ViT; ``None`` for the course's ViT, whose
            input is the pixel tensor itself.
        device: Where ``preprocess`` puts its tensors; the default is ``get_device()``.

    Example:
        >>> import xai_helpers as xh
        >>> vit = xh.load_vit_model()
        >>> type(vit).__name__, vit.image_size, vit.patch_size, vit.grid
        ('VisionModel', 48, 8, 6)
    """
    name: str
    model: nn.Module
    labels: list[str]
    image_size: int
    patch_size: int
    description: str = ""
    info: dict = field(default_factory=dict)
    processor: Any = None
    device: torch.device = field(default_factory=get_device)

    @property
    def grid(self) -> int:
        """Patches per side: the attention map of one token is a ``grid`` x ``grid`` image."""
        return self.image_size // self.patch_size

    def __repr__(self):
        n = sum(p.numel() for p in self.model.parameters())
        acc = f", test accuracy {self.info['test_accuracy']:.3f}" if "test_accuracy" in self.info else ""
        return (f"VisionModel({self.name!r}, {n / 1e6:.3f} M parameters, {self.image_size}px input, "
                f"{self.grid}x{self.grid} patches of {self.patch_size}px{acc}, device={self.device})")

    @checked
    def preprocess(self, image: torch.Tensor | np.ndarray | str | Path | Image.Image) -> torch.Tensor:
        """The model's input batch for an image or a batch of images.

        Args:
            image: For the course's ViT: pixels in [0, 1] as a tensor or array of shape HxW, 1xHxW or
                Bx1xHxW (e.g. ``make_cluttered_digits().images``). For a hub ViT: a PIL image, a course
                photo name or a path (its processor resizes and normalises).

        Returns:
            The input batch [B, C, H, W] on the model's device.

        Raises:
            ValueError: The course's ViT got an image of another size.
            TypeError: A hub ViT got a tensor.

        Example:
            >>> import torch
            >>> import xai_helpers as xh
            >>> tuple(xh.load_vit_model().preprocess(torch.rand(48, 48)).shape)
            (1, 1, 48, 48)
        """
        return self._batch(image, "image")

    def _batch(self, image, name):
        """``preprocess`` for an argument called ``name``."""
        if self.processor is not None:
            if isinstance(image, (torch.Tensor, np.ndarray)):
                raise TypeError(f"{name}: {self.name} takes PIL images, course photo names or paths; the processor "
                                "resizes them to 224x224 and normalises.")
            pixels = self.processor(images=read_image(image, name), return_tensors="pt")["pixel_values"]
            return pixels.to(self.device)
        if not isinstance(image, (torch.Tensor, np.ndarray)):
            raise TypeError(f"{name}: {self.name} takes pixels in [0, 1] as a tensor or array (HxW, 1xHxW or "
                            f"Bx1xHxW, e.g. make_cluttered_digits().images); got {type(image).__name__}.")
        x = readable_tensor(image, name).float()
        while x.dim() < 4:
            x = x.unsqueeze(0)
        if x.dim() != 4 or tuple(x.shape[-3:]) != (1, self.image_size, self.image_size) or not len(x):
            raise ValueError(f"{name} must be 1x{self.image_size}x{self.image_size} images in [0, 1] for "
                             f"{self.name} (make_cluttered_digits); got shape {tuple(x.shape)}.")
        if not torch.isfinite(x).all():
            raise ValueError(f"{name} contains NaN or infinite values; pass pixels in [0, 1].")
        return check_device(x, self.device, name=name).to(self.device)

    @checked
    def to_image(self, x: torch.Tensor) -> np.ndarray:
        """One input back to the pixels the patches cut, ready for an overlay.

        Args:
            x: One input [1, C, H, W] or [C, H, W], as ``preprocess`` returns it.

        Returns:
            An HxWx3 float array in [0, 1] on the CPU (grey inputs repeated to three channels).

        Example:
            >>> import torch
            >>> import xai_helpers as xh
            >>> xh.load_vit_model().to_image(torch.rand(1, 1, 48, 48)).shape
            (48, 48, 3)
        """
        x = readable_tensor(x, "x").cpu().float()
        x = x[0] if x.dim() == 4 and len(x) == 1 else x
        channels = 1 if self.processor is None else len(self.processor.image_mean)
        if x.dim() != 3 or x.shape[0] != channels:
            raise ValueError(f"x must be one input, [1, {channels}, H, W] or [{channels}, H, W] as preprocess "
                             f"returns it; got shape {tuple(x.shape)}.")
        if self.processor is not None:
            mean = torch.tensor(self.processor.image_mean).view(-1, 1, 1)
            std = torch.tensor(self.processor.image_std).view(-1, 1, 1)
            x = x * std + mean
        x = x.expand(3, -1, -1) if x.shape[0] == 1 else x
        return x.clamp(0, 1).permute(1, 2, 0).numpy()

    def _one_input(self, inputs):
        return not isinstance(inputs, torch.Tensor) or inputs.dim() < 4 or inputs.shape[0] == 1

    @torch.no_grad()
    @checked
    def probabilities(self, inputs: Any) -> torch.Tensor:
        """Class probabilities (softmax of the logits) of one image or a batch.

        Args:
            inputs: A batch [B, C, H, W] already in the model's input space, or one image as ``preprocess``
                takes it.

        Returns:
            A CPU tensor [N, classes]; each row sums to 1.

        Example:
            >>> import xai_helpers as xh
            >>> scenes = xh.digits.make_cluttered_digits(n=3)
            >>> tuple(xh.load_vit_model().probabilities(scenes.images).shape)
            (3, 10)
        """
        if isinstance(inputs, torch.Tensor) and inputs.dim() == 4 and self.processor is not None:
            x = check_device(inputs, self.device, name="inputs").to(self.device)  # already the processor's output
        else:
            x = self._batch(inputs, "inputs")
        logits = self.model(x)
        return getattr(logits, "logits", logits).float().softmax(-1).cpu()



#: Known ViT names -> one line on the model and where its weights come from.
VIT_MODELS: dict[str, str] = {
    "tiny-vit-digits": "the course's ViT: 4 layers x 4 heads, 6x6 patches of 8 px + [CLS], 0.2 M parameters, "
                       "trained on sklearn digits pasted on clutter (tools/train_tiny_vit.py); ships with "
                       "xai_helpers",
    HUB_VIT: "Google's ViT-B/16, ImageNet-21k + 1k, 86 M parameters, 14x14 patches of 16 px; downloaded from "
             "the Hugging Face Hub on first use (AutoImageProcessor: 224x224 resize, no crop, mean/std 0.5)",
}


@checked
def load_vit_model(name: str | None = None) -> VisionModel:
    """Load a ViT whose attention we can read -> ``VisionModel`` (frozen, eval mode, on ``get_device()``; taught in 4.4b).

    ``name`` defaults to env ``XAI_VIT_MODEL``, else ``"tiny-vit-digits"`` (offline; its checkpoint ships
    with the package -- if it is missing, ``ModelUnavailableError`` names the command that rebuilds it).
    ``"google/vit-base-patch16-224"`` needs the Hugging Face Hub (or its local cache); otherwise
    ``ModelUnavailableError``. Cached per process.

    Args:
        name: A key of ``VIT_MODELS`` (or ``"vit-base-patch16-224"``). ``None`` means env ``XAI_VIT_MODEL``,
            else ``DEFAULT_VIT_MODEL``.

    Returns:
        The wrapped ViT; the same object for the same name within one process.

    Raises:
        ValueError: ``name`` is not a known ViT.
        ModelUnavailableError: The checkpoint is missing, or the hub model is neither cached nor downloadable.

    Example:
        >>> import xai_helpers as xh
        >>> vit = xh.load_vit_model()
        >>> scenes = xh.digits.make_cluttered_digits(n=3)
        >>> scenes.labels.tolist(), [top.label for (top,) in vit.predict(scenes.images, k=1)]
        ([1, 4, 5], ['1', '4', '5'])
    """
    key = normalise_name(name, env="XAI_VIT_MODEL", default=DEFAULT_VIT_MODEL, catalog=VIT_MODELS, what="ViT",
                         aliases={"vit-base-patch16-224": HUB_VIT})
    return cached("vit", key, _load_fresh)


VIT_REBUILD_COMMAND = "python tools/train_tiny_vit.py"


def _load_fresh(key, device):
    if key == HUB_VIT:
        return _load_hub_vit(device)
    if not CHECKPOINT.exists():
        raise ModelUnavailableError(
            f"The offline default ViT {DEFAULT_VIT_MODEL!r} cannot be loaded: its checkpoint {CHECKPOINT} is "
            f"missing (it ships with xai_helpers). Rebuild it from the course repository: {VIT_REBUILD_COMMAND} "
            f"(about 2 minutes of one CPU core; gives the shipped weights bit for bit), or reinstall xai_helpers.")
    model, info = _read_checkpoint(CHECKPOINT)
    return VisionModel(name=DEFAULT_VIT_MODEL, model=freeze(model).to(device), labels=[str(d) for d in range(10)],
                       image_size=info["config"]["image_size"], patch_size=info["config"]["patch_size"],
                       description=VIT_MODELS[DEFAULT_VIT_MODEL], info=info, device=torch.device(device))


def _load_hub_vit(device):
    from transformers import AutoImageProcessor, ViTForImageClassification

    def load(local_only):
        with _no_progress_bars():
            processor = AutoImageProcessor.from_pretrained(HUB_VIT, local_files_only=local_only)
            net = ViTForImageClassification.from_pretrained(HUB_VIT, local_files_only=local_only,
                                                            attn_implementation="eager")
        return processor, net
    processor, net = local_or_hub(HUB_VIT, load, f"load_vit_model({DEFAULT_VIT_MODEL!r}) (or unset XAI_VIT_MODEL)")
    size = processor.size  # a dict in transformers 4, a SizeDict in 5: the square the photo is resized to
    size = int(size["height"] if isinstance(size, dict) else getattr(size, "height", None) or 224)
    labels = [net.config.id2label[i] for i in range(net.config.num_labels)]
    return VisionModel(name=HUB_VIT, model=freeze(net).to(device), labels=labels, image_size=size,
                       patch_size=net.config.patch_size, description=VIT_MODELS.get(HUB_VIT, HUB_VIT),
                       processor=processor, device=torch.device(device))


