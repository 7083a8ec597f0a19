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
import typing
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch

from .._typecheck import checked, describe, matches

from .cam import grad_cam, grad_cam_plus_plus
from .controls import edge_map, random_map
from .gradients import (DEFAULT_SMOOTHGRAD_BATCH, gradient_x_input, max_abs_over_channels, smoothgrad,
                        sum_over_channels, vanilla_gradients)
from .integrated import DEFAULT_IG_BATCH, NOISE_DRAWS, integrated_gradients
from .kinds import Model, Target

__all__ = ["Method", "METHODS", "PIXEL", "PATH", "CAM", "CONTROL", "KINDS", "register", "get_method", "method_names",
           "title"]

#: Kind of a method whose result is an input gradient shaped like ``x`` (4.1).
PIXEL: str = "per-pixel"
#: Kind of a method that integrates along a path from a baseline: ``(attributions, convergence delta)`` (4.3).
PATH: str = "path"
#: Kind of a class activation map, HxW (4.2).
CAM: str = "CAM"
#: Kind of a reference map that ignores the model (4.1, 4.2).
CONTROL: str = "control"
#: Every kind, in the order menus and tables group the methods.
KINDS: tuple[str, ...] = (PIXEL, PATH, CAM, CONTROL)


def _one_pass(settings: Mapping[str, Any]) -> int:
    """The forward passes one map of a method costs, unless its entry says otherwise: one.

    Args:
        settings: The settings of the call (unused).

    Returns:
        1.

    Example:
        >>> import xai_helpers as xh
        >>> xh.methods.get_method("grad_cam").passes({})
        1
    """
    return 1



@dataclasses.dataclass(frozen=True)
class Method:
    """One attribution method of the registry: how to call it and how to read what it returns (taught in 4.5).

    Each field's kind is checked when the entry is made (a ``TypeError`` naming the field), and the settings in
    ``defaults`` and ``fixed`` must be parameters of ``function``.

    Args:
        name: The registry key, the function's name for a method (``"grad_cam"``).
        title: What figures and tables call it (``"Grad-CAM"``).
        function: ``function(model, x, target, **settings)``, the package's one call shape.
        kind: ``PIXEL``, ``PATH``, ``CAM`` or ``CONTROL`` (see the module's docstring).
        reduce: How a result shaped like ``x`` becomes an HxW map (None: it already is one).
        signed: Whether that map keeps its sign.
        defaults: Settings used when the caller gives none.
        fixed: Settings that define a variant, which the caller cannot change.
        variant_of: The name of the method this is a variant of (None: a method of its own).
        passes: ``passes(settings)`` -> forward passes one map costs.

    Example:
        >>> import torch
        >>> from torch import nn
        >>> import xai_helpers as xh
        >>> from xai_helpers.methods import Method, CONTROL
        >>> blank = Method("blank", "blank map", lambda model, x, target: torch.zeros(x.shape[-2:]), CONTROL)
        >>> heatmap, delta = blank.map(nn.Identity(), torch.rand(1, 3, 4, 4), 0)
        >>> tuple(heatmap.shape), delta
        ((4, 4), None)
    """
    name: str
    title: str
    function: Callable
    kind: str
    reduce: Callable | None = None
    signed: bool = False
    defaults: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    fixed: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    variant_of: str | None = None
    passes: Callable = _one_pass

    def __post_init__(self):
        hints = typing.get_type_hints(Method)
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if not matches(value, hints[field.name]):
                raise TypeError(f"Method: {field.name} must be {describe(hints[field.name])}; got "
                                f"{type(value).__name__}.")
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {self.kind!r}.")
        try:
            inspect.signature(self.function)
        except (TypeError, ValueError):
            raise TypeError(f"Method: function must be a Python function (model, x, target, ...) whose parameters "
                            f"can be read; got {type(self.function).__name__}.") from None
        unknown = (set(self.defaults) | set(self.fixed)) - set(self.parameters)
        if unknown:
            raise ValueError(f"{self.name}: function {self.function.__name__} takes no setting(s) "
                             f"{sorted(unknown)} (defaults and fixed name its parameters).")

    @property
    def parameters(self) -> dict[str, Any]:
        """The settings ``function`` takes after ``(model, x, target)``, with their defaults."""
        params = list(inspect.signature(self.function).parameters.values())[3:]
        return {p.name: p.default for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}

    @checked
    def takes(self, setting: str) -> bool:
        """Whether the caller can choose ``setting`` (a variant's fixed settings cannot be chosen).

        Args:
            setting: The name of a setting, e.g. ``"n_steps"``.

        Returns:
            True when ``function`` has that parameter and the entry does not fix it.

        Example:
            >>> import xai_helpers as xh
            >>> ig = xh.methods.get_method("integrated_gradients_blur")
            >>> ig.takes("n_steps"), ig.takes("baseline"), ig.takes("layer")
            (True, False, False)
        """
        return setting in self.parameters and setting not in self.fixed

    @checked
    def settings(self, **given: Any) -> dict[str, Any]:
        """All settings of one call: the function's defaults, the entry's, then those of ``given`` that the
        function takes (others are ignored: one dict of settings can serve several methods), then ``fixed``.

        Args:
            **given: The caller's settings, by name.

        Returns:
            The settings ``function`` is called with, by name.

        Example:
            >>> import xai_helpers as xh
            >>> xh.methods.get_method("smoothgrad").settings(n_samples=8, layer="layer4")
            {'n_samples': 8, 'noise_level': 0.15, 'batch_size': None, 'seed': 0}
        """
        chosen = {k: v for k, v in given.items() if k in self.parameters}
        return {**self.parameters, **self.defaults, **chosen, **self.fixed}

    @checked
    def map(self, model: Model, x: torch.Tensor, target: Target, **given: Any) -> tuple[torch.Tensor, float | None]:
        """Call the method and reduce its result to one map.

        Args:
            model: An ``ImageModel`` or a plain ``nn.Module``, as the method takes it.
            x: One normalised input 1xCxHxW on the model's device.
            target: The class to explain: an index, a class name or a one-element tensor.
            **given: Settings, as ``settings`` takes them.

        Returns:
            ``(HxW map, convergence delta)``; the delta is None except for a ``PATH`` method.

        Example:
            >>> import torch
            >>> from torch import nn
            >>> import xai_helpers as xh
            >>> net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 2))
            >>> heatmap, delta = xh.methods.get_method("vanilla_gradients").map(net.eval(), torch.rand(1, 3, 8, 8), 1)
            >>> tuple(heatmap.shape), delta
            ((8, 8), None)
        """
        result = self.function(model, x, target, **self.settings(**given))
        attributions, delta = result if self.kind == PATH else (result, None)
        return (self.reduce(attributions) if self.reduce else attributions), delta

    @checked
    def variant(self, name: str, title: str, **fixed: Any) -> "Method":
        """The same method with some settings fixed, under its own name and title.

        Args:
            name: The variant's registry key.
            title: What figures call the variant.
            **fixed: The settings that define it, by name.

        Returns:
            A new ``Method`` (not registered: pass it to ``register``).

        Example:
            >>> import xai_helpers as xh
            >>> white = xh.methods.get_method("integrated_gradients").variant("ig_white", "IG (white)", baseline="white")
            >>> white.variant_of, white.settings()["baseline"]
            ('integrated_gradients', 'white')
        """
        return dataclasses.replace(self, name=name, title=title, fixed={**self.fixed, **fixed}, variant_of=self.name)


