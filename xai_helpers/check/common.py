"""Shared pieces of the exercise checkers (``xai_helpers.check``): failures, comparisons, helpers.

A checker prints one ``✓`` line per passed point and returns None; a wrong answer raises
``CheckFailed`` (an ``AssertionError``) whose message names the mistake in plain words without giving
the answer; ``NotAnsweredYet`` means the task is still open. Checkers return None on purpose: a check
cell that ends in a value would be read by nbgrader as a partial score.
"""
import collections
import contextlib
import functools
import hashlib
import math
import warnings

import numpy as np
import torch

from .._validate import resolve_target
from ..models import ImageModel

IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


class CheckFailed(AssertionError):
    """The answer is wrong; the message says what and why, in plain words.

    An ``AssertionError``, so that nbgrader scores the check cell 0 and the cell shows the message.

    Example:
        >>> import xai_helpers.check as check
        >>> issubclass(check.CheckFailed, AssertionError)
        True
    """


class NotAnsweredYet(CheckFailed):
    """The answer is still missing (None, empty, the template, or a NotImplementedError).

    Example:
        >>> import xai_helpers.check as check
        >>> check.written_answer(None, problem=1)
        Traceback (most recent call last):
        ...
        xai_helpers.check.common.NotAnsweredYet: Written answer: `text` is not there yet (it is None). ...
    """


def as_array(a):
    """Tensor / array / number -> float64 numpy array on the CPU (a TypeError for a tensor without values)."""
    if isinstance(a, torch.Tensor):
        if a.device.type == "meta":
            raise TypeError("a tensor on the 'meta' device holds no values")
        return a.detach().to("cpu", torch.float64).numpy()
    return np.asarray(a, dtype=np.float64)


def ok(label, text):
    print(f"\u2713 {label}: {text}")


def fail(label, text):
    raise CheckFailed(f"{label}: {text}")


def require(value, label, what):
    """Raise NotAnsweredYet when ``value`` is missing, empty or the Ellipsis of a template."""
    if value is None or value is Ellipsis or (isinstance(value, (dict, list, tuple, str)) and len(value) == 0):
        raise NotAnsweredYet(f"{label}: {what} is not there yet (it is {value!r}). Solve the task above first.")
    return value


def number(value, label, what):
    """A learner's scalar as a float, or a plain-words failure."""
    if value is None or value is Ellipsis:
        raise NotAnsweredYet(f"{label}: {what} is missing.")
    try:
        arr = as_array(value)
    except (TypeError, ValueError):
        fail(label, f"{what} should be a number, got {type(value).__name__}.")
    if arr.size != 1:
        fail(label, f"{what} should be one number, got an array of shape {arr.shape}.")
    v = float(arr.reshape(()))
    if not math.isfinite(v):
        fail(label, f"{what} is {v}: check for a division by zero or an empty selection.")
    return v


def require_keys(value, keys, label, what, ordered=True):
    """Fail unless ``value`` is a dict with exactly ``keys`` (in this order when ``ordered``).

    ``what`` says what the dict should hold; the message adds the keys it has."""
    found = list(value) if isinstance(value, dict) else None
    if found is None or (found != list(keys) if ordered else set(found) != set(keys)):
        fail(label, f"{what}; it has {type(value).__name__ if found is None else found}.")


def require_fields(record, fields, label, name):
    """Raise NotAnsweredYet naming the ``fields`` that the dict ``record`` misses (absent, None or ``...``)."""
    missing = [k for k in fields if not isinstance(record, dict) or record.get(k) is None or record.get(k) is Ellipsis]
    if missing:
        raise NotAnsweredYet(f"{label}: {name} has no {missing}.")


def first_mistake(wrong_answers, matches):
    """The message of the first ``(wrong answer, message)`` pair whose answer ``matches``, or None.

    A wrong answer of None (a mistake that cannot show with these arguments) is skipped; a generator of pairs
    computes each wrong answer only when the ones before it did not match."""
    for wrong, message in wrong_answers:
        if wrong is not None and matches(wrong):
            return message
    return None


def near(value, reference, atol, rtol=0.0):
    """|value - reference| <= atol + rtol * |reference| (two numbers)."""
    return abs(float(value) - float(reference)) <= atol + rtol * abs(float(reference))


def identical(a, b):
    """Two tensors hold exactly the same values (compared on the CPU)."""
    return torch.equal(a.detach().cpu(), b.detach().cpu())


def seeding_mistake(first, draw, seed, other_seed, what):
    """Why a seeded draw is not reproducible, or None. ``first`` = ``draw(seed)``, already made; ``what`` names
    the draws (e.g. "maps"). Each seed must give the same ``what`` on every call, and another seed other ones."""
    if not identical(draw(seed), first):
        return (f"two calls with the same seed gave different {what}: the noise is not seeded. Draw it from "
                "torch.Generator().manual_seed(seed)")
    if identical(draw(other_seed), first):
        return f"the seed argument is ignored: seed={seed} and seed={other_seed} gave the same {what}"
    return None


def target_index(image_model, target):
    """The class index of ``target`` (an index or a class name) among ``image_model``'s classes."""
    return resolve_target(target, len(image_model.labels), image_model.labels)


def close(a, b, rtol=1e-3):
    """Same shape, and the largest difference relative to the reference's largest magnitude is <= rtol."""
    a, b = as_array(a), as_array(b)
    if a.shape != b.shape:
        return False
    scale = max(float(np.abs(b).max()) if b.size else 0.0, 1e-12)
    return float(np.abs(a - b).max()) / scale <= rtol if a.size else True


