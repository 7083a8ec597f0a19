"""Shared fixtures: the default model and one photo, loaded once per test session."""
import pytest
import torch

import xai_helpers as xh


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
