"""The kinds of argument the attribution methods take, as type hints that ``@checked`` reads.

A hint such as ``Target`` admits every valid kind of value and, on a wrong one, reads as words in the error:
``grad_cam: target must be a class index or a class name or a torch Tensor; got float 2.5.``
"""
import numpy as np
import torch
from torch import nn

from ..models.image import ImageModel
from ..models.sentiment import TextClassifier
from ..models.text import TextModel
from ..models.vit import VisionModel

__all__ = ["ClassIndex", "ClassName", "WrappedModel", "Model", "Target", "Layer", "LoadedImageModel",
           "LoadedTextModel", "LoadedVisionModel",
           "LoadedTextClassifier"]


class _NamedKind(type):
    """The type of a hint whose name is words (``"class index"``) and which admits what its ``accepts`` admits."""

    def __instancecheck__(cls, value):
        return cls.accepts(value)


def _kind(words, accepts):
    return _NamedKind(words, (), {"accepts": staticmethod(accepts), "__module__": __name__})


#: A class index: an integer (a numpy integer too), never a bool; its range is checked against the model's classes.
ClassIndex = _kind("class index", lambda v: isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_)))
#: A class name: one of the model's ``.labels``, checked against them.
ClassName = _kind("class name", lambda v: isinstance(v, str))
#: A wrapped model such as ``ImageModel``: recognised by its network (``.model``) and class names (``.labels``).
WrappedModel = _kind("wrapped model (ImageModel)",
                     lambda v: isinstance(getattr(v, "model", None), nn.Module) and hasattr(v, "labels"))
#: What an attribution method explains: a plain network or a wrapped model.
Model = nn.Module | WrappedModel
#: A class to explain: its index, its name (the model's ``.labels``) or a one-element tensor holding the index.
Target = ClassIndex | ClassName | torch.Tensor
#: Which layer a CAM reads: None (the ``ImageModel``'s ``target_layer``), a submodule or its dotted name.
Layer = nn.Module | str | None
#: An ``ImageModel``; an error says where one comes from.
LoadedImageModel = _kind("ImageModel from load_image_model()", lambda v: isinstance(v, ImageModel))
#: A ``TextModel``; an error says where one comes from.
LoadedTextModel = _kind("TextModel from load_text_model()", lambda v: isinstance(v, TextModel))
#: A ``VisionModel``; an error says where one comes from.
LoadedVisionModel = _kind("VisionModel from load_vit_model()", lambda v: isinstance(v, VisionModel))
#: A ``TextClassifier``; an error says where one comes from.
LoadedTextClassifier = _kind("TextClassifier from load_text_classifier()", lambda v: isinstance(v, TextClassifier))
