"""The ground-truth scenes of 4.5: cluttered digits, with a planted 4x4 **mark** (one pattern per class) on a
chosen share of them, and the boxes of both."""
import contextlib
import functools
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from ..._typecheck import checked
from ..._validate import check_count, check_device, readable_tensor
from ...digits import CANVAS, make_cluttered_digits

__all__ = ["Mark", "Scenes", "LESSON_MARK", "make_mark", "add_mark", "make_scenes"]


#: The mark is a 4x4 pattern; the scenes' pixel noise is sigma 0.05 (``digits._render``'s default).
MARK_SIZE, MARK_NOISE = 4, 0.05


LESSON_MARK_SEED, LESSON_MARK_CORNER = 7, (1, 1)


CASE_SEED, CASE_STRENGTH, CASE_TRAIN_SEED = 2024, 0.9, 1


# --- the mark and the scenes -----------------------------------------------------------------------------
@dataclass(eq=False)
class Mark:
    """A class-dependent mark: the planted shortcut of the ground-truth scenes (taught in 4.5).

    Args:
        patterns: [10, size, size] in {0, 1}: one pattern per digit class.
        top: The row of the mark's top-left pixel.
        left: The column of the mark's top-left pixel.

    Example:
        >>> from xai_helpers.evaluation.groundtruth import make_mark
        >>> mark = make_mark(seed=7, top=1, left=1)
        >>> tuple(mark.patterns.shape), mark.size, mark.box
        ((10, 4, 4), 4, (1, 1, 5, 5))
    """
    patterns: torch.Tensor
    top: int
    left: int

    @property
    def size(self) -> int:
        """The side of the square mark in pixels."""
        return self.patterns.shape[-1]

    @property
    def box(self) -> tuple[int, int, int, int]:
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


@checked
def make_mark(seed: int, top: int, left: int, size: int = MARK_SIZE) -> Mark:
    """A ``Mark``: one random pattern per class (seeded), placed with its top-left pixel at (top, left); 4.5.

    Each pattern has 8 bright pixels and differs from every other in at least 5 pixels.

    Args:
        seed: Seed of the patterns.
        top: Row of the mark's top-left pixel.
        left: Column of the mark's top-left pixel.
        size: Side of the square mark, >= 4 (smaller squares cannot hold ten such patterns).

    Returns:
        The ``Mark``.

    Example:
        >>> from xai_helpers.evaluation.groundtruth import make_mark
        >>> mark = make_mark(seed=0, top=40, left=2)
        >>> mark.box, int(mark.patterns[3].sum())
        ((40, 2, 44, 6), 8)
    """
    if not MARK_SIZE <= size <= CANVAS:
        raise ValueError(f"size must be an integer from {MARK_SIZE} to {CANVAS} (ten patterns of 8 bright pixels, "
                         f"each differing from the others in >= 5 pixels, need a 4x4 square at least); got {size}.")
    if not (0 <= top <= CANVAS - size and 0 <= left <= CANVAS - size):
        raise ValueError(f"A {size}x{size} mark must lie inside the {CANVAS}x{CANVAS} scene: 0 <= top, left <= "
                         f"{CANVAS - size}; got ({top}, {left}).")
    return Mark(_patterns(torch.Generator().manual_seed(int(seed)), size=size), int(top), int(left))


#: The mark of the lesson's shortcut models: near the top-left corner.
LESSON_MARK: Mark = make_mark(LESSON_MARK_SEED, *LESSON_MARK_CORNER)


def _case_setup():
    g = torch.Generator().manual_seed(CASE_SEED)
    patterns = _patterns(g)
    band = [(t, c) for t in range(1, CANVAS - MARK_SIZE) for c in range(1, CANVAS - MARK_SIZE)
            if min(t, c, CANVAS - MARK_SIZE - t, CANVAS - MARK_SIZE - c) <= 4 and max(t, c) > 12]
    top, left = band[int(torch.randint(len(band), (1,), generator=g))]
    return Mark(patterns, top, left)


def _check_images(images, what="images"):
    if isinstance(images, torch.Tensor):
        check_device(images, name=what)
    else:
        raise TypeError(f"{what} must be a torch.Tensor of scenes N x 1 x {CANVAS} x {CANVAS} "
                        f"(make_scenes(...).images), got {type(images).__name__}.")
    if images.dim() == 3:
        images = images.unsqueeze(1)
    if images.dim() != 4 or tuple(images.shape[1:]) != (1, CANVAS, CANVAS):
        raise ValueError(f"{what} must be scenes of shape N x 1 x {CANVAS} x {CANVAS} (pixels in [0, 1], as made by "
                         f"make_scenes or make_cluttered_digits); got shape {tuple(images.shape)}.")
    if not images.is_floating_point():
        raise TypeError(f"{what} must hold floats in [0, 1], got {images.dtype}; use images.float() / 255 for bytes.")
    if not torch.isfinite(images).all():
        raise ValueError(f"{what} contains NaN or infinite values; scenes hold pixels in [0, 1].")
    return images


