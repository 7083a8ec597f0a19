"""The models the course explains, loaded offline first: ImageNet classifiers (``image``), a BERT-family
text encoder (``text``), the course's sentiment classifier (``sentiment``) and ViTs (``vit``).

``base`` holds what every loader shares (``ModelUnavailableError``, the one reachability check honouring
HF_HUB_OFFLINE / TRANSFORMERS_OFFLINE, ``freeze``); ``prediction`` the ``Prediction`` record every ``predict``
returns. ``__all__`` is what lessons, tools and benchmarks call; the package's own helpers (``offline_switch``,
``unavailable_error``, ...) stay importable from their modules. Nothing here imports ``methods``, ``evaluation``,
``interpret``, ``viz`` or ``explore``; no training code lives in the package (see ``tools/``).
"""
from .base import ModelUnavailableError, freeze, offline_switch, unavailable_error
from .image import DEFAULT_IMAGE_MODEL, IMAGE_MODELS, ImageModel, load_image_model
from .prediction import Prediction, predict
from .sentiment import TextClassifier, load_sentiment_data, load_text_classifier
from .text import DEFAULT_TEXT_MODEL, TEXT_MODELS, TextModel, load_text_model
from .vit import DEFAULT_VIT_MODEL, VIT_MODELS, TinyViT, VisionModel, load_vit_model
from .defaults import for_default_model, is_default_model, unchecked_readings
from .toy import CAM_HEADS, cam_head_net

__all__ = ["ModelUnavailableError", "freeze", "Prediction", "DEFAULT_IMAGE_MODEL",
           "IMAGE_MODELS", "ImageModel", "load_image_model", "predict", "TextClassifier", "load_sentiment_data",
           "load_text_classifier", "DEFAULT_TEXT_MODEL", "TEXT_MODELS", "TextModel", "load_text_model",
           "DEFAULT_VIT_MODEL", "VIT_MODELS", "TinyViT", "VisionModel", "load_vit_model",
           "is_default_model", "for_default_model", "unchecked_readings", "cam_head_net", "CAM_HEADS"]
