"""The loaders of the shipped ground-truth CNNs given wrong kinds of arguments (harness: fuzz_support.py).

They read checkpoints from the package's assets, which the unit tier does not load.
"""
import pytest

from fuzz_support import Case, fuzz
from xai_helpers.evaluation import groundtruth as gt

CASES = {
    "load_digit_cnn": Case(gt.load_digit_cnn, lambda: dict(strength=0.5, seed=1)),
    "load_case": Case(gt.load_case, lambda: {}),     # no argument: the valid call is the whole case
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_wrong_kinds_of_arguments_get_a_clear_error(name):
    fuzz(CASES[name])


def test_load_case_gives_a_model_that_reads_its_scenes():
    model, scenes = gt.load_case()
    assert isinstance(model, gt.DigitCNN) and len(scenes) == 300
    assert gt.predict_classes(model, scenes.images[:4]).shape == (4,)
