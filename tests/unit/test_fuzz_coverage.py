"""Every public function and class of the package has a fuzz case (tests/*/test_fuzz*.py; harness tests/fuzz_support.py).

Public: the functions and classes in ``xh.__all__`` and in the ``__all__`` of every subpackage and of the
bottom-layer modules. Exceptions and plain records (dataclasses, named tuples) take any value by design and
need no case; everything else does.
"""
import dataclasses
import importlib
import inspect
from pathlib import Path

import pytest

import xai_helpers as xh

pytestmark = pytest.mark.unit

TESTS = Path(__file__).resolve().parents[1]
PUBLIC_MODULES = ["xai_helpers", "xai_helpers.data", "xai_helpers.device", "xai_helpers.digits"] + [
    f"xai_helpers.{name}" for name in ("models", "methods", "evaluation", "evaluation.groundtruth", "interpret",
                                       "explore", "viz", "check")]


def _is_record_or_exception(obj):
    return inspect.isclass(obj) and (issubclass(obj, BaseException) or dataclasses.is_dataclass(obj)
                                     or (issubclass(obj, tuple) and hasattr(obj, "_fields")))


def public_callables():
    """{qualified public name: object} for every public function and class that needs a fuzz case."""
    out = {}
    for module_name in PUBLIC_MODULES:
        module = importlib.import_module(module_name)
        for name in module.__all__:
            obj = getattr(module, name)
            if (inspect.isfunction(obj) or inspect.isclass(obj)) and not _is_record_or_exception(obj):
                out.setdefault(id(obj), f"{module_name}.{name}")
    return {name: _object(name) for name in out.values()}


def _object(qualified):
    module, _, name = qualified.rpartition(".")
    return getattr(importlib.import_module(module), name)


def fuzzed_objects():
    """The functions and classes some fuzz test calls with wrong kinds of arguments."""
    objects = set()
    for path in sorted(TESTS.rglob("test_fuzz*.py")):
        if path.name == Path(__file__).name:
            continue
        spec = importlib.util.spec_from_file_location(f"_fuzz_{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        objects |= {id(case.fn) for case in getattr(module, "CASES", {}).values()}
        objects |= {id(getattr(xh, name, None) or getattr(xh.methods, name))
                    for name in getattr(module, "FUZZED_METHODS", ())}   # top-level names, else xh.methods
    return objects


def test_the_scan_finds_the_public_surface():
    names = public_callables()
    assert "xai_helpers.grad_cam" in names and "xai_helpers.show_map" in names and "xai_helpers.viz.draw_box" in names
    assert not any(name.endswith("CheckFailed") for name in names)


def test_every_public_function_and_class_has_a_fuzz_case():
    fuzzed = fuzzed_objects()
    missing = sorted(name for name, obj in public_callables().items() if id(obj) not in fuzzed)
    assert missing == [], f"{len(missing)} public names have no fuzz case (add a Case to tests/test_fuzz_<sub>.py)"
