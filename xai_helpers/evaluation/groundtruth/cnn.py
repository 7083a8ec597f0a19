"""The ground-truth CNNs: the model class, the shipped checkpoints (made by tools/train_groundtruth_cnns.py),
predictions and accuracies."""
import functools
import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd
import torch
from torch import nn

from ..._typecheck import checked
from ..._validate import check_count, eval_mode
from ...data import ASSET_DIR as _PACKAGE_ASSETS
from ...device import get_device
from ...digits import ClutteredDigits, make_cluttered_digits
from ...models.base import ModelUnavailableError, freeze
from .scenes import CASE_SEED, CASE_STRENGTH, Scenes, _case_setup, _check_images, _threads, add_mark, make_scenes

__all__ = ["DigitCNN", "STRENGTHS", "TRAINING_SEEDS", "load_digit_cnn", "random_digit_cnn", "seed_table", "load_case",
           "predict_classes", "accuracy_table", "GROUNDTRUTH_REBUILD_COMMAND"]


GROUNDTRUTH_DIR = _PACKAGE_ASSETS / "groundtruth"


#: The command, run from the repository root, that rebuilds the shipped checkpoints (fixed seeds).
GROUNDTRUTH_REBUILD_COMMAND: str = "python tools/train_groundtruth_cnns.py"


#: Shares of training scenes that carry the mark; 0.0 is the clean CNN.
STRENGTHS: tuple[float, ...] = (0.0, 0.5, 0.9, 1.0)


#: Training seeds of each strength (initialisation, rendering, batch order); seed 0 is the lesson's CNN.
TRAINING_SEEDS: tuple[int, ...] = (0, 1, 2)


CNN_CONFIG = dict(channels=(8, 16, 32), num_classes=10)


#: The seed table (``seed_table``): its file, the held-out scenes each CNN is scored on, how many random-weights
#: CNNs, and the command that rebuilds it.
SEED_TABLE_FILE, SEED_TABLE_SCENES, SEED_TABLE_RANDOM_CNNS = "seed_scores.csv", 200, 20
SEED_TABLE_COMMAND: str = "python tools/train_groundtruth_cnns.py --table"


def _file_name(strength, seed=0):
    name = "clean" if strength == 0 else f"mark{round(strength * 100):03d}"
    return f"digits_cnn_{name}{f'_seed{seed}' if seed else ''}.safetensors"


CASE_FILE = "digits_cnn_case.safetensors"


