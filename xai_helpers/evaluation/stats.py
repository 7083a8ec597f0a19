"""Uncertainty for the course's verdicts: bootstrap intervals, paired comparisons, many random draws.

A verdict such as "Grad-CAM points better than random" is measured on a set (photos, scenes, sentences,
seeds), not on one item. ``interval`` gives a mean with its 95 % bootstrap interval; ``compare`` pairs two
methods scored on the same items and says which is better only where the interval of the difference
excludes zero (else "the set cannot tell them apart"); ``spread`` summarises many draws of a random
reference; ``holm`` corrects p-values when several hypotheses are tested at once. ``show_intervals`` and
``show_differences`` (in ``figures``) draw them with seaborn.
"""
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from .._typecheck import checked
from .._validate import readable_tensor
from ..viz.plotting import ArrayLike

__all__ = ["Interval", "Comparison", "Spread", "interval", "compare", "spread", "holm", "LEVEL", "N_BOOT"]

#: The confidence level of every interval the course prints (95 %).
LEVEL: float = 0.95
#: Bootstrap resamples behind each interval: enough that the interval's ends move < 1 % between seeds.
N_BOOT: int = 4000
#: Largest number of items for which the sign-flip test enumerates every sign pattern exactly.
_EXACT_FLIPS = 16


def _values(values, name, minimum=2):
    arr = as_float64(values, name)
    if arr.size < minimum:
        raise ValueError(f"{name} needs at least {minimum} values to measure its uncertainty, got {arr.size}. "
                         "Score the method on more items (photos, scenes, sentences or seeds).")
    if not np.isfinite(arr).all():
        bad = int((~np.isfinite(arr)).sum())
        raise ValueError(f"{name} holds {bad} NaN or infinite value(s); drop or fix those items first.")
    return arr


def as_float64(values, name):
    """Numbers (a sequence, an array or a tensor on any device) -> a flat float64 numpy array; else a clear error."""
    if not hasattr(values, "detach"):
        values = np.array(values, dtype=object) if not isinstance(values, np.ndarray) else values.copy()
    t = readable_tensor(values if hasattr(values, "detach") else _numeric(values, name), name)
    if t.is_complex():
        raise TypeError(f"{name} must hold real numbers; got {t.dtype}.")
    return t.cpu().double().numpy().reshape(-1)


def _numeric(arr, name):
    try:
        return arr.astype(np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be numbers (a list, an array or a tensor), got {arr.dtype} values such as "
                        f"{arr.reshape(-1)[:1].tolist()}.") from None


def _check_level(level):
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1 (e.g. 0.95 for a 95 % interval), got {level}.")


def _statistic(statistic):
    if callable(statistic):
        return statistic
    table = {"mean": np.mean, "median": np.median}
    if statistic not in table:
        raise ValueError(f"statistic must be 'mean', 'median' or a function of a 1-D array, got {statistic!r}.")
    return table[statistic]


def _bootstrap(arr, stat, level, n_boot, seed):
    """Percentile bootstrap: (low, high) of ``stat`` over resamples of ``arr`` with replacement."""
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, arr.size, size=(n_boot, arr.size))
    resampled = arr[idx]
    if stat is np.mean:
        boots = resampled.mean(axis=1)
    elif stat is np.median:
        boots = np.median(resampled, axis=1)
    else:
        boots = np.array([stat(row) for row in resampled], dtype=np.float64)
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(boots, [tail, 100 - tail])
    return float(low), float(high)


