"""Explanations scored against a known answer: small CNNs on cluttered digits, and a planted shortcut (4.5).

On a photo nobody knows which pixels the model really uses, so no check of an explanation there can be
final. On the cluttered-digit scenes of section 4.4 (``make_cluttered_digits``) we know where the digit
is, and we can plant something else for the model to use: a small **mark**, a 4x4 pattern, one per
class, pasted near the border of a chosen share of the training scenes (the shortcut's *strength*).
Then each attribution method can be scored on what it should find:

* the **clean CNN** (strength 0) can only use the digit: a good map puts its mass on the digit's box;
* a **shortcut CNN** (strength 0.5, 0.9, 1.0) was offered the mark; on scenes that carry it, how much
  mass a map puts on the mark, compared with the digit, tells whether the method exposes the shortcut.

The CNN ends in global average pooling and one linear layer, so Grad-CAM at its last block equals CAM
(Zhou et al. 2016). Its weights (``assets/groundtruth/*.safetensors``, < 1 MB each) are made by
``python tools/train_groundtruth_cnns.py`` (fixed seeds, one thread, bit-reproducible, about 15 s of CPU
each); the package holds no training code. Scores: the share of |map| inside a box against the share of
pixels the box covers (chance), and the pointing game (Zhang et al. 2016: is the map's maximum inside the
box, give or take ``POINTING_TOLERANCE`` pixels?).
"""
import contextlib
import functools
import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from .device import get_device
from .models import ModelUnavailableError, freeze
from .vit import CANVAS, ClutteredDigits, draw_box, make_cluttered_digits

__all__ = ["DigitCNN", "Mark", "Scenes", "STRENGTHS", "METHODS", "LESSON_MARK", "make_mark", "add_mark",
           "make_scenes", "load_digit_cnn", "load_case", "predict_classes",
           "accuracy_table", "attribution_maps", "AttributionMaps", "box_masks", "mass_in_boxes",
           "pointing_hits", "score_maps", "method_table", "ig_completeness", "plot_mark_mass",
           "plot_scene_kinds", "plot_scene_maps", "REBUILD_COMMAND", "POINTING_TOLERANCE"]

ASSET_DIR = Path(__file__).resolve().parent / "assets" / "groundtruth"
REBUILD_COMMAND = "python tools/train_groundtruth_cnns.py"
#: Shares of training scenes that carry the mark; 0.0 is the clean CNN.
STRENGTHS = (0.0, 0.5, 0.9, 1.0)
CNN_CONFIG = dict(channels=(8, 16, 32), num_classes=10)
MARK_SIZE, MARK_NOISE = 4, 0.05           # a 4x4 pattern; the scenes' pixel noise (vit._render's default)
LESSON_MARK_SEED, LESSON_MARK_CORNER = 7, (1, 1)
CASE_SEED, CASE_STRENGTH, CASE_TRAIN_SEED = 2024, 0.9, 1
#: Settings of the attribution methods on these 48x48 scenes. IG_STEPS: Gauss-Legendre points for a
#: completeness error |delta| / |F(x) - F(x')| <= 5 % on every one of the 200 scored scenes, black and
#: blurred baselines, all four lesson CNNs, with a margin: worst scene 4.9 % at 8 points, 6.4 % at 10,
#: 1.5 % at 12 (``ig_completeness``; ``tools/train_groundtruth_cnns.py --measure-ig`` prints the table).
IG_STEPS, SMOOTHGRAD_SAMPLES, NOISE_LEVEL, BLUR_SIGMA = 12, 12, 0.15, 3.0
METHODS = ("vanilla gradients", "gradient x input", "smoothgrad", "IG (black)", "IG (blur)", "grad-cam",
           "grad-cam++", "random map", "edge detector")
CONTROLS = ("random map", "edge detector")
#: Pointing-game tolerance in pixels: Zhang et al. (2016) count a hit within 15 px at 224 px; scaled to 48 px.
POINTING_TOLERANCE = 3


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


