"""One record and one ``predict`` for every wrapped model: ranked ``Prediction(index, label, probability)``.

``Wrapper`` is the base of ``ImageModel``, ``TextClassifier``, ``VisionModel`` and ``TextModel``: each says how
to turn its inputs into class probabilities (``probabilities``) and whether an input is one example
(``_one_input``); ``predict(inputs, k=None)`` is the same for all of them. A ``Prediction`` is a NamedTuple, so
``for i, label, p in model.predict(x)`` unpacks it like a plain tuple.
"""
from typing import Any, NamedTuple

import torch

from .._typecheck import checked

__all__ = ["Prediction", "Wrapper", "predict"]


class Prediction(NamedTuple):
    """One ranked class of one input: what every ``predict`` of the package returns (taught in 4.1).

    A NamedTuple: read the fields by name (``p.label``) or unpack it (``index, label, probability = p``).

    Args:
        index: The class's output position in the model's logits (the ``target`` the attribution methods take).
        label: The class's name, ``model.labels[index]``.
        probability: The softmax probability of the class, in [0, 1].

    Example:
        >>> from xai_helpers.models import Prediction
        >>> p = Prediction(index=285, label="Egyptian cat", probability=0.39)
        >>> p.label
        'Egyptian cat'
        >>> index, label, probability = p
        >>> index
        285
    """
    index: int
    label: str
    probability: float


class Wrapper:
    """What every wrapped model shares: ``name``, ``model`` (frozen, eval mode), ``labels``, ``device`` and
    ``predict``. Subclasses implement ``probabilities(inputs) -> CPU tensor [N, classes]`` and ``_one_input``."""

    def probabilities(self, inputs: Any) -> torch.Tensor:
        """Class probabilities of ``inputs``: each model says how; a model without classes (an encoder) refuses.

        Args:
            inputs: One input or a batch, in the model's own form.

        Returns:
            A CPU tensor [N, classes] (image models, classifiers, ViTs override this method).

        Raises:
            TypeError: The model has no classes, e.g. the text encoder of 4.4a.

        Example:
            >>> import xai_helpers as xh
            >>> xh.load_text_model().probabilities("The cat sat.")
            Traceback (most recent call last):
            ...
            TypeError: TextModel has no classes to predict.
        """
        raise TypeError(f"{type(self).__name__} has no classes to predict.")

    def _one_input(self, inputs):
        raise NotImplementedError

    @checked
    def predict(self, inputs: Any, k: int | None = None) -> list[Prediction] | list[list[Prediction]]:
        """The ``k`` most probable classes of ``inputs``, most probable first (taught in 4.1).

        Args:
            inputs: One input or a batch, in any form the model's ``probabilities`` accepts (an image model:
                a 1x3xHxW tensor, a course photo name, a path or a PIL image; a text classifier: a str or a
                list of str).
            k: How many classes to return, 1 ... number of classes. ``None`` means 5, or every class when the
                model has fewer.

        Returns:
            A list of ``k`` ``Prediction`` for one input; one such list per input for a batch.

        Raises:
            ValueError: ``k`` is not an integer in 1 ... number of classes.

        Example:
            >>> import xai_helpers as xh
            >>> model = xh.load_image_model()
            >>> [p.label for p in model.predict("cat", k=2)]
            ['Egyptian cat', 'tiger cat']
        """
        n = len(self.labels)
        k = min(5, n) if k is None else k
        if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= n:
            raise ValueError(f"k must be an integer in 1 ... {n} (this model has {n} classes), got {k!r}.")
        one = self._one_input(inputs)
        probs = self.probabilities(inputs)
        ranked = [_top(row, k, self.labels) for row in probs]
        return ranked[0] if one else ranked


def _top(probabilities, k, labels):
    top = probabilities.detach().float().cpu().topk(k)
    return [Prediction(int(i), labels[int(i)], float(p)) for p, i in zip(top.values, top.indices)]


def predict(model: Wrapper, x: Any, k: int = 5) -> list[Prediction] | list[list[Prediction]]:
    """The top-``k`` classes of ``x``: ``model.predict(x, k)`` for any model of the course's loaders (taught in 4.1).

    Args:
        model: A model from ``load_image_model()``, ``load_text_classifier()`` or ``load_vit_model()``; they
            carry the class names.
        x: One input (or a batch) in a form the model accepts, e.g. a course photo name (``"cat"``), a
            1x3xHxW tensor from ``model.preprocess``, or a sentence.
        k: How many classes to return (default 5).

    Returns:
        A list of ``k`` ``Prediction(index, label, probability)``, most probable first; one such list per
        input for a batch.

    Raises:
        TypeError: ``model`` is not one of the course's wrapped models (a bare ``nn.Module`` has no class names).

    Example:
        >>> import xai_helpers as xh
        >>> top = xh.predict(xh.load_image_model(), "cat", k=1)[0]
        >>> top.label, type(top).__name__
        ('Egyptian cat', 'Prediction')
    """
    # Not @checked: this check names the loaders a learner needs, where the hint's class name (Wrapper) would
    # not; x and k are checked by model.predict, which is.
    if not isinstance(model, Wrapper):
        raise TypeError("predict needs a model from the course's loaders (load_image_model(), "
                        f"load_text_classifier(), load_vit_model(); they carry the class names), got {type(model).__name__}.")
    return model.predict(x, k=k)
