"""The course's metrics next to Quantus's (Hedström et al. 2023, JMLR 24:34, ``quantus`` on PyPI); section 4.5.

Three small adapters let Quantus compute the course's metrics on the course's models and maps, and this
docstring says where the two agree and why they differ (each statement is a test in
``tests/unit/test_quantus_parity.py``):

* **Pointing game.** ``quantus.PointingGame`` counts a hit when ANY maximum of the map lies in the mask ``s``;
  the course's ``pointing_game_hit`` takes the FIRST maximum in row-major order and grows the box by a tolerance
  (15 px). With ``pointing_masks(boxes, size, tolerance)`` as ``s_batch`` the two agree on every map whose maximum
  is unique. They differ on ties (a maximum inside the box after one outside: Quantus hit, course miss), and a
  flat map, which the course counts as a miss (it points nowhere), Quantus refuses (an AssertionError).
* **Model-parameter randomisation.** ``quantus.MPRT`` (top-down) compares the map on the trained model with the
  map after each further layer is re-initialised, by Spearman's rho of ``|map|`` (``abs=True``; normalising by
  the maximum does not change ranks): the course's ``rho_abs`` with ``spearman_rank_correlation``. They draw
  different random networks: Quantus re-initialises every module that has ``reset_parameters`` (each
  convolution, linear AND batch-norm layer) one at a time, calling ``torch.manual_seed(seed + 1)`` before each;
  the course re-initialises whole stages (``randomisation_stages``: EfficientNet's blocks) seeded once per
  cascade. On Quantus's own randomised models the course's correlation gives Quantus's numbers; where one stage
  is one layer, the first step uses the same weights when the course's seed is Quantus's ``seed + 1``.
* **Faithfulness (deletion).** ``quantus.PixelFlipping`` removes ``features_in_step`` values per step in the order
  of the map and records the target's softmax probability after each step. It requires ``features_in_step`` to
  divide H * W, but flips the map's values broadcast over the C channels, so on an RGB image a step removes a
  third of the pixels it names and C steps make one step of whole pixels. With a model that reads PIXELS
  (``pixel_space_model``), ``x`` in pixel space, a HxW map, ``features_in_step = H * W / n`` and
  ``perturb_baseline=0.0``, every C-th point of its curve is the course's black deletion curve at
  f = 1/n, ..., 1 (``deletion_insertion_curves(..., fractions=n)`` without f = 0). Further differences: Quantus's
  ``perturb_baseline="black"`` is the image's minimum value, not pixel 0; its area uses ``dx = 1`` over its steps
  without f = 0 (the course: the trapezoid over f = 0, 1/n, ..., 1); and Quantus 0.6.0 computes that area with
  ``np.trapz``, which NumPy 2.4 removed, so ``return_auc_per_sample=True`` fails there: take the curve
  (``return_auc_per_sample=False``) and integrate it yourself.
"""
from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from .._typecheck import checked
from ..models.image import ImageModel
from .pointing import _box

__all__ = ["pointing_masks", "pixel_space_model", "PixelSpaceModel"]


@checked
def pointing_masks(boxes: Sequence[Sequence[float]], size: Sequence[int] = (224, 224),
                   tolerance: float = 15) -> np.ndarray:
    """The course's pointing-game hit regions as Quantus's ``s_batch``: each box grown by ``tolerance`` (4.5).

    Args:
        boxes: One ``[x0, y0, x1, y1]`` per image, corners inclusive, in the map's pixels.
        size: The maps' ``(H, W)``.
        tolerance: Pixels around a box that still count (the course's ``POINTING_TOLERANCE``).

    Returns:
        A boolean array N x 1 x H x W, True where a maximum counts as a hit.

    Example:
        >>> import xai_helpers as xh
        >>> masks = xh.evaluation.pointing_masks([[1, 1, 2, 2]], size=(5, 5), tolerance=1)
        >>> masks.shape, int(masks.sum())
        ((1, 1, 5, 5), 16)
    """
    if len(size) != 2 or not all(isinstance(v, (int, np.integer)) and v >= 1 for v in size):
        raise ValueError(f"size must be the maps' (H, W), two positive integers; got {tuple(size)!r}.")
    if not isinstance(tolerance, (int, float, np.number)) or isinstance(tolerance, bool) or tolerance < 0:
        raise ValueError(f"tolerance must be a number of pixels >= 0, got {tolerance!r}.")
    h, w = int(size[0]), int(size[1])
    boxes = list(boxes)
    if not boxes:
        raise ValueError("boxes must hold at least one box [x0, y0, x1, y1].")
    rows, cols = np.arange(h)[:, None], np.arange(w)[None, :]
    masks = []
    for box in boxes:
        x0, y0, x1, y1 = _box(box)
        masks.append((x0 - tolerance <= cols) & (cols <= x1 + tolerance) & (y0 - tolerance <= rows)
                     & (rows <= y1 + tolerance))
    return np.stack(masks)[:, None]


