"""The explorers of ``xai_helpers.explore`` handed wrong kinds of arguments where they load the pretrained models:
the image explorer with its model argument fuzzed too (``None`` loads the offline default), ``set_model``, and
the text explorer, which runs on the course's sentiment classifier (harness: fuzz_support.py).

As in tests/unit/test_fuzz_explore.py, explorers are built with ``interactive=False``, the methods that start a
worker are called through ``joined`` (``set_model`` on one explorer per test), and each test ends with every
thread it started finished and no hook on the models. The loaders cache the models, so each loads once.
"""
import functools
import tempfile
import threading

import pytest
from matplotlib import pyplot as plt

import xai_helpers as xh
from fuzz_support import Case, fuzz
from helpers import hook_count
from xai_helpers import _memory
from unit.test_fuzz_explore import NO_SUCH_FILE, SELF, finish_threads, joined
from xai_helpers.explore import ImageExplorer, TextExplorer, explore_image, explore_text


def _image_arguments():
    return dict(image="dog", model=None, method="grad_cam", target="tabby", interactive=False)


def _text_arguments():
    return dict(text="A wonderful film.", classifier=None, target="negative", layer=2, interactive=False)


@functools.lru_cache(maxsize=1)
def _text_explorer():
    """One text explorer for the method cases (a view takes seconds to draw; update checks before changing)."""
    return TextExplorer("Great.", interactive=False)


#: The image explorer the set_model case shares (``_image_explorer``); emptied when each test ends.
_SHARED = {}


def _image_explorer():
    """The running test's image explorer, built on first use: each ``set_model`` call names the model and resets
    the layer and class, so it sets the same state whatever an earlier call did (a first view of the pretrained
    model per call cost more than the calls)."""
    if "explorer" not in _SHARED:
        _SHARED["explorer"] = ImageExplorer(interactive=False)
    return _SHARED["explorer"]


CASES = {
    "explore_image": Case(explore_image, _image_arguments, feedback=NO_SUCH_FILE, max_examples=12),
    "ImageExplorer": Case(ImageExplorer, _image_arguments, feedback=NO_SUCH_FILE, max_examples=12),
    "ImageExplorer.set_model": Case(joined(ImageExplorer.set_model),
                                    lambda: dict(self=_image_explorer(), name="efficientnet_lite0"),
                                    fixed=SELF, max_examples=8),
    "explore_text": Case(explore_text, _text_arguments, max_examples=12),
    "TextExplorer": Case(TextExplorer, _text_arguments, max_examples=12),
    "TextExplorer.update": Case(joined(TextExplorer.update), lambda: dict(self=_text_explorer(), text="Awful.",
                                                                          target=1, layer=0),
                                fixed=SELF, max_examples=12),
    "TextExplorer.figure": Case(TextExplorer.figure, lambda: dict(self=_text_explorer(), view=None), fixed=SELF,
                                max_examples=8),
    "TextExplorer.tokens_html": Case(TextExplorer.tokens_html, lambda: dict(self=_text_explorer(), view=None),
                                     fixed=SELF, max_examples=8),
    "TextExplorer.save_png": Case(TextExplorer.save_png, lambda: dict(self=_text_explorer(), folder=tempfile.mkdtemp()),
                                  fixed=SELF, feedback=NO_SUCH_FILE, max_examples=8),
}


@pytest.fixture(scope="module")
def models():
    """The pretrained models the cases use, after a first text explorer: transformers installs its own
    (persistent) hooks on the classifier's encoder at its first forward pass with attentions."""
    _text_explorer()
    return [xh.load_image_model().model, xh.load_text_classifier().model]


@pytest.fixture(autouse=True)
def _in_a_scratch_folder(tmp_path, monkeypatch):
    """``save_png(folder=None)`` writes into the working directory: here a temporary one."""
    monkeypatch.chdir(tmp_path)


@pytest.fixture(autouse=True)
def _nothing_left_behind(models):
    before, hooks = set(threading.enumerate()), [hook_count(m) for m in models]
    with _memory.releasing():   # the heap from before stays frozen: each collection scans only what the test made
        yield
    _SHARED.clear()
    plt.close("all")
    finish_threads(before, models, hooks)


@pytest.mark.parametrize("name", sorted(CASES))
def test_wrong_kinds_of_arguments_get_a_clear_error(name):
    fuzz(CASES[name])


def test_each_setting_of_the_text_explorer_is_checked_by_name():
    explorer = TextExplorer("Great.", interactive=False)
    for setting, wrong in [("colour", "red"), ("text", None), ("target", "neutral"), ("target", 2), ("layer", 6),
                           ("layer", -1), ("layer", "last")]:
        with pytest.raises((TypeError, ValueError), match=setting):
            explorer.update(**{setting: wrong})
    assert explorer.runner.generation == 0                                  # nothing was started
    joined(TextExplorer.update)(explorer, target="Positive", layer=5)
    assert explorer.last_error is None and explorer.view["result"].target_label == "positive"
    with pytest.raises(ValueError, match="text"):                           # the interpreter's to refuse,
        joined(TextExplorer.update)(explorer, text="  ")                     # in the worker
