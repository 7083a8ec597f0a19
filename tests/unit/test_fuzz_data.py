"""The evaluation-set loaders of ``xai_helpers.data`` given wrong kinds of arguments (harness: fuzz_support.py).

They read the shipped files only (no model), so they belong to the unit tier.
"""
import pytest

from fuzz_support import Case, fuzz
from xai_helpers import data as D

CASES = {
    "load_photo_set": Case(D.load_photo_set, dict),
    "load_composite_scenes": Case(D.load_composite_scenes, lambda: dict(n=2, seed=0)),
    "load_digit_scenes": Case(D.load_digit_scenes, lambda: dict(split="test", n=2)),
    "load_sentence_corpus": Case(D.load_sentence_corpus, dict),
    "load_minimal_pairs": Case(D.load_minimal_pairs, dict),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_wrong_kinds_of_arguments_get_a_clear_error(name):
    fuzz(CASES[name])
