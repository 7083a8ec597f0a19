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
import inspect
import math
import os
import statistics
import time
import types
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


def numbers_of(value, label, what):
    """A learner's array-like answer as a float64 array, or a plain-words failure (strings, ragged lists, None...)."""
    if value is None or value is Ellipsis:
        raise NotAnsweredYet(f"{label}: {what} is missing.")
    try:
        return as_array(value)
    except (TypeError, ValueError, RuntimeError) as err:
        fail(label, f"{what} should hold numbers (a tensor, an array or a list of numbers); got "
                    f"{type(value).__name__} ({_short(value)}), which cannot be read as numbers: {err}")


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


def count(value, label, what, unit="things"):
    """A learner's count as an int: a whole number (an int, or a float / 0-d array that is one), never rounded here.

    ``unit`` says what is counted (in the message); a count written as 198.7 is a failure, not 199."""
    if isinstance(value, (bool, np.bool_)):
        fail(label, f"{what} should be a whole number of {unit}; got the truth value {value!r}.")
    v = number(value, label, what)
    if not float(v).is_integer():
        fail(label, f"{what} is {v:g}, which is not a whole number of {unit}: a count of {unit} has no fraction.")
    return int(v)


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


def first_mistake(wrong_answers, matches, distance=None):
    """The message of the first ``(wrong answer, message)`` pair whose answer ``matches``, or None.

    A wrong answer of None (a mistake that cannot show with these arguments) is skipped; a generator of pairs
    computes each wrong answer only when the ones before it did not match. With ``distance`` (wrong answer ->
    how far the learner's answer is from it), every pair is computed and the closest matching one wins: where
    two mistakes give nearly the same answer, the message names the one the answer is nearest to."""
    if distance is None:
        for wrong, message in wrong_answers:
            if wrong is not None and matches(wrong):
                return message
        return None
    found = [(distance(wrong), message) for wrong, message in wrong_answers if wrong is not None and matches(wrong)]
    return min(found, key=lambda pair: pair[0])[1] if found else None


def near(value, reference, atol, rtol=0.0):
    """|value - reference| <= atol + rtol * |reference| (two numbers)."""
    return abs(float(value) - float(reference)) <= atol + rtol * abs(float(reference))


def seeding_mistake(first, draw, seed, other_seed, what):
    """Why a seeded draw is not reproducible, or None. ``first`` = ``draw(seed)``, already made; ``what`` names
    the draws (e.g. "maps"). Each seed must give the same ``what`` on every call (to 1e-5 of the largest value: a
    CPU may add floats in another order from one call to the next), and another seed other ones."""
    if not close(draw(seed), first, 1e-5):           # equal up to the order of float additions between calls
        return f"two calls with the same seed gave different {what}: the noise is not seeded"
    if close(draw(other_seed), first, 1e-6):
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


def _kept_global(name, value):
    """Whether a notebook global stays visible to a learner's function in the check's fresh namespace: modules,
    classes, functions and constants written in capitals (plain numbers or strings) do; data does not."""
    if name.startswith("__") or isinstance(value, (types.ModuleType, type, types.FunctionType,
                                                    types.BuiltinFunctionType, functools.partial)):
        return True
    return name.isupper() and isinstance(value, (int, float, str)) and not isinstance(value, bool)


def isolated(fn):
    """``fn`` with a fresh namespace: the same code and closure, but only the globals ``_kept_global`` keeps.

    A function that reads a notebook variable (``image_model``, ``x_china``, ``BUTTERFLY_BOX``) instead of its
    own argument then raises NameError, which ``call`` reports, instead of passing whenever every test input
    happens to equal that variable. Other callables (partials of functions included) are rebuilt around their
    function; a callable object is returned as it is."""
    if isinstance(fn, functools.partial):
        return functools.partial(isolated(fn.func), *fn.args, **fn.keywords)
    if not isinstance(fn, types.FunctionType):
        return fn
    namespace = {k: v for k, v in fn.__globals__.items() if _kept_global(k, v)}
    namespace.setdefault("__builtins__", __builtins__)
    copy = types.FunctionType(fn.__code__, namespace, fn.__name__, fn.__defaults__, fn.__closure__)
    copy.__kwdefaults__, copy.__dict__ = fn.__kwdefaults__, dict(fn.__dict__)
    return copy


def call(fn, label, *args, **kwargs):
    """Call a learner's function in a fresh namespace (``isolated``); a NotImplementedError means 'not answered',
    a NameError names the notebook variable it reads, other errors are reported."""
    if not callable(fn):
        fail(label, f"expected your function, got {type(fn).__name__}.")
    try:
        with quiet():
            return isolated(fn)(*args, **kwargs)
    except NotImplementedError:
        raise NotAnsweredYet(f"{label}: the function still raises NotImplementedError -- write its body.") from None
    except (CheckFailed, KeyboardInterrupt):
        raise
    except NameError as err:
        name = getattr(err, "name", None) or str(err)
        fail(label, f"your function reads `{name}`, a variable of your notebook, instead of working from its "
                    "arguments alone: the check calls it with other inputs, where that variable does not exist.")
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


