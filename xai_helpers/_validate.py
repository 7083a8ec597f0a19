"""Input checks shared by every public function: clear errors naming the fix instead of failures deep in torch.

This module imports no model loading (``models/``): wrappers are recognised by their attributes.
"""
import contextlib
import difflib
import re
import warnings

from typing import Any

import numpy as np
import torch
from torch import nn

from ._typecheck import checked
from .data import imagenet_labels

__all__ = ["resolve_layer", "unwrap_model", "check_input", "check_batch", "check_channels", "check_count",
           "resolve_target", "eval_mode", "module_and_input", "readable_tensor", "as_float_array", "check_attentions",
           "check_device"]


def unwrap_model(model):
    """Accept a wrapped model (``ImageModel``: ``.model`` + ``.labels``) or a plain ``nn.Module``;
    return ``(module, labels or None)``. Wrappers are recognised by shape, so validation never imports loading."""
    if isinstance(getattr(model, "model", None), nn.Module) and hasattr(model, "labels"):
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


def check_channels(image_model, x, *, name="x"):
    """Check that ``x`` has as many colour channels as ``image_model``'s normalisation (3 for RGB); return it."""
    channels = len(getattr(image_model, "mean", ()) or ())
    if channels and x.shape[1] != channels:
        raise ValueError(f"{name} has {x.shape[1]} channels but {getattr(image_model, 'name', 'the model')} reads "
                         f"{channels} ({'RGB' if channels == 3 else 'channels'}): pass image_model.preprocess(photo), "
                         "which converts any photo to RGB.")
    return x


def check_batch(x, *, name="x"):
    """Check that ``x`` is a batch of images, NxCxHxW finite floats (N >= 1); return it."""
    if isinstance(x, torch.Tensor) and x.dim() == 4 and x.shape[0] > 1:
        check_input(x[:1], name=name)
        if not torch.isfinite(x).all():
            raise ValueError(f"{name} contains NaN or infinite values; check how the tensor was made.")
        return x
    return check_input(x, name=name)


def check_count(value, name, minimum=1):
    """Check that ``value`` is an integer >= ``minimum`` (a number of steps, samples, draws or images per pass)."""
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < minimum:
        kind = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
        raise ValueError(f"{name} must be {kind}, got {value!r}.")
    return int(value)


def resolve_target(target, num_classes, labels=None, *, name="target"):
    """Turn a class index or class name into a valid index in ``[0, num_classes)``; errors call it ``name``."""
    if isinstance(target, torch.Tensor) and target.numel() == 1:
        target = target.item()
    if isinstance(target, str):
        names = labels if labels is not None else (imagenet_labels() if num_classes == 1000 else None)
        if names is None:
            raise ValueError(f"{name}={target!r} is a class name, but this model has no class names; "
                             "pass an integer class index.")
        lowered = [n.lower() for n in names]
        key = target.strip().lower()
        if key in lowered:
            return lowered.index(key)
        close = difflib.get_close_matches(key, lowered, n=3, cutoff=0.6)
        hint = f" Did you mean {', '.join(repr(names[lowered.index(c)]) for c in close)}?" if close else ""
        raise ValueError(f"{name}={target!r} is not a class name of this model.{hint} "
                         "Names are the model's .labels (e.g. 'tabby', 'espresso').")
    if isinstance(target, bool) or not isinstance(target, int):
        try:

            if isinstance(target, np.integer):
                target = int(target)
            else:
                raise TypeError
        except TypeError:
            raise TypeError(f"{name} must be a class index (int) or a class name (str), got "
                            f"{type(target).__name__}.") from None
    if not 0 <= target < num_classes:
        raise ValueError(f"{name}={target} is out of range: this model has {num_classes} classes, so "
                         f"use 0 ... {num_classes - 1} (negative indices are not accepted).")
    return target


@contextlib.contextmanager
def eval_mode(module):
    """Run ``module`` in eval mode; a model left in train mode is switched with a warning, then restored.

    Every forward pass of the package runs inside it, so an input the network cannot read (wrong number of
    channels, too small for its kernels, a dtype it does not take) becomes one ``ValueError`` naming the fix
    here, instead of a raw error from deep inside torch."""
    was_training = module.training
    if was_training:
        warnings.warn("The model was in train mode (dropout and batch-norm statistics would change the "
                      "explanation); it is evaluated in eval mode here. Call model.eval() to silence this.",
                      UserWarning, stacklevel=3)
        module.eval()
    try:
        yield module
    except RuntimeError as err:
        if not _UNREADABLE.search(str(err)) or "device" in str(err):
            raise
        raise ValueError(f"The model cannot read this input: {str(err).splitlines()[0]} Pass an input shaped "
                         "like the model's own, e.g. image_model.preprocess(photo): 1xCxHxW floats with the "
                         "model's number of channels, large enough for its layers.") from err
    finally:
        if was_training:
            module.train()


