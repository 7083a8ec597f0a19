"""Attention weights, their analyses, rollout and plots: checked against hand computations."""
import matplotlib
import pytest
import torch

from xai_helpers.methods import attention as A
from xai_helpers.viz import attention as AV

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


@pytest.fixture(scope="module")
def cat_on_mat():
    from xai_helpers.models.text import load_text_model
    text_model = load_text_model()
    return text_model, *A.attention_maps(text_model, "The cat sat on the mat")


# --- getting the weights ---------------------------------------------------------------------------
def test_attention_maps_shape_tokens_and_values(cat_on_mat):
    text_model, tokens, att = cat_on_mat
    assert tokens == ["[CLS]", "the", "cat", "sat", "on", "the", "mat", "[SEP]"]
    assert att.shape == (6, 12, 8, 8) and att.dtype == torch.float32 and att.device.type == "cpu"
    torch.testing.assert_close(att.sum(-1), torch.ones(6, 12, 8))
    with torch.no_grad():
        direct = text_model.model(**text_model.encode("The cat sat on the mat"), output_attentions=True).attentions
    torch.testing.assert_close(att[3], direct[3][0].cpu())


# --- rollout -----------------------------------------------------------------------------------------


def test_rollout_on_the_real_model_differs_from_raw_last_layer(cat_on_mat):
    _, tokens, att = cat_on_mat
    rollout = A.attention_rollout(att)
    last = att[-1].mean(0)
    torch.testing.assert_close(rollout.sum(-1), torch.ones(len(tokens)))
    assert (rollout[0] - last[0]).abs().max() > 0.05


# --- figures -----------------------------------------------------------------------------------------


def test_special_share_plot(cat_on_mat):
    _, tokens, att = cat_on_mat
    ax = AV.plot_special_token_share(A.special_token_share(att, tokens, per_head=True), chance=2 / len(tokens))
    assert len(ax.lines) == 12 + 1 + 1   # one per head, the mean, the chance line
    plt.close(ax.figure)
