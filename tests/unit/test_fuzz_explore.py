"""The image explorer of ``xai_helpers.explore`` handed wrong kinds of arguments, on a tiny image model (harness:
fuzz_support.py).

An explorer computes every change in a worker thread: each case builds its explorers with ``interactive=False``
(or, for the wrong value ``True``, with widgets, which start nothing), calls the methods that start a worker
through ``joined`` (so one worker runs at a time, on a model the cases share, and a worker's error is judged
too), and each test ends with every thread it started finished and no hook on the model. The method cases of
one test share one explorer (``_shared_explorer``): each call passes every argument of its method, so it sets
the same state whatever an earlier call did, and building an explorer (first view, figure, PNG) per call cost
more than the calls. The cases that need the pretrained models (the default image model that ``model=None``
loads, the text classifier) are in tests/integration/test_fuzz_explore_models.py.
"""
import functools
import tempfile
import threading

import pytest
from matplotlib import pyplot as plt

from fuzz_support import Case, fuzz
from helpers import hook_count
from xai_helpers import _memory
from unit.test_fuzz import WRAPPED
from xai_helpers.explore import ImageExplorer, explore_image
from xai_helpers.explore.runner import WORKER

#: A missing photo is answered with FileNotFoundError naming the argument and listing the course photos.
NO_SUCH_FILE = (FileNotFoundError,)
SELF = {"self": "the explorer the method is called on"}
DEFAULT_MODEL = {"model": "None loads the pretrained default: fuzzed in tests/integration/test_fuzz_explore_models.py"}
#: Every setting of the image explorer, cheap on the tiny model (``compare=None``: one Grad-CAM map).
SETTINGS = dict(method="grad_cam", compare=None, target="dog", layer="features.1", noise_level=0.1, n_samples=2,
                baseline="blur", n_steps=4)


def joined(method):
    """``method`` (which hands a choice to the worker and returns its Choice) called and joined; an error of the
    worker is raised here, so it is judged as the call's outcome (a clear error naming the argument)."""
    @functools.wraps(method)
    def call(*args, **kwargs):
        explorer = kwargs["self"] if "self" in kwargs else args[0]
        explorer.last_error = None
        thread = method(*args, **kwargs)
        assert thread.join(60) is None and not thread.is_alive(), f"{method.__qualname__}: the worker hangs"
        if explorer.last_error is not None:
            raise explorer.last_error
    return call


def _explorer():
    return ImageExplorer("cat", model=WRAPPED, interactive=False)


#: The explorer the method cases of the running test share (``_shared_explorer``); emptied when each test ends.
_SHARED = {}


def _shared_explorer():
    """The running test's explorer, built on first use. Sharing it keeps each call's inputs the same: ``update``
    is given all its settings, ``set_photo`` its photo and name, the others only read the newest view."""
    if "explorer" not in _SHARED:
        _SHARED["explorer"] = _explorer()
    return _SHARED["explorer"]


def _arguments():
    return dict(image="cat", model=WRAPPED, method="smoothgrad", target=2, interactive=False)


CASES = {
    "explore_image": Case(explore_image, _arguments, fixed=DEFAULT_MODEL, feedback=NO_SUCH_FILE),
    "ImageExplorer": Case(ImageExplorer, _arguments, fixed=DEFAULT_MODEL, feedback=NO_SUCH_FILE),
    "ImageExplorer.update": Case(joined(ImageExplorer.update), lambda: dict(self=_shared_explorer(), **SETTINGS),
                                 fixed=SELF, max_examples=20),
    "ImageExplorer.set_photo": Case(joined(ImageExplorer.set_photo),
                                    lambda: dict(self=_shared_explorer(), image="dog", name="a dog"),
                                    fixed=SELF, feedback=NO_SUCH_FILE, max_examples=10),
    "ImageExplorer.figure": Case(ImageExplorer.figure, lambda: dict(self=_shared_explorer(), view=None), fixed=SELF,
                                 max_examples=8),
    "ImageExplorer.prediction_html": Case(ImageExplorer.prediction_html,
                                          lambda: dict(self=_shared_explorer(), view=None), fixed=SELF,
                                          max_examples=8),
    "ImageExplorer.save_png": Case(ImageExplorer.save_png,
                                   lambda: dict(self=_shared_explorer(), folder=tempfile.mkdtemp()), fixed=SELF,
                                   feedback=NO_SUCH_FILE, max_examples=8),
}


def finish_threads(before, models, hooks):
    """Join the threads started since ``before`` (all but the process's one long-lived explorer worker, which must
    be idle instead); fail if one is still running or ``models`` do not have the ``hooks`` (counts) they had
    before."""
    started = [t for t in threading.enumerate() if t not in before and t is not WORKER.thread]
    for thread in started:
        thread.join(60)
    assert [t.name for t in started if t.is_alive()] == [], "a thread the explorers started is still running"
    assert not WORKER._runners, "the explorer worker still has choices to compute"
    assert [hook_count(m) for m in models] == hooks, "a hook was left on the model"


@pytest.fixture(autouse=True)
def _in_a_scratch_folder(tmp_path, monkeypatch):
    """``save_png(folder=None)`` writes into the working directory: here a temporary one."""
    monkeypatch.chdir(tmp_path)


@pytest.fixture(autouse=True)
def _nothing_left_behind():
    before = set(threading.enumerate())
    with _memory.releasing():   # the heap from before stays frozen: each collection scans only what the test made
        yield
    _SHARED.clear()
    plt.close("all")
    finish_threads(before, [WRAPPED.model], [0])


@pytest.mark.parametrize("name", sorted(CASES))
def test_wrong_kinds_of_arguments_get_a_clear_error(name):
    fuzz(CASES[name])


def test_each_setting_of_update_is_checked_by_name():
    explorer = _explorer()
    for setting, wrong in [("colour", "red"), ("method", "lime"), ("compare", 3), ("target", "unicorn"),
                           ("target", 5), ("layer", "fc.7"), ("noise_level", -0.5), ("n_samples", 0),
                           ("baseline", "grey"), ("n_steps", 2.5)]:
        with pytest.raises((TypeError, ValueError), match=setting):
            explorer.update(**{setting: wrong})
    assert explorer.runner.generation == 0 and explorer.settings["method"] == "grad_cam"   # nothing was started
    joined(ImageExplorer.update)(explorer, target="Fox", method="vanilla_gradients")
    assert explorer.last_error is None and explorer.view["label"] == "fox"               # names: any case