class PixelSpaceModel(nn.Module):
    """A network that reads pixels in [0, 1]: the ``ImageModel``'s normalisation, then its network (4.5).

    Made by ``pixel_space_model``; Quantus's constant baselines (``perturb_baseline=0.0``) are then pixel values,
    as the course's "black" replacement is.

    Args:
        image_model: The ``ImageModel`` whose normalisation and network are used.

    Example:
        >>> import torch, xai_helpers as xh
        >>> net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 4 * 4, 2)).eval()
        >>> toy = xh.models.ImageModel("toy", net, ["a", "b"], net[1], "1", mean=(0.5,) * 3, std=(0.5,) * 3,
        ...                            resize=4, crop=4, device=torch.device("cpu"))
        >>> pixels = torch.rand(1, 3, 4, 4)
        >>> torch.allclose(xh.evaluation.PixelSpaceModel(toy)(pixels), net(toy.normalize(pixels)))
        True
    """

    def __init__(self, image_model: ImageModel) -> None:
        if not isinstance(image_model, ImageModel):
            raise TypeError(f"image_model must be an ImageModel from load_image_model() (its normalisation is put in "
                            f"front of its network); got {type(image_model).__name__}.")
        if not image_model.mean or not image_model.std:
            raise ValueError("image_model has no normalisation (mean, std) to put in front of its network.")
        super().__init__()
        self.net = image_model.model
        self.register_buffer("mean", torch.tensor(image_model.mean, dtype=torch.float32).view(1, -1, 1, 1))
        self.register_buffer("std", torch.tensor(image_model.std, dtype=torch.float32).view(1, -1, 1, 1))
        self.eval()

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        """Class scores of ``pixels``: normalise, then the network.

        Args:
            pixels: Images N x C x H x W with values in [0, 1].

        Returns:
            The network's class scores, N x classes.

        Example:
            >>> import torch, xai_helpers as xh
            >>> net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 2 * 2, 2)).eval()
            >>> toy = xh.models.ImageModel("toy", net, ["a", "b"], net[1], "1", mean=(0.5,) * 3, std=(0.5,) * 3,
            ...                            resize=2, crop=2, device=torch.device("cpu"))
            >>> tuple(xh.evaluation.PixelSpaceModel(toy).forward(torch.rand(4, 3, 2, 2)).shape)
            (4, 2)
        """
        return self.net((pixels - self.mean.to(pixels.device)) / self.std.to(pixels.device))


@checked
def pixel_space_model(image_model: ImageModel) -> PixelSpaceModel:
    """The ``ImageModel``'s network behind its normalisation, reading pixels in [0, 1] (for Quantus; 4.5).

    Args:
        image_model: The ``ImageModel`` (its network is shared, not copied).

    Returns:
        A ``PixelSpaceModel`` in eval mode: ``model(image_model.denormalize(x)) == image_model.model(x)``.

    Example:
        >>> import torch, xai_helpers as xh
        >>> net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 4 * 4, 2)).eval()
        >>> toy = xh.models.ImageModel("toy", net, ["a", "b"], net[1], "1", mean=(0.5,) * 3, std=(0.5,) * 3,
        ...                            resize=4, crop=4, device=torch.device("cpu"))
        >>> x = torch.rand(1, 3, 4, 4)
        >>> torch.allclose(xh.evaluation.pixel_space_model(toy)(toy.denormalize(x)), net(x), atol=1e-6)
        True
    """
    return PixelSpaceModel(image_model)
