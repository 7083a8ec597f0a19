"""Class activation maps from gradients: Grad-CAM, Grad-CAM++, HiResCAM and LayerCAM (section 4.2).

Both methods read one layer's activations ``A`` (1xKxhxw) and the gradient ``g = dS/dA`` of the
target class score ``S`` (the logit, before softmax), weight the K feature maps, sum them and keep
the positive part. They differ only in the weights:

* Grad-CAM (Selvaraju et al. 2017, arXiv:1610.02391, eq. 1-2): ``w_k = mean_ij g^k_ij``.
* Grad-CAM++ (Chattopadhay et al. 2018, arXiv:1710.11063, eq. 19 with the ReLU of eq. 7):
  ``w_k = sum_ij a^k_ij ReLU(g^k_ij)`` with ``a = g^2 / (2 g^2 + (sum_ab A^k_ab) g^3)``. No second or
  third derivative is computed: the paper assumes an exponential output ``Y = exp(S)``, whose higher
  derivatives are powers of ``g``.

On the feature map that a global-average-pooling + linear classifier reads (EfficientNet-Lite0's
default ``_head_activation``, ResNet's ``layer4``) every gradient of channel k is ``W[c, k] / (h w)``:
Grad-CAM then equals CAM (Zhou et al. 2016, arXiv:1512.04150) up to the ReLU and a constant, and
Grad-CAM++'s ``a`` is one number per channel, so Grad-CAM++ becomes CAM with only the positive
weights, each scaled by its ``a`` in (0, 1/2]: it keeps no negative evidence and is less
class-discriminative. Use a layer after the activation: the closed form assumes ``A >= 0``.

HiResCAM (Draelos & Carin 2020, arXiv:2011.08891) and LayerCAM (Jiang et al. 2021, IEEE TIP 30:5875) keep the
gradient per position instead of averaging it: HiResCAM sums ``g * A`` over the channels, LayerCAM sums
``ReLU(g) * A``. Where the head pools globally the gradient is the same at every position, so HiResCAM equals
Grad-CAM; where it does not (a head that flattens the feature map into a linear layer, or an early layer, where
the gradient varies from position to position), they differ, and HiResCAM's map is then exactly the
contribution of each position to the score (for a head that is linear in ``A``, its sum is the score minus
the bias).

The gradient is taken with ``torch.autograd.grad(score, activation)`` on the layer's output, and the
graph is cut at that layer, so backpropagation stops there: one forward pass plus the part of the
backward pass above the layer. The forward hook that does this lives in a context manager and is
removed also when an exception is raised.
"""
import contextlib
import warnings

import torch
import torch.nn.functional as F

from .._typecheck import checked
from .._validate import eval_mode, module_and_input, resolve_layer, resolve_target
from .kinds import Layer, Model, Target

__all__ = ["grad_cam", "grad_cam_plus_plus", "hires_cam", "layer_cam", "capture_layer", "resolve_layer",
           "layer_activation_and_gradient"]

#: A map whose maximum is below this is treated as empty and returned as zeros (never 0/0 = NaN).
EMPTY_MAP_TOLERANCE = 1e-12


class _LayerRecord:
    """What the forward hook saw: the activation (a graph leaf) and how often the layer ran."""

    def __init__(self):
        self.activation, self.calls = None, 0


@contextlib.contextmanager
def capture_layer(layer):
    """Context manager: record ``layer``'s output in each forward pass, as a leaf that needs a gradient.

    The hook replaces the output by ``A.clone()`` where ``A = output.detach().requires_grad_()``:
    the network computes the same values, gradients stop at ``A`` (nothing below the layer is
    backpropagated), and in-place operations after the layer act on the clone, not on ``A``.
    Yields a record with ``.activation`` and ``.calls``; the hook is removed on exit, also on errors.
    """
    record = _LayerRecord()

    def hook(module, inputs, output):
        record.calls += 1
        if not isinstance(output, torch.Tensor):
            raise TypeError(f"The layer {type(module).__name__} returns a {type(output).__name__}, not a "
                            "tensor; a CAM needs a layer whose output is one NxCxHxW tensor.")
        leaf = output.detach().requires_grad_(True)
        record.activation = leaf
        return leaf.clone()

    handle = layer.register_forward_hook(hook)
    try:
        yield record
    finally:
        handle.remove()


