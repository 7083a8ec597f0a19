"""The misclassification report's "Confident" / "Unsure" follows one criterion: the top-1 probability."""
import math

import pytest
import torch

import xai_helpers as xh
from xai_helpers.interpret import CONFIDENT_AT, diagnose_misclassification


def _toy(probabilities):
    """A toy model whose output probabilities are ``probabilities`` for every input."""
    logits = torch.tensor([math.log(p) for p in probabilities])
    head = torch.nn.Linear(4, len(probabilities))
    with torch.no_grad():
        head.weight.zero_()
        head.bias.copy_(logits)
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3, padding=1), torch.nn.ReLU(),
                              torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), head).eval()
    labels = [f"class {i}" for i in range(len(probabilities))]
    return xh.models.ImageModel("toy", net, labels, net[1], "1", mean=(0.5,) * 3, std=(0.5,) * 3,
                                resize=16, crop=16, device=torch.device("cpu"))


def _sureness(probabilities):
    report = diagnose_misclassification(_toy(probabilities), "cat", "class 1", methods=("grad_cam",))
    return report.diagnosis[1]


@pytest.mark.parametrize("top1, word", [(0.26, "Unsure"), (0.53, "Unsure"), (0.79, "Unsure"),
                                        (0.81, "Confident"), (0.95, "Confident")])
def test_the_word_follows_the_top1_probability_only(top1, word):
    # many small classes or one strong runner-up: the same word for the same top-1 probability
    flat = [top1] + [(1 - top1) / 9] * 9
    runner_up = min(0.9 * top1, 1 - top1 - 8e-3)
    peaked = [top1, runner_up] + [(1 - top1 - runner_up) / 8] * 8
    for probabilities in (flat, peaked):
        sentence = _sureness(probabilities)
        assert sentence.startswith(f"{word}:"), sentence
        assert f"top-1 probability {top1:.1%}" in sentence and f"{CONFIDENT_AT:.0%}" in sentence


def test_the_runner_up_is_reported():
    sentence = _sureness([0.6, 0.3, 0.05, 0.05])
    assert "runner-up 30.0%" in sentence and "entropy" not in sentence