def _smoothgrad_passes(settings):
    return math.ceil(settings["n_samples"] / (settings["batch_size"] or DEFAULT_SMOOTHGRAD_BATCH))


def _path_passes(settings):
    baseline = settings["baseline"]
    paths = NOISE_DRAWS if baseline == "noise" else len(baseline) if isinstance(baseline, torch.Tensor) else 1
    return 1 + paths * math.ceil(settings["n_steps"] / (settings["batch_size"] or DEFAULT_IG_BATCH))


#: Method key -> ``Method``, in the order menus and tables list them.
METHODS: dict[str, Method] = {}


@checked
def register(method: Method) -> Method:
    """Add ``method`` to ``METHODS``, so that every menu, table and dispatcher of the package offers it (4.5).

    Args:
        method: The entry; its name must be new.

    Returns:
        ``method`` itself.

    Example:
        >>> import torch
        >>> import xai_helpers as xh
        >>> from xai_helpers.methods import METHODS, Method, CONTROL, register
        >>> blank = register(Method("blank_map", "blank", lambda model, x, target: torch.zeros(x.shape[-2:]), CONTROL))
        >>> "blank_map" in xh.methods.method_names(kinds=(CONTROL,))
        True
        >>> del METHODS["blank_map"]                       # the registry is shared: leave it as it was
    """
    if method.name in METHODS:
        raise ValueError(f"A method named {method.name!r} is already registered (method.name must be new).")
    METHODS[method.name] = method
    return method


@checked
def get_method(name: str | Method) -> Method:
    """The ``Method`` registered as ``name`` (taught in 4.5).

    Args:
        name: A registry key (``"grad_cam"``), or a ``Method``, which is returned as it is.

    Returns:
        The registry's entry.

    Raises:
        ValueError: An unknown name; the message lists the choices and close matches.

    Example:
        >>> import xai_helpers as xh
        >>> method = xh.methods.get_method("grad_cam")
        >>> method.title, method.kind
        ('Grad-CAM', 'CAM')
    """
    if isinstance(name, Method):
        return name
    if name not in METHODS:
        close = difflib.get_close_matches(str(name), list(METHODS), n=3, cutoff=0.5)
        hint = f" Did you mean {', '.join(map(repr, close))}?" if close else ""
        raise ValueError(f"Unknown method name {name!r}.{hint} Choose one of: {', '.join(METHODS)}.")
    return METHODS[name]


@checked
def method_names(kinds: Sequence[str] = KINDS, variants: bool = True) -> tuple[str, ...]:
    """Names of the registered methods of the given kinds, grouped in the order of ``kinds``, each group in
    registry order.

    Args:
        kinds: Some of ``KINDS`` (``PIXEL``, ``PATH``, ``CAM``, ``CONTROL``).
        variants: Include variants such as ``integrated_gradients_black`` (default True).

    Returns:
        The method names.

    Example:
        >>> import xai_helpers as xh
        >>> from xai_helpers.methods import CAM, PATH
        >>> xh.methods.method_names(kinds=(CAM, PATH), variants=False)
        ('grad_cam', 'grad_cam_plus_plus', 'integrated_gradients')
    """
    unknown = [k for k in kinds if k not in KINDS]
    if unknown:
        raise ValueError(f"kinds holds {unknown}, which are not kinds of method; use some of {KINDS}.")
    return tuple(m.name for kind in kinds for m in METHODS.values()
                 if m.kind == kind and (variants or m.variant_of is None))


@checked
def title(name: str) -> str:
    """What figures and tables call method ``name`` (any other name, e.g. a learner's own explainer, is kept).

    Args:
        name: A registry key or any other name.

    Returns:
        The method's title, or ``name`` itself.

    Example:
        >>> import xai_helpers as xh
        >>> xh.methods.title("gradient_x_input"), xh.methods.title("my explainer")
        ('Gradient × Input', 'my explainer')
    """
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
