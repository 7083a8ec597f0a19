"""Argument kinds checked against a public function's type hints, with an error that names the argument.

``@checked`` on a public function reads its type hints once and, on every call, checks each argument
given against its hint before the body runs: a string where a tensor goes, a model where attention weights
go or a list where a number goes fails at once with a ``TypeError`` such as
``plot_attention: ax must be a matplotlib Axes or None; got a Tensor.`` -- instead of an error from deep
inside torch or matplotlib. Values (shapes, ranges, names) are checked by the function itself, with the
helpers of ``_validate``.

What is checked: plain classes (``int`` refuses ``bool``; ``float`` takes ints and numpy numbers), ``None``,
unions (``X | None``), ``Literal[...]``, ``Callable``, and containers (``list[X]``, ``tuple[X, ...]``,
``Sequence[X]``, ``Mapping[K, V]``, ``Iterable[X]``: the container's kind, and the kind of its first
``SAMPLE`` items; a plain ``str`` is not accepted as a sequence of strings). Anything else (type variables,
protocols, ``Any``) is accepted as is.
"""
import collections.abc as cabc
import functools
import inspect
import numbers
import types
import typing

import numpy as np

__all__ = ["checked", "matches", "describe"]

#: How many items of a container are checked against the container's item type.
SAMPLE = 50

_ARTICLE_FREE = {"None", "True", "False"}
#: Class names in words; the course's wrapped models are named with the loader that makes them.
_NAMES = {"Axes": "matplotlib Axes", "Module": "torch nn.Module", "Tensor": "torch Tensor",
          "ndarray": "numpy array", "Image": "PIL image", "Figure": "matplotlib Figure",
          "ImageModel": "ImageModel (from load_image_model())",
          "TextClassifier": "TextClassifier (from load_text_classifier())"}


def _is_int(value):
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _is_float(value):
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))


def _container_matches(value, origin, args):
    if not isinstance(value, origin):
        return False
    if origin in (cabc.Sequence, cabc.Iterable, cabc.Collection, list, set, frozenset) and isinstance(value, str):
        return bool(args) and args[0] is str and origin is cabc.Iterable
    if not args or not isinstance(value, cabc.Sized):
        return True
    if origin in (dict, cabc.Mapping, cabc.MutableMapping):
        items = list(value.items())[:SAMPLE]
        return all(matches(k, args[0]) and matches(v, args[1]) for k, v in items)
    if origin is tuple and not (len(args) == 2 and args[1] is Ellipsis):
        return len(value) == len(args) and all(matches(v, a) for v, a in zip(value, args))
    if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple, set, frozenset, cabc.Sequence)):
        return True
    return all(matches(v, args[0]) for v in list(value)[:SAMPLE])


def matches(value, hint):
    """Whether ``value`` is of the kind ``hint`` describes (see the module's docstring for what is checked)."""
    if hint is typing.Any or hint is inspect.Parameter.empty or isinstance(hint, (typing.TypeVar, str)):
        return True
    if hint is None or hint is type(None):
        return value is None
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is typing.Union or origin is types.UnionType:
        return any(matches(value, a) for a in args)
    if origin is typing.Literal:
        return any(value is a or (type(value) is type(a) and value == a) for a in args)
    if origin is typing.Annotated:
        return matches(value, args[0])
    if hint is cabc.Callable or origin is cabc.Callable:
        return callable(value)
    if origin is not None:
        return _container_matches(value, origin, args) if isinstance(origin, type) else True
    if not isinstance(hint, type) or getattr(hint, "_is_protocol", False):
        return True
    if hint is int:
        return _is_int(value)
    if hint is float:
        return _is_float(value)
    if hint is bool:
        return isinstance(value, (bool, np.bool_))
    return isinstance(value, hint)


def describe(hint):
    """``hint`` in words: ``"a torch Tensor or None"``, ``"one of 'black', 'blur'"``, ``"a list of str"``."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is None or hint is type(None):
        return "None"
    if origin is typing.Union or origin is types.UnionType:
        return " or ".join(describe(a) for a in args)
    if origin is typing.Literal:
        return "one of " + ", ".join(repr(a) for a in args)
    if origin is typing.Annotated:
        return describe(args[0])
    if hint is cabc.Callable or origin is cabc.Callable:
        return "a function (a callable)"
    if origin is not None:
        kind = _NAMES.get(origin.__name__, origin.__name__.lower())
        if origin in (dict, cabc.Mapping, cabc.MutableMapping) and len(args) == 2:
            return f"a {kind} with {_plural(args[0])} as keys and {_plural(args[1])} as values"
        if origin is tuple and args and args[-1] is not Ellipsis:
            same = len(set(args)) == 1
            return (f"a tuple of {len(args)} {_plural(args[0])}" if same
                    else f"a tuple ({', '.join(_plural(a) for a in args)})")
        inner = f" of {' or '.join(_plural(a) for a in args if a is not Ellipsis)}" if args else ""
        return f"a {kind}{inner}"
    name = getattr(hint, "__name__", str(hint))
    name = {"int": "an integer", "float": "a number", "bool": "True or False", "str": "a string"}.get(
        name, _NAMES.get(name, name))
    return name if name.split()[0] in ("an", "a", "True") or name in _ARTICLE_FREE else _article(name)


def _plural(hint):
    """``hint`` as the items of a container: ``"strings"``, ``"torch Tensors"``, ``"integers or None"``."""
    words = []
    for part in describe(hint).split(" or "):
        for article in ("a ", "an "):
            if part.startswith(article):
                part = part[len(article):] + "s"
        words.append(part)
    return " or ".join(words)


def _article(name):
    return ("an " if name[:1].lower() in "aeiou" else "a ") + name


def _value_kind(value):
    if value is None or isinstance(value, bool):
        return repr(value)
    if isinstance(value, (str, int, float)):
        return f"{type(value).__name__} {value!r}"[:80]
    shape = getattr(value, "shape", None)
    name = _NAMES.get(type(value).__name__, type(value).__name__)
    return _article(name) + (f" of shape {tuple(shape)}" if shape is not None else "")


def checked(fn):
    """Check the arguments of ``fn`` against its type hints on every call (TypeError naming the argument)."""
    signature = inspect.signature(fn)
    hints = {}

    @functools.wraps(fn)
    def call(*args, **kwargs):
        if not hints:
            hints.update(typing.get_type_hints(fn, include_extras=True))
            hints.pop("return", None)
            hints.setdefault("__ready__", None)
        try:
            bound = signature.bind(*args, **kwargs)
        except TypeError as err:
            raise TypeError(f"{fn.__name__}(): {err}. Its arguments: {signature}.") from None
        for name, value in bound.arguments.items():
            hint = hints.get(name)
            kind = signature.parameters[name].kind
            if hint is None or kind in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD):
                continue
            if not matches(value, hint):
                raise TypeError(f"{fn.__name__}: {name} must be {describe(hint)}; got {_value_kind(value)}.")
        return fn(*args, **kwargs)

    return call