def layer_activation_and_gradient(model, x, target, *, layer=None):
    """Run one forward pass; return ``(A, dS/dA, resolved target, layer name)`` for one input.

    ``A`` is the layer's output (1xKxhxw), the gradient is of the target's logit ``S``. Raises
    ValueError when the layer does not run or runs more than once in a forward pass (a shared
    module, e.g. EfficientNet-Lite0's ``_swish``: which call would the map describe?).
    """
    module, labels, x = module_and_input(model, x)
    module, layer_module, name = resolve_layer(model, layer)
    with eval_mode(module), capture_layer(layer_module) as record, torch.enable_grad():
        logits = module(x.detach())
        if record.calls != 1:
            if record.calls == 0:
                raise ValueError(f"The layer {name!r} was not called in the forward pass, so it has no "
                                 "activation to explain; pick a layer the model actually uses.")
            raise ValueError(f"The layer {name!r} ({type(layer_module).__name__}) is called {record.calls} "
                             "times in one forward pass: it is a module shared by several places of the "
                             "network, and a hook on it would only keep the last call. Pick a layer that "
                             "runs once, e.g. a block or a convolution (EfficientNet-Lite0: '_head_activation' "
                             "or '_blocks.15').")
        if logits.dim() != 2:
            raise ValueError(f"The model returns a tensor of shape {tuple(logits.shape)}; expected class "
                             "scores of shape (1, num_classes).")
        target = resolve_target(target, logits.shape[1], labels)
        activation = record.activation
        if activation.dim() != 4:
            raise ValueError(f"The layer {name!r} outputs shape {tuple(activation.shape)}; a CAM needs a "
                             "convolutional feature map 1xKxhxw (for a vision transformer, reshape tokens "
                             "to a grid first).")
        (gradient,) = torch.autograd.grad(logits[0, target], activation, allow_unused=True)
    if gradient is None:  # the score does not depend on the layer at all
        gradient = torch.zeros_like(activation)
    return activation.detach().contiguous(), gradient.detach().contiguous(), target, name   # plain layout (fast_layout)


def _finish_map(cam, size, upsample, normalize):
    """1x1xhxw ReLU'd map -> HxW on the CPU; bilinear upsampling first, then division by the max."""
    if upsample:
        cam = F.interpolate(cam, size=tuple(size), mode="bilinear", align_corners=False)
    cam = cam[0, 0].detach().float().cpu()
    if normalize:
        top = cam.max()
        cam = cam / top if top > EMPTY_MAP_TOLERANCE else torch.zeros_like(cam)  # an empty map: zeros, never 0/0
    return cam


@checked
def grad_cam(model: Model, x: torch.Tensor, target: Target, *, layer: Layer = None, upsample: bool = True,
             normalize: bool = True) -> torch.Tensor:
    """Grad-CAM (Selvaraju et al. 2017) -> HxW float tensor on the CPU, in [0, 1]; taught in 4.2.

    The map is upsampled (bilinear) to the input's HxW, then divided by its maximum; an empty map
    (no positive evidence) is all zeros. With ``normalize=False`` it equals Captum's
    ``LayerGradCam(...).attribute(x, target, relu_attributions=True)``.

    Args:
        model: An ``ImageModel`` or a plain ``nn.Module`` returning class scores (logits).
        x: One normalised input 1xCxHxW on the model's device.
        target: The class to explain: an index, a class name or a one-element tensor.
        layer: The layer whose activations are weighted: None (the ``ImageModel``'s ``target_layer``), a
            submodule of the model or its dotted name (``"layer4"``); it must output 1xKxhxw and run once.
        upsample: Upsample to the input's HxW (False: keep the layer's hxw grid).
        normalize: Divide by the maximum (False: keep the raw values).

    Returns:
        The map, an HxW float tensor on the CPU.

    Example:
        >>> import torch
        >>> from torch import nn
        >>> import xai_helpers as xh
        >>> net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 2))
        >>> cam = xh.grad_cam(net.eval(), torch.rand(1, 3, 8, 8), target=1, layer="1")
        >>> tuple(cam.shape), 0 <= float(cam.min()) <= float(cam.max()) <= 1
        ((8, 8), True)
    """
    A, g, _, _ = layer_activation_and_gradient(model, x, target, layer=layer)
    weights = g.mean(dim=(2, 3), keepdim=True)                      # eq. 1: global-average-pooled gradient
    cam = torch.relu((weights * A).sum(dim=1, keepdim=True))        # eq. 2: ReLU(sum_k w_k A^k)
    return _finish_map(cam, x.shape[2:], upsample, normalize)