def two_d(value, label, name, size=None):
    """A learner's map as a 2-D float array (leading size-1 dimensions dropped), or a plain-words failure."""
    if value is None:
        raise NotAnsweredYet(f"{label}: {name} is None -- compute it first.")
    m = as_array(value)
    while m.ndim > 2 and m.shape[0] == 1:
        m = m[0]
    if m.ndim == 3 and m.shape[0] == 3:
        fail(label, f"{name} still has 3 colour channels (shape {tuple(as_array(value).shape)}); reduce them "
                    "to one value per pixel first.")
    if m.ndim != 2:
        fail(label, f"{name} should be a 2-D map (H, W); got shape {tuple(as_array(value).shape)}.")
    if size is not None and tuple(m.shape) != tuple(size):
        fail(label, f"{name} has shape {tuple(m.shape)}, expected {tuple(size)}.")
    if not np.isfinite(m).all():
        fail(label, f"{name} contains NaN or infinite values.")
    return m


@contextlib.contextmanager
def quiet():
    """Silence warnings inside a check: nbgrader scores a check cell 0 if anything reaches stderr."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def call(fn, label, *args, **kwargs):
    """Call a learner's function; a NotImplementedError means 'not answered', other errors are reported."""
    if not callable(fn):
        fail(label, f"expected your function, got {type(fn).__name__}.")
    try:
        with quiet():
            return fn(*args, **kwargs)
    except NotImplementedError:
        raise NotAnsweredYet(f"{label}: the function still raises NotImplementedError -- write its body.") from None
    except (CheckFailed, KeyboardInterrupt):
        raise
    except Exception as err:  # noqa: BLE001 -- any error of the learner's code becomes feedback
        args_text = ", ".join([*(_short(a) for a in args), *(f"{k}={_short(v)}" for k, v in kwargs.items())])
        name = getattr(fn, "__name__", type(fn).__name__)
        fail(label, f"your function raised {type(err).__name__}: {err} (called as {name}({args_text})).")


def call_for_result(fn, label, name, what, *args, **kwargs):
    """``call``, where a result of None means 'not answered': ``name`` is the function's name in the task,
    ``what`` what it should return."""
    result = call(fn, label, *args, **kwargs)
    if result is None:
        raise NotAnsweredYet(f"{label}: {name} returned None; return {what}.")
    return result


def _short(value):
    if isinstance(value, torch.Tensor):
        return f"<tensor {tuple(value.shape)}>"
    if isinstance(value, np.ndarray):
        return f"<array {value.shape}>"
    text = repr(value)
    return text if len(text) <= 40 else f"<{type(value).__name__}>"


@functools.lru_cache(maxsize=8)
def imagenet_normalised(image_model):
    """The same network fed with torchvision's ImageNet mean/std and 112-pixel inputs: a second model to test
    against. An answer that is right only because the course model's mean and std are both about 0.5, or
    that hard-codes 224 pixels, fails here (the network pools globally, so any input size runs)."""
    return ImageModel(name=f"{image_model.name} (ImageNet mean/std, 112 px)", model=image_model.model,
                      labels=image_model.labels, target_layer=image_model.target_layer,
                      target_layer_name=image_model.target_layer_name, mean=IMAGENET_MEAN, std=IMAGENET_STD,
                      resize=128, crop=112, description="checker variant", device=image_model.device)


def small_input(image_model, photo, size):
    """``photo`` preprocessed for ``image_model`` and resized to size x size: cheap gradients for checks."""
    x = image_model.preprocess(photo)
    return torch.nn.functional.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)


@contextlib.contextmanager
def batch_sizes(module):
    """Record the batch size of every forward pass of ``module`` (the hook is always removed)."""
    sizes = []
    handle = module.register_forward_pre_hook(lambda _m, inputs: sizes.append(int(inputs[0].shape[0])))
    try:
        yield sizes
    finally:
        handle.remove()


def logits(image_model, x):
    """Logits of one or more inputs, on the CPU, without gradients."""
    with torch.no_grad():
        return image_model.model(x.detach()).float().cpu()


_MEMO = collections.OrderedDict()
_MEMO_SIZE = 128


def _key(value):
    """A hashable fingerprint of an argument: tensors, arrays and PIL images by content, others by value or id."""
    if isinstance(value, torch.Tensor):
        data = value.detach().to("cpu").contiguous().numpy()
        return ("tensor", tuple(value.shape), str(value.dtype), hashlib.sha1(data.tobytes()).hexdigest())
    if isinstance(value, np.ndarray):
        return ("array", value.shape, str(value.dtype), hashlib.sha1(np.ascontiguousarray(value).tobytes()).hexdigest())
    if hasattr(value, "tobytes") and hasattr(value, "size") and hasattr(value, "mode"):        # a PIL image
        return ("image", value.size, value.mode, hashlib.sha1(value.tobytes()).hexdigest())
    if isinstance(value, (tuple, list)):
        return tuple(_key(v) for v in value)
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return ("object", id(value))


def memo(fn):
    """Remember the reference results of a checker (by argument content): re-running a check stays cheap."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        key = (fn.__module__, fn.__qualname__, _key(args), tuple(sorted((k, _key(v)) for k, v in kwargs.items())))
        if key in _MEMO:
            _MEMO.move_to_end(key)
            return _MEMO[key]
        value = fn(*args, **kwargs)
        _MEMO[key] = value
        if len(_MEMO) > _MEMO_SIZE:
            _MEMO.popitem(last=False)
        return value
    return wrapper
