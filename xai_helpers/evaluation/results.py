"""The records evaluation returns: dataclasses with ``.show()`` (a figure or the table) and ``.to_frame()``.

Fields are attributes (``result.table``); they also read by key (``result["table"]``), like a dict.
"""
import dataclasses
from dataclasses import dataclass

import numpy as np
from IPython.display import display
import pandas as pd

from .figures import show_randomisation

__all__ = ["Record", "Curves", "FaithfulnessResult", "PointingResult", "RandomisationResult"]


class Record:
    """Base of the evaluation records: dict-style reading of the fields, ``to_frame()`` and ``show()``."""

    def __getitem__(self, key):
        if key in self.keys():
            return getattr(self, key)
        raise KeyError(f"{key!r}: this {type(self).__name__} has {', '.join(self.keys())}.")

    def __contains__(self, key):
        return key in self.keys()

    def keys(self):
        return [f.name for f in dataclasses.fields(self)]

    def to_frame(self):
        """The record's main table (pandas DataFrame)."""
        return self.table

    def show(self):
        """Display the main table (in Jupyter) or print it; returns the DataFrame."""
        frame = self.to_frame()
        try:
            display(frame)
        except ImportError:       # pragma: no cover  (IPython ships with the course's Jupyter)
            print(frame)
        return frame


@dataclass
class Curves(Record):
    """Deletion and insertion curves of one map: class probability after removing / revealing a share of pixels."""
    fractions: np.ndarray
    deletion: np.ndarray
    insertion: np.ndarray
    deletion_auc: float
    insertion_auc: float
    target: int
    replacement: str

    def to_frame(self):
        return pd.DataFrame({"fraction": self.fractions, "deletion": self.deletion, "insertion": self.insertion})

    def show(self, ax=None, title=None):
        """Both curves in one axis (probability of the target class vs share of pixels); returns the axis."""
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
    """``per_image[image][replacement][method]`` -> ``Curves``; ``table``: one row per image x replacement x
    method; ``mean``: one row per method, "deletion <replacement>" / "insertion <replacement>" AUCs."""
    per_image: dict
    table: object
    mean: object
    fractions: np.ndarray

    def to_frame(self):
        return self.mean


@dataclass
class PointingResult(Record):
    """``hits[method]``: (photo, class, hit or None); ``score[method]``: hit rate; ``table``: per method."""
    hits: dict
    score: dict
    table: object
    tolerance: float


@dataclass
class RandomisationResult(Record):
    """Cascading randomisation: ``table`` (rho per image x seed x depth x method), ``floor`` (two random seeds),
    ``maps[method]`` ((1 + depths) x images x H x W, the trained model's first) and the stages."""
    table: object
    floor: object
    depths: list
    labels: list
    stages: list
    targets: dict
    images: list
    maps: dict

    def show(self, titles=None, ax=None):
        """Correlation with the trained map vs depth, signed and |map| (``show_randomisation``)."""
        return show_randomisation(self, titles=titles, ax=ax)