# --- the mark and the scenes -----------------------------------------------------------------------------
@dataclass(eq=False)
class Mark:
    """A class-dependent mark: ``patterns`` [10, 4, 4] in {0, 1}, drawn at (``top``, ``left``)."""
    patterns: torch.Tensor
    top: int
    left: int

    @property
    def size(self):
        return self.patterns.shape[-1]

    @property
    def box(self):
        """(top, left, bottom, right) in pixels, bottom/right exclusive."""
        return (self.top, self.left, self.top + self.size, self.left + self.size)


def _patterns(generator, n_classes=10, size=MARK_SIZE, on=8, min_distance=5):
    """``n_classes`` random size x size binary patterns with ``on`` bright pixels, pairwise Hamming >= min_distance."""
    chosen = []
    while len(chosen) < n_classes:
        p = torch.zeros(size * size)
        p[torch.randperm(size * size, generator=generator)[:on]] = 1
        if all((p != q).sum() >= min_distance for q in chosen):
            chosen.append(p)
    return torch.stack(chosen).view(n_classes, size, size)


def make_mark(seed, top, left, size=MARK_SIZE):
    """A ``Mark``: one random pattern per class (seeded), placed with its top-left pixel at (top, left)."""
    if not (0 <= top <= CANVAS - size and 0 <= left <= CANVAS - size):
        raise ValueError(f"A {size}x{size} mark must lie inside the {CANVAS}x{CANVAS} scene: 0 <= top, left <= "
                         f"{CANVAS - size}; got ({top}, {left}).")
    return Mark(_patterns(torch.Generator().manual_seed(int(seed)), size=size), int(top), int(left))


#: The mark of the lesson's shortcut models: near the top-left corner.
LESSON_MARK = make_mark(LESSON_MARK_SEED, *LESSON_MARK_CORNER)


def _case_setup():
    g = torch.Generator().manual_seed(CASE_SEED)
    patterns = _patterns(g)
    band = [(t, c) for t in range(1, CANVAS - MARK_SIZE) for c in range(1, CANVAS - MARK_SIZE)
            if min(t, c, CANVAS - MARK_SIZE - t, CANVAS - MARK_SIZE - c) <= 4 and max(t, c) > 12]
    top, left = band[int(torch.randint(len(band), (1,), generator=g))]
    return Mark(patterns, top, left)


def _check_images(images, what="images"):
    if not isinstance(images, torch.Tensor):
        raise TypeError(f"{what} must be a torch.Tensor of scenes N x 1 x {CANVAS} x {CANVAS} "
                        f"(make_scenes(...).images), got {type(images).__name__}.")
    if images.dim() == 3:
        images = images.unsqueeze(1)
    if images.dim() != 4 or tuple(images.shape[1:]) != (1, CANVAS, CANVAS):
        raise ValueError(f"{what} must be scenes of shape N x 1 x {CANVAS} x {CANVAS} (pixels in [0, 1], as made by "
                         f"make_scenes or make_cluttered_digits); got shape {tuple(images.shape)}.")
    if not images.is_floating_point():
        raise TypeError(f"{what} must hold floats in [0, 1], got {images.dtype}; use images.float() / 255 for bytes.")
    return images


def _check_classes(classes, n, what="targets", allow_none=False):
    t = torch.as_tensor(classes).detach().cpu()
    if t.dim() == 0:
        t = t.expand(n)
    if t.dtype.is_floating_point or t.dtype == torch.bool or t.dim() != 1 or len(t) != n:
        raise ValueError(f"{what} must be {n} integer class indices, one per scene; got {tuple(t.shape)} of {t.dtype}.")
    low = -1 if allow_none else 0
    if len(t) and (t.min() < low or t.max() > 9):
        none = " (-1 = no mark)" if allow_none else ""
        raise ValueError(f"{what} out of range: the digit classes are 0 ... 9{none}; got values from "
                         f"{int(t.min())} to {int(t.max())}.")
    return t.long()


