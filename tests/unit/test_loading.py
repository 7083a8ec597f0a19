"""The one reachability check (models._reachable) and the one ModelUnavailableError text, for every loader.

No test here touches the network: the connection is replaced by a stand-in that records its calls.
"""
import pytest

import xai_helpers.models.base as M
from xai_helpers.models.base import ModelUnavailableError

SWITCHES = M.OFFLINE_ENV   # the connections fixture (tests/conftest.py) unsets them


@pytest.mark.parametrize("value", ["1", "true", "TRUE", "yes", "On"])
@pytest.mark.parametrize("switch", SWITCHES)
def test_an_offline_switch_makes_every_host_unreachable_without_trying(connections, monkeypatch, switch, value):
    monkeypatch.setenv(switch, value)
    assert M.offline_switch() == f"{switch}={value}"
    assert not M._reachable("huggingface.co") and not M._reachable("download.pytorch.org")
    assert connections == []                                          # the network was never tried


@pytest.mark.parametrize("value", ["0", "false", "", "no"])
def test_without_a_switch_the_host_is_asked_within_the_timeout(connections, monkeypatch, value):
    for switch in SWITCHES:
        monkeypatch.setenv(switch, value)
    assert M.offline_switch() is None
    assert not M._reachable("huggingface.co")                          # refused -> unreachable
    connections.state["answer"] = "accept"
    assert M._reachable("huggingface.co")
    assert connections == [("huggingface.co", 443, 3.0)] * 2


def test_the_error_text_names_what_why_and_the_offline_default():
    err = M.unavailable_error("'x/y'", "it is not cached", "load_thing('offline')", "Or retry.")
    assert isinstance(err, ModelUnavailableError)
    assert str(err) == "'x/y' cannot be loaded: it is not cached. Use the offline default instead: " \
                       "load_thing('offline'). Or retry."


# Every loader's hub/download route, offline: (call, the offline default its message must name).


# --- one name rule, one cache, one local-first path, one record (models.base, models.prediction) -------------
CATALOG = {"efficientnet_lite0": "", "resnet50": ""}


@pytest.mark.parametrize("spelling", ["efficientnet_lite0", "EfficientNet-Lite0", "  efficientnet-lite0 "])
def test_one_name_rule_ignores_case_spaces_and_dash_versus_underscore(spelling):
    assert M.normalise_name(spelling, env="XAI_NO_SUCH_VAR", default="resnet50", catalog=CATALOG,
                            what="image model") == "efficientnet_lite0"


def test_the_name_falls_back_to_the_environment_then_the_offline_default(monkeypatch):
    kwargs = dict(env="XAI_TEST_MODEL", default="efficientnet_lite0", catalog=CATALOG, what="image model")
    monkeypatch.delenv("XAI_TEST_MODEL", raising=False)
    assert M.normalise_name(None, **kwargs) == "efficientnet_lite0"
    monkeypatch.setenv("XAI_TEST_MODEL", "ResNet50")
    assert M.normalise_name(None, **kwargs) == "resnet50"
    assert M.normalise_name("big", aliases={"BIG": "resnet50"}, **kwargs) == "resnet50"


def test_an_unknown_name_lists_the_choices_and_the_offline_default():
    kwargs = dict(env="XAI_NO_SUCH_VAR", default="efficientnet_lite0", catalog=CATALOG, what="image model")
    with pytest.raises(ValueError, match=r"Unknown image model 'vgg'\. Choose one of: efficientnet_lite0, "
                                         r"resnet50 \(the offline default is 'efficientnet_lite0'\)"):
        M.normalise_name("vgg", **kwargs)
    with pytest.raises(TypeError, match="by its name"):
        M.normalise_name(3, **kwargs)
    assert M.normalise_name("Owner/Model", hub_ids=True, **kwargs) == "Owner/Model"   # hub ids keep their case
    with pytest.raises(ValueError, match="hub id"):
        M.normalise_name("vgg", hub_ids=True, **kwargs)


def test_the_one_cache_builds_once_per_kind_key_and_device():
    built = []

    def build(key, device):
        built.append((key, device))
        return object()
    try:
        a, b = M.cached("test", "k", build), M.cached("test", "k", build)
        c = M.cached("test", "other", build)
        assert a is b and c is not a and [k for k, _ in built] == ["k", "other"]
    finally:
        M.clear_cache()
    assert M.cached("test", "k", build) is not a                      # cleared: built afresh


def test_local_first_then_hub_gives_one_text_offline(connections, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    tried = []

    def load(local_only):
        tried.append(local_only)
        raise OSError("not in the cache (test stand-in)")
    with pytest.raises(ModelUnavailableError, match=r"^'a/b' cannot be loaded: it is not in the local Hugging Face "
                                                    r"cache and HF_HUB_OFFLINE=1 is set.*offline default instead: "
                                                    r"load_x\(\)"):
        M.local_or_hub("a/b", load, "load_x()")
    assert tried == [True] and connections == []                       # never the network


def test_local_first_then_hub_downloads_when_the_hub_answers(connections):
    connections.state["answer"] = "accept"
    answers = {True: OSError("not cached"), False: "downloaded"}

    def load(local_only):
        answer = answers[local_only]
        if isinstance(answer, Exception):
            raise answer
        return answer
    assert M.local_or_hub("a/b", load, "load_x()") == "downloaded"
    assert connections == [("huggingface.co", 443, 3.0)]


class _Fixed(__import__("xai_helpers").models.prediction.Wrapper):
    """A wrapped model whose class probabilities are given (one row per input)."""
    labels = ["cat", "dog", "fox"]

    def __init__(self, rows):
        self.rows = rows

    def _one_input(self, inputs):
        return isinstance(inputs, str)

    def probabilities(self, inputs):
        import torch
        return torch.tensor(self.rows[:1] if isinstance(inputs, str) else self.rows[:len(inputs)])


def test_every_wrapper_predicts_ranked_prediction_records():
    import xai_helpers as xh
    from xai_helpers.models.prediction import Prediction
    model = _Fixed([[0.2, 0.5, 0.3], [0.7, 0.1, 0.2]])
    top = model.predict("one input", k=2)
    assert top == [Prediction(1, "dog", 0.5), Prediction(2, "fox", pytest.approx(0.3))]
    index, label, p = top[0]                                           # a NamedTuple still unpacks
    assert (index, label, p) == (top[0].index, top[0].label, top[0].probability)
    assert [r[0].label for r in model.predict(["a", "b"], k=1)] == ["dog", "cat"]   # several inputs: one list each
    assert len(model.predict("x")) == 3                                 # default k: 5, or every class if fewer
    assert xh.predict(model, "x", k=1) == [Prediction(1, "dog", 0.5)]
    for bad in (0, 4):
        with pytest.raises(ValueError, match=r"k must be an integer in 1 \.\.\. 3"):
            model.predict("x", k=bad)
    for wrong_kind in (1.5, True):
        with pytest.raises(TypeError, match=r"predict: k must be an integer or None"):
            model.predict("x", k=wrong_kind)
    with pytest.raises(TypeError, match="load_image_model"):
        xh.predict(object(), "x")