@dataclass(frozen=True)
class Interval:
    """An estimate with its confidence interval over ``n`` items (made by ``interval``; taught in 4.5).

    Args:
        estimate: The statistic on all items (by default their mean).
        low: Lower end of the interval.
        high: Upper end of the interval.
        n: How many items it rests on.
        level: The interval's confidence level (0.95 = 95 %).

    Example:
        >>> from xai_helpers.evaluation import Interval
        >>> ci = Interval(0.5, 0.4, 0.6, 30)
        >>> str(ci), ci.excludes(0.0), ci.contains(0.45)
        ('0.50 [0.40, 0.60]', True, True)
    """
    estimate: float
    low: float
    high: float
    n: int
    level: float = LEVEL

    def __str__(self):
        return self.format()

    @checked
    def format(self, digits: int = 2, percent: bool = False) -> str:
        """The interval as text, e.g. ``"0.50 [0.40, 0.60]"`` or, with ``percent``, ``"50 % [40, 60]"``.

        Args:
            digits: Decimals shown (of the percentage when ``percent``).
            percent: Show the values times 100 with a % sign.

        Returns:
            The estimate followed by the interval in brackets.

        Example:
            >>> from xai_helpers.evaluation import Interval
            >>> Interval(0.5, 0.4, 0.6, 30).format(percent=True, digits=0)
            '50 % [40, 60]'
        """
        if digits < 0:
            raise ValueError(f"digits must be 0 or more, got {digits}.")
        k = 100.0 if percent else 1.0
        unit = " %" if percent else ""
        return f"{self.estimate * k:.{digits}f}{unit} [{self.low * k:.{digits}f}, {self.high * k:.{digits}f}]"

    @checked
    def excludes(self, value: float = 0.0) -> bool:
        """Whether ``value`` lies outside the interval (e.g. a difference that is not zero).

        Args:
            value: The value to test, by default 0.

        Returns:
            ``True`` when ``value`` is below ``low`` or above ``high``.

        Example:
            >>> from xai_helpers.evaluation import Interval
            >>> Interval(0.1, -0.05, 0.2, 30).excludes(0.0)
            False
        """
        return value < self.low or value > self.high

    @checked
    def contains(self, value: float) -> bool:
        """Whether ``value`` lies inside the interval (ends included).

        Args:
            value: The value to test.

        Returns:
            ``True`` when ``low <= value <= high``.

        Example:
            >>> from xai_helpers.evaluation import Interval
            >>> Interval(0.1, -0.05, 0.2, 30).contains(0.0)
            True
        """
        return self.low <= value <= self.high


@checked
def interval(values: ArrayLike | Sequence[float], statistic: str | Callable = "mean", level: float = LEVEL,
             n_boot: int = N_BOOT, seed: int = 0) -> Interval:
    """The mean (or another statistic) of per-item values with its percentile-bootstrap interval (taught in 4.5).

    Each item (a photo, a scene, a sentence, a seed) contributes one value; the interval says where the
    statistic of the population those items stand for plausibly lies.

    Args:
        values: One number per item (at least two).
        statistic: ``"mean"`` (default), ``"median"`` or a function of a 1-D array returning a number.
        level: Confidence level, 0.95 for a 95 % interval.
        n_boot: Bootstrap resamples.
        seed: Seed of the resampling (the interval's ends move a little with it, the reading must not).

    Returns:
        An ``Interval`` (estimate, low, high, n, level).

    Raises:
        ValueError: Fewer than two values, NaN values, or a level outside (0, 1).

    Example:
        >>> from xai_helpers.evaluation import interval
        >>> ci = interval([0.2, 0.4, 0.3, 0.5, 0.35, 0.45])
        >>> round(ci.estimate, 3), ci.low < ci.estimate < ci.high, ci.n
        (0.367, True, 6)
    """
    arr = _values(values, "values")
    _check_level(level)
    if n_boot < 100:
        raise ValueError(f"n_boot must be at least 100 for a stable interval, got {n_boot}.")
    stat = _statistic(statistic)
    low, high = _bootstrap(arr, stat, level, n_boot, seed)
    return Interval(float(stat(arr)), low, high, int(arr.size), level)


def _sign_flip_p(diff, seed, n_draws=20000):
    """Two-sided p-value of the paired sign-flip (permutation) test of mean(diff) = 0."""
    observed = abs(diff.mean())
    if observed == 0:
        return 1.0
    n = diff.size
    if n <= _EXACT_FLIPS:
        signs = ((np.arange(2 ** n)[:, None] >> np.arange(n)) & 1) * 2 - 1
    else:
        # the signs rng.choice([-1.0, 1.0], size) draws, without its copy per draw
        signs = np.array([-1.0, 1.0])[np.random.default_rng(seed).integers(0, 2, size=(n_draws, n))]
    means = np.abs(signs @ diff) / n          # one matrix-vector product: ~4x faster than (signs * diff).mean(1)
    tol = 1e-12 * max(1.0, observed)
    count = int((means >= observed - tol).sum())
    if n <= _EXACT_FLIPS:
        return count / signs.shape[0]
    return (count + 1) / (n_draws + 1)


