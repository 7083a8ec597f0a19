"""The exercise checkers that run a pretrained network, handed wrong kinds of arguments.

Same contract as test_fuzz_check.py (feedback naming the argument, never a raw numpy/torch error); the valid
call of each case is a reference answer of tests/check_answers.py on small inputs. A wrong kind is refused
before the network runs, so only the valid call costs seconds; the draws per case stay few.
"""
import functools

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import check_answers as A
import xai_helpers as xh
import xai_helpers.check as check
from fuzz_support import Case, fuzz
from xai_helpers.evaluation import groundtruth as gt


FEEDBACK = (check.CheckFailed,)
YOUR_FUNCTION = ["your function", "function"]
CLASSES = ["palace", "lakeside"]
BOXES = {"tower": (0, 0, 47, 95), "lake": (55, 48, 95, 68)}
SENTENCE, WORDS = "The hedgehogs behind the veterinarian were asleep.", ("were", "hedgehogs", "veterinarian")
HELD_OUT = [("The flamingos near the lighthouse were pink.", "were", "flamingos", "lighthouse")]


@functools.lru_cache(maxsize=None)
def model():
    return xh.load_image_model()


@functools.lru_cache(maxsize=None)
def text_model():
    return xh.load_text_model()


@functools.lru_cache(maxsize=None)
def china96():
    from PIL import Image
    from sklearn.datasets import load_sample_image
    x = model().preprocess(Image.fromarray(load_sample_image("china.jpg")))
    return F.interpolate(x, size=(96, 96), mode="bilinear", align_corners=False)


def _layers_case():
    contrast = A.contrasts(model(), china96(), ["_blocks.12"], CLASSES, BOXES["lake"])
    return dict(contrast_by_layer=contrast, best_layer="_blocks.12", image_model=model(), x=china96(),
                classes=list(CLASSES), box=BOXES["lake"], candidate_layers=["_blocks.12"])


@functools.lru_cache(maxsize=None)
def _maps():
    layers = {"gradient": None, "Grad-CAM": "_blocks.12"}
    return {m: {c: xh.max_abs_over_channels(xh.vanilla_gradients(model(), china96(), c)) if layer is None
                else xh.grad_cam(model(), china96(), c, layer=layer) for c in CLASSES}
            for m, layer in layers.items()}, layers


def _measurements_case():
    maps, layers = _maps()
    return dict(measurements=A.measurements(maps, layers, CLASSES, model(), china96(), BOXES), maps=dict(maps),
                classes=list(CLASSES), image_model=model(), x=china96(), boxes=dict(BOXES), layers=dict(layers))


@functools.lru_cache(maxsize=None)
def butterfly32():
    return F.interpolate(model().preprocess("butterfly"), size=(32, 32), mode="bilinear", align_corners=False)


def _clock(n):
    """The seconds one SmoothGrad call of n samples takes, for the results and for the check's own timing."""
    return 0.05 + 0.1 * n


@pytest.fixture(autouse=True)
def steady_clock(monkeypatch):
    import sys
    monkeypatch.setattr(sys.modules["xai_helpers.check.problem2"], "timed",
                        lambda fn, *args, n_samples, **kwargs: _clock(n_samples))


@functools.lru_cache(maxsize=None)
def _experiment():
    return A.experiment(model(), butterfly32(), "monarch", [1, 2], clock=_clock)


def _experiment_case():
    return dict(results=_experiment(), image_model=model(), x=butterfly32(), target="monarch", n_list=[1, 2],
                my_smoothgrad=A.smoothgrad)


@functools.lru_cache(maxsize=None)
def margins_4():
    tokens, att = xh.attention_maps(text_model(), SENTENCE)
    return A.verb_margin(att, tokens, *WORDS)


def _held_out_case():
    best, held, verdict = A.held_out_answers(margins_4(), text_model(), HELD_OUT)
    return dict(best_head=best, held_out=held, generalises=verdict, margins=margins_4(), text_model=text_model(),
                held_out_sentences=list(HELD_OUT))


