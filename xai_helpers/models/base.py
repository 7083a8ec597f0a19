"""What every loader of the package shares: the error, the one reachability check, freezing, quiet loading.

Dependencies point one way: ``models/base`` <- ``models/image|text|sentiment|vit`` <- ``methods`` <- ...
"""
import contextlib
import os
import socket

import torch
from torch import nn

from ..device import get_device
from .._typecheck import checked

__all__ = ["ModelUnavailableError", "unavailable_error", "offline_switch", "freeze", "OFFLINE_ENV"]


class ModelUnavailableError(RuntimeError):
    """A model's weights are neither on this machine nor downloadable from here.

    Every loader raises it with one text: what cannot be loaded, why, and the offline default call that works
    instead (see ``unavailable_error``). A ``RuntimeError``, so ``except RuntimeError`` catches it too.

    Args:
        *args: The message, as for any exception.

    Example:
        >>> import xai_helpers as xh
        >>> try:
        ...     raise xh.models.unavailable_error("'bert-base-uncased'", "it is not cached",
        ...                                       "load_text_model('all-minilm-l6-v2')")
        ... except xh.ModelUnavailableError as err:
        ...     print(err)
        'bert-base-uncased' cannot be loaded: it is not cached. Use the offline default instead: load_text_model('all-minilm-l6-v2').
    """


def unavailable_error(what: str, reason: str, default: str, hint: str = "") -> ModelUnavailableError:
    """The one text every loader gives -> ``ModelUnavailableError``:

    ``"<what> cannot be loaded: <reason>. Use the offline default instead: <default>. <hint>"``
    (``default`` is the call that works offline, e.g. ``load_text_model('all-minilm-l6-v2')``).
    """
    return ModelUnavailableError(f"{what} cannot be loaded: {reason}. Use the offline default instead: "
                                 f"{default}." + (f" {hint}" if hint else ""))


# --- the one reachability check ------------------------------------------------------------------
#: The environment switches that forbid downloads, read as huggingface_hub reads them.
OFFLINE_ENV: tuple[str, ...] = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")


def offline_switch() -> str | None:
    """``"NAME=value"`` of the first of HF_HUB_OFFLINE / TRANSFORMERS_OFFLINE set to 1/true/yes/on
    (any case, as huggingface_hub reads them), else ``None``."""
    for name in OFFLINE_ENV:
        value = os.environ.get(name, "")
        if value.strip().upper() in ("1", "TRUE", "YES", "ON"):
            return f"{name}={value}"
    return None


def _open_connection(host, port, timeout):
    return socket.create_connection((host, port), timeout=timeout)


def _reachable(host, port=443, timeout=3.0):
    """Whether a download from ``host`` may and can start: ``False`` at once, without touching the
    network, when an offline switch is set (``offline_switch``); else whether ``host`` answers within
    ``timeout`` seconds (never hangs). Every loader of the package asks this one check."""
    if offline_switch():
        return False
    try:
        with _open_connection(host, port, timeout):
            return True
    except OSError:
        return False


def _unreachable_reason(host, what_is_missing):
    """Why no download is tried, for ``unavailable_error``: the offline switch, or ``host`` not answering."""
    switch = offline_switch()
    why = f"{switch} is set, so the network is not tried" if switch else f"{host} cannot be reached from here"
    return f"{what_is_missing} and {why}"



@checked
def freeze(model: nn.Module) -> nn.Module:
    """Put ``model`` in eval mode and stop gradients for its parameters (inputs still get gradients).

    Every loader freezes its model: attribution methods differentiate with respect to the input, never the
    weights, and eval mode makes dropout and batch norm deterministic (taught in 4.1).

    Args:
        model: Any ``torch.nn.Module``; changed in place.

    Returns:
        The same ``model``, in eval mode, with ``requires_grad=False`` on every parameter.

    Example:
        >>> import torch
        >>> import xai_helpers as xh
        >>> net = xh.models.freeze(torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.Dropout(0.5)))
        >>> net.training, any(p.requires_grad for p in net.parameters())
        (False, False)
    """
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model