@dataclass(frozen=True)
class Comparison:
    """Two methods (settings, models) scored on the same items: their paired difference and the verdict.

    Made by ``compare`` (taught in 4.5). ``winner`` is the better one's name, or ``None`` when the interval
    of the difference covers zero: then the set cannot tell them apart.

    Args:
        a: Name of the first.
        b: Name of the second.
        a_score: Interval of the first one's scores.
        b_score: Interval of the second one's scores.
        difference: Interval of the per-item difference a - b.
        p_value: Two-sided p-value of the paired sign-flip test (no difference on average).
        higher_is_better: Whether larger scores are better (``False`` e.g. for a deletion AUC).
        unit: What the items are, for the reading ("photos", "scenes", "sentences", "seeds").

    Example:
        >>> from xai_helpers.evaluation import compare
        >>> c = compare([0.9, 0.8, 0.85, 0.95, 0.7, 0.9], [0.5, 0.6, 0.4, 0.55, 0.5, 0.45], names=("CAM", "random"))
        >>> c.winner
        'CAM'
    """
    a: str
    b: str
    a_score: Interval
    b_score: Interval
    difference: Interval
    p_value: float
    higher_is_better: bool = True
    unit: str = "items"

    @property
    def winner(self) -> str | None:
        """The better one's name, or ``None`` when the interval of the difference covers zero."""
        if not self.difference.excludes(0.0):
            return None
        a_higher = self.difference.low > 0
        return self.a if a_higher == self.higher_is_better else self.b

    @property
    def tie(self) -> bool:
        """``True`` when the set cannot tell the two apart (the difference's interval covers zero)."""
        return self.winner is None

    def reading(self, digits: int = 2) -> str:
        """The verdict in one plain sentence with the numbers behind it.

        Args:
            digits: Decimals of the printed values.

        Returns:
            E.g. ``"CAM scores higher than random: difference 0.33 [0.25, 0.40] over 6 items (p = 0.031)."``

        Example:
            >>> from xai_helpers.evaluation import compare
            >>> compare([1.0, 2.0, 3.0], [1.1, 1.9, 3.05], names=("A", "B")).reading()[:35]
            'The set cannot tell A and B apart: '
        """
        d = self.difference.format(digits)
        tail = f"difference {self.a} − {self.b} = {d} over {self.difference.n} {self.unit} (p = {self.p_value:.3g})."
        if self.winner is None:
            return f"The set cannot tell {self.a} and {self.b} apart: {tail}"
        loser = self.b if self.winner == self.a else self.a
        better = "higher" if self.higher_is_better else "lower"
        return f"{self.winner} scores {better} (better) than {loser}: {tail}"

    def __str__(self):
        return self.reading()


@checked
def compare(a: ArrayLike | Sequence[float], b: ArrayLike | Sequence[float], names: Sequence[str] = ("A", "B"),
            higher_is_better: bool = True, unit: str = "items", level: float = LEVEL, n_boot: int = N_BOOT,
            seed: int = 0) -> Comparison:
    """Compare two sets of scores measured on the same items, pair by pair (taught in 4.5).

    The difference a - b is taken per item (photo, scene, sentence, seed); its mean gets a bootstrap
    interval and a sign-flip permutation p-value. One is called better only when that interval excludes
    zero; otherwise ``winner`` is ``None`` and the reading says the set cannot tell them apart.

    Args:
        a: The first one's score on each item.
        b: The second one's score on the same items, in the same order.
        names: Names of the two, used in the reading.
        higher_is_better: ``True`` when larger scores are better; ``False`` for e.g. deletion AUC.
        unit: What the items are ("photos", "scenes", ...), used in the reading.
        level: Confidence level of the intervals.
        n_boot: Bootstrap resamples.
        seed: Seed of the resampling and of the permutation test.

    Returns:
        A ``Comparison``: both scores' intervals, the difference's interval, the p-value and ``winner``.

    Raises:
        ValueError: ``a`` and ``b`` differ in length, hold fewer than two items or NaN, or ``names`` is not
            two distinct names.

    Example:
        >>> from xai_helpers.evaluation import compare
        >>> c = compare([0.2, 0.3, 0.25, 0.2], [0.5, 0.6, 0.55, 0.7], names=("Grad-CAM", "black"),
        ...             higher_is_better=False, unit="photos")
        >>> c.winner, c.difference.high < 0
        ('Grad-CAM', True)
    """
    a_arr, b_arr = _values(a, "a"), _values(b, "b")
    if a_arr.size != b_arr.size:
        raise ValueError(f"a and b must score the same items in the same order: got {a_arr.size} and "
                         f"{b_arr.size} values.")
    names = tuple(str(n) for n in names)
    if len(names) != 2 or names[0] == names[1]:
        raise ValueError(f"names must be two different names, got {names!r}.")
    _check_level(level)
    diff = a_arr - b_arr
    return Comparison(names[0], names[1], interval(a_arr, level=level, n_boot=n_boot, seed=seed),
                      interval(b_arr, level=level, n_boot=n_boot, seed=seed),
                      interval(diff, level=level, n_boot=n_boot, seed=seed), _sign_flip_p(diff, seed),
                      bool(higher_is_better), unit)


