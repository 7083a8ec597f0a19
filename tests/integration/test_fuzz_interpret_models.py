"""The parts of ``xai_helpers.interpret`` that need a pretrained model -- the text interpreter wraps the sentiment
classifier, the scene figure the course's ViT -- given wrong kinds of arguments (harness: fuzz_support.py).
The loaders cache the models, so each loads once.
"""
import matplotlib
import pytest
import torch
from matplotlib import pyplot as plt

import xai_helpers as xh
from fuzz_support import Case, fuzz

matplotlib.use("Agg")

SELF = {"self": "the interpreter the method is called on"}
TCI = xh.interpret.TextClassifierInterpreter


def _interpreter():
    return TCI(xh.load_text_classifier(), n_steps=2)


def _ids():
    return xh.load_text_classifier().encode(["A great film."])["input_ids"]


def _axes():
    plt.close("all")  # one valid call's figure at a time: each call makes its arguments afresh
    return plt.subplots()[1]


def _scenes():
    return xh.digits.make_cluttered_digits(n=2)


CASES = {
    "TextClassifierInterpreter": Case(TCI, lambda: dict(classifier=xh.load_text_classifier(), n_steps=2, batch_size=1,
                                                        explain="logit")),
    "TextClassifierInterpreter.interpret": Case(TCI.interpret, lambda: dict(self=_interpreter(), text="Great.",
                                                                            target="negative"), fixed=SELF),
    "TextClassifierInterpreter.reference_ids": Case(TCI.reference_ids, lambda: dict(self=_interpreter(),
                                                                                    input_ids=_ids()), fixed=SELF),
    "TextClassifierInterpreter.show": Case(TCI.show, lambda: dict(self=_interpreter(),
                                                                  result=_interpreter().interpret("Fine."), ax=_axes()),
                                           fixed=SELF, max_examples=15),
    "plot_scene_attention": Case(xh.interpret.plot_scene_attention, lambda: dict(
        vision_model=xh.load_vit_model(), data=_scenes(), indices=[1], layers=(-1,), rollout=True, panel_size=2.0,
        extra_maps={"ink": torch.rand(1, 6, 6)}), max_examples=40),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_wrong_kinds_of_arguments_get_a_clear_error(name):
    fuzz(CASES[name])
    plt.close("all")   # the figures the calls drew (a failing case's are closed by the next one's _axes)
