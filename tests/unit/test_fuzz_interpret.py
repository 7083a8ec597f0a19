"""Every public function of ``xai_helpers.interpret`` -- and the methods of its interpreters and records -- given
wrong kinds of arguments (harness: fuzz_support.py), on a tiny hand-built CNN wrapped as an ImageModel and a
hand-built text record. The text interpreter and the scene figure need pretrained models: their cases are in
tests/integration/test_fuzz_interpret_models.py.
"""
import matplotlib
import numpy as np
import pytest
import torch
from matplotlib import pyplot as plt

import xai_helpers as xh
from fuzz_support import Case, fuzz
from unit.test_fuzz import WRAPPED

matplotlib.use("Agg")

#: A missing photo is answered with FileNotFoundError naming the argument and listing the course photos.
NO_SUCH_FILE = (FileNotFoundError,)
SELF = {"self": "the object the method is called on"}
I = xh.interpret


def _x():
    torch.manual_seed(0)
    return torch.rand(1, 3, 16, 16)


def _axes():
    plt.close("all")  # one valid call's figure at a time: each call makes its arguments afresh
    return plt.subplots()[1]


def _interpreter():
    return I.ImageClassifierInterpreter(WRAPPED, n_steps=4, n_samples=2, top_k=3)


def _interpretation():
    return _interpreter().interpret(_x(), methods=("grad_cam", "integrated_gradients"))


def _report():
    return I.diagnose_misclassification(WRAPPED, _x(), "dog", methods=("grad_cam",), top_k=3)


def _text_result():
    return I.TextInterpretation(text="good film", tokens=["[CLS]", "good", "film", "[SEP]"],
                                attributions=np.array([0.0, 1.5, -0.5, 0.0]),
                                prediction=xh.Prediction(1, "positive", 0.8), target=1, target_label="positive",
                                probabilities={"negative": 0.2, "positive": 0.8}, delta=0.01, score_difference=0.99,
                                reference_tokens=["[CLS]", "[PAD]", "[PAD]", "[SEP]"])


ICI = I.ImageClassifierInterpreter
CASES = {
    "image_explainers": Case(I.image_explainers, lambda: dict(methods=("grad_cam", "smoothgrad"), n_steps=4,
                                                              ig_baseline="black", n_samples=2, noise_level=0.1,
                                                              batch_size=None)),
    "ImageClassifierInterpreter": Case(ICI, lambda: dict(image_model=WRAPPED, n_steps=4, n_samples=2, noise_level=0.1,
                                                         top_k=3, ig_baseline="black", batch_size=None)),
    "ImageClassifierInterpreter.interpret": Case(ICI.interpret, lambda: dict(
        self=_interpreter(), image=_x(), target="fox", methods=("grad_cam", "integrated_gradients", "smoothgrad")),
        fixed=SELF, feedback=NO_SUCH_FILE, max_examples=25),
    "ImageClassifierInterpreter.show": Case(ICI.show, lambda: dict(self=_interpreter(), result=_interpretation(),
                                                                   n_predictions=2, panel_size=2.0),
                                            fixed=SELF, max_examples=15),
    "ImageInterpretation.show": Case(I.ImageInterpretation.show, lambda: dict(self=_interpretation(), n_predictions=2,
                                                                              panel_size=2.0),
                                     fixed=SELF, max_examples=15),
    "diagnose_misclassification": Case(I.diagnose_misclassification, lambda: dict(
        image_model=WRAPPED, image=_x(), true_class="dog", methods=("grad_cam", "integrated_gradients"), top_k=3,
        n_steps=4), feedback=NO_SUCH_FILE, max_examples=25),
    "MisclassificationReport.show": Case(I.MisclassificationReport.show, lambda: dict(self=_report(), panel_size=2.0),
                                         fixed=SELF, max_examples=10),
    "top_region_iou": Case(I.top_region_iou, lambda: dict(map_a=torch.rand(4, 4), map_b=np.random.rand(4, 4),
                                                          fraction=0.25)),
    "render_tokens_html": Case(I.render_tokens_html, lambda: dict(tokens=["[CLS]", "<b>", "[SEP]"],
                                                                  attributions=[0.0, 1.0, -1.0], title="t")),
    "show_token_attributions": Case(I.show_token_attributions, lambda: dict(result=_text_result(), ax=_axes(),
                                                                            max_chars_per_line=30)),
    "TextInterpretation.show": Case(I.TextInterpretation.show, lambda: dict(self=_text_result(), ax=_axes()),
                                    fixed=SELF, max_examples=15),
    "captum_text_visualization": Case(I.captum_text_visualization, lambda: dict(results=[_text_result()],
                                                                                true_labels=["positive"])),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_wrong_kinds_of_arguments_get_a_clear_error(name):
    try:
        fuzz(CASES[name])
    finally:
        plt.close("all")   # the figures the calls drew
