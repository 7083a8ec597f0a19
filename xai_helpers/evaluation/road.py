"""ROAD: RemOve And Debias (Rong et al. 2022, ICML, arXiv:2202.00449); section 4.5.

Deletion with black or blurred pixels makes images the model never saw, and the shape of the hole itself leaks
which pixels were removed (Rong et al. show that a classifier can read the class from the mask alone). ROAD
fills removed pixels by *noisy linear imputation*: each removed pixel becomes the weighted mean of its 8
neighbours (weight 1/6 for the 4 direct, 1/12 for the 4 diagonal ones), solved as one sparse linear system for
all removed pixels at once, plus Gaussian noise of standard deviation ``noise`` (0.01 in the model's input
space), so the filled image is smooth, close to the data, and carries no sharp mask edges.

Written from scratch and equal to ``pytorch_grad_cam.metrics.road`` (its ``NoisyLinearImputer``,
``ROADMostRelevantFirst`` / ``ROADLeastRelevantFirst`` and their averages over percentiles) when fed the same
noise: percentile ``p`` KEEPS the pixels whose map value is below the map's p-th percentile, so MoRF at p removes
the (100 - p) % most relevant pixels and LeRF at p the (100 - p) % least relevant ones; the score is the change
of the target's logit. A faithful map: MoRF scores fall far (removing what matters hurts), LeRF scores stay
near 0; pytorch-grad-cam's ``ROADCombined`` reports ``(mean LeRF - mean MoRF) / 2``.
"""
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse
import scipy.sparse.linalg
import torch
from matplotlib.axes import Axes

from .. import _memory
from .._typecheck import checked
from .._validate import check_count, check_input, eval_mode, module_and_input, resolve_target
from ..methods.kinds import Model, Target
from ..viz.plotting import ArrayLike, as_2d_map
from .record import Record

__all__ = ["road", "noisy_linear_imputation", "RoadResult", "ROAD_PERCENTILES", "ROAD_ORDERS", "ROAD_NOISE"]

#: The percentiles ``road`` measures by default (those of pytorch-grad-cam's ROAD averages).
ROAD_PERCENTILES: tuple[int, ...] = (10, 20, 30, 40, 50, 60, 70, 80, 90)
#: Removal orders: most relevant first (``"morf"``) or least relevant first (``"lerf"``).
ROAD_ORDERS: tuple[str, ...] = ("morf", "lerf")
#: Standard deviation of the noise added to imputed values, in the model's input space (Rong et al.'s 0.01).
ROAD_NOISE: float = 0.01
#: (row offset, column offset, weight) of the 8 neighbours in the imputation (Rong et al., section 4.2).
_NEIGHBOURS = ((1, 1, 1 / 12), (0, 1, 1 / 6), (-1, 1, 1 / 12), (1, -1, 1 / 12), (0, -1, 1 / 6), (-1, -1, 1 / 12),
               (1, 0, 1 / 6), (-1, 0, 1 / 6))


def _imputation_system(keep):
    """Sparse system ``A v = b`` for the removed pixels of the HxW boolean ``keep`` -> (A, rows, cols, weights)
    where b = -sum over kept neighbours of weight * value is assembled per channel by the caller."""
    h, w = keep.shape
    removed = np.flatnonzero(~keep.ravel())
    variable = np.full(h * w, -1)
    variable[removed] = np.arange(len(removed))
    r, c = np.divmod(removed, w)
    rows, cols, vals = [np.arange(len(removed))], [np.arange(len(removed))], []
    diagonal = -np.ones(len(removed))
    known = []                                   # (equation, flat index of a kept neighbour, weight)
    for dr, dc, weight in _NEIGHBOURS:
        rr, cc = r + dr, c + dc
        inside = (rr >= 0) & (cc >= 0) & (rr < h) & (cc < w)
        diagonal[~inside] += weight              # a neighbour outside the image does not count
        eq, flat = np.flatnonzero(inside), rr[inside] * w + cc[inside]
        unknown = variable[flat] >= 0
        rows.append(eq[unknown])
        cols.append(variable[flat[unknown]])
        vals.append(np.full(int(unknown.sum()), weight))
        known.append((eq[~unknown], flat[~unknown], weight))
    A = scipy.sparse.csc_matrix((np.concatenate([diagonal] + vals), (np.concatenate(rows), np.concatenate(cols))),
                                shape=(len(removed), len(removed)))
    return A, removed, known