def add_mark(images, mark, classes, seed=0):
    """Paste the mark of ``classes[i]`` into scene i (-1: leave the scene as it is) -> new images.

    The mark's square and a 1-pixel margin are cleared of clutter first; the pattern's pixels are 1, the
    rest 0, and the scenes' pixel noise (sigma 0.05, seeded) is added back over the cleared square.
    """
    images = _check_images(images)
    classes = _check_classes(classes, len(images), "classes", allow_none=True)
    out = images.detach().clone().cpu()
    rows = (classes >= 0).nonzero()[:, 0]
    if len(rows) == 0:
        return out.to(images.device)
    top, left, bottom, right = mark.box
    t0, l0, b0, r0 = max(top - 1, 0), max(left - 1, 0), min(bottom + 1, CANVAS), min(right + 1, CANVAS)
    square = torch.zeros(len(rows), b0 - t0, r0 - l0)
    square[:, top - t0:bottom - t0, left - l0:right - l0] = mark.patterns[classes[rows]]
    noise = MARK_NOISE * torch.randn(square.shape, generator=torch.Generator().manual_seed(int(seed)))
    out[rows, 0, t0:b0, l0:r0] = (square + noise).clamp(0, 1)
    return out.to(images.device)


@dataclass(eq=False)
class Scenes:
    """Scored scenes: ``images`` [N, 1, 48, 48] in [0, 1], ``labels`` [N], digit ``boxes`` [N, 4] (top, left,
    bottom, right; bottom/right exclusive), ``mark_classes`` [N] (-1 = no mark) and the ``mark`` itself."""
    images: torch.Tensor
    labels: torch.Tensor
    boxes: torch.Tensor
    mark_classes: torch.Tensor
    mark: Mark = None
    description: str = ""

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, i):
        i = slice(i, i + 1) if isinstance(i, int) else i
        return Scenes(self.images[i], self.labels[i], self.boxes[i], self.mark_classes[i], self.mark, self.description)

    @property
    def mark_boxes(self):
        """[N, 4]: the mark's box for scenes that carry it, an empty box (0, 0, 0, 0) for the others."""
        boxes = torch.zeros(len(self), 4, dtype=torch.long)
        if self.mark is not None:
            boxes[self.mark_classes >= 0] = torch.tensor(self.mark.box)
        return boxes


def _clear_of(boxes, mark, margin=1):
    """True for digit boxes that do not touch the mark's square grown by ``margin`` pixels."""
    top, left, bottom, right = mark.box
    b = boxes
    apart = ((b[:, 2] <= top - margin) | (b[:, 0] >= bottom + margin) |
             (b[:, 3] <= left - margin) | (b[:, 1] >= right + margin))
    return apart


@contextlib.contextmanager
def _threads(n):
    """torch uses ``n`` threads inside (None: unchanged); the previous number is restored on exit."""
    previous = torch.get_num_threads()
    if n:
        torch.set_num_threads(int(n))
    try:
        yield
    finally:
        torch.set_num_threads(previous)


@functools.lru_cache(maxsize=4)
def _rendered(split, seed):
    """``make_cluttered_digits(split, seed)``, rendered once per process (callers only index into it)."""
    return make_cluttered_digits(split, seed=seed)


