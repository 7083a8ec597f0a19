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


# --- what to read instead of raw attention: leave-one-out, gradient rollout, value norms -----------
SENTENCE = "The film was not good, but the actors were wonderful."


@pytest.mark.parametrize("replacement", ["[MASK]", "[PAD]"])
def test_token_occlusion_equals_captum_feature_ablation(clf, replacement):
    from captum.attr import FeatureAblation
    import xai_helpers as xh
    tokens, drops = xh.methods.token_occlusion(clf, SENTENCE, "positive", replacement=replacement)
    batch = clf.encode([SENTENCE])
    reference = FeatureAblation(lambda ids, mask: clf.model(ids, mask)).attribute(
        batch["input_ids"], baselines=clf.tokenizer.convert_tokens_to_ids(replacement), target=1,
        additional_forward_args=(batch["attention_mask"],))
    torch.testing.assert_close(drops, reference[0].float(), rtol=1e-4, atol=1e-5)
    assert tokens[0] == "[CLS]" and tokens[-1] == "[SEP]" and len(tokens) == len(drops)
    with pytest.raises(ValueError, match="not a token"):
        xh.methods.token_occlusion(clf, SENTENCE, 1, replacement="zzzqqq-not-a-token")


def test_value_norms_decompose_minilms_attention_output_and_rollout_is_class_specific(clf):
    """sum_h sum_j alpha^h_ij f_h(x_j) + b_O = BertSelfOutput.dense's output (Kobayashi et al. 2020, eq. 4)."""
    import xai_helpers as xh
    from helpers import hook_count
    hooks_before = hook_count(clf.model)   # load_text_classifier caches per process: count what these helpers add
    seen = {}
    attention = clf.model.encoder.encoder.layer[0].attention
    hooks = [attention.self.register_forward_hook(
                 lambda m, a, k, o: seen.update(hidden=a[0] if a else k["hidden_states"], alpha=o[1]), with_kwargs=True),
             attention.output.dense.register_forward_hook(lambda m, a, o: seen.update(dense=o))]
    try:
        with torch.no_grad():
            batch = clf.encode([SENTENCE])
            clf.model(batch["input_ids"], batch["attention_mask"])
    finally:
        for h in hooks:
            h.remove()
    n, heads, dim = batch["input_ids"].shape[1], 12, 384
    with torch.no_grad():
        v = attention.self.value(seen["hidden"])[0].view(n, heads, dim // heads)
        w = attention.output.dense.weight.view(dim, heads, dim // heads)
        f = torch.einsum("jhd,ohd->hjo", v, w)
        moved = seen["alpha"][0][..., None] * f[:, None]                                  # [heads, i, j, dim]
    torch.testing.assert_close(moved.sum((0, 2)) + attention.output.dense.bias, seen["dense"][0], rtol=1e-4, atol=1e-4)
    per_head = xh.methods.value_norm_attention(clf, SENTENCE)
    layer = xh.methods.value_norm_attention(clf, SENTENCE, combine_heads=True)
    assert per_head.shape == (6, heads, n, n) and layer.shape == (6, n, n)
    torch.testing.assert_close(per_head[0], moved.norm(dim=-1), rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(layer[0], moved.sum(0).norm(dim=-1), rtol=1e-4, atol=1e-5)
    positive, negative = (xh.methods.gradient_rollout(clf, SENTENCE, c) for c in ("positive", "negative"))
    assert positive.shape == (n, n) and torch.isfinite(positive).all() and not torch.allclose(positive, negative)
    assert hook_count(clf.model) == hooks_before and all(not p.requires_grad for p in clf.model.parameters())
