"""Interactive explorers: the learner's own photo (``explore_image``) and sentence (``explore_text``).

``runner`` holds what both share (superseding worker threads, hook-owned forward-pass checks, the static
fallback); ``image``/``image_widgets`` (sharing ``image_choices``) and ``text`` build the two explorers on
``models``, ``methods`` and ``viz``. Nothing below this package imports it.
"""
from .image import ImageExplorer, explore_image
from .runner import Runner, Superseded, figure_png, in_jupyter_kernel, resolve_interactive, watch_forward_passes
from .text import TextExplorer, explore_text

__all__ = ["explore_image", "explore_text", "ImageExplorer", "TextExplorer", "Runner", "Superseded",
           "figure_png", "in_jupyter_kernel", "resolve_interactive", "watch_forward_passes"]
