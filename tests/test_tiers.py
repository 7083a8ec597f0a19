"""The tier rules (tests/tiers.py) give each kind of test the tier the README and `make unit` promise."""
import types

import pytest

from tiers import tier_of

CONSTANT_SCRIPT = "import xai_helpers as xh; xh.load_image_model()"


def _helper_that_starts_a_process():
    import subprocess
    return subprocess.run(["true"])


def _loads():
    import xai_helpers as xh
    return xh.load_text_model()


def _item(function, fixtures=()):
    """A stand-in for a pytest item: the test function and the fixture functions it uses."""
    defs = {f.__name__: [types.SimpleNamespace(func=f)] for f in fixtures}
    return types.SimpleNamespace(function=function, _fixtureinfo=types.SimpleNamespace(name2fixturedefs=defs))


def test_plain_tests_are_unit():
    def test_sum():
        assert sum([1, 2]) == 3
    assert tier_of(_item(test_sum)) == "unit"


@pytest.mark.unit   # explicit: its own source names a loader and a subprocess, as the examples must
def test_a_catalog_model_makes_an_integration_test_directly_via_a_fixture_or_a_helper():
    def test_direct():
        import xai_helpers as xh
        xh.load_image_model()

    def model_fixture():
        import xai_helpers as xh
        return xh.load_vit_model()

    def test_with_fixture(model_fixture):
        assert model_fixture

    def test_with_helper():
        assert _loads()
    assert tier_of(_item(test_direct)) == "integration"
    assert tier_of(_item(test_with_fixture, [model_fixture])) == "integration"
    assert tier_of(_item(test_with_helper)) == "integration"


@pytest.mark.unit
def test_processes_browsers_and_notebooks_make_a_system_test():
    def test_helper_process():
        _helper_that_starts_a_process()

    def test_browser():
        from playwright.sync_api import sync_playwright  # noqa: F401

    def test_script_constant():
        import subprocess
        import sys
        subprocess.run([sys.executable, "-c", CONSTANT_SCRIPT])
    assert tier_of(_item(test_helper_process)) == "system"
    assert tier_of(_item(test_browser)) == "system"
    assert tier_of(_item(test_script_constant)) == "system"          # system wins over integration
    assert tier_of(types.SimpleNamespace(function=None)) == "system"  # an nbval notebook cell


def test_mocking_subprocess_is_not_starting_one(monkeypatch):
    def test_mocked(monkeypatch):
        monkeypatch.setattr("subprocess.run", lambda *a, **k: None)
    assert tier_of(_item(test_mocked)) == "unit"


def test_conftest_marks_each_collected_test_with_its_one_tier(request):
    marks = [m.name for m in request.node.iter_markers() if m.name in ("unit", "integration", "system")]
    assert marks == ["unit"]   # this very test, by the rule


@pytest.mark.system
def test_an_explicit_marker_wins(request):
    marks = [m.name for m in request.node.iter_markers() if m.name in ("unit", "integration", "system")]
    assert marks == ["system"]
