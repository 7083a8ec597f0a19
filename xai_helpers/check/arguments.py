"""What the checkers do with an argument of the wrong kind: feedback in the course's voice, naming the argument.

A learner hands a check cell whatever their notebook holds: a tensor where their function goes, a list where a
dict goes, a tuple with its items swapped, None. ``answers_checked`` checks each argument of a checker against
its type hint before the check runs and answers a mismatch with ``CheckFailed`` (``Problem 1b: `x` should be a
torch Tensor; got a str 'x_china'.``) -- a plain-words message in the check cell, never an error from inside
numpy or torch. The hints are the kinds themselves (``Callable``, ``Mapping``, ``ImageModel``, ...); the value
checks below (a box of four pixels, a 1x3xHxW image batch, a class the model knows, a course photo) add what a
kind alone cannot say. Missing answers (None, ``...``) are ``NotAnsweredYet``: the task is still open.
"""
import functools
import inspect
import typing
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from .._typecheck import _value_kind, describe, matches
from ..data import load_image
from .common import NotAnsweredYet, fail, target_index

#: A photo: a course photo's short name, an image file's path or a PIL image.
PhotoLike = str | Path | Image.Image


def answers_checked(label, answers=()):
    """Decorate a checker: each argument is checked against its type hint before the check runs.

    ``label`` starts every message (``"Problem 1b"``); an argument named in ``answers`` that is None or ``...``
    raises ``NotAnsweredYet`` (the learner has not filled it in yet), any argument of the wrong kind ``CheckFailed``
    naming it and the kind it should be. A checker never raises anything else on a learner's answer: an error the
    checks did not foresee (an answer of an unexpected shape or order) becomes ``CheckFailed`` naming the answers.
    """
    def decorate(checker):
        signature = inspect.signature(checker)

        @functools.wraps(checker)
        def run(*args, **kwargs):
            try:
                bound = signature.bind(*args, **kwargs)
            except TypeError as err:
                raise TypeError(f"{checker.__name__}(): {err}. Its arguments: {signature}.") from None
            hints = typing.get_type_hints(checker)
            for name, value in bound.arguments.items():
                if name in answers and (value is None or value is Ellipsis):
                    raise NotAnsweredYet(f"{label}: `{name}` is not there yet (it is {value!r}). Solve the task "
                                         "above first.")
                if name in hints and not matches(value, hints[name]):
                    fail(label, _wrong_kind(name, value, hints[name]))
            try:
                return checker(*args, **kwargs)
            except (AssertionError, KeyboardInterrupt):
                raise
            except Exception as err:  # noqa: BLE001 -- an answer the checks above did not foresee: still feedback
                names = ", ".join(f"`{a}`" for a in answers)
                fail(label, f"the check could not read your answer ({names}): {type(err).__name__}: {err}. Compare "
                            "its kind, shape and order with what the task asks for.")
        return run
    return decorate


def _wrong_kind(name, value, hint):
    """The message for argument ``name`` holding ``value``, which is not of the kind ``hint``."""
    if hint is Callable or typing.get_origin(hint) is Callable:
        return f"expected your function `{name}`, got {_value_kind(value)}."
    return f"`{name}` should be {describe(hint)}; got {_value_kind(value)}."


def image_batch(x, label, name="x"):
    """Fail unless ``x`` is one preprocessed image: a finite float tensor of shape 1x3xHxW holding values."""
    if x.device.type == "meta" or not x.is_floating_point() or x.dim() != 4 or tuple(x.shape[:2]) != (1, 3):
        fail(label, f"`{name}` should be one preprocessed image, a float tensor of shape 1x3xHxW "
                    f"(image_model.preprocess(photo)); got a {x.dtype} tensor of shape {tuple(x.shape)} on {x.device}.")
    if not torch.isfinite(x).all():
        fail(label, f"`{name}` contains NaN or infinite values; preprocess the photo again.")
    return x


def pixel_box(box, label, name="box"):
    """``box`` as four whole pixel numbers, or a failure naming ``name``."""
    values = box.tolist() if isinstance(box, (torch.Tensor, np.ndarray)) else box
    if (not isinstance(values, (tuple, list)) or len(values) != 4
            or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in values)):
        fail(label, f"`{name}` should be a box (x0, y0, x1, y1) of four whole pixel numbers; got {values!r}.")
    return tuple(int(v) for v in values)


def class_of(image_model, target, label, name):
    """The class index of ``target`` (an index or a class name of ``image_model``), or a failure naming ``name``."""
    try:
        return target_index(image_model, target)
    except (TypeError, ValueError) as err:
        fail(label, f"`{name}` should be a class of the model (an index or a name from image_model.labels): {err}")


def class_pair(classes, label, name="classes"):
    """Fail unless ``classes`` holds exactly two classes (the pair a problem compares)."""
    if len(classes) != 2:
        fail(label, f"`{name}` should be the pair of classes the task compares; got {len(classes)} of them.")
    return classes


def photo_of(photo, label, name="photo"):
    """The photo ``photo`` names, loaded; a failure naming ``name`` when it is not a photo."""
    try:
        return load_image(photo)
    except (OSError, KeyError, TypeError, ValueError) as err:
        fail(label, f"`{name}` should be a course photo's name, an image file or a PIL image: {err}")


def same_keys(mapping, keys, label, name, what):
    """Fail unless the dict ``mapping`` has an entry for each of ``keys``; ``what`` says what each entry holds."""
    missing = [k for k in keys if k not in mapping]
    if missing:
        fail(label, f"`{name}` should hold {what} for each of {list(keys)}; it has no {missing}.")
