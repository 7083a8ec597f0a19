"""The folder declares each test's tier (tests/tier_folders.py): one marker per test, the folder's, a
collection error for a test outside the tier folders or marked against its folder, and a unit tier that
cannot load a model or start a process. Checked on small test trees run by pytest in this process."""
from pathlib import Path
from types import SimpleNamespace

import pytest

from tier_folders import TIERS, item_tier

PLUGIN = {"conftest.py": 'pytest_plugins = ["tier_folders"]\n', "pytest.ini": "[pytest]\n"}


@pytest.fixture(autouse=True)
def _no_installed_plugins(monkeypatch):
    """The inner runs load pytest's own plugins and the tier plugin only: fast, and no plugin
    (hypothesis, nbval) is imported again for each run."""
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")


def _tree(pytester, files):
    for path, text in {**PLUGIN, **files}.items():
        (pytester.path / path).parent.mkdir(parents=True, exist_ok=True)
        (pytester.path / path).write_text(text)


def _tiers_of(items):
    return {item.name: [m.name for m in item.iter_markers() if m.name in TIERS] for item in items}


def test_every_test_of_this_session_has_exactly_its_folders_tier(request):
    tiers = {item.nodeid: (_tiers_of([item])[item.name], item_tier(item)) for item in request.session.items}
    assert request.node.nodeid in tiers
    assert {nodeid: marks for nodeid, (marks, folder) in tiers.items() if marks != [folder]} == {}


def test_the_folder_declares_the_tier_and_a_notebook_cell_is_system(pytester):
    _tree(pytester, {"tests/unit/test_a.py": "def test_a():\n    pass\n",
                     "tests/integration/test_b.py": "def test_b():\n    pass\n",
                     "tests/system/deeper/test_c.py": "def test_c():\n    pass\n"})
    items, _ = pytester.inline_genitems()
    assert _tiers_of(items) == {"test_a": ["unit"], "test_b": ["integration"], "test_c": ["system"]}
    result = pytester.runpytest("--collect-only", "-q", "-m", "unit")
    assert [line for line in result.outlines if "::" in line] == ["tests/unit/test_a.py::test_a"]
    cell = SimpleNamespace(path=Path("notebooks/4.1_saliency_maps.ipynb"), config=None)
    assert item_tier(cell) == "system"


def test_the_slowest_tier_is_collected_first_and_files_keep_their_order_inside_a_tier(pytester):
    _tree(pytester, {"tests/unit/test_a.py": "def test_a():\n    pass\n",
                     "tests/integration/test_b.py": "def test_b():\n    pass\n",
                     "tests/system/test_c.py": "def test_c():\n    pass\n",
                     "tests/system/test_d.py": "def test_d():\n    pass\n",
                     "tests/unit/test_e.py": "def test_e():\n    pass\n"})
    result = pytester.runpytest("--collect-only", "-q")
    assert [line.split("::")[1] for line in result.outlines if "::" in line] == [
        "test_c", "test_d", "test_b", "test_a", "test_e"]


def test_a_test_module_outside_the_tier_folders_fails_the_collection(pytester):
    _tree(pytester, {"tests/unit/test_a.py": "def test_a():\n    pass\n",
                     "tests/test_new.py": "def test_new():\n    pass\n"})
    for only_the_unit_tier in ((), ("tests/unit",)):
        result = pytester.runpytest("--collect-only", *only_the_unit_tier)
        assert result.ret == pytest.ExitCode.USAGE_ERROR
        result.stderr.fnmatch_lines(["*tests/test_new.py is not in a tier folder: move it into tests/unit*"])


def test_a_tier_marker_other_than_the_folders_fails_the_collection(pytester):
    _tree(pytester, {"tests/unit/test_a.py": "import pytest\n\n@pytest.mark.integration\ndef test_a():\n    pass\n"})
    result = pytester.runpytest("--collect-only")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*test_a.py::test_a: marked integration but lies in tests/unit/*"])


UNIT_TESTS = '''
import subprocess

import pytest

import xai_helpers as xh
from xai_helpers.models import image


@pytest.fixture(scope="session")
def model():
    return xh.load_image_model()


def test_fixture(model):
    pass


def test_digit_cnn():
    xh.evaluation.groundtruth.load_digit_cnn()


def test_text_classifier_swallowing_errors():
    try:
        xh.load_text_classifier()
    except Exception:
        pass


def test_process():
    subprocess.run(["true"])


def test_errors_that_read_no_weights_stay_testable():
    with pytest.raises(ValueError, match="Unknown image model"):
        xh.load_image_model("no-such-model")


@pytest.mark.loads_pretrained
def test_opted_out():
    assert image._load_fresh.__qualname__ == "_load_fresh"
'''


@pytest.mark.loads_pretrained   # so that only the inner tests' guard acts; nothing is loaded here
def test_a_unit_test_cannot_load_a_model_or_start_a_process_unless_it_opts_out(pytester):
    _tree(pytester, {"tests/unit/test_guarded.py": UNIT_TESTS,
                     "tests/integration/test_free.py": "from xai_helpers.models import image\n\n"
                                                       "def test_free():\n"
                                                       "    assert image._load_fresh.__qualname__ == '_load_fresh'\n"})
    result = pytester.runpytest()
    result.assert_outcomes(passed=3, failed=3, errors=1)
    result.stdout.fnmatch_lines_random([
        "*test_fixture*loads a pretrained or catalog model, which a unit test must not: move it to tests/integration*",
        "*test_digit_cnn loads a pretrained or catalog model*",
        "*test_text_classifier_swallowing_errors loads a pretrained or catalog model*",
        "*test_process starts a process, which a unit test must not: move it to tests/system*"])
