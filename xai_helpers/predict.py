"""Top-k predictions with class names."""
import torch

from ._checks import check_input, eval_mode

__all__ = ["predict"]


def predict(image_model, x, k=5):
    """Return the top-``k`` classes for one input as a list of ``(index, label, probability)``."""
    from .models import ImageModel
    if not isinstance(image_model, ImageModel):
        raise TypeError("predict needs the ImageModel returned by load_image_model() (it carries the "
                        f"class names), got {type(image_model).__name__}.")
    check_input(x)
    if not isinstance(k, int) or not 1 <= k <= len(image_model.labels):
        raise ValueError(f"k must be an integer in 1 ... {len(image_model.labels)}, got {k!r}.")
    with torch.no_grad(), eval_mode(image_model.model):
        probs = image_model.model(x).softmax(dim=1)[0]
    top = probs.topk(k)
    return [(int(i), image_model.labels[int(i)], float(p)) for p, i in zip(top.values, top.indices)]
