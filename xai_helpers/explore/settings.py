"""An explorer's settings checked where they are given, before anything is computed.

The explorers compute in a worker thread, where an error only reaches the widget's status line. So the
settings a learner passes to ``explore_image``/``explore_text`` or to an explorer's ``update`` are checked at
once: an unknown setting, a wrong kind (checked against the setting's type hint, as ``@checked`` checks a
function's arguments) or a wrong value fails with an error that names the setting.
"""
from collections.abc import Callable, Mapping

from .._typecheck import _value_kind, describe, matches
from .._validate import resolve_target

__all__ = ["check_settings", "class_index", "check_view"]


def check_settings(owner: str, hints: Mapping[str, object], changes: Mapping[str, object],
                   check_value: Callable[[str, object], object]) -> dict:
    """``changes`` checked -> ``{setting: value as stored}``; else an error naming the setting.

    ``hints`` maps every known setting to its type hint; ``check_value(setting, value)`` checks a value of the
    right kind and returns what is stored (e.g. a class name resolved to its index).
    """
    unknown = sorted(set(changes) - set(hints))
    if unknown:
        raise ValueError(f"Unknown explorer setting(s) {unknown}; known: {sorted(hints)}.")
    stored = {}
    for name, value in changes.items():
        if not matches(value, hints[name]):
            raise TypeError(f"{owner}: {name} must be {describe(hints[name])}; got {_value_kind(value)}.")
        stored[name] = check_value(name, value)
    return stored


def class_index(target: int | str, labels: list[str]) -> int:
    """A class index or class name of a model with class names ``labels`` -> its index; else an error naming
    ``target`` (``resolve_target``'s, which is case-insensitive and suggests close names)."""
    try:
        return resolve_target(target, len(labels), labels)
    except ValueError as err:
        raise ValueError(str(err) if "target" in str(err) else f"target: {err}") from None


def check_view(view: dict | None, newest: dict, keys: tuple[str, ...]) -> dict:
    """The view an explorer's drawing method is given -> ``view`` (``None``: the ``newest`` one); a dict that is
    not a view from ``compute`` (one of ``keys`` missing) -> a ValueError naming ``view``."""
    if view is None:
        return newest
    missing = [k for k in keys if k not in view]
    if missing:
        raise ValueError(f"view must be a view from the explorer's compute() (a dict with {', '.join(keys)}); "
                         f"this one has no {', '.join(missing)}. Pass None for the newest view.")
    return view
