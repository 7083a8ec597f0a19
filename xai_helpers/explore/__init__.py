"""Interactive explorers: the learner's own photo (``explore_image``) and sentence (``explore_text``).

The public names are the two functions a lesson calls and the explorers they return. ``runner`` holds what
both share (superseding worker threads, hook-owned forward-pass checks, the static fallback and its note
outside Jupyter; its names stay importable from ``xai_helpers.explore.runner``); ``controls`` the widget pieces
both use (keyboard support inside JupyterLab, help lines, saving a figure); ``settings`` checks the settings a
learner passes; ``classes`` finds the closest class names to one the model lacks; ``image``/``image_widgets``
(sharing ``image_choices``: methods, uploads, layers, the note on cropped or upscaled photos) and ``text``
build the two explorers on ``models``, ``methods`` and ``viz``. Nothing below this package imports it.
"""
from .image import ImageExplorer, explore_image
from .text import TextExplorer, explore_text

__all__ = ["explore_image", "explore_text", "ImageExplorer", "TextExplorer"]