@checked
def grad_cam_plus_plus(model: Model, x: torch.Tensor, target: Target, *, layer: Layer = None, upsample: bool = True,
                       normalize: bool = True) -> torch.Tensor:
    """Grad-CAM++ (Chattopadhay et al. 2018) with the closed form of eq. 19 -> HxW tensor in [0, 1]; taught in 4.2.

    Same arguments and output as ``grad_cam``. Pixel weights ``a = g^2 / (2 g^2 + (sum_ab A) g^3)``
    are only needed where ``g > 0`` (the ReLU of eq. 7 zeroes the rest); there the fraction is
    ``1 / (2 + g sum_ab A)``, computed without an additive epsilon (pytorch-grad-cam's ``+1e-6``
    matters when ``g^2`` is of that size or smaller). The derivation assumes ``A >= 0``; a warning is
    raised when a layer's negative activations push a weight outside [0, 1].

    Args:
        model: As for ``grad_cam``: an ``ImageModel`` or an ``nn.Module`` giving logits.
        x: As for ``grad_cam``: one normalised 1xCxHxW input.
        target: As for ``grad_cam``: a class index, name or one-element tensor.
        layer: As for ``grad_cam``; best a layer after an activation (the closed form assumes ``A >= 0``).
        upsample: As for ``grad_cam``.
        normalize: As for ``grad_cam``.

    Returns:
        The map, HxW (or the layer's hxw), on the CPU.

    Example:
        >>> import torch
        >>> from torch import nn
        >>> import xai_helpers as xh
        >>> net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 2))
        >>> tuple(xh.grad_cam_plus_plus(net.eval(), torch.rand(1, 3, 8, 8), 0, layer=net[1], upsample=False).shape)
        (6, 6)
    """
    A, g, _, name = layer_activation_and_gradient(model, x, target, layer=layer)
    sum_A = A.sum(dim=(2, 3), keepdim=True)                         # sum_ab A^k_ab, one value per map k
    positive = g > 0
    denominator = 2 + g * sum_A                                     # eq. 19 divided by g^2 (g > 0)
    safe = positive & (denominator != 0)
    alpha = torch.where(safe, 1 / torch.where(safe, denominator, torch.ones_like(denominator)),
                        torch.zeros_like(g))
    if (alpha[positive] > 1).any() or (alpha[positive] < 0).any():
        # With A >= 0 (a layer after a ReLU) every a lies in (0, 1/2]; far outside, a few positions
        # near the pole 2 + g sum A = 0 dominate the weights.
        warnings.warn(f"Grad-CAM++'s closed form assumes non-negative activations (after a ReLU); the "
                      f"layer {name!r} has negative ones (min {float(A.min()):.3g}) and "
                      f"{int(((alpha > 1) | (alpha < 0)).sum())} pixel weights outside [0, 1], so a few "
                      "positions may dominate the map, or it may come out empty. Prefer a layer after "
                      "the activation (the model's default target layer), or Grad-CAM.",
                      UserWarning, stacklevel=2)
    weights = (alpha * torch.relu(g)).sum(dim=(2, 3), keepdim=True)  # eq. 7: w_k = sum_ij a ReLU(g)
    cam = torch.relu((weights * A).sum(dim=1, keepdim=True))
    return _finish_map(cam, x.shape[2:], upsample, normalize)


