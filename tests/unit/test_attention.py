"""Attention weights, their analyses, rollout and plots: checked against hand computations."""
import matplotlib
import numpy as np
import pytest
import torch

from xai_helpers.methods import attention as A
from xai_helpers.viz import attention as AV

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

TOKENS = ["[CLS]", "a", "b", "c", "[SEP]"]


def _random_attention(layers=3, heads=2, seq=5, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(layers, heads, seq, seq, generator=g).mul(2).softmax(-1)


# --- getting the weights ---------------------------------------------------------------------------


def test_attention_maps_checks_its_inputs():
    with pytest.raises(TypeError, match="load_text_model"):
        A.attention_maps("not a model", "text")
    with pytest.raises(ValueError, match="eager"):
        A.stack_attentions(())
    with pytest.raises(ValueError, match="layers, heads, seq, seq"):
        A.stack_attentions(torch.ones(3, 4, 5))


def test_stack_attentions_accepts_the_models_tuple():
    att = _random_attention()
    torch.testing.assert_close(A.stack_attentions(tuple(att[:, None])), att)
    batch = tuple(torch.stack([att, att + 1], dim=1))              # layers x [2, heads, seq, seq]
    assert A.stack_attentions(batch).shape == (2, 3, 2, 5, 5)


# --- analyses ----------------------------------------------------------------------------------------
def _designed_attention():
    """Every word puts 0.5 on [SEP], 0.3 on itself, 0.2 on the next word (c -> a)."""
    m = torch.zeros(5, 5)
    m[0, 0] = m[4, 4] = 1.0
    for i, nxt in ((1, 2), (2, 3), (3, 1)):
        m[i, 4], m[i, i], m[i, nxt] = 0.5, 0.3, 0.2
    return m.expand(2, 3, 5, 5).clone()


def test_most_attended_with_and_without_special_tokens_and_self():
    att = _designed_attention()
    plain = A.most_attended(att, TOKENS)
    assert [r["token"] for r in plain] == ["a", "b", "c"]                  # specials are not queries
    assert {r["target"] for r in plain} == {"[SEP]"}
    assert {r["target"] for r in A.most_attended(att, TOKENS, exclude_self=True)} == {"[SEP]"}
    words = A.most_attended(att, TOKENS, exclude_self=True, exclude_special=True)
    assert [(r["token"], r["target"], r["target_position"]) for r in words] == [("a", "b", 2), ("b", "c", 3),
                                                                              ("c", "a", 1)]
    assert words[0]["weight"] == pytest.approx(0.2)
    self_only = A.most_attended(att, TOKENS, exclude_special=True)
    assert [r["target"] for r in self_only] == ["a", "b", "c"]


def test_most_attended_table_has_the_three_settings():
    table = A.most_attended_table(_designed_attention(), TOKENS)
    assert list(table.index) == ["a@1", "b@2", "c@3"] and table.shape == (3, 3)
    assert table.iloc[0, 0] == "[SEP]@4 (0.50)" and table.iloc[0, 2] == "b@2 (0.20)"


def test_most_attended_by_layer_reads_each_layer():
    att = _designed_attention()
    att[1] = att[1].flip(-1)                              # layer 1 reversed: every word now looks elsewhere
    table = A.most_attended_by_layer(att, TOKENS)
    assert list(table.columns) == ["layer 0", "layer 1"] and list(table.index) == ["a@1", "b@2", "c@3"]
    assert table.loc["a@1", "layer 0"] == "b (0.20)"
    expected = A.most_attended(att, TOKENS, layers=1, exclude_self=True, exclude_special=True)[0]
    assert table.loc["a@1", "layer 1"] == f"{expected['target']} ({expected['weight']:.2f})"
    assert table.loc["a@1", "layer 1"] != table.loc["a@1", "layer 0"]


def test_token_attention_by_layer_excludes_self_and_specials():
    table = A.token_attention_by_layer(_designed_attention(), TOKENS, "a")
    assert list(table.index) == [0, 1]
    assert table.loc[0, "most-attended word"] == "b"
    assert table.loc[0, "weight"] == pytest.approx(0.2) and table.loc[0, "weight on special tokens"] == pytest.approx(0.5)
    torch.testing.assert_close(torch.tensor(A.token_attention_by_layer(_designed_attention(), TOKENS, 3)
                                            ["weight"].values), torch.tensor([0.2, 0.2], dtype=torch.float64))
    with pytest.raises(ValueError, match="not in the sentence"):
        A.token_attention_by_layer(_designed_attention(), TOKENS, "dog")


def test_head_profile_measures_each_habit():
    att = _designed_attention()                             # words: 0.5 on [SEP], 0.3 self, 0.2 next (c -> a)
    profile = A.head_profile(att, TOKENS, layer=0)
    assert list(profile.index) == ["head 0", "head 1", "head 2"]
    row = profile.loc["head 0"]
    assert row["[CLS]"] == 0 and row["[SEP]"] == pytest.approx(0.5) and row["self"] == pytest.approx(0.3)
    assert row["previous"] == 0 and row["next"] == pytest.approx(0.2)      # a -> b and b -> c; c has no next word
    assert set(profile["dominant"]) == {"[SEP]"}
    shifted = torch.zeros(1, 1, 5, 5)
    for i in range(5):
        shifted[0, 0, i, max(i - 1, 0)] = 1.0                             # a pure previous-token head
    assert A.head_profile(shifted, TOKENS, layer=0).loc["head 0", "dominant"] == "previous"
    with pytest.raises(ValueError, match="layer=4 is out of range"):
        A.head_profile(att, TOKENS, layer=4)


def test_special_token_share_per_layer_and_head():
    att = _designed_attention()
    # queries: [CLS] -> itself (1), a/b/c -> [SEP] (0.5 each), [SEP] -> itself (1): (1 + 1.5 + 1) / 5
    np.testing.assert_allclose(A.special_token_share(att, TOKENS), [0.7, 0.7], rtol=1e-6)
    assert A.special_token_share(att, TOKENS, per_head=True).shape == (2, 3)


def test_average_attention_selects_layers_and_heads():
    att = _random_attention()
    torch.testing.assert_close(A.average_attention(att), att.mean((0, 1)))
    torch.testing.assert_close(A.average_attention(att, layers=2, heads=[0]), att[2, 0])


# --- rollout -----------------------------------------------------------------------------------------
def _rollout_by_hand(att, residual=0.5):
    result = np.eye(att.shape[-1])
    for layer in att.numpy():
        w = layer.mean(0)
        a = (1 - residual) * w + residual * np.eye(len(w))
        a = a / a.sum(1, keepdims=True)
        result = a @ result
    return result


def test_rollout_matches_abnar_zuidema_by_hand():
    att = _random_attention(layers=4, heads=3, seq=6)
    rollout = A.attention_rollout(att)
    np.testing.assert_allclose(rollout.numpy(), _rollout_by_hand(att), rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(rollout.sum(-1), torch.ones(6))
    one = A.attention_rollout(att[:1])
    torch.testing.assert_close(one, 0.5 * att[0].mean(0) + 0.5 * torch.eye(6))


def test_rollout_edge_cases_and_options():
    eye = torch.eye(5).expand(3, 2, 5, 5)
    torch.testing.assert_close(A.attention_rollout(eye), torch.eye(5))    # nobody mixes: identity
    att = _random_attention()
    batched = A.attention_rollout(torch.stack([att, att.flip(-1).softmax(-1)]))
    torch.testing.assert_close(batched[0], A.attention_rollout(att))
    for fusion in ("max", "min"):
        r = A.attention_rollout(att, head_fusion=fusion)
        torch.testing.assert_close(r.sum(-1), torch.ones(5))
        assert not torch.allclose(r, A.attention_rollout(att))
    discarded = A.attention_rollout(att, discard_ratio=0.6)
    torch.testing.assert_close(discarded.sum(-1), torch.ones(5))
    assert not torch.allclose(discarded, A.attention_rollout(att))
    torch.testing.assert_close(A.attention_rollout(att, discard_ratio=0.99), torch.eye(5))  # diagonal is kept
    with pytest.raises(ValueError, match="head_fusion"):
        A.attention_rollout(att, head_fusion="median")
    with pytest.raises(ValueError, match="discard_ratio"):
        A.attention_rollout(att, discard_ratio=1.0)


def test_compare_token_scores_rank_correlations():
    s = np.array([0.0, 0.1, 0.5, 0.3, 0.0])
    fig, corr = AV.compare_token_scores(TOKENS, {"m1": s, "same": 2 * s, "reversed": -np.array([0, .5, .1, .3, 0]),
                                                "signed": -s})
    plt.close(fig)
    assert corr.loc["m1", "same"] == pytest.approx(1.0) and corr.loc["m1", "signed"] == pytest.approx(1.0)
    assert corr.loc["m1", "reversed"] == pytest.approx(-1.0)   # ranks 1,3,2 vs 3,1,2
    with pytest.raises(ValueError, match="one value per token"):
        AV.compare_token_scores(TOKENS, {"short": s[:3]})


def test_rank_agreement_over_sentences_with_a_chance_band():
    g = np.random.default_rng(1)
    reference = [g.random(n) for n in (9, 12, 10, 11, 14)]
    readings = {"same": [2 * r for r in reference], "reversed": [-r for r in reference],
                "noise": [g.random(len(r)) for r in reference]}
    table = A.rank_agreement(readings, reference, n_permutations=500)
    assert table.loc["same", "mean Spearman rho"] == pytest.approx(1.0)
    assert table.loc["reversed", "mean Spearman rho"] == pytest.approx(-1.0)
    lo, hi = table.loc["noise", ["chance low", "chance high"]]
    assert -0.5 < lo < 0 < hi < 0.5 and lo < table.loc["noise", "mean Spearman rho"] < hi
    assert table.loc["same", "mean Spearman rho"] > table.loc["same", "chance high"]
    assert table.loc["same", "tokens"] == 56 and table.loc["same", "sentences"] == 5
    assert table.loc["same", "sentences with rho > 0"] == 5 and table.loc["reversed", "sentences with rho > 0"] == 0
    from scipy.stats import spearmanr
    noise_rho = np.mean([spearmanr(a, b).statistic for a, b in zip(readings["noise"], reference)])
    assert table.loc["noise", "mean Spearman rho"] == pytest.approx(noise_rho)
    with pytest.raises(ValueError, match="one array per sentence"):
        A.rank_agreement({"short": reference[:4]}, reference)


# --- figures -----------------------------------------------------------------------------------------
def test_attention_row_bars_are_the_row():
    att = _random_attention()
    ax = AV.plot_attention_row(att, TOKENS, "b", layer=1, head=0)
    heights = [bar.get_height() for bar in ax.patches]
    np.testing.assert_allclose(heights, att[1, 0, 2].numpy(), rtol=1e-6)
    assert ax.patches[2].get_linewidth() > ax.patches[0].get_linewidth()     # the query's own bar is outlined
    assert "'b'" in ax.get_title() and "layer 1, head 0" in ax.get_title() and "sum to 1.00" in ax.get_title()
    assert min(t.get_fontsize() for t in ax.texts + ax.get_xticklabels()) >= 8
    plt.close(ax.figure)
    ax = AV.plot_attention_row(att, TOKENS, 3, layer=-1)                        # by position, heads averaged
    np.testing.assert_allclose([b.get_height() for b in ax.patches], att[2, :, 3].mean(0).numpy(), rtol=1e-6)
    assert "mean of 2 heads" in ax.get_title()
    plt.close(ax.figure)
    with pytest.raises(ValueError, match="not in the sentence"):
        AV.plot_attention_row(att, TOKENS, "zebra")


def test_annotations_and_labels_are_at_least_8_points():
    im = AV.plot_attention(_random_attention()[0, 0], TOKENS)
    sizes = [t.get_fontsize() for t in im.axes.texts + im.axes.get_xticklabels() + im.axes.get_yticklabels()]
    assert len(im.axes.texts) == 25 and min(sizes) >= 8
    plt.close(im.axes.figure)

def test_head_plot_labels_every_token_and_checks_indices():
    fig, ax = plt.subplots()
    AV.plot_attention_head(_random_attention(), TOKENS, layer=-1, head=1, ax=ax)
    assert [t.get_text() for t in ax.get_xticklabels()] == TOKENS and ax.get_title() == "layer 2, head 1"
    plt.close(fig)
    with pytest.raises(ValueError, match="layer=7 is out of range"):
        AV.plot_attention_head(_random_attention(), TOKENS, layer=7)


def test_long_sentences_stay_readable():
    tokens = [f"w{i}" for i in range(130)]
    im = AV.plot_attention(torch.rand(130, 130).softmax(-1), tokens)
    labels = [t.get_text() for t in im.axes.get_yticklabels()]
    assert 30 <= len(labels) <= 60 and labels[0] == "w0"                  # thinned, not 130 overlapping labels
    assert im.axes.get_yticklabels()[0].get_fontsize() >= 8                 # the course's smallest text
    assert not im.axes.texts                                               # no 16,900 numbers printed
    plt.close(im.axes.figure)


def test_layer_grid_has_one_panel_per_head():
    fig = AV.plot_layer_heads(_random_attention(heads=6), TOKENS, layer=1)
    panels = [ax for ax in fig.axes if ax.get_images()]
    assert len(panels) == 6 and [ax.get_title() for ax in panels] == [f"head {h}" for h in range(6)]
    assert len({ax.get_images()[0].norm.vmax for ax in panels}) == 1      # one shared colour scale
    plt.close(fig)


def test_explorer_builds_controls_and_redraws():
    widgets = pytest.importorskip("ipywidgets")
    explorer = AV.attention_explorer(_random_attention(), TOKENS, layer=1, head=0)
    controls, output = explorer.children
    slider, dropdown = controls.children
    assert isinstance(output, widgets.Output) and (slider.max, slider.value) == (2, 1)
    assert len(dropdown.options) == 2 + 1
    slider.value, dropdown.value = 2, -1                                    # redraw must not fail
    assert "needs a live Jupyter kernel" in repr(explorer)
    plt.close("all")