#: What torch says when a network cannot read an input (channels, sizes, dtypes): see ``eval_mode``.
_UNREADABLE = re.compile(r"channels|size of tensor|Kernel size|kernel size|Input type|dtype|expected input|"
                         r"Expected \d+D|shapes cannot be multiplied|must match the size|output size is too small|"
                         r"not implemented for", re.IGNORECASE)


@checked
def resolve_layer(model: Any, layer: nn.Module | str | None = None) -> tuple[nn.Module, nn.Module, str]:
    """Find the layer a CAM reads: ``layer`` given as None, a submodule or a dotted name (taught in 4.2).

    A module must be part of the model; a name such as ``"layer4"`` or ``"_blocks.15"`` must name one of
    its submodules (a near miss is suggested).

    Args:
        model: An ``ImageModel`` (``.model``, ``.labels``, ``.target_layer``) or a plain ``nn.Module``.
        layer: None (the ``ImageModel``'s ``target_layer``), a submodule of the model, or its dotted name.

    Returns:
        ``(network, layer module, layer name)``; the network is the ``nn.Module`` inside a wrapper.

    Raises:
        TypeError: ``model`` is not a network, or ``layer`` is not a module, a name or None.
        ValueError: The layer is not part of the model, or None is given for a plain ``nn.Module``.

    Example:
        >>> from torch import nn
        >>> import xai_helpers as xh
        >>> net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU())
        >>> _, layer, name = xh.methods.resolve_layer(net, "0")
        >>> type(layer).__name__, name
        ('Conv2d', '0')
    """
    if not isinstance(model, nn.Module) and not isinstance(getattr(model, "model", None), nn.Module):
        raise TypeError(f"resolve_layer: model must be a torch nn.Module or the ImageModel from "
                        f"load_image_model(); got {type(model).__name__}.")
    module, _ = unwrap_model(model)
    if layer is None:
        if isinstance(getattr(model, "target_layer", None), nn.Module):      # an ImageModel knows its CAM layer
            return module, model.target_layer, model.target_layer_name
        raise ValueError("layer=None means 'the model's default target layer', which only an ImageModel "
                         "from load_image_model() knows. For a plain nn.Module pass the layer itself "
                         "(e.g. model.layer4) or its name (e.g. 'layer4').")
    names = {id(m): n for n, m in module.named_modules()}
    if isinstance(layer, nn.Module):
        if id(layer) not in names:
            raise ValueError(f"The layer {type(layer).__name__} passed in is not part of this model (was it "
                             "taken from another instance of the model?). Pass one of its own submodules, "
                             "e.g. model.layer4, or a name from dict(model.named_modules()).")
        return module, layer, names[id(layer)] or "<the whole model>"
    try:                                                  # a dotted name (@checked admits nothing else)
        return module, module.get_submodule(layer), layer
    except AttributeError:
        close = difflib.get_close_matches(layer, [n for n in names.values() if n], n=3, cutoff=0.5)
        hint = f" Did you mean {', '.join(map(repr, close))}?" if close else ""
        raise ValueError(f"This model has no layer named {layer!r}.{hint} Names are those of "
                         "model.named_modules(), dotted, e.g. 'layer4' or 'layer4.1.conv2'.") from None


def module_and_input(model, x):
    """Check ``model`` and ``x`` -> ``(module, labels or None, x)``; ``x`` must live on the model's device."""
    module, labels = unwrap_model(model)
    if isinstance(x, torch.Tensor):
        param = next(module.parameters(), None)
        if param is not None and x.device != param.device:
            raise ValueError(f"x is on {x.device} but the model's weights are on {param.device}: move the "
                             f"input with x.to({str(param.device)!r}) (image_model.preprocess(...) already "
                             f"puts it on image_model.device).")
    return module, labels, check_input(x)


# --- arrays a figure or an analysis reads ---------------------------------------------------------------
def _holds_no_values(x):
    """A plain tensor on the meta device has a shape but no values. A tensor subclass that dispatches its own
    operations (a stand-in for an accelerator in the tests) may report the meta device and still hold values."""
    return x.device.type == "meta" and type(x).__torch_dispatch__ is torch.Tensor.__torch_dispatch__


