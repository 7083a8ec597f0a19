"""The base of the evaluation records: fields read as attributes and by key, ``to_frame()`` and ``show()``."""
import dataclasses

import pandas as pd
from IPython.display import display

__all__ = ["Record"]


class Record:
    """Base of the evaluation records: dict-style reading of the fields, ``to_frame()`` and ``show()``.

    Example:
        >>> import pandas as pd
        >>> from xai_helpers.evaluation import PointingResult
        >>> result = PointingResult(hits={}, score={"grad_cam": 0.5}, table=pd.DataFrame({"hit rate": [0.5]}),
        ...                         tolerance=15)
        >>> result.keys(), result["score"], "table" in result
        (['hits', 'score', 'table', 'tolerance'], {'grad_cam': 0.5}, True)
    """

    def __getitem__(self, key):
        if key in self.keys():
            return getattr(self, key)
        raise KeyError(f"{key!r}: this {type(self).__name__} has {', '.join(self.keys())}.")

    def __contains__(self, key):
        return key in self.keys()

    def keys(self) -> list[str]:
        """The names of the record's fields, in order (as ``dict.keys()``).

        Returns:
            A list of field names.

        Example:
            >>> import pandas as pd
            >>> from xai_helpers.evaluation import PointingResult
            >>> PointingResult(hits={}, score={}, table=pd.DataFrame(), tolerance=15).keys()
            ['hits', 'score', 'table', 'tolerance']
        """
        return [f.name for f in dataclasses.fields(self)]

    def to_frame(self) -> pd.DataFrame:
        """The record's main table.

        Returns:
            A pandas DataFrame (for most records the ``table`` field).

        Example:
            >>> import pandas as pd
            >>> from xai_helpers.evaluation import PointingResult
            >>> frame = PointingResult(hits={}, score={}, table=pd.DataFrame({"hits": [3]}), tolerance=15).to_frame()
            >>> frame["hits"].tolist()
            [3]
        """
        return self.table

    def show(self) -> pd.DataFrame:
        """Display the main table (in Jupyter; printed elsewhere).

        Returns:
            The DataFrame shown (``to_frame()``).

        Example:
            >>> import pandas as pd
            >>> from xai_helpers.evaluation import PointingResult
            >>> frame = PointingResult(hits={}, score={}, table=pd.DataFrame({"hits": [3]}), tolerance=15).show()
               hits
            0     3
        """
        frame = self.to_frame()
        display(frame)
        return frame