def defaults_mistake(fn, expected, name):
    """Why the defaults of the learner's function ``fn`` differ from the task's ``expected`` {argument: default},
    or None. A default is what a call without that argument uses, so a wrong one shows in every such call."""
    target = fn.func if isinstance(fn, functools.partial) else fn
    try:
        parameters = inspect.signature(target).parameters
    except (TypeError, ValueError):
        return None
    bound = fn.keywords if isinstance(fn, functools.partial) else {}
    for argument, default in expected.items():
        parameter = parameters.get(argument)
        if parameter is None:
            if any(p.kind is p.VAR_KEYWORD for p in parameters.values()):
                continue
            return f"{name} has no argument `{argument}`, which the task's signature has"
        value = bound.get(argument, parameter.default)
        if value is parameter.empty:
            return f"`{argument}` of {name} has no default; the task's signature gives it one"
        if type(value) is not type(default) and not (isinstance(value, (int, float)) and isinstance(default, float)):
            return f"the default of `{argument}` in {name} is {value!r}, not the task's"
        if value != default:
            return f"the default of `{argument}` in {name} is {value!r}, not the one in the task's signature"
    return None


@contextlib.contextmanager
def one_thread():
    """Run the block on one torch thread; the previous number of threads is restored after it, whatever happens.

    Only for a check whose learner's results and references are all computed inside it: the number of threads
    changes the order of float additions, and a gradient of this network at one thread can differ from one at two
    by about 1 % of its largest value (ReLU6 kinks), so results from the notebook are compared with references
    computed at the notebook's number of threads. One thread is faster for many small model passes on busy cores,
    where two threads spend most of their time waiting for each other."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def timed(fn, *args, repeat=2, **kwargs):
    """The shortest of ``repeat`` wall-clock times of ``fn(*args, **kwargs)`` in seconds (time.perf_counter)."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        with quiet():
            fn(*args, **kwargs)
        times.append(time.perf_counter() - start)
    return min(times)


#: A learner's timing of a call may be this many times shorter or longer than the checker's own timing of the
#: same call before it counts as a different measurement (load on a shared machine varies between cells).
TIMING_FACTOR: tuple[float, float] = (0.4, 1.75)
#: Factors no busy moment explains: a timer in other units than seconds (minutes, milliseconds, nanoseconds).
UNIT_FACTOR: tuple[float, float] = (1 / 20, 100)


def machine_is_busy() -> bool:
    """True when more processes want a core than the kernel may use (1-minute load average above the usable cores).

    Then the same call's wall-clock time varies by a factor of 2 or more from one moment to the next (measured: 2.6
    between a learner's cell and its check cell during an autograde beside other work), so a factor of about 2
    between a learner's timing and the check's cannot tell two calls timed together from a busy moment. False where
    the load average is unknown (Windows)."""
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):
        return False
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return load > cores


def timing_mistake(seconds, own, busy=False):
    """Why the learner's timings ``seconds`` (n -> s) are not the time of one call each, or None.

    ``own`` (n -> s) holds the checker's timing of the same call for some of the n. A timer read in
    milliseconds or nanoseconds is 10^3 or 10^9 times too large, one read in minutes 60 times too small; two calls
    timed together, or a timer started once before the loop (each time then includes all the calls before it),
    makes the time too large by a factor of about 2 or more; a timer stopped before the work ends makes it too
    short. With ``busy`` (``machine_is_busy()``) only the unit mistakes are named: on a busy machine a factor of 2
    or 1/2.5 is within what load alone does, and a right answer must not be refused for it."""
    ratios = [float(seconds[n]) / max(float(t), 1e-9) for n, t in own.items()]
    ratio = statistics.median(ratios)
    low, high = (UNIT_FACTOR if busy else TIMING_FACTOR)
    if ratio > 1e5:
        return (f"the times are about {ratio:.0e} times the time the check measures for the same call: they look "
                "like nanoseconds, and the task asks for seconds")
    if ratio > 100:
        return (f"the times are about {ratio:.0f} times the time the check measures for the same call: they look "
                "like milliseconds, and the task asks for seconds")
    if ratio > high:
        return (f"the times are {ratio:.1f} times the time the check measures for one call: the timer covers more "
                "than the one call asked for (both seeds, or all the calls since the loop began)")
    if ratio < low:
        return (f"the times are only {ratio:.2f} of the time the check measures for the same call: the timer "
                "stops before the call is done, or the unit is not seconds")
    return None


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
