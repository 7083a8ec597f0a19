"""``methods.head_statistics``: ``head_profile``'s numbers for every sentence, layer and head, in one long table."""
import pytest
import torch

import xai_helpers as xh

pytestmark = pytest.mark.unit

HABITS = ["[CLS]", "[SEP]", "self", "previous", "next"]


def _attentions(seed, seq):
    torch.manual_seed(seed)
    return torch.softmax(torch.randn(3, 4, seq, seq) * 3, -1)


def test_each_row_equals_head_profile_of_its_sentence_and_layer():
    examples = [(["[CLS]", "the", "cat", "sat", "[SEP]"], _attentions(0, 5)),
                (["[CLS]", "a", "dog", "barked", "loudly", ".", "[SEP]"], _attentions(1, 7))]
    table = xh.methods.head_statistics(examples)
    assert len(table) == 2 * 3 * 4 and list(table["tokens"].unique()) == [5, 7]
    for index, (tokens, att) in enumerate(examples):
        for layer in range(3):
            profile = xh.methods.head_profile(att, tokens, layer=layer)
            rows = table[(table["sentence"] == index) & (table["layer"] == layer)].sort_values("head")
            assert rows[HABITS].to_numpy() == pytest.approx(profile[HABITS].to_numpy(), abs=1e-6)


def test_a_previous_word_head_and_a_cls_head_are_told_apart():
    tokens = ["[CLS]", "one", "two", "three", "four", "[SEP]"]
    previous = torch.eye(6).roll(-1, dims=1)
    to_cls = torch.zeros(6, 6)
    to_cls[:, 0] = 1
    table = xh.methods.head_statistics([(tokens, torch.stack([previous, to_cls])[None])])
    assert table.loc[0, "previous"] == 1.0 and table.loc[0, "[CLS]"] == pytest.approx(0.25)   # "one" looks back at [CLS]
    assert table.loc[1, "[CLS]"] == 1.0 and table.loc[1, "previous"] == 0.0


def test_empty_and_wordless_input_get_clear_errors():
    with pytest.raises(ValueError, match="examples is empty"):
        xh.methods.head_statistics([])
    with pytest.raises(ValueError, match="sentence 0.*two words"):
        xh.methods.head_statistics([(["[CLS]", "hi", "[SEP]"], _attentions(0, 3))])
