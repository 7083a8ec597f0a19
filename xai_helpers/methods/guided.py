"""Guided Backpropagation (Springenberg et al. 2015, "Striving for simplicity", arXiv:1412.6806); section 4.1.

The gradient of the target score w.r.t. the input, except that at every ReLU-like activation only the
POSITIVE part of the gradient flowing back is passed on: ``R_in = 1[a < z < b] * max(0, R_out)`` where the
ordinary gradient is ``1[a < z < b] * R_out`` (ReLU: a = 0, b = inf; ReLU6: a = 0, b = 6). This equals Captum's
``GuidedBackprop``, whose hook returns ``relu(grad_input)``, because the activation's local gradient is 0 or 1.

The maps look sharp and edge-like, and they barely change when the model's weights are randomised: Adebayo et
al. 2018 (arXiv:1810.03292) show they fail the model-parameter randomisation test, and Nie et al. 2018
(arXiv:1805.07039) that they mostly reconstruct the image. Captum hooks only ``nn.ReLU`` modules; EfficientNet-Lite0,
the course's default model, uses ``nn.ReLU6`` (which is not a subclass of ``nn.ReLU``), so there Captum's
GuidedBackprop silently returns the plain gradient. This helper handles ReLU and ReLU6 modules (``ACTIVATIONS``)
and refuses a model in which none of them runs (its result would be the plain gradient under another name).

Mechanics: a forward hook on each activation module replaces its output by an identity whose backward clips the
gradient at 0 (a fresh tensor, so in-place activations such as ResNet's ``ReLU(inplace=True)`` work). The hooks
live in a context manager and are removed on exit, also when an exception is raised; the model's weights, its
train/eval mode and its modules are left as they were.
"""
import contextlib

import torch
from torch import nn

from .._typecheck import checked
from .._validate import eval_mode, module_and_input, resolve_target
from .kinds import Model, Target

__all__ = ["guided_backprop", "ACTIVATIONS"]

#: The activation modules whose backward pass Guided Backprop changes: ReLU and ReLU6 (EfficientNet-Lite0's).
ACTIVATIONS: tuple[type, ...] = (nn.ReLU, nn.ReLU6)


class _PositiveGradient(torch.autograd.Function):
    """Identity forward; the backward pass lets through only the positive part of the gradient."""

    @staticmethod
    def forward(ctx, x):
        return x.clone()

    @staticmethod
    def backward(ctx, grad):
        return grad.clamp(min=0)


class _Calls:
    def __init__(self):
        self.count = 0


@contextlib.contextmanager
def _guided_activations(module):
    """Hook every ``ACTIVATIONS`` module of ``module``; yields a record of how often they ran. Hooks removed on exit."""
    calls = _Calls()

    def hook(_, inputs, output):
        calls.count += 1
        return _PositiveGradient.apply(output) if isinstance(output, torch.Tensor) and output.requires_grad else output

    handles = [m.register_forward_hook(hook) for m in module.modules() if isinstance(m, ACTIVATIONS)]
    try:
        yield calls
    finally:
        for handle in handles:
            handle.remove()


@checked
def guided_backprop(model: Model, x: torch.Tensor, target: Target) -> torch.Tensor:
    """Guided Backpropagation (Springenberg et al. 2015) -> a signed tensor shaped like ``x``; taught in 4.1.

    The input gradient with every ReLU / ReLU6 module passing back only positive gradients (see the module's
    docstring). Equals Captum's ``GuidedBackprop(model).attribute(x, target)`` on networks whose activations are
    ``nn.ReLU`` modules, and Captum's rule applied to ``nn.ReLU6`` too on EfficientNet-Lite0 (Captum itself
    skips ReLU6). Activations written as functions (``F.relu``) cannot be hooked: they keep their gradient.

    Args:
        model: An ``ImageModel`` or a plain ``nn.Module`` returning class scores, with ReLU or ReLU6 modules.
        x: One normalised input 1xCxHxW on the model's device.
        target: The class to explain: an index, a class name or a one-element tensor.

    Returns:
        The guided gradient, a tensor shaped like ``x``.

    Raises:
        ValueError: No ReLU or ReLU6 module runs in the model's forward pass.

    Example:
        >>> import torch
        >>> from torch import nn
        >>> import xai_helpers as xh
        >>> net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 2))
        >>> tuple(xh.methods.guided_backprop(net.eval(), torch.rand(1, 3, 8, 8), target=1).shape)
        (1, 3, 8, 8)
    """
    module, labels, x = module_and_input(model, x)
    x = x.detach().requires_grad_(True)
    with eval_mode(module), _guided_activations(module) as calls, torch.enable_grad():
        logits = module(x)
        if calls.count == 0:
            raise ValueError(f"Guided Backprop changes the backward pass of ReLU-like activation modules "
                             f"({', '.join(a.__name__ for a in ACTIVATIONS)}), but none runs in this model, so the "
                             "result would be the plain gradient: use vanilla_gradients for such a model, or one "
                             "whose activations are nn.ReLU / nn.ReLU6 modules (not F.relu).")
        target = resolve_target(target, logits.shape[1], labels)
        (grad,) = torch.autograd.grad(logits[:, target].sum(), x)
    return grad.contiguous()   # channels-last from a fast_layout model
