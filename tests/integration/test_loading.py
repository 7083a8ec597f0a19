"""The one reachability check (models._reachable) and the one ModelUnavailableError text, for every loader.

No test here touches the network: the connection is replaced by a stand-in that records its calls.
"""
import time

import pytest

import xai_helpers.models.base as M
from xai_helpers import load_image_model
from xai_helpers.models.base import ModelUnavailableError
from xai_helpers.models.text import DEFAULT_TEXT_MODEL, load_text_model
from xai_helpers.models.sentiment import load_text_classifier
from xai_helpers.models.vit import DEFAULT_VIT_MODEL, HUB_VIT, load_vit_model

SWITCHES = M.OFFLINE_ENV   # the connections fixture (tests/conftest.py) unsets them


def _hub_models_cached():
    try:
        from huggingface_hub import try_to_load_from_cache
        return any(isinstance(try_to_load_from_cache(repo, "config.json"), str)
                   for repo in ("bert-base-uncased", HUB_VIT))
    except ImportError:
        return False


# Every loader's hub/download route, offline: (call, the offline default its message must name).
LOADERS = {
    "image": (lambda: load_image_model("resnet50"), "load_image_model('efficientnet_lite0')"),
    "text": (lambda: load_text_model("bert-base-uncased"), f"load_text_model({DEFAULT_TEXT_MODEL!r})"),
    "vit": (lambda: load_vit_model(HUB_VIT), f"load_vit_model({DEFAULT_VIT_MODEL!r})"),
}


@pytest.mark.skipif(_hub_models_cached(), reason="a hub model is cached here, so it loads")
@pytest.mark.parametrize("switch", SWITCHES)
@pytest.mark.parametrize("loader", sorted(LOADERS))
def test_every_loader_offline_fails_at_once_in_one_text_naming_the_default(connections, monkeypatch, tmp_path,
                                                                            loader, switch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))                   # no torchvision weights cached there
    monkeypatch.setenv(switch, "1")
    call, default = LOADERS[loader]
    start = time.perf_counter()
    with pytest.raises(ModelUnavailableError) as info:
        call()
    assert time.perf_counter() - start < 10 and connections == []      # at once, network never tried
    text = str(info.value)
    assert " cannot be loaded: " in text and f"{switch}=1 is set, so the network is not tried" in text
    assert f"Use the offline default instead: {default}" in text, text


@pytest.mark.skipif(_hub_models_cached(), reason="a hub model is cached here, so it loads")
def test_without_a_switch_an_unreachable_host_gives_the_same_text(connections, monkeypatch, tmp_path):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    for loader, (call, default) in LOADERS.items():
        with pytest.raises(ModelUnavailableError, match=r" cannot be loaded: .* cannot be reached from here\. "
                                                        r"Use the offline default instead: ") as info:
            call()
        assert default in str(info.value), loader
    assert {host for host, _, _ in connections} == {"huggingface.co", "download.pytorch.org"}


def test_sentiment_hub_classifier_honours_the_switch(connections, monkeypatch):
    """text_classifier asks the same check: offline, a hub classifier fails at once, naming the default."""
    try:
        from huggingface_hub import try_to_load_from_cache
        name = "distilbert-base-uncased-finetuned-sst-2-english"
        if isinstance(try_to_load_from_cache(name, "config.json"), str):
            pytest.skip(f"{name} is cached here, so it loads")
    except ImportError:
        pass
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "true")
    with pytest.raises(ModelUnavailableError, match="load_text_classifier"):
        load_text_classifier("distilbert-base-uncased-finetuned-sst-2-english")
    assert connections == []


def test_a_saved_image_model_loads_by_path_and_is_not_the_default(tmp_path, monkeypatch):
    from helpers import save_other_image_model
    import xai_helpers as xh
    path = save_other_image_model(tmp_path / "other.pt")
    monkeypatch.setenv("XAI_IMAGE_MODEL", str(path))
    model = xh.load_image_model()
    assert model.name == "mobilenet_v3_small (re-initialised)" and model.target_layer_name == "features"
    assert not xh.models.is_default_model(model)
    assert xh.models.is_default_model(xh.load_image_model("efficientnet_lite0"))
    assert xh.models.for_default_model(model, "a reading about Lite0") is False
    assert "a reading about Lite0" in xh.models.unchecked_readings()


def test_a_saved_file_that_is_not_an_image_model_gets_a_clear_error(tmp_path):
    import torch
    import xai_helpers as xh
    torch.save({"state_dict": torch.nn.Linear(2, 2).state_dict()}, tmp_path / "net.pt")
    with pytest.raises(ValueError, match="lacks"):
        xh.load_image_model(str(tmp_path / "net.pt"))
    with pytest.raises(FileNotFoundError, match="No saved image model"):
        xh.load_image_model(str(tmp_path / "missing.pt"))
