"""Readings written for the course's default models, checked only when that model runs.

A lesson's sentence such as "the cap drives 'mortarboard'" is a fact about EfficientNet-Lite0, not about
every ImageNet classifier. ``for_default_model(model, reading)`` returns ``True`` for the default model (the
lesson then asserts the reading) and otherwise prints that the reading was written for the default and is
not checked, so the lesson runs to its end with any model (``XAI_IMAGE_MODEL``, ``XAI_TEXT_MODEL``, ...).
``unchecked_readings()`` lists what was skipped in this kernel.
"""
from .._typecheck import checked
from .image import DEFAULT_IMAGE_MODEL, ImageModel
from .sentiment import DEFAULT_TEXT_CLASSIFIER, TextClassifier
from .text import DEFAULT_TEXT_MODEL, TextModel
from .vit import DEFAULT_VIT_MODEL, VisionModel

__all__ = ["is_default_model", "for_default_model", "unchecked_readings"]

#: Each kind of wrapped model -> the name of the course's default of that kind.
_DEFAULTS = ((ImageModel, DEFAULT_IMAGE_MODEL), (TextClassifier, DEFAULT_TEXT_CLASSIFIER),
             (TextModel, DEFAULT_TEXT_MODEL), (VisionModel, DEFAULT_VIT_MODEL))
_UNCHECKED: list[str] = []


def _default_name(model):
    for kind, name in _DEFAULTS:
        if isinstance(model, kind):
            return name
    kinds = ", ".join(kind.__name__ for kind, _ in _DEFAULTS)
    raise TypeError(f"model must be a model loaded by xai_helpers ({kinds}); got {type(model).__name__}.")


@checked
def is_default_model(model: ImageModel | TextClassifier | TextModel | VisionModel) -> bool:
    """Whether ``model`` is the course's default of its kind with its trained weights.

    Args:
        model: A model from ``load_image_model``, ``load_text_classifier``, ``load_text_model`` or
            ``load_vit_model``.

    Returns:
        ``True`` for EfficientNet-Lite0, the MiniLM sentiment classifier, MiniLM-L6 or the course's ViT
        (trained weights); ``False`` for any other model or for ``random_weights=True``.

    Raises:
        TypeError: ``model`` is not a model the course's loaders return.

    Example:
        >>> import xai_helpers as xh
        >>> xh.models.is_default_model(xh.load_image_model())
        True
    """
    return model.name == _default_name(model)


@checked
def for_default_model(model: ImageModel | TextClassifier | TextModel | VisionModel, reading: str) -> bool:
    """Should the lesson assert ``reading``? Yes for the default model; otherwise say it is not checked (4.1).

    Use it to guard an assert that pins a value of the default model::

        if xh.models.for_default_model(model, "the cap region drives 'mortarboard'"):
            assert share_on_cap > 0.5

    Args:
        model: The model the lesson runs.
        reading: The sentence the assert guards, as the lesson states it.

    Returns:
        ``True`` when ``model`` is the default (assert the reading); ``False`` otherwise, after printing one
        line saying the reading was written for the default model and is not checked for this one.

    Raises:
        TypeError: ``model`` is not a model the course's loaders return.
        ValueError: ``reading`` is empty.

    Example:
        >>> import xai_helpers as xh
        >>> xh.models.for_default_model(xh.load_image_model(), "the cat's face drives 'tabby'")
        True
    """
    if not reading.strip():
        raise ValueError("reading must state the sentence the assert guards, e.g. 'the cap drives mortarboard'.")
    if is_default_model(model):
        return True
    _UNCHECKED.append(reading)
    print(f"Not checked for {model.name}: the reading \"{reading}\" was written for the default model "
          f"{_default_name(model)}. Compare it with what your model gave above.")
    return False


def unchecked_readings() -> list[str]:
    """The readings this kernel skipped because another model than the default ran (in order).

    Returns:
        A list of the ``reading`` sentences ``for_default_model`` returned ``False`` for.

    Example:
        >>> from xai_helpers.models import unchecked_readings
        >>> isinstance(unchecked_readings(), list)
        True
    """
    return list(_UNCHECKED)
