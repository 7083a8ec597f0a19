"""A gradient-free class activation map: Ablation-CAM (Desai & Ramaswamy 2020, WACV); section 4.2.

Ablation-CAM weights feature map k of a layer by how much the target score FALLS when that map is set to
zero: ``w_k = (y - y_k) / y`` (eq. 3 of the paper), then ``ReLU(sum_k w_k A^k)`` like Grad-CAM. No gradient is
used, so a saturated score (flat gradient) does not hide a feature map that matters.

Batched: one forward pass records the layer's activations ``A`` (1xKxhxw); then, ``batch_size`` channels at a
time, the same input is run again while a forward hook replaces the layer's output by a batch of copies of
``A``, each with one channel zeroed. The model is given a batch of copies of the input (so a head that reshapes
with the input's batch size, like EfficientNet-Lite0's ``x.view(inputs.size(0), -1)``, still works), but a
forward pre-hook makes the network's first module read only one of them: the layers below the target layer run
on ONE image and only the layers above it on the batch, so K ablations cost about K/batch_size passes of the
head. If the model cannot run that way (the result is not one row per copy), every layer runs on the copies, as
pytorch-grad-cam's ``AblationCAM`` always does (K forward passes of the whole network). The hooks live in context
managers and are removed on exit, also when an exception is raised.
"""
import contextlib

import torch

from .._typecheck import checked
from .._validate import check_count, eval_mode, module_and_input, resolve_layer, resolve_target
from .cam import _finish_map
from .kinds import Layer, Model, Target

__all__ = ["ablation_cam", "DEFAULT_ABLATION_BATCH"]

#: Ablated channels per forward pass of the layers above the target layer in ``ablation_cam``.
DEFAULT_ABLATION_BATCH: int = 64


@contextlib.contextmanager
def _layer_output(layer, replacement=None):
    """Record ``layer``'s output (``record["output"]``, ``record["calls"]``); with ``replacement`` the layer's
    output is replaced by it. The hook is removed on exit."""
    record = {"output": None, "calls": 0}

    def hook(module, inputs, output):
        record["calls"] += 1
        record["output"] = output
        return replacement

    handle = layer.register_forward_hook(hook)
    try:
        yield record
    finally:
        handle.remove()


@contextlib.contextmanager
def _first_module(module):
    """Record the first leaf module that runs in a forward pass (``record["first"]``); hooks removed on exit."""
    record = {"first": None}

    def pre_hook(m, inputs):
        if record["first"] is None:
            record["first"] = m

    handles = [m.register_forward_pre_hook(pre_hook) for m in module.modules() if not list(m.children())]
    try:
        yield record
    finally:
        for handle in handles:
            handle.remove()


@contextlib.contextmanager
def _one_image_below(first):
    """Make the first leaf module ``first`` read only the first image of its input batch; removed on exit."""
    def pre_hook(m, inputs):
        return tuple(i[:1] if isinstance(i, torch.Tensor) and i.dim() > 0 else i for i in inputs)

    handle = first.register_forward_pre_hook(pre_hook) if first is not None else None
    try:
        yield
    finally:
        if handle is not None:
            handle.remove()


def _ablated_scores(module, x, layer, ablated, first):
    """Class scores of the model with ``layer``'s output replaced by the batch ``ablated`` -> n x classes, or None
    when the model cannot take it. With ``first`` (the first leaf module of the network) the model is given n
    copies of the input, but ``first`` reads only one, so the layers below ``layer`` run on one image and only the
    layers above it on the batch; with ``first=None`` every layer runs on the n copies (as in pytorch-grad-cam)."""
    n = len(ablated)
    try:
        with _layer_output(layer, ablated), _one_image_below(first):
            out = module(x.expand(n, *x.shape[1:]))
    except RuntimeError:
        if first is None:
            raise
        return None
    return out if out.dim() == 2 and out.shape[0] == n else None


