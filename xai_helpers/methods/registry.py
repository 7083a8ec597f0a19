"""The attribution methods the package knows, one entry each: every list of methods and every dispatcher reads it.

An entry (``Method``) says how to call a method and how to read what it returns:

* ``function(model, x, target, **settings)``, the package's one call shape;
* ``kind``: ``PIXEL`` (an input gradient, shaped like ``x``), ``PATH`` (an integral along a path from a
  baseline, returning ``(attributions shaped like x, convergence delta)``), ``CAM`` (a class activation map,
  HxW) or ``CONTROL`` (a reference map that ignores the model);
* ``reduce``: how a result shaped like ``x`` becomes an HxW map (None: it already is one); ``signed``: whether
  that map keeps its sign;
* ``defaults``: settings used when the caller gives none; ``fixed``: settings that define a variant (e.g.
  ``integrated_gradients_blur`` is Integrated Gradients with ``baseline="blur"``), which the caller cannot change;
* ``passes(settings)``: forward passes one map costs (the explorer's progress bar).

Adding a method is one ``register(Method(...))``; a variant is ``register(method.variant(name, title, **fixed))``.
Keys are the functions' names (``grad_cam``, ``vanilla_gradients``, ...); ``title(name)`` is what figures show.
"""
import dataclasses
import difflib
import inspect
import math
from typing import Callable, Mapping, Optional

import torch

from .cam import grad_cam, grad_cam_plus_plus
from .controls import edge_map, random_map
from .gradients import (DEFAULT_SMOOTHGRAD_BATCH, gradient_x_input, max_abs_over_channels, smoothgrad,
                        sum_over_channels, vanilla_gradients)
from .integrated import DEFAULT_IG_BATCH, NOISE_DRAWS, integrated_gradients

__all__ = ["Method", "METHODS", "PIXEL", "PATH", "CAM", "CONTROL", "KINDS", "register", "get_method", "method_names",
           "title"]

PIXEL, PATH, CAM, CONTROL = "per-pixel", "path", "CAM", "control"
KINDS = (PIXEL, PATH, CAM, CONTROL)


def _one_pass(settings):
    return 1


@dataclasses.dataclass(frozen=True)
class Method:
    """One attribution method: see the module's docstring for each field."""
    name: str
    title: str
    function: Callable
    kind: str
    reduce: Optional[Callable] = None
    signed: bool = False
    defaults: Mapping = dataclasses.field(default_factory=dict)
    fixed: Mapping = dataclasses.field(default_factory=dict)
    variant_of: Optional[str] = None
    passes: Callable = _one_pass

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {self.kind!r}.")
        unknown = (set(self.defaults) | set(self.fixed)) - set(self.parameters)
        if unknown:
            raise ValueError(f"{self.name}: {self.function.__name__} takes no setting(s) {sorted(unknown)}.")

    @property
    def parameters(self):
        """The settings ``function`` takes after ``(model, x, target)``, with their defaults."""
        params = list(inspect.signature(self.function).parameters.values())[3:]
        return {p.name: p.default for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}

    def takes(self, setting):
        """Whether the caller can choose ``setting`` (a variant's fixed settings cannot be chosen)."""
        return setting in self.parameters and setting not in self.fixed

    def settings(self, **given):
        """All settings of one call: the function's defaults, the entry's, then those of ``given`` that the
        function takes (others are ignored: one dict of settings can serve several methods), then ``fixed``."""
        chosen = {k: v for k, v in given.items() if k in self.parameters}
        return {**self.parameters, **self.defaults, **chosen, **self.fixed}

    def map(self, model, x, target, **given):
        """Call the method and reduce its result -> ``(HxW map, convergence delta or None)``."""
        result = self.function(model, x, target, **self.settings(**given))
        attributions, delta = result if self.kind == PATH else (result, None)
        return (self.reduce(attributions) if self.reduce else attributions), delta

    def variant(self, name, title, **fixed):
        """The same method with some settings fixed, under its own name and title."""
        return dataclasses.replace(self, name=name, title=title, fixed={**self.fixed, **fixed}, variant_of=self.name)


def _smoothgrad_passes(settings):
    return math.ceil(settings["n_samples"] / (settings["batch_size"] or DEFAULT_SMOOTHGRAD_BATCH))


def _path_passes(settings):
    baseline = settings["baseline"]
    paths = NOISE_DRAWS if baseline == "noise" else len(baseline) if isinstance(baseline, torch.Tensor) else 1
    return 1 + paths * math.ceil(settings["n_steps"] / (settings["batch_size"] or DEFAULT_IG_BATCH))


#: Method key -> ``Method``, in the order menus and tables list them.
METHODS = {}


def register(method):
    """Add ``method`` to ``METHODS`` (its name must be new) and return it."""
    if method.name in METHODS:
        raise ValueError(f"A method named {method.name!r} is already registered.")
    METHODS[method.name] = method
    return method


def get_method(name):
    """The ``Method`` registered as ``name``; an unknown name -> ValueError listing the choices and close matches."""
    if isinstance(name, Method):
        return name
    if name not in METHODS:
        close = difflib.get_close_matches(str(name), list(METHODS), n=3, cutoff=0.5)
        hint = f" Did you mean {', '.join(map(repr, close))}?" if close else ""
        raise ValueError(f"Unknown method {name!r}.{hint} Choose one of: {', '.join(METHODS)}.")
    return METHODS[name]


def method_names(kinds=KINDS, variants=True):
    """Names of the registered methods of the given ``kinds`` (with or without variants), grouped in the order
    of ``kinds``, each group in registry order."""
    return tuple(m.name for kind in kinds for m in METHODS.values()
                 if m.kind == kind and (variants or m.variant_of is None))


def title(name):
    """What figures and tables call method ``name`` (any other name, e.g. a learner's own explainer, is kept)."""
    return METHODS[name].title if name in METHODS else name


register(Method("grad_cam", "Grad-CAM", grad_cam, CAM))
register(Method("grad_cam_plus_plus", "Grad-CAM++", grad_cam_plus_plus, CAM))
register(Method("vanilla_gradients", "Vanilla gradient", vanilla_gradients, PIXEL, max_abs_over_channels))
register(Method("gradient_x_input", "Gradient × Input", gradient_x_input, PIXEL, sum_over_channels, signed=True))
register(Method("smoothgrad", "SmoothGrad", smoothgrad, PIXEL, max_abs_over_channels, passes=_smoothgrad_passes))
_ig = register(Method("integrated_gradients", "Integrated Gradients", integrated_gradients, PATH, sum_over_channels,
                      signed=True, passes=_path_passes))
register(_ig.variant("integrated_gradients_black", "IG (black)", baseline="black"))
register(_ig.variant("integrated_gradients_blur", "IG (blur)", baseline="blur"))
register(Method("random_map", "random map", random_map, CONTROL))
register(Method("edge_map", "edge detector", edge_map, CONTROL))