def _check_classes(classes, n, what="targets", allow_none=False):
    t = readable_tensor(classes, what).cpu()
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


@checked
def add_mark(images: torch.Tensor, mark: Mark, classes: torch.Tensor | Sequence[int] | int,
             seed: int = 0) -> torch.Tensor:
    """Paste the mark of ``classes[i]`` into scene i (-1: leave the scene as it is); taught in 4.5.

    The mark's square and a 1-pixel margin are cleared of clutter first; the pattern's pixels are 1, the
    rest 0, and the scenes' pixel noise (sigma 0.05, seeded) is added back over the cleared square.

    Args:
        images: Scenes N x 1 x 48 x 48 (or N x 48 x 48) in [0, 1].
        mark: The ``Mark`` to paste.
        classes: One class 0 ... 9 per scene (whose pattern is pasted), -1 for none; or one class for all.
        seed: Seed of the noise.

    Returns:
        New scenes N x 1 x 48 x 48 on the images' device; ``images`` is left unchanged.

    Example:
        >>> import torch
        >>> from xai_helpers.evaluation.groundtruth import LESSON_MARK, add_mark
        >>> marked = add_mark(torch.zeros(2, 1, 48, 48), LESSON_MARK, [3, -1])
        >>> tuple(marked.shape), bool(marked[0].any()), bool(marked[1].any())
        ((2, 1, 48, 48), True, False)
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
    """Scored scenes with known answers: where the digit is and which mark, if any, each carries (4.5).

    Indexing (``scenes[:10]``) gives a ``Scenes`` of those scenes; ``mark_boxes`` the mark's box per scene.

    Args:
        images: [N, 1, 48, 48] in [0, 1].
        labels: [N] digit classes.
        boxes: [N, 4] digit boxes (top, left, bottom, right; bottom/right exclusive).
        mark_classes: [N] the class whose mark a scene carries, -1 = no mark.
        mark: The ``Mark`` pasted (``None``: no mark anywhere).
        description: One line on how the scenes were made.

    Example:
        >>> from xai_helpers.evaluation.groundtruth import make_scenes
        >>> scenes = make_scenes(3, marks="own")
        >>> len(scenes), tuple(scenes.images.shape), scenes.mark_boxes[0].tolist()
        (3, (3, 1, 48, 48), [1, 1, 5, 5])
    """
    images: torch.Tensor
    labels: torch.Tensor
    boxes: torch.Tensor
    mark_classes: torch.Tensor
    mark: Mark = None
    description: str = ""

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i):
        i = slice(i, i + 1) if isinstance(i, int) else i
        return Scenes(self.images[i], self.labels[i], self.boxes[i], self.mark_classes[i], self.mark, self.description)

    @property
    def mark_boxes(self) -> torch.Tensor:
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
        torch.set_num_threads(check_count(n, "threads"))
    try:
        yield
    finally:
        torch.set_num_threads(previous)


@functools.lru_cache(maxsize=4)
def _rendered(split, seed):
    """``make_cluttered_digits(split, seed)``, rendered once per process (callers only index into it)."""
    return make_cluttered_digits(split, seed=seed)


@checked
def make_scenes(n: int = 200, marks: str = "none", mark: Mark | None = None, split: str = "test",
                seed: int | None = None) -> Scenes:
    """Held-out scenes with known digit boxes, with or without the mark (taught in 4.5).

    The same ``n`` digits are used for all three kinds of ``marks``, chosen among the split's scenes whose
    digit box keeps clear of the mark's square, so that "on the mark" and "on the digit" never mix. The test
    split's scenes are those of section 4.4 (``make_cluttered_digits("test")``, never seen in training).

    Args:
        n: How many scenes.
        marks: ``"none"`` (clean scenes), ``"own"`` (each scene carries its own class's mark) or ``"other"``
            (each carries the mark of another class, drawn at random, seeded).
        mark: The ``Mark`` (default ``LESSON_MARK``).
        split: ``"test"`` or ``"train"`` (as ``make_cluttered_digits``).
        seed: The rendering seed (``None``: the split's own).

    Returns:
        ``Scenes``.

    Example:
        >>> from xai_helpers.evaluation.groundtruth import make_scenes
        >>> scenes = make_scenes(4, marks="other")
        >>> bool((scenes.mark_classes != scenes.labels).all()), scenes.description
        (True, '4 test scenes, marks: other')
    """
    if marks not in ("none", "own", "other"):
        raise ValueError(f"marks must be 'none', 'own' or 'other', got {marks!r}.")
    mark = LESSON_MARK if mark is None else mark
    with _threads(1):                              # small tensor operations: one thread is faster (bench)
        data = _rendered(split, seed)
    keep = _clear_of(data.boxes, mark).nonzero()[:, 0]
    if not 1 <= n <= len(keep):
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