def _check_layer_output(record, name, logits):
    if record["calls"] != 1:
        raise ValueError(f"The layer {name!r} runs {record['calls']} times in one forward pass; Ablation-CAM needs "
                         "a layer that runs exactly once (a block or a convolution, e.g. EfficientNet-Lite0's "
                         "'_head_activation').")
    A = record["output"]
    if not isinstance(A, torch.Tensor) or A.dim() != 4:
        raise ValueError(f"The layer {name!r} outputs {type(A).__name__} of shape {tuple(getattr(A, 'shape', ()))}; "
                         "Ablation-CAM needs a convolutional feature map 1xKxhxw.")
    if logits.dim() != 2:
        raise ValueError(f"The model returns a tensor of shape {tuple(logits.shape)}; expected class scores of "
                         "shape (1, num_classes).")
    return A


@checked
def ablation_cam(model: Model, x: torch.Tensor, target: Target, *, layer: Layer = None, upsample: bool = True,
                 normalize: bool = True, batch_size: int = DEFAULT_ABLATION_BATCH) -> torch.Tensor:
    """Ablation-CAM (Desai & Ramaswamy 2020) -> HxW float tensor on the CPU, in [0, 1]; taught in 4.2.

    Feature map k is weighted by the relative drop of the target's logit ``y`` when it is set to zero,
    ``w_k = (y - y_k) / y``; the map is ``ReLU(sum_k w_k A^k)``, upsampled and normalised as in ``grad_cam``.
    With ``normalize=False`` and ``upsample=False`` it equals pytorch-grad-cam's ``AblationCAM`` before its
    min-max scaling on a layer whose activations are >= 0 with a zero among them (after a ReLU); on a layer with
    negative activations pytorch-grad-cam sets the ablated map to a large negative value instead of zero (not
    the paper's ablation). Note the division by ``y``: for a class whose logit is negative every weight flips
    sign. Cost: one forward pass plus ceil(K / batch_size) batched passes of the layers above ``layer`` (of the
    whole network where the model cannot run the layers below on one image, see the module's docstring).

    Args:
        model: An ``ImageModel`` or a plain ``nn.Module`` returning class scores (logits).
        x: One normalised input 1xCxHxW on the model's device.
        target: The class to explain: an index, a class name or a one-element tensor.
        layer: As for ``grad_cam``: None, a submodule or its dotted name; it must output 1xKxhxw and run once.
        upsample: Upsample to the input's HxW (False: keep the layer's hxw grid).
        normalize: Divide by the maximum (False: keep the raw values).
        batch_size: Ablated channels per forward pass (memory ~ batch_size copies of the layers above).

    Returns:
        The map, an HxW float tensor on the CPU.

    Example:
        >>> import torch
        >>> from torch import nn
        >>> import xai_helpers as xh
        >>> net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 2))
        >>> cam = xh.methods.ablation_cam(net.eval(), torch.rand(1, 3, 8, 8), 1, layer="1", batch_size=3)
        >>> tuple(cam.shape), 0 <= float(cam.min()) <= float(cam.max()) <= 1
        ((8, 8), True)
    """
    module, labels, x = module_and_input(model, x)
    module, layer_module, name = resolve_layer(model, layer)
    batch_size = check_count(batch_size, "batch_size")
    x = x.detach()
    with eval_mode(module), torch.no_grad():
        with _layer_output(layer_module) as record, _first_module(module) as first:
            logits = module(x)
        A = _check_layer_output(record, name, logits).detach()
        target = resolve_target(target, logits.shape[1], labels)
        channels = A.shape[1]
        scores, first = [], first["first"]
        for start in range(0, channels, batch_size):
            keep = 1 - torch.eye(channels)[start:start + batch_size]           # row k: channel start + k zeroed
            ablated = A * keep.to(device=A.device, dtype=A.dtype)[:, :, None, None]
            out = _ablated_scores(module, x, layer_module, ablated, first) if first is not None else None
            if out is None:     # the batch does not go through the layers above alone: run the whole net on copies
                first = None
                out = _ablated_scores(module, x, layer_module, ablated, first)
            if out is None:
                raise ValueError(f"Ablation-CAM feeds a batch of {len(ablated)} ablated copies of {name!r}'s output to "
                                 "the layers above it, but the model does not return one row of class scores per "
                                 "copy. Pick another layer, or batch_size=1.")
            scores.append(out[:, target])
        y = logits[0, target]
        weights = ((y - torch.cat(scores)) / y).view(1, channels, 1, 1)   # eq. 3: relative drop of the score
    cam = torch.relu((weights * A).sum(dim=1, keepdim=True))
    return _finish_map(cam, x.shape[2:], upsample, normalize)
