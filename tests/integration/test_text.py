"""load_text_model: the packaged MiniLM loads offline with readable attention; hub models fail clearly."""
import time

import pytest
import torch

from xai_helpers.device import get_device
from xai_helpers.models.base import ModelUnavailableError
from xai_helpers.models.text import DEFAULT_TEXT_MODEL, TextModel, load_text_model


def _in_hf_cache(repo):
    try:
        from huggingface_hub import try_to_load_from_cache
        return isinstance(try_to_load_from_cache(repo, "config.json"), str)
    except Exception:
        return False


@pytest.fixture(scope="module")
def text_model():
    return load_text_model()


def test_default_is_the_packaged_minilm_frozen_eager(text_model):
    assert isinstance(text_model, TextModel) and text_model.name == DEFAULT_TEXT_MODEL
    assert (text_model.num_layers, text_model.num_heads) == (6, 12)
    assert text_model.model.config._attn_implementation == "eager"
    assert not text_model.model.training
    assert not any(p.requires_grad for p in text_model.model.parameters())
    assert text_model.device == get_device() and next(text_model.model.parameters()).device.type == get_device().type
    assert {"[CLS]", "[SEP]"} <= set(text_model.special_tokens)
    assert "6 layers x 12 heads" in repr(text_model)


def test_loading_is_cached_per_process(text_model):
    assert load_text_model() is text_model
    assert load_text_model("MiniLM") is text_model  # aliases resolve to the same entry


def test_env_variable_picks_the_model(monkeypatch, text_model):
    monkeypatch.setenv("XAI_TEXT_MODEL", "all-MiniLM-L6-v2")
    assert load_text_model() is text_model


def test_eager_model_returns_attentions_where_default_sdpa_returns_none(text_model):
    """The transformers 5 pitfall: the default (SDPA) implementation never forms attention weights."""
    from transformers import AutoModel
    enc = text_model.encode("The cat sat on the mat")
    with torch.no_grad():
        eager = text_model.model(**enc, output_attentions=True).attentions
        sdpa_model = AutoModel.from_pretrained(text_model.model.name_or_path).eval().to(text_model.device)
        sdpa = sdpa_model(**enc, output_attentions=True).attentions
    assert len(eager) == 6 and eager[0].shape == (1, 12, 8, 8)
    assert sdpa_model.config._attn_implementation == "sdpa" and len(sdpa) == 0


@pytest.mark.skipif(_in_hf_cache("bert-base-uncased"), reason="bert-base-uncased is cached here, so it loads")
def test_hub_model_offline_fails_fast_with_a_clear_message():
    start = time.perf_counter()
    with pytest.raises(ModelUnavailableError, match="all-minilm-l6-v2"):
        load_text_model("bert-base-uncased")
    assert time.perf_counter() - start < 15, "must not hang waiting for the network"


@pytest.mark.skipif(_in_hf_cache("bert-base-uncased"), reason="bert-base-uncased is cached here, so it loads")
def test_hub_model_via_env_offline_fails_clearly(monkeypatch):
    monkeypatch.setenv("XAI_TEXT_MODEL", "bert-base-uncased")
    with pytest.raises(ModelUnavailableError, match="XAI_TEXT_MODEL"):
        load_text_model()


def test_unknown_names_and_bad_text_are_rejected(text_model):
    with pytest.raises(ValueError, match="all-minilm-l6-v2"):
        load_text_model("gpt-17")
    with pytest.raises(ValueError, match="empty or whitespace"):
        text_model.encode("   ")