def fast_layout(model: nn.Module, device) -> nn.Module:
    """Store ``model``'s convolution weights channels-last on the CPU and CUDA (in place; the same ``model``).

    The convolutions then run in the layout their kernels are fastest in, whatever layout the input has, and give
    the same values up to float rounding (the input gradients of EfficientNet-Lite0 came out bit-identical).
    Measured on EfficientNet-Lite0, one CPU thread, inputs in the default layout: forward passes without gradient
    1.15-1.5x faster (batch 8), forward + backward 1.05-1.15x (batch 2); the package's hot loops (deletion, ROAD,
    the interpreter) already pass channels-last inputs and gain little. Other devices (Apple MPS) keep the default
    layout. A gradient taken with respect to a plain input then comes back channels-last: the package's
    methods return it ``.contiguous()``.
    """
    if torch.device(device).type in ("cpu", "cuda"):
        model.to(memory_format=torch.channels_last)
    return model


@contextlib.contextmanager
def _no_progress_bars():
    """Silence transformers' "Loading weights" progress bars (lesson output), then restore the setting."""
    from transformers.utils import logging as hf_logging
    was_on = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_on:
            hf_logging.enable_progress_bar()


def _from_pretrained(cls, source, local_only, **kwargs):
    return cls.from_pretrained(source, local_files_only=local_only, **kwargs)


# --- the one name rule, the one cache, the one local-first loading path -------------------------------------
def normalise_name(name, *, env, default, catalog, what, aliases=None, hub_ids=False):
    """The catalog key of a model name, the same rule for every loader.

    ``name`` falls back to env ``env``, then to the offline ``default``. Case, surrounding spaces and ``-``
    versus ``_`` do not matter; ``aliases`` maps other accepted spellings to keys. With ``hub_ids=True``
    any other ``"owner/model"`` Hugging Face id passes through unchanged. Unknown names -> ``ValueError``
    listing the choices and the offline default.
    """
    given = name
    name = name or os.environ.get(env) or default
    if not isinstance(name, str):
        raise TypeError(f"A {what} is chosen by its name (a str), got {type(name).__name__}; "
                        f"e.g. {default!r}.")
    fold = lambda s: s.strip().lower().replace("_", "-")  # noqa: E731
    table = {fold(k): k for k in catalog}
    table.update({fold(a): k for a, k in (aliases or {}).items()})
    if fold(name) in table:
        return table[fold(name)]
    if hub_ids and "/" in name.strip():
        return name.strip()
    extra = ", or a Hugging Face hub id 'owner/model'" if hub_ids else ""
    where = "given as name=" if given else f"read from the environment variable {env}"
    raise ValueError(f"Unknown {what} {name!r}. Choose one of: {', '.join(catalog)}{extra} "
                     f"(the offline default is {default!r}); it was {where}.")


_CACHE = {}


def cached(kind, key, build):
    """The one per-process cache of loaded models: ``build(key, device)`` runs once per (kind, key, device)."""
    device = str(get_device())
    slot = (kind, key, device)
    if slot not in _CACHE:
        _CACHE[slot] = build(key, device)
    return _CACHE[slot]


def clear_cache():
    """Forget every loaded model (the next ``load_*`` call builds afresh)."""
    _CACHE.clear()


def local_or_hub(source, load, default, *, host="huggingface.co", local_only_source=False, hint=""):
    """``load(local_only)`` from the local copy / Hugging Face cache first (no network); else, when ``host``
    may and can be reached (``_reachable``), from the Hub. Every failure is one ``ModelUnavailableError``
    text naming the offline ``default`` call."""
    try:
        return load(local_only=True)
    except OSError as cached_err:
        if local_only_source:
            raise
        if not _reachable(host):
            raise unavailable_error(repr(source), _unreachable_reason(host, "it is not in the local Hugging Face "
                                                                          "cache"), default, hint) from cached_err
        try:
            return load(local_only=False)
        except Exception as err:  # network dropped, repository moved, ...
            raise unavailable_error(repr(source), f"the download from the Hugging Face Hub failed ({err})", default,
                                    "Or retry with a working connection.") from err
