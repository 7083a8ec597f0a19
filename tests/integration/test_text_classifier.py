"""The course's offline sentiment classifier (xai_helpers.models.sentiment)."""
import sys
import time
from pathlib import Path

import pytest
import torch

from xai_helpers.models.base import ModelUnavailableError
from xai_helpers.models.sentiment import SENTIMENT_CHECKPOINT, load_sentiment_data, load_text_classifier

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools"))
from train_text_classifier import train_sentiment_head  # noqa: E402  (the training code lives in tools/)


@pytest.fixture(scope="module")
def clf():
    return load_text_classifier()


def test_predict_returns_a_label_and_its_probability_per_text(clf):
    out = clf.predict(["A wonderful, moving film.", "The food was cold and the waiter was rude.", "ok"], k=1)
    assert len(out) == 3 and all(len(top) == 1 for top in out)
    assert [top[0].label for top in out[:2]] == ["positive", "negative"]
    for (index, label, p), in out:                       # Prediction records unpack like tuples
        assert clf.labels[index] == label and label in ("positive", "negative") and 0.5 <= p <= 1.0
    both = clf.predict("ok")                              # one text: every label, ranked
    assert [r.label for r in both] != [] and sorted(r.label for r in both) == sorted(clf.labels)
    assert both[0].probability >= both[1].probability and sum(r.probability for r in both) == pytest.approx(1)


def test_held_out_accuracy_is_at_least_85_percent(clf):
    texts, labels = load_sentiment_data("test")
    assert clf.accuracy(texts, labels) >= 0.85


def test_predict_proba_rejects_a_bare_string(clf):
    with pytest.raises(TypeError, match="predict_proba: texts must be a sequence of strings; got str"):
        clf.predict_proba("a single sentence")


def test_forward_takes_ids_and_mask_and_padding_does_not_change_the_answer(clf):
    short = "Great value and friendly staff."
    alone = clf.predict_proba([short])[0]
    padded = clf.predict_proba([short, "A much longer sentence that forces padding of the short one to its length."])[0]
    assert torch.allclose(alone, padded, atol=1e-5)
    batch = clf.encode([short])
    logits = clf.model(batch["input_ids"], batch["attention_mask"])
    assert torch.allclose(logits.softmax(-1)[0].cpu(), alone, atol=1e-6)
    assert clf.embeddings is clf.model.encoder.embeddings


def test_committed_checkpoint_is_what_the_training_script_produces():
    from safetensors.torch import load_file
    retrained, report = train_sentiment_head()
    committed = load_file(str(SENTIMENT_CHECKPOINT))
    for name, tensor in retrained.model.head.state_dict().items():
        assert torch.allclose(tensor.cpu(), committed[name], atol=1e-5), name
    assert report["test_accuracy"] >= 0.85


def test_hub_model_by_name_fails_fast_and_clearly_offline(monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)      # force the connection check itself
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    start = time.perf_counter()
    with pytest.raises(ModelUnavailableError, match="load_text_classifier"):
        load_text_classifier("distilbert-base-uncased-finetuned-sst-2-english")
    assert time.perf_counter() - start < 20


def test_unknown_name_is_a_value_error():
    with pytest.raises(ValueError, match="minilm_sentiment"):
        load_text_classifier("no-such-model")