@checked
def noisy_linear_imputation(image: torch.Tensor, keep: ArrayLike, noise: float = ROAD_NOISE,
                            generator: torch.Generator | None = None) -> torch.Tensor:
    """Fill the pixels where ``keep`` is False by ROAD's noisy linear imputation (Rong et al. 2022); taught in 4.5.

    Every removed pixel equals the weighted mean of its neighbours inside the image (1/6 direct, 1/12 diagonal,
    renormalised at the border), kept neighbours giving their values and removed ones being solved for: one
    sparse linear system per image, solved for all channels at once. Then Gaussian noise of standard deviation
    ``noise`` is added to the imputed values. Equal to pytorch-grad-cam's ``NoisyLinearImputer()(image, keep)``
    when the noise comes from the same stream (its ``torch.randn_like`` after ``torch.manual_seed(s)`` and here
    ``torch.Generator().manual_seed(s)``).

    Args:
        image: One image CxHxW (or 1xCxHxW), e.g. a normalised input; imputation happens on the CPU.
        keep: HxW mask, True (or 1) where the pixel is kept, False (0) where it is imputed.
        noise: Standard deviation of the noise added to the imputed values (>= 0).
        generator: Where the noise is drawn from (None: torch's global generator, as pytorch-grad-cam does).

    Returns:
        The imputed image, shaped like ``image``, on ``image``'s device.

    Example:
        >>> import torch
        >>> import xai_helpers as xh
        >>> image = torch.arange(16.0).view(1, 4, 4)                 # a linear ramp: imputation recovers it
        >>> keep = torch.ones(4, 4, dtype=torch.bool)
        >>> keep[1:3, 1:3] = False
        >>> filled = xh.evaluation.noisy_linear_imputation(image, keep, noise=0.0)
        >>> torch.allclose(filled, image, atol=1e-4)
        True
    """
    if not isinstance(noise, (int, float)) or isinstance(noise, bool) or not noise >= 0:
        raise ValueError(f"noise must be a number >= 0 (a standard deviation in the image's units), got {noise!r}.")
    squeeze = image.dim() == 4
    img = check_input(image, name="image")[0] if squeeze else check_input(image.unsqueeze(0), name="image")[0]
    mask = as_2d_map(keep, name="keep")
    if mask.shape != tuple(img.shape[-2:]):
        raise ValueError(f"keep must be a mask shaped like the image's HxW {tuple(img.shape[-2:])}, got {mask.shape}.")
    if not np.isin(mask, (0, 1)).all():
        raise ValueError("keep must be a mask of 0/1 (or booleans): True where the pixel is kept.")
    keep_np = mask.astype(bool)
    channels, n_pixels = img.shape[0], img.shape[1] * img.shape[2]
    flat = img.detach().cpu().reshape(channels, n_pixels)
    A, removed, known = _imputation_system(keep_np)
    if len(removed) == 0:
        return image.detach().clone()
    values = flat.numpy().astype(np.float64)
    b = np.zeros((len(removed), channels))
    for eq, pixels, weight in known:
        np.subtract.at(b, eq, weight * values[:, pixels].T)
    solution = scipy.sparse.linalg.spsolve(A, b).reshape(len(removed), channels)
    solved = torch.tensor(solution, dtype=torch.float32).t()                 # C x N; noise drawn in that order
    draws = torch.randn(solved.shape, generator=generator) if generator is not None else torch.randn(solved.shape)
    filled = flat.clone()
    filled[:, torch.from_numpy(removed)] = (solved + noise * draws).to(flat.dtype)
    out = filled.reshape(img.shape).to(image.device)
    return out.unsqueeze(0) if squeeze else out


