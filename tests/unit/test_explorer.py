"""The interactive explorers, driven from their Python side: value changes recompute,
bad uploads become a message in the widget, stale choices are superseded, nothing is left behind."""
import types

import pytest

from xai_helpers.explore import runner as ex

pytest.importorskip("ipywidgets")


# --------------------------------------------------------------------------------- static / interactive


def test_interactive_auto_detection_follows_the_kernel(monkeypatch):
    assert ex.in_jupyter_kernel() is False
    fake = types.SimpleNamespace(get_ipython=lambda: types.SimpleNamespace(kernel=object()))
    monkeypatch.setitem(__import__("sys").modules, "IPython", fake)
    assert ex.in_jupyter_kernel() is True and ex.resolve_interactive(None) is True
    assert ex.resolve_interactive(False) is False
    with pytest.raises(TypeError, match="interactive must be"):
        ex.resolve_interactive("yes")
