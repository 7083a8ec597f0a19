"""Every import inside a function of the package has a reason (the rule and its own test: tests/unit/test_layers.py).

A system test: it starts a fresh interpreter to see which modules ``import xai_helpers`` loads.
"""
from unit.test_layers import INNER, TOP, _loaded_by_import, _needless


def test_every_in_function_import_has_a_reason():
    assert len(INNER) > 10                                      # the scan sees them
    assert _needless(INNER, TOP, _loaded_by_import()) == []
