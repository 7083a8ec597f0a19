"""Interactive explorers: the learner's own photo (``explore_image``) and sentence (``explore_text``).

The public names are the two functions a lesson calls and the explorers they return. ``runner`` holds what
both share (superseding worker threads, hook-owned forward-pass checks, the static fallback; its names stay
importable from ``xai_helpers.explore.runner``); ``settings`` checks the settings a learner passes;
``image``/``image_widgets`` (sharing ``image_choices``) and ``text`` build the two explorers on ``models``,
``methods`` and ``viz``. Nothing below this package imports it.
"""
from .image import ImageExplorer, explore_image
from .text import TextExplorer, explore_text

__all__ = ["explore_image", "explore_text", "ImageExplorer", "TextExplorer"]