@checked
def hires_cam(model: Model, x: torch.Tensor, target: Target, *, layer: Layer = None, upsample: bool = True,
              normalize: bool = True) -> torch.Tensor:
    """HiResCAM (Draelos & Carin 2020, arXiv:2011.08891) -> HxW float tensor on the CPU, in [0, 1]; taught in 4.2.

    ``ReLU(sum_k g^k * A^k)``: the gradient multiplies the activations position by position instead of being
    averaged first (Grad-CAM). Equal to Grad-CAM when the head pools the layer globally (every position's gradient
    is then the same); different otherwise, e.g. for a head that flattens the feature map into a linear layer.
    Same arguments and output as ``grad_cam``; with ``normalize=False`` and ``upsample=False`` the map equals
    pytorch-grad-cam's ``HiResCAM`` before its min-max scaling.

    Args:
        model: An ``ImageModel`` or a plain ``nn.Module`` returning class scores (logits).
        x: One normalised input 1xCxHxW on the model's device.
        target: The class to explain: an index, a class name or a one-element tensor.
        layer: As for ``grad_cam``: None, a submodule or its dotted name; it must output 1xKxhxw and run once.
        upsample: Upsample to the input's HxW (False: keep the layer's hxw grid).
        normalize: Divide by the maximum (False: keep the raw values).

    Returns:
        The map, an HxW float tensor on the CPU.

    Example:
        >>> import torch
        >>> from torch import nn
        >>> import xai_helpers as xh
        >>> net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 2))
        >>> x = torch.rand(1, 3, 8, 8)
        >>> torch.allclose(xh.methods.hires_cam(net.eval(), x, 1, layer="1"), xh.grad_cam(net, x, 1, layer="1"))
        True
    """
    A, g, _, _ = layer_activation_and_gradient(model, x, target, layer=layer)
    cam = torch.relu((g * A).sum(dim=1, keepdim=True))              # element-wise, no averaging of g
    return _finish_map(cam, x.shape[2:], upsample, normalize)


@checked
def layer_cam(model: Model, x: torch.Tensor, target: Target, *, layer: Layer = None, upsample: bool = True,
              normalize: bool = True) -> torch.Tensor:
    """LayerCAM (Jiang et al. 2021, IEEE TIP 30:5875) -> HxW float tensor on the CPU, in [0, 1]; taught in 4.2.

    ``ReLU(sum_k ReLU(g^k) * A^k)``: each position weighted by its own positive gradient, which keeps the fine
    detail of EARLY layers where Grad-CAM's averaged weights blur it out. Same arguments and output as
    ``grad_cam``; with ``normalize=False`` and ``upsample=False`` it equals pytorch-grad-cam's ``LayerCAM`` before
    its min-max scaling.

    Args:
        model: An ``ImageModel`` or a plain ``nn.Module`` returning class scores (logits).
        x: One normalised input 1xCxHxW on the model's device.
        target: The class to explain: an index, a class name or a one-element tensor.
        layer: As for ``grad_cam``: None, a submodule or its dotted name (early layers are LayerCAM's use).
        upsample: Upsample to the input's HxW (False: keep the layer's hxw grid).
        normalize: Divide by the maximum (False: keep the raw values).

    Returns:
        The map, an HxW float tensor on the CPU.

    Example:
        >>> import torch
        >>> from torch import nn
        >>> import xai_helpers as xh
        >>> net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 2))
        >>> tuple(xh.methods.layer_cam(net.eval(), torch.rand(1, 3, 8, 8), 0, layer=net[1], upsample=False).shape)
        (6, 6)
    """
    A, g, _, _ = layer_activation_and_gradient(model, x, target, layer=layer)
    cam = torch.relu((torch.relu(g) * A).sum(dim=1, keepdim=True))
    return _finish_map(cam, x.shape[2:], upsample, normalize)