def make_scenes(n=200, marks="none", mark=None, split="test", seed=None):
    """Held-out scenes with known digit boxes, with or without the mark -> ``Scenes``.

    ``marks``: ``"none"`` (clean scenes), ``"own"`` (each scene carries its own class's mark) or
    ``"other"`` (each carries the mark of another class, drawn at random, seeded). The same ``n`` digits
    are used for all three, chosen among the split's scenes whose digit box keeps clear of the mark's
    square, so that "on the mark" and "on the digit" never mix. The test split's scenes are those of
    section 4.4 (``make_cluttered_digits("test")``, never seen in training).
    """
    if marks not in ("none", "own", "other"):
        raise ValueError(f"marks must be 'none', 'own' or 'other', got {marks!r}.")
    mark = LESSON_MARK if mark is None else mark
    with _threads(1):                              # small tensor operations: one thread is faster (bench)
        data = _rendered(split, seed)
    keep = _clear_of(data.boxes, mark).nonzero()[:, 0]
    if not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= len(keep):
        raise ValueError(f"n must be an integer from 1 to {len(keep)} (the {split} scenes whose digit keeps clear of "
                         f"the mark), got {n!r}.")
    keep = keep[:n]
    images, labels, boxes = data.images[keep], data.labels[keep], data.boxes[keep]
    if marks == "none":
        classes = torch.full_like(labels, -1)
    elif marks == "own":
        classes = labels.clone()
    else:
        shift = torch.randint(1, 10, (n,), generator=torch.Generator().manual_seed(99 + (seed or 0)))
        classes = (labels + shift) % 10  # device-ok: scenes are made on the CPU
    images = add_mark(images, mark, classes, seed=1 + (seed or 0)) if marks != "none" else images
    return Scenes(images, labels, boxes, classes, mark, description=f"{n} {split} scenes, marks: {marks}")


# --- loading the shipped checkpoints (trained by tools/train_groundtruth_cnns.py) -----------------------
def _read(path):
    from safetensors import safe_open
    from safetensors.torch import load_file
    if not Path(path).exists():
        raise ModelUnavailableError(f"The ground-truth CNN {Path(path).name} is missing from {Path(path).parent}. "
                                    f"Rebuild the checkpoints (fixed seeds, a few minutes of CPU) with "
                                    f"`{REBUILD_COMMAND}` from the repository root.")
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
    return freeze(_read(ASSET_DIR / file_name)).to(device)


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
    import pandas as pd
    sets = sets or {kind: make_scenes(n, marks=kind) for kind in ("none", "own", "other")}
    rows = {}
    for name, model in models.items():
        pred = {kind: predict_classes(model, s.images) for kind, s in sets.items()}
        rows[name] = {"clean scenes": (pred["none"] == sets["none"].labels).float().mean().item(),
                      "own class's mark": (pred["own"] == sets["own"].labels).float().mean().item(),
                      "another class's mark": (pred["other"] == sets["other"].labels).float().mean().item(),
                      "follows the other mark": (pred["other"] == sets["other"].mark_classes).float().mean().item()}
    return pd.DataFrame(rows).T


# --- attribution maps for many scenes at once ------------------------------------------------------------
class _SceneSum(nn.Module):
    """B scenes presented to a helper as ONE example ``[1, B, H, W]`` whose score is sum_i logit_i[target_i].

    The helpers (``xh.vanilla_gradients``, ``smoothgrad``, ``integrated_gradients`` ...) explain one example;
    the scenes do not interact in an eval-mode CNN, so the gradient of the summed score w.r.t. scene i is the
    gradient of scene i's own target logit: one call explains B scenes, each for its own target. Copies
    along the helper's batch dimension (noisy samples, path points) stay separate: output [k, 1].
    """

    def __init__(self, net, targets):
        super().__init__()
        self.net = net
        self.register_buffer("targets", targets.view(1, -1, 1), persistent=False)

    def forward(self, x):
        k, b = x.shape[:2]
        logits = self.net(x.reshape(k * b, 1, *x.shape[2:])).view(k, b, -1)
        return logits.gather(2, self.targets.expand(k, b, 1)).sum(1)


def _blurred(images, sigma):
    import torchvision.transforms.functional as TF
    kernel = 2 * math.ceil(3 * sigma) + 1          # >= 6 sigma + 1 taps (as xh.make_baseline)
    return TF.gaussian_blur(images, [kernel, kernel], [sigma, sigma])


