"""The synthetic scenes of 4.4b and 4.5: sklearn digits pasted on clutter, with known boxes.

Because the course places each digit, it knows where the object is and can *score* a map: how much of
its mass falls on the object, against the share a uniform map would put there (chance). Everything here
runs on the CPU (scenes are small tensors); models and maps live elsewhere.
"""
import functools
import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

__all__ = ["ClutteredDigits", "make_cluttered_digits", "erase_digits", "CANVAS", "PATCH"]


CANVAS, PATCH, DIGIT_SCALE = 48, 8, 2           # 6x6 grid of 8-pixel patches; digits drawn 16x16


TEST_RENDER_SEED = 12345


# --- the data: digits on clutter, with known positions --------------------------------------------
@dataclass
class ClutteredDigits:
    """``images`` [N, 1, 48, 48] in [0, 1]; ``labels`` [N]; ``boxes`` [N, 4] = (top, left, bottom, right)
    pixel rows/columns of the digit's ink, bottom/right exclusive; ``digit_index`` into sklearn's digits."""
    images: torch.Tensor
    labels: torch.Tensor
    boxes: torch.Tensor
    digit_index: torch.Tensor

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, i):
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


def erase_digits(data, seed=0, noise=0.05):
    """The same scenes with each digit's box painted over with background noise -> ``ClutteredDigits``.

    Only clutter is left (the clutter never enters the digit's box); ``boxes`` and ``labels`` still say
    where the digit was and what it was. The noise has the scenes' own level (seeded).
    """
    if not isinstance(data, ClutteredDigits):
        raise TypeError(f"erase_digits needs ClutteredDigits (make_cluttered_digits); got {type(data).__name__}.")
    g = torch.Generator().manual_seed(seed)
    images = data.images.clone()
    background = (noise * torch.randn(images.shape, generator=g)).clamp(0, 1)
    for i, (top, left, bottom, right) in enumerate(data.boxes.tolist()):
        images[i, :, top:bottom, left:right] = background[i, :, top:bottom, left:right]
    return ClutteredDigits(images, data.labels.clone(), data.boxes.clone(), data.digit_index.clone())


def make_cluttered_digits(split="test", seed=None, n=None):
    """Render the train or test digits on clutter -> ``ClutteredDigits``.

    The test set is fixed (render seed 12345; 540 digits never seen in training). ``n`` keeps the
    first n digits of the split.
    """
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}.")
    images, labels, index = _digits_split()
    idx = index[split][:n] if n is not None else index[split]
    g = torch.Generator().manual_seed(TEST_RENDER_SEED if seed is None and split == "test" else (seed or 0))
    canvas, boxes = _render(images[idx], g)
    return ClutteredDigits(canvas, labels[idx], boxes, idx)
