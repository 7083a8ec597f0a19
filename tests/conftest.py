"""Fixtures the three tiers share (the default model and photos, loaded once per session).

The tier of a test is the folder it lies in (tests/unit, tests/integration, tests/system), see
tests/tier_folders.py; a unit test that asks for ``image_model`` fails there, the guard refusing the load.
"""
import contextlib

import pytest
import torch

import xai_helpers as xh
import xai_helpers.models.base as M
from helpers import SmoothNet


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


@pytest.fixture(scope="module")
def one_thread():
    """One torch thread for a module's tests: the ground-truth digit CNN (16 k parameters) runs fastest so; two
    threads on a busy machine wait on each other."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(scope="module")
def small():
    """A small smooth CNN (``helpers.SmoothNet``) and a 1x3x16x16 input: Integrated Gradients with many steps."""
    net = SmoothNet().eval()
    x = torch.randn(1, 3, 16, 16, generator=torch.Generator().manual_seed(1))
    return net, x


class Calls(list):
    """A list of connection attempts with a ``state`` dict (what the stand-in answers)."""


@pytest.fixture
def connections(monkeypatch):
    """Record every connection attempt of the package's reachability check (host, port, timeout) instead of
    making it, with the offline switches unset; ``connections.state["answer"]`` says what the stand-in does
    ("refuse", the default, or anything else to answer)."""
    calls = Calls()
    state = {"answer": "refuse"}

    def fake(host, port, timeout):
        calls.append((host, port, timeout))
        if state["answer"] == "refuse":
            raise ConnectionRefusedError(f"{host} refused (test stand-in)")
        return contextlib.nullcontext()

    monkeypatch.setattr(M, "_open_connection", fake)
    for name in M.OFFLINE_ENV:
        monkeypatch.delenv(name, raising=False)
    calls.state = state
    return calls
