"""The evaluation-set loaders of ``xai_helpers.data`` given wrong kinds of arguments (harness: fuzz_support.py).

They read the shipped files only (no model), so they belong to the unit tier.
"""
import pytest

from fuzz_support import Case, fuzz
from xai_helpers import data as D

CASES = {
    "load_photo_set": Case(D.load_photo_set, dict),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_wrong_kinds_of_arguments_get_a_clear_error(name):
    fuzz(CASES[name])
