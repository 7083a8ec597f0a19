"""Input checks shared by the attribution helpers: clear errors instead of failures deep in torch."""
import contextlib
import difflib
import warnings

import torch
from torch import nn

from .models import ImageModel, imagenet_labels

__all__ = ["unwrap_model", "check_input", "resolve_target", "eval_mode"]


def unwrap_model(model):
    """Accept an ``ImageModel`` or a plain ``nn.Module``; return ``(module, labels or None)``."""
    if isinstance(model, ImageModel):
        return model.model, model.labels
    if isinstance(model, nn.Module):
        return model, None
    raise TypeError(f"Expected a torch nn.Module or the ImageModel from load_image_model(), got "
                    f"{type(model).__name__}.")


def check_input(x, *, name="x"):
    """Check that ``x`` is one example, 1xCxHxW, finite floats; return it."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor (1x3xHxW, as returned by "
                        f"image_model.preprocess(...)), got {type(x).__name__}.")
    if x.dim() != 4:
        hint = " Add the batch dimension with x.unsqueeze(0)." if x.dim() == 3 else ""
        raise ValueError(f"{name} must have 4 dimensions (1, C, H, W); got shape {tuple(x.shape)}.{hint}")
    if x.shape[0] != 1:
        raise ValueError(f"{name} holds a batch of {x.shape[0]} examples, but this helper explains one "
                         f"example at a time: pass x[i:i+1] and loop over i.")
    if not x.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got {x.dtype}; "
                        "use image_model.preprocess(image) or x.float().")
    if not torch.isfinite(x).all():
        bad = (~torch.isfinite(x)).sum().item()
        raise ValueError(f"{name} contains {bad} NaN or infinite values; gradients would be meaningless. "
                         "Check how the tensor was made (division by zero in normalisation?).")
    return x


def resolve_target(target, num_classes, labels=None):
    """Turn a class index or class name into a valid index in ``[0, num_classes)``."""
    if isinstance(target, torch.Tensor) and target.numel() == 1:
        target = target.item()
    if isinstance(target, str):
        names = labels if labels is not None else (imagenet_labels() if num_classes == 1000 else None)
        if names is None:
            raise ValueError(f"target={target!r} is a class name, but this model has no class names; "
                             "pass an integer class index.")
        lowered = [n.lower() for n in names]
        key = target.strip().lower()
        if key in lowered:
            return lowered.index(key)
        close = difflib.get_close_matches(key, lowered, n=3, cutoff=0.6)
        hint = f" Did you mean {', '.join(repr(names[lowered.index(c)]) for c in close)}?" if close else ""
        raise ValueError(f"{target!r} is not a class name of this model.{hint} "
                         "Names are the model's .labels (e.g. 'tabby', 'espresso').")
    if isinstance(target, bool) or not isinstance(target, int):
        try:
            import numpy as np
            if isinstance(target, np.integer):
                target = int(target)
            else:
                raise TypeError
        except TypeError:
            raise TypeError(f"target must be a class index (int) or a class name (str), got "
                            f"{type(target).__name__}.") from None
    if not 0 <= target < num_classes:
        raise ValueError(f"target={target} is out of range: this model has {num_classes} classes, so "
                         f"use 0 ... {num_classes - 1} (negative indices are not accepted).")
    return target


@contextlib.contextmanager
def eval_mode(module):
    """Run ``module`` in eval mode; a model left in train mode is switched with a warning, then restored."""
    was_training = module.training
    if was_training:
        warnings.warn("The model was in train mode (dropout and batch-norm statistics would change the "
                      "explanation); it is evaluated in eval mode here. Call model.eval() to silence this.",
                      UserWarning, stacklevel=3)
        module.eval()
    try:
        yield module
    finally:
        if was_training:
            module.train()