@dataclass(eq=False)
class AttributionMaps:
    """``maps[method]`` [N, 48, 48] on the CPU, |attribution| (or the CAM, >= 0): where each method puts
    importance; ``ig_error[baseline]`` [N]: IG's relative completeness error per scene,
    |sum(attr) - (F(x) - F(x'))| / |F(x) - F(x')|; ``seconds[method]``: compute time."""
    maps: dict
    targets: torch.Tensor
    ig_error: dict = field(default_factory=dict)
    seconds: dict = field(default_factory=dict)


def attribution_maps(model, images, targets, methods=METHODS, *, ig_steps=IG_STEPS,
                     smoothgrad_samples=SMOOTHGRAD_SAMPLES, noise_level=NOISE_LEVEL, blur_sigma=BLUR_SIGMA,
                     ig_method="gausslegendre", chunk=64, per_pass=256, threads=1, seed=0):
    """Every method's map for every scene, each explaining the scene's own ``targets[i]`` -> ``AttributionMaps``.

    Uses the package's helpers: ``vanilla_gradients``, ``gradient_x_input``, ``smoothgrad`` (``noise_level`` of
    the input range, seeded), ``integrated_gradients`` (Gauss-Legendre, ``ig_steps`` points, from black =
    pixel 0 and from the scene blurred with ``blur_sigma`` px), ``grad_cam`` and ``grad_cam_plus_plus`` at
    ``block3`` (upsampled to 48x48), and the controls ``random_map`` (seed = scene index) and ``edge_map``
    (Sobel) of ``xai_helpers.evaluation``. Gradient methods run ``chunk`` scenes per call (``_SceneSum``),
    ``per_pass`` images per forward/backward pass. ``threads``: torch threads while this runs (restored after;
    None = leave as is): this CNN's passes are too small to split across cores, one thread is the fastest on
    2 CPU cores (bench/RESULTS.md). Signed maps are returned as |map|: the scores ask where a method puts
    weight, for or against.
    """
    images = _check_images(images)
    targets = _check_classes(targets, len(images))
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise ValueError(f"Unknown method(s) {unknown}; choose from {list(METHODS)}.")
    from ._checks import eval_mode
    with _threads(threads), eval_mode(model):        # a model left in train mode: warned, evaluated, restored
        return _attribution_maps(model, images, targets, methods, ig_steps, smoothgrad_samples, noise_level,
                                 blur_sigma, ig_method, chunk, per_pass, seed)


