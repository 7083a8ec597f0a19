"""The records evaluation returns: dataclasses with ``.show()`` (a figure or the table) and ``.to_frame()``.

Fields are attributes (``result.table``); they also read by key (``result["table"]``), like a dict.
"""
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from .._typecheck import checked
from .figures import show_randomisation
from .record import Record

__all__ = ["Record", "Curves", "FaithfulnessResult", "PointingResult", "RandomisationResult"]


@dataclass
class Curves(Record):
    """Deletion and insertion curves of one map: class probability after removing / revealing a share of pixels.

    Made by ``deletion_insertion_curves`` (taught in 4.5).

    Args:
        fractions: The shares of pixels removed or revealed, from 0 to 1.
        deletion: The target's probability after deleting each share of the most important pixels.
        insertion: The target's probability after revealing each share, starting from the replacement image.
        deletion_auc: Area under the deletion curve (lower = more faithful).
        insertion_auc: Area under the insertion curve (higher = more faithful).
        target: The class index explained.
        replacement: What deleted pixels became: ``"black"`` or ``"blur"``.

    Example:
        >>> import numpy as np
        >>> from xai_helpers.evaluation import Curves
        >>> c = Curves(fractions=np.array([0, 0.5, 1]), deletion=np.array([0.9, 0.2, 0.1]),
        ...            insertion=np.array([0.1, 0.6, 0.9]), deletion_auc=0.35, insertion_auc=0.55, target=3,
        ...            replacement="black")
        >>> c.to_frame().shape, c["deletion_auc"]
        ((3, 3), 0.35)
    """
    fractions: np.ndarray
    deletion: np.ndarray
    insertion: np.ndarray
    deletion_auc: float
    insertion_auc: float
    target: int
    replacement: str

    def to_frame(self) -> pd.DataFrame:
        """The curves as a table.

        Returns:
            A DataFrame with columns fraction, deletion, insertion.

        Example:
            >>> import numpy as np
            >>> from xai_helpers.evaluation import Curves
            >>> c = Curves(np.array([0, 1]), np.array([0.9, 0.1]), np.array([0.1, 0.9]), 0.5, 0.5, 0, "blur")
            >>> list(c.to_frame().columns)
            ['fraction', 'deletion', 'insertion']
        """
        return pd.DataFrame({"fraction": self.fractions, "deletion": self.deletion, "insertion": self.insertion})

    @checked
    def show(self, ax: Axes | None = None, title: str | None = None) -> Axes:
        """Both curves in one axis: probability of the target class vs share of pixels.

        Args:
            ax: The axes to draw in (default: a new figure).
            title: The axis title (default "Deletion and insertion").

        Returns:
            The axes drawn in.

        Example:
            >>> import matplotlib.pyplot as plt
            >>> import numpy as np
            >>> from xai_helpers.evaluation import Curves
            >>> c = Curves(np.array([0, 1]), np.array([0.9, 0.1]), np.array([0.1, 0.9]), 0.5, 0.5, 0, "blur")
            >>> ax = c.show()
            >>> len(ax.lines), ax.get_title()
            (2, 'Deletion and insertion')
            >>> plt.close("all")
        """
        import matplotlib.pyplot as plt
        ax = ax or plt.subplots(figsize=(4.5, 3.2))[1]
        ax.plot(self.fractions, self.deletion, marker="o", label=f"deletion (AUC {self.deletion_auc:.2f})")
        ax.plot(self.fractions, self.insertion, marker="s", label=f"insertion (AUC {self.insertion_auc:.2f})")
        ax.set_xlabel(f"share of pixels removed / revealed ({self.replacement})")
        ax.set_ylabel(f"probability of class {self.target}")
        ax.set_ylim(0, 1.02)
        ax.set_title(title or "Deletion and insertion")
        ax.legend(fontsize=8)
        return ax


