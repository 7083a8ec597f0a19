"""One record and one ``predict`` for every wrapped model: ranked ``Prediction(index, label, probability)``.

``Wrapper`` is the base of ``ImageModel``, ``TextClassifier``, ``VisionModel`` and ``TextModel``: each says how
to turn its inputs into class probabilities (``probabilities``) and whether an input is one example
(``_one_input``); ``predict(inputs, k=None)`` is the same for all of them. A ``Prediction`` is a NamedTuple, so
``for i, label, p in model.predict(x)`` unpacks as before.
"""
from typing import NamedTuple


__all__ = ["Prediction", "Wrapper", "predict"]


class Prediction(NamedTuple):
    """One ranked class of one input."""
    index: int
    label: str
    probability: float


class Wrapper:
    """What every wrapped model shares: ``name``, ``model`` (frozen, eval mode), ``labels``, ``device`` and
    ``predict``. Subclasses implement ``probabilities(inputs) -> CPU tensor [N, classes]`` and ``_one_input``."""

    def probabilities(self, inputs):
        raise TypeError(f"{type(self).__name__} has no classes to predict.")

    def _one_input(self, inputs):
        raise NotImplementedError

    def predict(self, inputs, k=None):
        """The ``k`` most probable classes -> a list of ``Prediction`` for one input, a list of such lists for
        several. ``k`` defaults to 5, or to every class when the model has fewer."""
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


def predict(model, x, k=5):
    """The top-``k`` classes of one input -> list of ``Prediction(index, label, probability)``:
    ``model.predict(x, k)`` for any wrapped model (``load_image_model()``, ``load_text_classifier()``, ...)."""
    if not isinstance(model, Wrapper):
        raise TypeError("predict needs a model from the course's loaders (load_image_model(), "
                        f"load_text_classifier(), load_vit_model(); they carry the class names), got {type(model).__name__}.")
    return model.predict(x, k=k)