# --- the model ------------------------------------------------------------------------------------------
class DigitCNN(nn.Module):
    """A small CNN for 1x48x48 scenes in [0, 1]: three blocks -> global average pool -> linear layer (4.5).

    ``block3`` (12x12 feature maps) is the last block: with the global average pool and the single linear
    ``head`` after it, Grad-CAM there equals CAM (Zhou et al. 2016), the class's head weights applied to the
    feature maps. The network is smooth (SiLU inside, average pooling, Softplus at the end of ``block3`` so
    its maps are positive, as Grad-CAM++ assumes): Integrated Gradients' path integral then converges in a
    few quadrature points, where ReLU and max pooling make the integrand jump. About 16 k parameters.
    ``load_digit_cnn`` loads the trained ones.

    Args:
        channels: The channels of the three blocks.
        num_classes: The number of classes (10 digits).

    Example:
        >>> import torch
        >>> from xai_helpers.evaluation.groundtruth import DigitCNN
        >>> net = DigitCNN().eval()
        >>> tuple(net(torch.rand(2, 1, 48, 48)).shape), sum(p.numel() for p in net.parameters())
        ((2, 10), 15554)
    """

    target_layer = "block3"

    @checked
    def __init__(self, channels: tuple[int, int, int] = (8, 16, 32), num_classes: int = 10) -> None:
        for c in channels:
            check_count(c, "channels")
        check_count(num_classes, "num_classes")
        super().__init__()
        c1, c2, c3 = channels

        def conv(i, o, act=nn.SiLU, stride=1):
            return [nn.Conv2d(i, o, 3, stride=stride, padding=1, bias=False), nn.BatchNorm2d(o), act()]
        self.block1 = nn.Sequential(*conv(1, c1, stride=2))                             # 24x24
        self.block2 = nn.Sequential(*conv(c1, c2), nn.AvgPool2d(2))                     # 12x12
        self.block3 = nn.Sequential(*conv(c2, c3), *conv(c3, c3, act=nn.Softplus))      # 12x12, positive
        self.head = nn.Linear(c3, num_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The last block's feature maps, where Grad-CAM looks.

        Args:
            x: Scenes N x 1 x 48 x 48.

        Returns:
            N x channels[2] x 12 x 12 (positive).

        Example:
            >>> import torch
            >>> from xai_helpers.evaluation.groundtruth import DigitCNN
            >>> tuple(DigitCNN().eval().features(torch.rand(1, 1, 48, 48)).shape)
            (1, 32, 12, 12)
        """
        return self.block3(self.block2(self.block1(x)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Class logits of the scenes.

        Args:
            x: Scenes N x 1 x 48 x 48.

        Returns:
            N x num_classes logits.

        Example:
            >>> import torch
            >>> from xai_helpers.evaluation.groundtruth import DigitCNN
            >>> tuple(DigitCNN(num_classes=3).eval()(torch.rand(4, 1, 48, 48)).shape)
            (4, 3)
        """
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


def _seed_key(seed):
    if seed not in TRAINING_SEEDS:
        raise ValueError(f"No ground-truth CNN with training seed {seed!r}; trained seeds: "
                         f"{', '.join(map(str, TRAINING_SEEDS))} (0 = the lesson's CNN).")
    return seed


@checked
def load_digit_cnn(strength: float | str = 0.0, seed: int = 0) -> DigitCNN:
    """The course's CNN trained with the mark on a share ``strength`` of its training scenes (taught in 4.5).

    Args:
        strength: One of ``STRENGTHS`` (0 or ``"clean"``: the clean CNN).
        seed: One of ``TRAINING_SEEDS``: the same training on other random draws (initial weights, rendered
            scenes, which of them carry the mark, batch order). 0 is the lesson's CNN.

    Returns:
        The ``DigitCNN``, frozen, in eval mode, on ``get_device()``; ``model.info`` holds its training record.
        Cached: every call with the same strength and seed returns the same model.

    Example:
        >>> from xai_helpers.evaluation.groundtruth import load_digit_cnn
        >>> model = load_digit_cnn(0.9)
        >>> type(model).__name__, model.training, load_digit_cnn("clean") is load_digit_cnn(0)
        ('DigitCNN', False, True)
        >>> load_digit_cnn(1.0, seed=2).info["settings"]["seed"]
        2
    """
    return _load(_file_name(_strength_key(strength), _seed_key(seed)), str(get_device()))


@checked
def random_digit_cnn(seed: int = 0) -> DigitCNN:
    """The CNN's architecture with random weights: the control for "is this more than any CNN would show?" (4.5).

    PyTorch's default initialisation, drawn with ``seed``; batch normalisation keeps its initial statistics
    (mean 0, variance 1). No training: whatever its maps single out, the image did it, not anything learned.

    Args:
        seed: Seed of the weights (same seed, same CNN).

    Returns:
        A ``DigitCNN`` with ``CNN_CONFIG``, frozen, in eval mode, on ``get_device()``; ``model.info`` says
        what it is. The caller's random state is left as it was.

    Example:
        >>> import torch
        >>> from xai_helpers.evaluation.groundtruth import random_digit_cnn
        >>> a, b = random_digit_cnn(3), random_digit_cnn(3)
        >>> a is b, torch.equal(a.head.weight, b.head.weight), a.training, a.info["seed"]
        (False, True, False, 3)
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        model = DigitCNN(**CNN_CONFIG)
    model.info = {"seed": int(seed), "trained": False, "config": dict(CNN_CONFIG)}
    return freeze(model).to(get_device())


@checked
def seed_table() -> pd.DataFrame:
    """Every shipped CNN (each strength, each training seed) and 20 random-weights CNNs, scored (taught in 4.5).

    Made by ``python tools/train_groundtruth_cnns.py --table`` (too slow for a lesson: 32 CNNs x 200 scenes x 9
    methods) and checked by the integration tests, which recompute some of its rows. Each CNN's random map and
    SmoothGrad noise have their own seed.

    Returns:
        A DataFrame, one row per CNN and method: ``kind`` ("trained" or "random weights"), ``strength`` (NaN for
        random weights), ``seed``, ``method``, the columns of ``score_maps`` on ``make_scenes(200, marks="own")``
        and, for a trained CNN, those of ``accuracy_table`` on 200 scenes of each kind.

    Example:
        >>> from xai_helpers.evaluation.groundtruth import seed_table
        >>> table = seed_table()
        >>> table.groupby("kind")["seed"].nunique().to_dict()
        {'random weights': 20, 'trained': 3}
    """
    path = GROUNDTRUTH_DIR / SEED_TABLE_FILE
    if not path.exists():
        raise ModelUnavailableError(f"The seed table {path.name} is missing from {path.parent}. Rebuild it (a few "
                                    f"minutes of CPU) with `{SEED_TABLE_COMMAND}` from the repository root.")
    return pd.read_csv(path)


@checked
def load_case() -> tuple[DigitCNN, ClutteredDigits]:
    """Problem 6 of 4.5: a digit CNN from elsewhere and scenes like those it was trained on.

    Returns:
        ``(model, scenes)``: the ``DigitCNN`` and a ``ClutteredDigits`` (images, labels, digit boxes) of 300
        held-out digits rendered anew.

    Example:
        >>> from xai_helpers.evaluation.groundtruth import load_case
        >>> model, scenes = load_case()
        >>> type(model).__name__, len(scenes), tuple(scenes.images.shape[1:])
        ('DigitCNN', 300, (1, 48, 48))
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


def _reads_scenes(model, images, name="model"):
    """Check that ``model`` maps scenes to class scores (one forward pass of one scene); else a ValueError."""
    if next(model.parameters(), None) is None:
        raise ValueError(f"{name} has no parameters: pass a digit CNN (load_digit_cnn()).")
    try:
        with eval_mode(model):
            out = model(images[:1].to(_device_of(model)))
    except ValueError as err:
        raise ValueError(f"{name} cannot read scenes 1x48x48: {err}") from None
    if not isinstance(out, torch.Tensor) or out.dim() != 2:
        raise ValueError(f"{name} must map scenes to class scores [N, classes], as DigitCNN does.")


@checked
def predict_classes(model: nn.Module, images: torch.Tensor, batch_size: int = 500,
                    threads: int | None = 1) -> torch.Tensor:
    """Predicted class of every scene (taught in 4.5).

    Args:
        model: A digit CNN (``load_digit_cnn()``).
        images: Scenes N x 1 x 48 x 48 in [0, 1].
        batch_size: Scenes per forward pass.
        threads: Torch threads while this runs (restored after; ``None``: leave as is).

    Returns:
        A LongTensor [N] on the CPU.

    Example:
        >>> from xai_helpers.evaluation.groundtruth import load_digit_cnn, make_scenes, predict_classes
        >>> scenes = make_scenes(20)
        >>> predicted = predict_classes(load_digit_cnn(), scenes.images)
        >>> predicted.dtype, (predicted == scenes.labels).float().mean().item() > 0.8
        (torch.int64, True)
    """
    images = _check_images(images)
    batch_size = check_count(batch_size, "batch_size")
    _reads_scenes(model, images)
    device = _device_of(model)
    with _threads(threads), torch.no_grad(), eval_mode(model):
        return torch.cat([model(images[b:b + batch_size].to(device)).argmax(1).cpu()
                          for b in range(0, len(images), batch_size)])


@checked
def accuracy_table(models: Mapping[str | float, nn.Module], n: int = 200,
                   sets: Mapping[str, Scenes] | None = None) -> pd.DataFrame:
    """Accuracy of each model on clean scenes, with their own class's mark and with another class's mark (4.5).

    The last column, "follows the other mark", is the share of scenes with another class's mark that the
    model assigns to the *mark's* class instead of the digit's: how far it obeys the shortcut.

    Args:
        models: Name (or shortcut strength) -> digit CNN; the keys name the rows.
        n: Scenes per kind when ``sets`` is not given.
        sets: ``{"none": Scenes, "own": Scenes, "other": Scenes}`` (default: ``make_scenes(n, marks=...)``).

    Returns:
        A DataFrame, one row per model; columns "clean scenes", "own class's mark", "another class's mark",
        "follows the other mark".

    Example:
        >>> from xai_helpers.evaluation.groundtruth import accuracy_table, load_digit_cnn
        >>> table = accuracy_table({"shortcut": load_digit_cnn(1.0)}, n=20)
        >>> bool(table.loc["shortcut", "follows the other mark"] > 0.5), table.shape
        (True, (1, 4))
    """
    if sets is None:
        n = check_count(n, "n")
    elif not {"none", "own", "other"} <= set(sets):
        raise ValueError(f"sets must have the keys 'none', 'own' and 'other'; got {sorted(sets)}.")
    sets = sets or {kind: make_scenes(n, marks=kind) for kind in ("none", "own", "other")}
    rows = {}
    for name, model in models.items():
        try:
            pred = {kind: predict_classes(model, s.images) for kind, s in sets.items()}
        except ValueError as err:
            raise ValueError(f"models[{name!r}]: {err}") from None
        rows[name] = {"clean scenes": (pred["none"] == sets["none"].labels).float().mean().item(),
                      "own class's mark": (pred["own"] == sets["own"].labels).float().mean().item(),
                      "another class's mark": (pred["other"] == sets["other"].labels).float().mean().item(),
                      "follows the other mark": (pred["other"] == sets["other"].mark_classes).float().mean().item()}
    return pd.DataFrame(rows).T
