"""The synthetic scenes of 4.4b and 4.5: sklearn digits pasted on clutter, with known boxes.

Because the course places each digit, it knows where the object is and can *score* a map: how much of
its mass falls on the object, against the share a uniform map would put there (chance). Everything here
runs on the CPU (scenes are small tensors); models and maps live elsewhere. ``__all__`` is what the lessons
use; the scene geometry ``CANVAS`` and ``PATCH`` serves the package (``models.vit``, ``evaluation``).
"""
import functools
import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from ._typecheck import checked

__all__ = ["ClutteredDigits", "make_cluttered_digits", "erase_digits"]


#: Side of a scene in pixels: a 6x6 grid of ``PATCH``-pixel patches.
CANVAS: int = 48
#: Side of one ViT patch in pixels.
PATCH: int = 8
#: sklearn's 8x8 digits are drawn this many times larger (16x16).
DIGIT_SCALE: int = 2
#: The render seed of the fixed test scenes.
TEST_RENDER_SEED: int = 12345


# --- the data: digits on clutter, with known positions --------------------------------------------
@dataclass
class ClutteredDigits:
    """Digits on clutter with known boxes: the scenes of 4.4b and 4.5 (``make_cluttered_digits`` renders them).

    ``images`` [N, 1, 48, 48] in [0, 1]; ``labels`` [N]; ``boxes`` [N, 4] = (top, left, bottom, right)
    pixel rows/columns of the digit's ink, bottom/right exclusive; ``digit_index`` into sklearn's digits.
    ``len(scenes)`` counts the scenes; ``scenes[i]`` (an int or a slice) keeps a subset, still ``ClutteredDigits``.

    Args:
        images: The scenes, a float tensor [N, 1, 48, 48] in [0, 1].
        labels: The digit of each scene, an int tensor [N].
        boxes: The digit's ink box in each scene, an int tensor [N, 4] = (top, left, bottom, right).
        digit_index: Which of sklearn's 1,797 digits each scene shows, an int tensor [N].

    Example:
        >>> import xai_helpers as xh
        >>> scenes = xh.digits.make_cluttered_digits(n=3)
        >>> len(scenes), tuple(scenes.images.shape), tuple(scenes[0].boxes.shape)
        (3, (3, 1, 48, 48), (1, 4))
    """
    images: torch.Tensor
    labels: torch.Tensor
    boxes: torch.Tensor
    digit_index: torch.Tensor

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int | slice) -> "ClutteredDigits":
        i = slice(i, i + 1) if isinstance(i, int) else i
        return ClutteredDigits(self.images[i], self.labels[i], self.boxes[i], self.digit_index[i])


