"""The ground-truth CNNs: the model class, the shipped checkpoints (made by tools/train_groundtruth_cnns.py),
predictions and accuracies."""
import functools
import json
from pathlib import Path

import torch
from torch import nn
import pandas as pd

from ...data import ASSET_DIR as _PACKAGE_ASSETS
from ...device import get_device
from ...digits import ClutteredDigits, make_cluttered_digits
from ...models.base import ModelUnavailableError, freeze
from .scenes import CASE_SEED, CASE_STRENGTH, _case_setup, _check_images, _threads, add_mark, make_scenes

__all__ = ["DigitCNN", "STRENGTHS", "load_digit_cnn", "load_case", "predict_classes", "accuracy_table",
           "GROUNDTRUTH_REBUILD_COMMAND"]


GROUNDTRUTH_DIR = _PACKAGE_ASSETS / "groundtruth"


GROUNDTRUTH_REBUILD_COMMAND = "python tools/train_groundtruth_cnns.py"


#: Shares of training scenes that carry the mark; 0.0 is the clean CNN.
STRENGTHS = (0.0, 0.5, 0.9, 1.0)


CNN_CONFIG = dict(channels=(8, 16, 32), num_classes=10)


def _file_name(strength):
    if strength == 0:
        return "digits_cnn_clean.safetensors"
    return f"digits_cnn_mark{round(strength * 100):03d}.safetensors"


CASE_FILE = "digits_cnn_case.safetensors"


# --- the model ------------------------------------------------------------------------------------------
class DigitCNN(nn.Module):
    """A small CNN for 1x48x48 scenes in [0, 1]: three blocks -> global average pool -> linear layer.

    ``block3`` (12x12 feature maps) is the last block: with the global average pool and the single linear
    ``head`` after it, Grad-CAM there equals CAM (Zhou et al. 2016), the class's head weights applied to the
    feature maps. The network is smooth (SiLU inside, average pooling, Softplus at the end of ``block3`` so
    its maps are positive, as Grad-CAM++ assumes): Integrated Gradients' path integral then converges in a
    few quadrature points, where ReLU and max pooling make the integrand jump. About 16 k parameters.
    """

    target_layer = "block3"

    def __init__(self, channels=(8, 16, 32), num_classes=10):
        super().__init__()
        c1, c2, c3 = channels

        def conv(i, o, act=nn.SiLU, stride=1):
            return [nn.Conv2d(i, o, 3, stride=stride, padding=1, bias=False), nn.BatchNorm2d(o), act()]
        self.block1 = nn.Sequential(*conv(1, c1, stride=2))                             # 24x24
        self.block2 = nn.Sequential(*conv(c1, c2), nn.AvgPool2d(2))                     # 12x12
        self.block3 = nn.Sequential(*conv(c2, c3), *conv(c3, c3, act=nn.Softplus))      # 12x12, positive
        self.head = nn.Linear(c3, num_classes)

    def features(self, x):
        return self.block3(self.block2(self.block1(x)))

    def forward(self, x):
        return self.head(self.features(x).mean(dim=(2, 3)))                # global average pool, linear


# --- loading the shipped checkpoints (trained by tools/train_groundtruth_cnns.py) -----------------------
def _read(path):
    from safetensors import safe_open
    from safetensors.torch import load_file
    if not Path(path).exists():
        raise ModelUnavailableError(f"The ground-truth CNN {Path(path).name} is missing from {Path(path).parent}. "
                                    f"Rebuild the checkpoints (fixed seeds, a few minutes of CPU) with "
                                    f"`{GROUNDTRUTH_REBUILD_COMMAND}` from the repository root.")
    with safe_open(str(path), framework="pt") as f:
        info = json.loads(f.metadata()["info"])
    config = dict(info["config"], channels=tuple(info["config"]["channels"]))
    model = DigitCNN(**config)
    model.load_state_dict(load_file(str(path)))
    model.info = info
    return model


def _strength_key(strength):
    if isinstance(strength, str) and strength.strip().lower() == "clean":
        return 0.0
    if isinstance(strength, (int, float)) and not isinstance(strength, bool):
        for s in STRENGTHS:
            if abs(float(strength) - s) < 1e-9:
                return s
    raise ValueError(f"No ground-truth CNN with shortcut strength {strength!r}. Trained strengths (share of training "
                     f"scenes with the mark): {', '.join(f'{s:g}' for s in STRENGTHS)} (0 = 'clean').")


def load_digit_cnn(strength=0.0):
    """The course's CNN trained with the mark on a share ``strength`` of its training scenes (0 = clean)
    -> ``DigitCNN`` frozen, in eval mode, on ``get_device()``; ``model.info`` holds its training record."""
    return _load(_file_name(_strength_key(strength)), str(get_device()))


def load_case():
    """Problem 6: a digit CNN from elsewhere and scenes like those it was trained on -> ``(model, scenes)``.

    ``scenes`` is a ``ClutteredDigits`` (images, labels, digit boxes): 300 held-out digits rendered anew.
    """
    model = _load(CASE_FILE, str(get_device()))
    data = make_cluttered_digits("test", seed=CASE_SEED, n=300)
    chosen = torch.randperm(len(data), generator=torch.Generator().manual_seed(CASE_SEED + 1))
    classes = torch.full((len(data),), -1, dtype=torch.long)
    classes[chosen[:round(CASE_STRENGTH * len(data))]] = data.labels[chosen[:round(CASE_STRENGTH * len(data))]]
    return model, ClutteredDigits(add_mark(data.images, _case_setup(), classes, seed=CASE_SEED + 2), data.labels,
                                  data.boxes, data.digit_index)


@functools.lru_cache(maxsize=None)
def _load(file_name, device):
    return freeze(_read(GROUNDTRUTH_DIR / file_name)).to(device)


def _device_of(model):
    return next(model.parameters()).device


@torch.no_grad()
def predict_classes(model, images, batch_size=500, threads=1):
    """Predicted class of every scene -> LongTensor [N] on the CPU (``threads``: as in ``attribution_maps``)."""
    images = _check_images(images)
    device = _device_of(model)
    with _threads(threads):
        return torch.cat([model(images[b:b + batch_size].to(device)).argmax(1).cpu()
                          for b in range(0, len(images), batch_size)])


def accuracy_table(models, n=200, sets=None):
    """Accuracy of each model on clean scenes, on scenes with their own class's mark and on scenes with
    another class's mark -> pandas DataFrame, one row per model (``models``: dict name -> model).

    The last column, "follows the other mark", is the share of scenes with another class's mark that the
    model assigns to the *mark's* class instead of the digit's: how far it obeys the shortcut. ``sets``:
    optional dict ``{"none": Scenes, "own": Scenes, "other": Scenes}`` (default: ``make_scenes(n, marks=...)``).
    """
    sets = sets or {kind: make_scenes(n, marks=kind) for kind in ("none", "own", "other")}
    rows = {}
    for name, model in models.items():
        pred = {kind: predict_classes(model, s.images) for kind, s in sets.items()}
        rows[name] = {"clean scenes": (pred["none"] == sets["none"].labels).float().mean().item(),
                      "own class's mark": (pred["own"] == sets["own"].labels).float().mean().item(),
                      "another class's mark": (pred["other"] == sets["other"].labels).float().mean().item(),
                      "follows the other mark": (pred["other"] == sets["other"].mark_classes).float().mean().item()}
    return pd.DataFrame(rows).T