@dataclass
class RoadResult(Record):
    """ROAD scores of one map at several percentiles (``road``, taught in 4.5).

    Args:
        percentiles: The percentiles p measured; at p the pixels below the map's p-th percentile are kept.
        removed: The share of pixels removed at each p (about 1 - p/100).
        scores: The change of the target's logit after the removal, one per percentile (negative: it fell).
        order: ``"morf"`` (most relevant removed first) or ``"lerf"`` (least relevant first).
        target: The class index explained.
        base_score: The target's logit on the unchanged input.

    Example:
        >>> import numpy as np
        >>> from xai_helpers.evaluation import RoadResult
        >>> r = RoadResult(percentiles=np.array([10, 90]), removed=np.array([0.9, 0.1]), scores=np.array([-4.0, -1.0]),
        ...                order="morf", target=2, base_score=6.0)
        >>> r.mean_score, list(r.to_frame().columns)
        (-2.5, ['percentile', 'removed', 'score'])
    """
    percentiles: np.ndarray
    removed: np.ndarray
    scores: np.ndarray
    order: str
    target: int
    base_score: float

    @property
    def mean_score(self) -> float:
        """The mean score over the percentiles: what pytorch-grad-cam's ROAD averages return."""
        return float(np.mean(self.scores))

    def to_frame(self) -> pd.DataFrame:
        """The scores as a table.

        Returns:
            A DataFrame with columns percentile, removed, score.

        Example:
            >>> import numpy as np
            >>> from xai_helpers.evaluation import RoadResult
            >>> RoadResult(np.array([50]), np.array([0.5]), np.array([-2.0]), "lerf", 0, 3.0).to_frame().shape
            (1, 3)
        """
        return pd.DataFrame({"percentile": self.percentiles, "removed": self.removed, "score": self.scores})

    @checked
    def show(self, ax: Axes | None = None, title: str | None = None) -> Axes:
        """The score change against the share of pixels removed.

        Args:
            ax: The axes to draw in (default: a new figure).
            title: The axis title (default "ROAD, MoRF" / "ROAD, LeRF").

        Returns:
            The axes drawn in.

        Example:
            >>> import matplotlib.pyplot as plt
            >>> import numpy as np
            >>> from xai_helpers.evaluation import RoadResult
            >>> ax = RoadResult(np.array([10, 90]), np.array([0.9, 0.1]), np.array([-4.0, -1.0]), "morf", 2, 6.0).show()
            >>> len(ax.lines), ax.get_title()                   # the scores and the zero line
            (2, 'ROAD, MoRF')
            >>> plt.close("all")
        """
        import matplotlib.pyplot as plt
        ax = ax or plt.subplots(figsize=(4.5, 3.2))[1]
        order = {"morf": "MoRF", "lerf": "LeRF"}[self.order]
        ax.plot(self.removed, self.scores, marker="o", label=f"{order} (mean {self.mean_score:.2f})")
        ax.axhline(0, color="0.6", lw=0.8)
        ax.set_xlabel("share of pixels removed (noisy linear imputation)")
        ax.set_ylabel(f"change of the logit of class {self.target}")
        ax.set_title(title or f"ROAD, {order}")
        ax.legend(fontsize=8)
        return ax


def _keep_masks(saliency, percentiles, order):
    """The HxW keep-masks of pytorch-grad-cam's RemoveMostRelevantFirst / RemoveLeastRelevantFirst."""
    m = torch.from_numpy(saliency.astype(np.float32))
    m = m if order == "morf" else 1 - m                  # LeRF: the same rule on 1 - map, as pytorch-grad-cam
    return [(m < float(np.percentile(m.numpy(), p))).numpy() for p in percentiles]