@dataclass(frozen=True)
class Spread:
    """Many draws of a random reference (random maps, deletion orders, seeds): where they fall (made by ``spread``).

    Args:
        mean: The draws' mean.
        low: Lower end of the central ``level`` share of the draws (2.5th percentile for 95 %).
        high: Upper end of that share (97.5th percentile).
        minimum: The smallest draw.
        maximum: The largest draw.
        n: How many draws.
        level: Share of draws between ``low`` and ``high``.

    Example:
        >>> from xai_helpers.evaluation import spread
        >>> s = spread(range(100))
        >>> s.minimum, s.maximum, s.n
        (0.0, 99.0, 100)
    """
    mean: float
    low: float
    high: float
    minimum: float
    maximum: float
    n: int
    level: float = LEVEL

    def __str__(self):
        return (f"{self.mean:.2f} (middle {self.level:.0%} of {self.n} draws: {self.low:.2f} to {self.high:.2f}; "
                f"range {self.minimum:.2f} to {self.maximum:.2f})")

    @checked
    def position(self, value: float) -> float:
        """Share of the draws at or below ``value`` (0 = below every draw, 1 = at or above every draw).

        Args:
            value: A method's score to place among the random draws.

        Returns:
            The empirical quantile of ``value`` among the draws, in [0, 1] (needs the draws: see ``spread``).

        Example:
            >>> from xai_helpers.evaluation import spread
            >>> spread(range(100)).position(89.5)
            0.9
        """
        if self._draws is None:
            raise ValueError("This Spread was built without its draws; make it with spread(values).")
        return float((self._draws <= value).mean())

    _draws = None


@checked
def spread(values: ArrayLike | Sequence[float], level: float = LEVEL) -> Spread:
    """Summarise many draws of a random reference: mean, central ``level`` range, minimum and maximum (4.5).

    Unlike ``interval`` (uncertainty of a mean), this describes the draws themselves: a method beats a
    random reference only if its score lies outside where the random draws fall.

    Args:
        values: One score per draw (at least two; use 20 or more).
        level: Share of the draws the central range holds.

    Returns:
        A ``Spread``; ``.position(score)`` tells what share of the draws a score reaches.

    Raises:
        ValueError: Fewer than two draws, NaN draws, or a level outside (0, 1).

    Example:
        >>> from xai_helpers.evaluation import spread
        >>> s = spread([0.1, 0.5, 0.3, 0.9, 0.2])
        >>> round(s.mean, 2), s.maximum
        (0.4, 0.9)
    """
    arr = _values(values, "values")
    _check_level(level)
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(arr, [tail, 100 - tail])
    result = Spread(float(arr.mean()), float(low), float(high), float(arr.min()), float(arr.max()), int(arr.size),
                    level)
    object.__setattr__(result, "_draws", np.sort(arr))
    return result


@checked
def holm(p_values: Mapping[str, float] | Sequence[float], alpha: float = 0.05) -> dict | list:
    """Holm's correction for testing several hypotheses at once: which ones still count as found (4.5).

    Testing k hypotheses at level ``alpha`` each finds something by chance far more often than ``alpha``;
    Holm's step-down method keeps the chance of any false finding at ``alpha``.

    Args:
        p_values: One p-value per hypothesis, as a list or a ``{name: p}`` mapping.
        alpha: The family-wise error rate to keep.

    Returns:
        Holm-adjusted p-values in the same form (list or dict); a hypothesis is found when its adjusted
        p-value is below ``alpha``.

    Raises:
        ValueError: A p-value outside [0, 1], no p-values, or ``alpha`` outside (0, 1).

    Example:
        >>> from xai_helpers.evaluation import holm
        >>> holm({"negation": 0.01, "contrast": 0.04, "intensifier": 0.03})
        {'negation': 0.03, 'contrast': 0.06, 'intensifier': 0.06}
    """
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be between 0 and 1, got {alpha}.")
    names = list(p_values) if isinstance(p_values, Mapping) else None
    ps = as_float64([p_values[k] for k in names] if names is not None else list(p_values), "p_values")
    if ps.size == 0:
        raise ValueError("p_values is empty: pass one p-value per hypothesis.")
    if not ((ps >= 0) & (ps <= 1)).all():
        raise ValueError(f"p_values must lie in [0, 1], got {ps.tolist()}.")
    order = np.argsort(ps, kind="stable")
    k = ps.size
    adjusted = np.empty(k)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (k - rank) * ps[i]))
        adjusted[i] = running
    adjusted = [float(round(v, 12)) for v in adjusted]
    return dict(zip(names, adjusted)) if names is not None else adjusted