@dataclass
class FaithfulnessResult(Record):
    """Deletion and insertion AUCs of several methods over images and replacements (``faithfulness``, 4.5).

    Args:
        per_image: ``per_image[image][replacement][method]`` -> the ``Curves`` of that map.
        table: A DataFrame, one row per image x replacement x method (deletion_auc, insertion_auc).
        mean: A DataFrame, one row per method: "deletion <replacement>" / "insertion <replacement>" AUCs
            averaged over the images.
        fractions: The shares of pixels at which the curves were measured.

    Example:
        >>> import numpy as np
        >>> import pandas as pd
        >>> from xai_helpers.evaluation import FaithfulnessResult
        >>> mean = pd.DataFrame({"deletion black": [0.2]}, index=["grad_cam"])
        >>> FaithfulnessResult(per_image={}, table=pd.DataFrame(), mean=mean, fractions=np.linspace(0, 1, 3)).to_frame()
                  deletion black
        grad_cam             0.2
    """
    per_image: dict
    table: pd.DataFrame
    mean: pd.DataFrame
    fractions: np.ndarray

    def to_frame(self) -> pd.DataFrame:
        """The mean AUCs per method.

        Returns:
            The ``mean`` DataFrame.

        Example:
            >>> import numpy as np
            >>> import pandas as pd
            >>> from xai_helpers.evaluation import FaithfulnessResult
            >>> r = FaithfulnessResult({}, pd.DataFrame(), pd.DataFrame({"deletion black": [0.2]}), np.zeros(2))
            >>> r.to_frame().shape
            (1, 1)
        """
        return self.mean


@dataclass
class PointingResult(Record):
    """The pointing game of several methods (``pointing_game``, 4.5).

    Args:
        hits: ``hits[method]``: a list of (photo, class, hit True/False, or None when not scored).
        score: ``score[method]``: the hit rate over the scored trials.
        table: A DataFrame per method: hits, trials, hit rate, chance and "p (luck)".
        tolerance: The pixels around a box that still counted as a hit.

    Example:
        >>> import pandas as pd
        >>> from xai_helpers.evaluation import PointingResult
        >>> r = PointingResult(hits={"grad_cam": [("cat", "tabby", True)]}, score={"grad_cam": 1.0},
        ...                    table=pd.DataFrame(), tolerance=15)
        >>> r.score["grad_cam"], r["tolerance"]
        (1.0, 15)
    """
    hits: dict
    score: dict
    table: pd.DataFrame
    tolerance: float


@dataclass
class RandomisationResult(Record):
    """Cascading randomisation of the model's weights (``model_randomisation_test``, 4.5).

    Args:
        table: A DataFrame of Spearman rho per image x seed x depth x method (signed ``rho``, ``rho_abs`` of |map|).
        floor: The same correlations between the fully randomised copies of two seeds (what chance leaves).
        depths: The numbers of top stages randomised.
        labels: The deepest stage randomised at each depth.
        stages: All stage names, from the output down.
        targets: The class index explained, per image.
        images: The images' keys.
        maps: ``maps[method]``: an array (1 + depths) x images x H x W, the trained model's maps first.

    Example:
        >>> import pandas as pd
        >>> from xai_helpers.evaluation import RandomisationResult
        >>> r = RandomisationResult(table=pd.DataFrame(), floor=pd.DataFrame(), depths=[1, 2], labels=["fc", "conv"],
        ...                         stages=["fc", "conv"], targets={"cat": 0}, images=["cat"], maps={})
        >>> r.depths, r["labels"]
        ([1, 2], ['fc', 'conv'])
    """
    table: pd.DataFrame
    floor: pd.DataFrame
    depths: list
    labels: list
    stages: list
    targets: dict
    images: list
    maps: dict

    @checked
    def show(self, titles: dict[str, str] | None = None, ax: Sequence[Axes] | np.ndarray | None = None) -> Figure:
        """Correlation with the trained map vs depth, signed and |map| (``show_randomisation``).

        Args:
            titles: Method -> legend label, for methods whose registry title is not wanted.
            ax: Two axes to draw in (default: a new figure).

        Returns:
            The figure.

        Example:
            >>> from xai_helpers.evaluation import RandomisationResult
            >>> import pandas as pd
            >>> table = pd.DataFrame({"method": ["edge_map"], "depth": [1], "rho": [0.9], "rho_abs": [0.9]})
            >>> result = RandomisationResult(table, None, [1], ["fc"], ["fc"], {}, [], {})
            >>> fig = result.show(titles={"edge_map": "edges"})
            >>> fig.axes[0].get_title()
            "Spearman rho with the trained model's map: signed map"
            >>> fig.clear()
        """
        return show_randomisation(self, titles=titles, ax=ax)