@functools.lru_cache(maxsize=None)
def scene():
    import torchvision.transforms.functional as TF
    image, box = A.make_scene(model())
    return image, box, model().normalize(TF.to_tensor(image).unsqueeze(0).to(model().device))


def _margins_case():
    image, box, _ = scene()
    p, largest = A.margin_answers(model(), image, box, "monarch", [0, 48])
    return dict(p_by_margin=p, largest_margin=largest, image_model=model(), scene=image, box=box,
                true_class="monarch", margins=[0, 48])


@functools.lru_cache(maxsize=None)
def case6():
    return gt.load_case()


def _region_case():
    top, left, bottom, right = gt._case_setup().box
    mass = torch.full((48, 48), 1e-4)
    mass[top:bottom, left:right] = 0.01
    return dict(region=(top - 1, left - 1, bottom + 1, right + 1), outside_mass=mass, model=case6()[0],
                scenes=case6()[1])


CASES = {
    "problem1_layers": Case(check.problem1_layers, _layers_case, max_examples=25, feedback=FEEDBACK),
    "problem1_measurements": Case(check.problem1_measurements, _measurements_case, max_examples=25,
                                  feedback=FEEDBACK),
    "problem2_smoothgrad": Case(check.problem2_smoothgrad, lambda: dict(
        my_smoothgrad=A.smoothgrad, image_model=model(), photo="coffee"),
        aliases={"my_smoothgrad": YOUR_FUNCTION}, max_examples=10, feedback=FEEDBACK),
    "problem2_experiment": Case(check.problem2_experiment, _experiment_case, aliases={"my_smoothgrad": YOUR_FUNCTION},
                                max_examples=20, feedback=FEEDBACK),
    "problem3_baselines": Case(check.problem3_baselines, lambda: dict(
        build_baselines=A.baselines, image_model=model(), photo="flower"),
        aliases={"build_baselines": YOUR_FUNCTION}, max_examples=10, feedback=FEEDBACK),
    "problem4_margins": Case(check.problem4_margins, lambda: dict(
        verb_margin=A.verb_margin, text_model=text_model(), sentence=SENTENCE, verb=WORDS[0], subject=WORDS[1],
        attractor=WORDS[2]), aliases={"verb_margin": YOUR_FUNCTION}, max_examples=25, feedback=FEEDBACK),
    "problem4_held_out": Case(check.problem4_held_out, _held_out_case, max_examples=25, feedback=FEEDBACK),
    "problem5_numbers": Case(check.problem5_numbers, lambda: dict(
        misclassification_numbers=A.misclassification_numbers, image_model=model(), x=scene()[2],
        true_class="monarch"), aliases={"misclassification_numbers": YOUR_FUNCTION}, max_examples=15,
        feedback=FEEDBACK),
    "problem5_crop": Case(check.problem5_crop, lambda: dict(
        crop_probability=A.crop_probability, image_model=model(), scene=scene()[0], box=scene()[1],
        true_class="monarch"), aliases={"crop_probability": YOUR_FUNCTION}, max_examples=15, feedback=FEEDBACK),
    "problem5_margins": Case(check.problem5_margins, _margins_case, max_examples=25, feedback=FEEDBACK),
    "problem6_region": Case(check.problem6_region, _region_case, max_examples=15, feedback=FEEDBACK),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_checker_answers_wrong_kinds_with_feedback(name, capsys):
    fuzz(CASES[name])
    assert capsys.readouterr().err == ""          # nbgrader scores a check cell 0 if it writes to stderr


def test_every_checker_of_a_pretrained_network_has_a_case():
    from unit import test_fuzz_check
    public = {n for n in check.__all__ if callable(getattr(check, n)) and not isinstance(getattr(check, n), type)}
    assert public == set(CASES) | set(test_fuzz_check.CASES)
    assert np.isfinite(margins_4()).all()