@functools.lru_cache(maxsize=1)
def _digits_split():
    """sklearn's 1,797 bundled 8x8 digits, split 70/30 stratified (fixed): disjoint train/test digits."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    digits = load_digits()
    index = np.arange(len(digits.target))
    train, test = train_test_split(index, test_size=0.3, random_state=0, stratify=digits.target)
    images = torch.tensor(digits.images / 16.0, dtype=torch.float32)
    return images, torch.tensor(digits.target), {"train": torch.tensor(train), "test": torch.tensor(test)}


def _segments(n, k, generator, size):
    """Draw k random line segments (4-14 px long, 1 px wide) on each of n blank canvases -> [n, size, size]."""
    p0 = torch.rand(n, k, 1, 2, generator=generator) * size
    length = 4 + torch.rand(n, k, 1, 1, generator=generator) * 10
    angle = torch.rand(n, k, 1, 1, generator=generator) * 2 * math.pi
    brightness = 0.35 + 0.65 * torch.rand(n, k, 1, generator=generator)
    t = torch.linspace(0, 1, 29).view(1, 1, -1, 1)
    points = (p0 + t * length * torch.cat([angle.sin(), angle.cos()], -1)).long()     # [n, k, 29, 2]
    inside = ((points >= 0) & (points < size)).all(-1)
    flat = (points[..., 0] * size + points[..., 1]).clamp(0, size * size - 1)
    values = (brightness * inside).flatten(1)
    canvas = torch.zeros(n, size * size)
    canvas.scatter_reduce_(1, flat.flatten(1), values, reduce="amax")
    return canvas.view(n, size, size)


def _window(n, top, left, h, w):
    """Advanced-indexing triple selecting an h x w window at (top, left) in each of n canvases."""
    return (torch.arange(n, device=top.device)[:, None, None],
            (top[:, None] + torch.arange(h, device=top.device))[:, :, None],
            (left[:, None] + torch.arange(w, device=left.device))[:, None, :])


def _paste(canvas, patches, top, left):
    idx = _window(len(patches), top, left, *patches.shape[1:])
    canvas[idx] = torch.maximum(canvas[idx], patches)


def _render(digit_images, generator, n_strokes=5, n_fragments=3, noise=0.05):
    """Paste 16x16 digits at random positions onto cluttered 48x48 canvases (all randomness from ``generator``).

    Clutter never touches the digit (it is cleared from the digit's square and a 1-pixel margin),
    so the digit's box is exactly where the evidence for the label is.
    """
    n, size, s = len(digit_images), CANVAS, 8 * DIGIT_SCALE
    big = F.interpolate(digit_images[:, None], scale_factor=DIGIT_SCALE, mode="bilinear", align_corners=False)[:, 0]
    canvas = _segments(n, n_strokes, generator, size)
    # Distractors: 4x4 pieces of random digits (drawn 8x8) -- strokes and curves that are no digit.
    all_digits, _, _ = _digits_split()
    for _ in range(n_fragments):
        src = all_digits[torch.randint(len(all_digits), (n,), generator=generator)]
        r, c = torch.randint(0, 5, (2, n), generator=generator)
        frag = src[_window(n, r, c, 4, 4)]
        frag = F.interpolate(frag[:, None], scale_factor=2, mode="bilinear", align_corners=False)[:, 0]
        frag = frag * (0.4 + 0.6 * torch.rand(n, 1, 1, generator=generator))  # device-ok: scenes are made on the CPU
        top, left = torch.randint(0, size - 8 + 1, (2, n), generator=generator)
        _paste(canvas, frag, top, left)
    top, left = torch.randint(0, size - s + 1, (2, n), generator=generator)
    rows, cols = torch.arange(size)[None, :], torch.arange(size)[None, :]
    keep_out = (((rows >= top[:, None] - 1) & (rows < top[:, None] + s + 1))[:, :, None]
                & ((cols >= left[:, None] - 1) & (cols < left[:, None] + s + 1))[:, None, :])
    canvas = canvas.masked_fill(keep_out, 0.0)
    _paste(canvas, big, top, left)
    canvas = (canvas + noise * torch.randn(canvas.shape, generator=generator)).clamp(0, 1)
    ink = big > 0.1  # the digit's ink -> its tight bounding box on the canvas
    ink_rows, ink_cols = ink.any(2), ink.any(1)
    first = lambda m: m.float().argmax(1)                       # noqa: E731
    last = lambda m: s - m.flip(1).float().argmax(1)            # noqa: E731
    boxes = torch.stack([top + first(ink_rows), left + first(ink_cols), top + last(ink_rows),
                         left + last(ink_cols)], 1)
    return canvas[:, None], boxes


@checked
def erase_digits(data: ClutteredDigits, seed: int = 0, noise: float = 0.05) -> ClutteredDigits:
    """The same scenes with each digit's box painted over with background noise -> ``ClutteredDigits`` (taught in 4.4b).

    Only clutter is left (the clutter never enters the digit's box); ``boxes`` and ``labels`` still say
    where the digit was and what it was. The noise has the scenes' own level (seeded).

    Args:
        data: The scenes, from ``make_cluttered_digits``; left unchanged.
        seed: Seed of the background noise (default 0).
        noise: Standard deviation of the noise (default 0.05, the scenes' own).

    Returns:
        New scenes: the same clutter, boxes and labels, with no digit.

    Raises:
        TypeError: ``data`` is not ``ClutteredDigits``.

    Example:
        >>> import xai_helpers as xh
        >>> scenes = xh.digits.make_cluttered_digits(n=2)
        >>> erased = xh.digits.erase_digits(scenes)
        >>> top, left, bottom, right = scenes.boxes[0].tolist()
        >>> bool(erased.images[0, 0, top:bottom, left:right].max() < scenes.images[0, 0, top:bottom, left:right].max())
        True
        >>> bool((erased.labels == scenes.labels).all())
        True
    """
    if not isinstance(data, ClutteredDigits):
        raise TypeError(f"erase_digits needs ClutteredDigits (make_cluttered_digits); got {type(data).__name__}.")
    if not 0 <= noise <= 1:
        raise ValueError(f"noise is the standard deviation of the background noise, between 0 and 1 (the scenes' "
                         f"own is 0.05); got {noise!r}.")
    g = torch.Generator().manual_seed(seed)
    images = data.images.clone()
    background = (noise * torch.randn(images.shape, generator=g)).clamp(0, 1)
    for i, (top, left, bottom, right) in enumerate(data.boxes.tolist()):
        images[i, :, top:bottom, left:right] = background[i, :, top:bottom, left:right]
    return ClutteredDigits(images, data.labels.clone(), data.boxes.clone(), data.digit_index.clone())


@checked
def make_cluttered_digits(split: str = "test", seed: int | None = None, n: int | None = None) -> ClutteredDigits:
    """Render the train or test digits on clutter -> ``ClutteredDigits`` (taught in 4.4b).

    The test set is fixed (render seed 12345; 540 digits never seen in training). ``n`` keeps the
    first n digits of the split.

    Args:
        split: ``"test"`` (default; digits the course's ViT never saw) or ``"train"``.
        seed: Render seed (positions, clutter, noise); ``None`` means 12345 for the test split, 0 for train.
        n: Keep the first ``n`` digits of the split; ``None`` keeps all (540 test, 1,257 train).

    Returns:
        The rendered scenes, on the CPU.

    Raises:
        ValueError: ``split`` is neither ``"train"`` nor ``"test"``.

    Example:
        >>> import xai_helpers as xh
        >>> scenes = xh.digits.make_cluttered_digits(n=4)
        >>> scenes.labels.tolist(), float(scenes.images.min()) >= 0, float(scenes.images.max()) <= 1
        ([1, 4, 5, 6], True, True)
    """
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}.")
    if n is not None and (n < 1 or isinstance(n, bool)):
        raise ValueError(f"n is how many digits to keep, a positive integer (or None for all); got {n!r}.")
    images, labels, index = _digits_split()
    idx = index[split][:n] if n is not None else index[split]
    g = torch.Generator().manual_seed(TEST_RENDER_SEED if seed is None and split == "test" else (seed or 0))
    canvas, boxes = _render(images[idx], g)
    return ClutteredDigits(canvas, labels[idx], boxes, idx)
