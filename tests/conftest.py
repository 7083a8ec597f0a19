"""Shared fixtures (the default model and photos, loaded once per session) and the test tiers.

Tiers (pytest markers, registered in pyproject.toml): ``make unit`` runs ``-m unit``, ``make test`` runs all.
Every collected test gets exactly one tier, by rule, so a new test file needs no marker:

* an explicit ``@pytest.mark.unit`` / ``integration`` / ``system`` on the test (or its module) wins;
* ``system``: a notebook cell (nbval), or a test whose code starts processes or leaves the Python process
  -- ``subprocess``, a browser (playwright, Chromium), a network namespace or sockets (``unshare``,
  ``offline.sh``, ``socket.``), a pip/venv install, a notebook kernel (nbclient, nbconvert, build_html);
* ``integration``: a test that loads or trains a catalog model (``load_image_model``, ``load_text_model``,
  ``load_text_classifier``, ``load_vit_model``, ``from_pretrained``, ``train_*``);
* ``unit``: everything else (small hand-built networks, arrays, files, static scans).

"The test's code" is its own source, the source of every fixture it uses (transitively, pytest's closure),
and the module-level functions and constants those name (transitively): a helper ``_load()`` that calls
``load_image_model`` makes its callers integration tests.
"""
import ast
import functools
import inspect
import re
from pathlib import Path

import pytest
import torch

import xai_helpers as xh

ROOT = Path(__file__).resolve().parents[1]
TIERS = ("unit", "integration", "system")
SYSTEM_CODE = re.compile(
    r"\bsubprocess\.(run|Popen|call|check_call|check_output)\s*\(|\bPopen\(|playwright|chromium|\bunshare\b"
    r"|offline\.sh|\bsocket\.|\bvenv\b|\bpip\b|NotebookClient|ExecutePreprocessor|nbconvert|build_html",
    re.IGNORECASE)
INTEGRATION_CODE = re.compile(
    r"\b(load_image_model|load_text_model|load_text_classifier|load_vit_model|from_pretrained"
    r"|_load_cached|train_sentiment_head|train_tiny_vit)\b")


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


def tier_of(item):
    """The tier the rules above give ``item`` (a pytest item)."""
    if getattr(item, "function", None) is None:          # nbval notebook cells and other non-Python items
        return "system"
    code = _code_of(item)
    if SYSTEM_CODE.search(code):
        return "system"
    if INTEGRATION_CODE.search(code):
        return "integration"
    return "unit"


def _code_of(item):
    sources = [_source(item.function)]
    for defs in getattr(item, "_fixtureinfo").name2fixturedefs.values():
        func = defs[-1].func
        if _in_repo(func):
            sources.append(_source(func))
    module = inspect.getmodule(item.function)
    return "\n".join(sources + _referenced_definitions(module, "\n".join(sources)))


def _referenced_definitions(module, code):
    """Source of the module-level functions, classes and constants named in ``code``, transitively."""
    definitions = _module_definitions(module)
    seen, todo, out = set(), set(re.findall(r"\w+", code)), []
    while todo:
        name = todo.pop()
        if name in seen or name not in definitions:
            continue
        seen.add(name)
        out.append(definitions[name])
        todo |= set(re.findall(r"\w+", definitions[name]))
    return out


@functools.lru_cache(maxsize=None)
def _module_definitions(module):
    try:
        text = inspect.getsource(module)
    except (OSError, TypeError):
        return {}
    found = {}
    for node in ast.parse(text).body:
        names = ([node.name] if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) else
                 [t.id for t in getattr(node, "targets", [getattr(node, "target", None)]) if isinstance(t, ast.Name)])
        for name in names:
            found[name] = ast.get_source_segment(text, node) or ""
    return found


def _source(func):
    try:
        return inspect.getsource(func)
    except (OSError, TypeError):
        return ""


def _in_repo(func):
    try:
        path = Path(inspect.getsourcefile(func)).resolve()
    except TypeError:
        return False
    return ROOT in path.parents and ".venv" not in path.parts