def _attribution_maps(model, images, targets, methods, ig_steps, smoothgrad_samples, noise_level, blur_sigma,
                      ig_method, chunk, per_pass, seed):
    from . import evaluation as ev
    from .cam import grad_cam, grad_cam_plus_plus
    from .gradients import gradient_x_input, smoothgrad, vanilla_gradients
    from .integrated import integrated_gradients
    device = _device_of(model)
    result = AttributionMaps({m: [] for m in methods}, targets)
    result.seconds = {m: 0.0 for m in methods}
    for start in range(0, len(images), chunk):
        x = images[start:start + chunk].to(device)
        t = targets[start:start + chunk]
        joint = _SceneSum(model, t.to(device)).train(model.training)
        xj = x.transpose(0, 1)                                  # [1, B, H, W]: the scenes as one example
        for name in methods:
            clock = time.perf_counter()
            if name == "vanilla gradients":
                m = vanilla_gradients(joint, xj, 0)[0]
            elif name == "gradient x input":
                m = gradient_x_input(joint, xj, 0)[0]
            elif name == "smoothgrad":
                m = smoothgrad(joint, xj, 0, n_samples=smoothgrad_samples, noise_level=noise_level,
                               batch_size=max(1, per_pass // len(t)), seed=seed + start)[0]
            elif name.startswith("IG"):
                kind = "black" if name == "IG (black)" else "blur"
                base = torch.zeros_like(xj) if kind == "black" else _blurred(x, blur_sigma).transpose(0, 1)
                m, _ = integrated_gradients(joint, xj, 0, baseline=base, n_steps=ig_steps, method=ig_method,
                                            internal_batch_size=max(1, per_pass // len(t)))
                m = m[0]
                with torch.no_grad():
                    both = model(torch.cat([x, base.transpose(0, 1)]))
                    scores = both.gather(1, t.to(device).repeat(2)[:, None])[:, 0]
                    diff = scores[:len(t)] - scores[len(t):]
                error = ((m.sum((1, 2)) - diff).abs() / diff.abs().clamp_min(1e-12)).cpu()
                result.ig_error.setdefault(kind, []).append(error)
            elif name in ("grad-cam", "grad-cam++"):
                cam = grad_cam if name == "grad-cam" else grad_cam_plus_plus
                m = torch.stack([cam(model, DigitCNN.target_layer, x[i:i + 1], int(t[i])) for i in range(len(t))])
            elif name == "random map":
                m = torch.stack([ev.random_map(None, x[i:i + 1], seed=seed + start + i) for i in range(len(t))])
            else:
                m = torch.stack([ev.edge_map(None, x[i:i + 1]) for i in range(len(t))])
            result.maps[name].append(m.detach().abs().float().cpu())
            result.seconds[name] += time.perf_counter() - clock
    result.maps = {k: torch.cat(v) for k, v in result.maps.items()}
    result.ig_error = {k: torch.cat(v) for k, v in result.ig_error.items()}
    return result


def ig_completeness(model, scenes, steps=(8, 10, 12, 16, 32), baselines=("black", "blur")):
    """IG's relative completeness error per step count and baseline -> DataFrame (median, 95th percentile,
    max over the scenes), to choose ``ig_steps`` by measurement."""
    import pandas as pd
    rows = []
    for n in steps:
        for kind in baselines:
            r = attribution_maps(model, scenes.images, scenes.labels, methods=(f"IG ({kind})",), ig_steps=n)
            e = r.ig_error[kind]
            rows.append({"steps": n, "baseline": kind, "median": e.median().item(),
                         "95th percentile": e.quantile(0.95).item(), "max": e.max().item()})
    return pd.DataFrame(rows)


# --- scores ------------------------------------------------------------------------------------------------
def box_masks(boxes, size=CANVAS):
    """[N, 4] boxes (top, left, bottom, right; bottom/right exclusive) -> [N, size, size] boolean masks."""
    boxes = torch.as_tensor(boxes).view(-1, 4)
    r = torch.arange(size)
    rows = (r >= boxes[:, :1]) & (r < boxes[:, 2:3])
    cols = (r >= boxes[:, 1:2]) & (r < boxes[:, 3:4])
    return rows[:, :, None] & cols[:, None, :]


def _check_maps(maps, n=None):
    m = torch.as_tensor(maps).detach().float().cpu()
    if m.dim() != 3 or tuple(m.shape[1:]) != (CANVAS, CANVAS) or (n is not None and len(m) != n):
        raise ValueError(f"maps must be N x {CANVAS} x {CANVAS} (one map per scene{f', N = {n}' if n else ''}); "
                         f"got {tuple(m.shape)}.")
    if (m < 0).any():
        raise ValueError("maps must be non-negative importances: pass |attribution| (attribution.abs()).")
    return m


def mass_in_boxes(maps, boxes):
    """Share of each map's total mass inside its box -> [N] (0 for an all-zero map)."""
    m = _check_maps(maps, len(torch.as_tensor(boxes).view(-1, 4)))
    inside = (m * box_masks(boxes)).sum((1, 2))
    return inside / m.sum((1, 2)).clamp_min(1e-30)


def pointing_hits(maps, boxes, tolerance=0):
    """Pointing game (Zhang et al. 2016): is each map's maximum inside its box grown by ``tolerance`` pixels?
    -> bool [N]. A flat map points nowhere (a miss)."""
    boxes = torch.as_tensor(boxes).view(-1, 4)
    m = _check_maps(maps, len(boxes))
    flat = m.flatten(1)
    grown = (boxes + torch.tensor([-1, -1, 1, 1]) * int(tolerance)).clamp(0, CANVAS)
    hit = box_masks(grown).flatten(1).gather(1, flat.argmax(1)[:, None])[:, 0]
    return hit & (flat.max(1).values > flat.min(1).values)


def score_maps(result, scenes):
    """Score every method's maps against the known boxes -> pandas DataFrame, one row per method.

    Columns: share of the map's mass on the digit's box, the chance share (the box's share of the pixels)
    and their ratio, and the pointing-game hit rate on the digit. For scenes that carry the mark, also the
    mass on the mark (chance: 16 of 2,304 pixels), its ratio to chance, mass on the mark / mass on the digit,
    and how often the map's maximum is on the mark.
    """
    with _threads(1):
        return _score_maps(result.maps if isinstance(result, AttributionMaps) else result, scenes)


def _score_maps(maps, scenes):
    import pandas as pd
    digit_chance = box_masks(scenes.boxes).float().mean((1, 2)).mean().item()
    marked = scenes.mark_classes >= 0
    rows = {}
    for name, m in maps.items():
        on_digit = mass_in_boxes(m, scenes.boxes)
        row = {"mass on digit": on_digit.mean().item(), "chance (digit)": digit_chance,
               "digit / chance": on_digit.mean().item() / digit_chance,
               "pointing game (digit)": pointing_hits(m, scenes.boxes, POINTING_TOLERANCE).float().mean().item()}
        if marked.any():
            mark_boxes = scenes.mark_boxes[marked]
            mark_chance = box_masks(mark_boxes).float().mean((1, 2)).mean().item()
            on_mark = mass_in_boxes(m[marked], mark_boxes)
            row.update({"mass on mark": on_mark.mean().item(), "mark / chance": on_mark.mean().item() / mark_chance,
                        "mark / digit": on_mark.mean().item() / max(on_digit[marked].mean().item(), 1e-12),
                        "pointing game (mark)":
                            pointing_hits(m[marked], mark_boxes, POINTING_TOLERANCE).float().mean().item()})
        rows[name] = row
    return pd.DataFrame(rows).T


def method_table(model, scenes, methods=METHODS, **kwargs):
    """``attribution_maps`` for the scenes' true classes, scored with ``score_maps`` -> (DataFrame, AttributionMaps)."""
    result = attribution_maps(model, scenes.images, scenes.labels, methods, **kwargs)
    return score_maps(result, scenes), result


# --- figures --------------------------------------------------------------------------------------------------
def plot_mark_mass(tables, columns=("mass on mark", "pointing game (mark)"), chance=None):
    """One panel per column of the ``score_maps`` tables, one line per method, against the shortcut strength.

    ``tables``: dict strength -> DataFrame (rows = methods). "mass on mark" is drawn on a log scale, with the
    uniform map's share (``chance``) as a dotted line; the controls are dashed. Returns the figure.
    """
    import matplotlib.pyplot as plt
    strengths = sorted(tables)
    fig, axes = plt.subplots(1, len(columns), figsize=(5.2 * len(columns) + 1.6, 4), squeeze=False)
    markers = "osD^v<>ph*"
    for ax, column in zip(axes[0], columns):
        for i, method in enumerate(tables[strengths[0]].index):
            values = [tables[s].loc[method, column] for s in strengths]
            ax.plot([100 * s for s in strengths], values, marker=markers[i % len(markers)],
                    ls="--" if method in CONTROLS else "-", color=plt.cm.tab10(i % 10), label=method)
        if column.startswith("mass"):
            ax.set_yscale("log")
            if chance is not None:
                ax.axhline(chance, color="0.3", ls=":", lw=1.2, label="chance (uniform map)")
            ax.set_ylabel(f"{column}: mean share of |map| (log scale)", fontsize=9)
        else:
            ax.set_ylim(-0.03, 1.03)
            ax.set_ylabel(f"{column}: share of scenes", fontsize=9)
        ax.set_title(f"{column}, scenes with their class's mark", fontsize=10)
        ax.set_xlabel("shortcut strength: % of training scenes with the mark", fontsize=9)
        ax.set_xticks([100 * s for s in strengths])
        ax.tick_params(labelsize=8)
        ax.grid(alpha=0.3)
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, fontsize=8, loc="center right")
    fig.tight_layout(rect=(0, 0, 1 - 1.6 / fig.get_figwidth(), 1))
    return fig


def plot_scene_kinds(sets, index=0, mark=None):
    """The same scene clean, with its own class's mark and with another class's mark (digit box green, mark
    box cyan), and the ten mark patterns. ``sets``: dict as for ``accuracy_table``. Returns the figure."""
    import matplotlib.pyplot as plt
    mark = mark or sets["own"].mark
    fig, axes = plt.subplots(1, 4, figsize=(10, 2.9), gridspec_kw={"width_ratios": [1, 1, 1, 2.2]})
    titles = {"none": "clean scene", "own": "its own class's mark", "other": "another class's mark"}
    for ax, kind in zip(axes, ("none", "own", "other")):
        s = sets[kind]
        ax.imshow(s.images[index, 0].cpu(), cmap="gray", vmin=0, vmax=1)
        draw_box(ax, s.boxes[index], color="lime", linewidth=1)
        mark_class = int(s.mark_classes[index])
        if mark_class >= 0:
            draw_box(ax, mark.box, color="cyan", linewidth=1)
        ax.set_title(f"digit {int(s.labels[index])}, {titles[kind]}" + (f" ({mark_class})" if mark_class >= 0 else ""),
                     fontsize=8)
    size = mark.size
    strip = torch.ones(size + 2, 10 * (size + 1) + 1) * 0.5
    for c in range(10):
        strip[1:size + 1, 1 + c * (size + 1):1 + c * (size + 1) + size] = mark.patterns[c]
    axes[3].imshow(strip, cmap="gray", vmin=0, vmax=1)
    axes[3].set_xticks([1 + c * (size + 1) + (size - 1) / 2 for c in range(10)], [str(c) for c in range(10)],
                       fontsize=8)
    axes[3].set_title(f"the ten {size}x{size} marks, one per class", fontsize=8)
    for ax in axes[:3]:
        ax.set_xticks([])
    for ax in axes:
        ax.set_yticks([])
    fig.tight_layout()
    return fig


def plot_scene_maps(scenes, maps_by_row, index, methods, row_titles=None, panel_size=1.9):
    """One row per entry of ``maps_by_row`` (e.g. one per CNN): scene ``index``, then each method's map on its
    own (inferno: dark = 0, bright = the map's largest values), with the digit's box (green) and the mark's
    box (cyan). Returns the figure."""
    import matplotlib.pyplot as plt
    from .plotting import show_map
    rows = list(maps_by_row)
    fig, axes = plt.subplots(len(rows), 1 + len(methods), squeeze=False,
                             figsize=(panel_size * (1 + len(methods)), panel_size * len(rows) + 0.3))
    mark_box = scenes.mark_boxes[index]
    for r, key in enumerate(rows):
        ax = axes[r, 0]
        ax.imshow(scenes.images[index, 0].cpu(), cmap="gray", vmin=0, vmax=1)
        ax.set_title(f"{(row_titles or {}).get(key, key)}\ndigit {int(scenes.labels[index])}", fontsize=8)
        for col, method in enumerate(methods, start=1):
            show_map(maps_by_row[key].maps[method][index], ax=axes[r, col], signed=False, colorbar=False,
                     title=method)
            axes[r, col].title.set_fontsize(8)
        for ax in axes[r]:
            draw_box(ax, scenes.boxes[index], color="lime", linewidth=1)
            if mark_box[2] > 0:
                draw_box(ax, mark_box, color="cyan", linewidth=1)
            ax.set_xticks([])
            ax.set_yticks([])
    fig.tight_layout()
    return fig