def readable_tensor(a, name):
    """A tensor or array of numbers whose values can be read -> a detached tensor; else an error naming ``name``.

    A tensor on the ``meta`` device has a shape but no values, so it cannot be drawn or compared: ValueError.
    Anything ``np.asarray`` cannot turn into numbers (strings, objects, ragged lists): TypeError.
    """
    if isinstance(a, torch.Tensor):
        if _holds_no_values(a):
            raise ValueError(f"{name} is a tensor on the meta device, which holds no values: pass a tensor that "
                             "holds the numbers (on the CPU or the model's device).")
        return a.detach()
    try:
        return torch.as_tensor(np.asarray(a))
    except (TypeError, ValueError, RuntimeError):
        raise TypeError(f"{name} must be a tensor or an array of numbers; got {type(a).__name__}.") from None


def check_device(x, device=None, *, name="x"):
    """``x`` -> ``x`` where its values are on the CPU or on ``device`` (the model's; ``None``: any device with
    values). A tensor on the meta device (no values) or on another accelerator: ValueError naming ``name``."""
    if _holds_no_values(x):
        raise ValueError(f"{name} is a tensor on the meta device, which holds no values: pass a tensor that "
                         "holds the numbers (on the CPU or the model's device).")
    if device is not None and x.device.type != "cpu":
        want = torch.device(device)
        if x.device.type != want.type or None not in (x.device.index, want.index) and x.device.index != want.index:
            raise ValueError(f"{name} is on {x.device} but the model is on {want}: move it with "
                             f"{name}.to({str(want)!r}) (preprocess(...) puts inputs on the model's device).")
    return x


def as_float_array(a, name):
    """A tensor (any device with values) or array of numbers -> a float32 numpy array on the CPU."""
    t = readable_tensor(a, name)
    if t.is_complex():
        raise TypeError(f"{name} must hold real numbers; got {t.dtype}. Pass its .abs() or .real.")
    return t.float().cpu().numpy()


def check_attentions(attentions, tokens=None, *, name="attentions"):
    """One example's attention weights -> a float CPU tensor [layers, heads, seq, seq]; else an error naming ``name``.

    Accepted: the model's tuple of L tensors [1, heads, seq, seq] (``output_attentions=True``), a tensor or array
    [layers, heads, seq, seq] (``attention_maps``) or [layers, 1, heads, seq, seq]. The weights must be finite
    floats; with ``tokens``, ``seq`` must be their number.
    """
    if isinstance(attentions, (tuple, list)):
        if len(attentions) == 0:
            raise ValueError(f"{name} is empty: the model returned no attention weights. Load it with "
                             "attn_implementation='eager' (load_text_model does) and call it with "
                             "output_attentions=True.")
        layers = [readable_tensor(a, f"{name}[{i}]") for i, a in enumerate(attentions)]
        for i, a in enumerate(layers):
            if a.dim() == 4 and a.shape[0] > 1:
                raise ValueError(f"{name}[{i}] holds a batch of {a.shape[0]} sentences (shape {tuple(a.shape)}); "
                                 "these figures show one: pass the attentions of a single sentence (batch 1).")
            if a.dim() != 4 or a.shape != layers[0].shape:
                raise ValueError(f"{name}[{i}] has shape {tuple(a.shape)}; every layer of one example's attention "
                                 "is (1, heads, seq, seq), all alike.")
        a = torch.cat(layers)
    else:
        a = readable_tensor(attentions, name)
        a = a[:, 0] if a.dim() == 5 and a.shape[1] == 1 else a
    if a.dim() != 4 or a.shape[-1] != a.shape[-2]:
        raise ValueError(f"{name} must be one example's attention weights: [layers, heads, seq, seq] (as from "
                         f"attention_maps) or the model's tuple of [1, heads, seq, seq]; got shape {tuple(a.shape)}.")
    if not a.is_floating_point():
        raise ValueError(f"{name} must hold floating-point weights (softmax outputs); got {a.dtype}.")
    if not torch.isfinite(a).all():
        raise ValueError(f"{name} contains NaN or infinite values; attention weights are finite (each row sums "
                         "to 1). Check how they were computed.")
    if tokens is not None and len(tokens) != a.shape[-1]:
        raise ValueError(f"tokens has {len(tokens)} tokens but {name} is over {a.shape[-1]} positions; pass the "
                         "tokens returned together with the attentions (e.g. by attention_maps(...)).")
    return a.float().cpu()