@checked
@_memory.releasing()   # the imputed images and the passes' activations go back to the system
def road(model: Model, x: torch.Tensor, target: Target, saliency: ArrayLike,
         percentiles: Sequence[int | float] = ROAD_PERCENTILES, order: str = "morf", noise: float = ROAD_NOISE,
         seed: int = 0, batch_size: int = 8) -> RoadResult:
    """ROAD (Rong et al. 2022): the target's logit after removing pixels by the map's order, imputed; taught in 4.5.

    For each percentile p the pixels are removed as in ``pytorch_grad_cam.metrics.road`` (see the module's
    docstring) and filled by ``noisy_linear_imputation``; the filled images go through the model in batches.
    The noise is drawn from one generator seeded with ``seed``, percentile after percentile, so the result
    equals ``ROADMostRelevantFirst(p)`` (``order="morf"``) / ``ROADLeastRelevantFirst(p)`` (``"lerf"``) and
    their averages over ``percentiles`` after ``torch.manual_seed(seed)``.

    Args:
        model: An ``ImageModel`` or a plain ``nn.Module`` returning class scores (logits).
        x: One normalised input 1xCxHxW on the model's device.
        target: The class whose logit is followed: an index, a class name or a one-element tensor.
        saliency: The map, HxW (larger = more relevant); resized to x's HxW if needed.
        percentiles: The percentiles p in (0, 100) to measure.
        order: ``"morf"`` (remove the most relevant first) or ``"lerf"`` (the least relevant first).
        noise: Standard deviation of the imputation's noise, in the model's input space (>= 0).
        seed: Seed of the noise.
        batch_size: Imputed images per forward pass.

    Returns:
        A ``RoadResult``: percentiles, removed shares, scores (logit after - before), order, target, base_score.

    Example:
        >>> import torch
        >>> from torch import nn
        >>> import xai_helpers as xh
        >>> net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 2))
        >>> x = torch.rand(1, 3, 8, 8)
        >>> result = xh.evaluation.road(net.eval(), x, 1, torch.rand(8, 8), percentiles=(20, 80))
        >>> result.scores.shape, result.removed.round(1).tolist()
        ((2,), [0.8, 0.2])
    """
    module, labels, x = module_and_input(model, x)
    if order not in ROAD_ORDERS:
        raise ValueError(f"order must be one of {', '.join(map(repr, ROAD_ORDERS))}, got {order!r}.")
    batch_size = check_count(batch_size, "batch_size")
    ps = np.asarray(list(percentiles), dtype=float) if not isinstance(percentiles, (str, bytes)) else np.array([])
    if ps.ndim != 1 or len(ps) == 0 or not ((ps > 0) & (ps < 100)).all():
        raise ValueError(f"percentiles must be numbers in (0, 100), e.g. (10, 20, ..., 90); got {percentiles!r}.")
    m = as_2d_map(saliency, tuple(x.shape[-2:]), name="saliency")
    if not np.isfinite(m).all():
        raise ValueError("saliency contains NaN or infinite values; it cannot rank pixels.")
    generator = torch.Generator().manual_seed(int(seed))
    keeps = _keep_masks(m, ps.tolist(), order)
    images = torch.cat([noisy_linear_imputation(x.detach(), k, noise=noise, generator=generator) for k in keeps])
    with torch.no_grad(), eval_mode(module):       # channels-last: the CPU's faster layout for convolutions
        base = module(x.detach().contiguous(memory_format=torch.channels_last))
        target = resolve_target(target, base.shape[1], labels)
        after = torch.cat([module(images[i:i + batch_size].contiguous(memory_format=torch.channels_last))[:, target]
                           for i in range(0, len(images), batch_size)])
    scores = (after.float().cpu() - base[0, target].float().cpu()).numpy()
    removed = np.array([1 - k.mean() for k in keeps])
    del images, after
    return RoadResult(percentiles=ps, removed=removed, scores=scores, order=order, target=target,
                      base_score=float(base[0, target]))
