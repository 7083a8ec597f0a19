"""Shared fixtures (the default model and photos, loaded once per session) and the test tiers.

Tiers (pytest markers, registered in pyproject.toml): ``make unit`` runs ``-m unit``, ``make test`` runs all.
Every collected test gets exactly one tier, by the rules in tests/tiers.py (a test that loads a catalog model
is ``integration``; one that starts processes, browsers, kernels or installs is ``system``; the rest is
``unit``), so a new test file needs no marker; an explicit ``@pytest.mark.unit/integration/system`` wins.
"""
import pytest
import torch

import xai_helpers as xh
from tiers import TIERS, tier_of


# ------------------------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="session")
def image_model():
    return xh.load_image_model()


@pytest.fixture(scope="session")
def cat_x(image_model):
    return image_model.preprocess("cat")


@pytest.fixture(scope="session")
def dog_x(image_model):
    return image_model.preprocess("dog")


@pytest.fixture(scope="session")
def resnet18_random():
    """torchvision ResNet-18 with random weights (no download), as an ImageModel."""
    return xh.load_image_model("resnet18", random_weights=True)


@pytest.fixture(scope="session")
def tiny_net():
    """A small random CNN (10 classes) -- a plain nn.Module without labels."""
    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.ReLU(),
        torch.nn.Conv2d(8, 8, 3, padding=1), torch.nn.ReLU(),
        torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(8, 10)).eval()
    return net


# ---------------------------------------------------------------------------------------------- tiers
def pytest_collection_modifyitems(config, items):
    for item in items:
        explicit = [m.name for m in item.iter_markers() if m.name in TIERS]
        if not explicit:
            item.add_marker(getattr(pytest.mark, tier_of(item)))
