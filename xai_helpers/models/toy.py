"""Tiny hand-built CNNs that make one point about a method exactly (no training, no files); section 4.2.

``cam_head_net`` builds the same convolutional features under two heads: global average pooling + linear (the
head of EfficientNet-Lite0 and ResNet), where HiResCAM equals Grad-CAM, and flatten + linear (a weight per
position, as in VGG-style heads), where they differ and HiResCAM is each position's exact share of the score.
"""
import torch
from torch import nn

from .._typecheck import checked
from .._validate import check_count
from .base import freeze

__all__ = ["cam_head_net", "CAM_HEADS"]

#: The heads ``cam_head_net`` builds: global average pooling + linear, or flatten + linear.
CAM_HEADS: tuple[str, ...] = ("pool", "flatten")


@checked
def cam_head_net(head: str = "flatten", size: int = 16, channels: int = 4, classes: int = 3,
                 seed: int = 0) -> nn.Sequential:
    """A seeded random CNN ``features -> head`` whose CAM layer is ``"features"`` (conv 3x3 + ReLU); taught in 4.2.

    ``head="pool"``: ``AdaptiveAvgPool2d(1) -> Flatten -> Linear(channels, classes)``: every position of feature
    map k gets the same gradient ``W[c, k] / size**2``, so HiResCAM = Grad-CAM. ``head="flatten"``:
    ``Flatten -> Linear(channels * size * size, classes)``: the gradient is the weight of each position, so
    Grad-CAM (which averages it) and HiResCAM (which does not) give different maps, and the sum of HiResCAM's
    map before its ReLU is the class score minus the bias. The features keep the input's size (padding 1), so
    the input must be ``size`` x ``size``. Eval mode, parameters frozen.

    Args:
        head: ``"pool"`` or ``"flatten"`` (one of ``CAM_HEADS``).
        size: Height and width of the input and of the feature maps (an integer >= 2).
        channels: Feature maps of the convolution (a positive integer).
        classes: Class scores of the output (a positive integer).
        seed: Seed of the random weights.

    Returns:
        The network, an ``nn.Sequential`` with children ``features`` and ``head``.

    Example:
        >>> import torch
        >>> import xai_helpers as xh
        >>> net = xh.models.cam_head_net("flatten", size=8)
        >>> x = torch.rand(1, 3, 8, 8)
        >>> tuple(net(x).shape)
        (1, 3)
        >>> hires, grad = xh.methods.hires_cam(net, x, 0, layer="features"), xh.grad_cam(net, x, 0, layer="features")
        >>> bool((hires - grad).abs().max() > 0.05)
        True
    """
    if head not in CAM_HEADS:
        raise ValueError(f"head must be one of {', '.join(map(repr, CAM_HEADS))}, got {head!r}.")
    size, channels = check_count(size, "size", minimum=2), check_count(channels, "channels")
    classes = check_count(classes, "classes")
    generator = torch.Generator().manual_seed(int(seed))
    features = nn.Sequential(nn.Conv2d(3, channels, 3, padding=1), nn.ReLU())
    top = (nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(channels, classes)) if head == "pool"
           else nn.Sequential(nn.Flatten(), nn.Linear(channels * size * size, classes)))
    net = nn.Sequential()
    net.add_module("features", features)
    net.add_module("head", top)
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(torch.randn(p.shape, generator=generator) * (0.5 if p.dim() > 1 else 0.1))
    return freeze(net)
