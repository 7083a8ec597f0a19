"""4.4a runs to its end with another text encoder (XAI_TEXT_MODEL = a saved folder) and names the readings it
could not check: the readings are MiniLM's, the code must hold for any BERT-family encoder. The cells tagged
``same-for-any-text-model`` (section 6: the course classifier with its own encoder, loaded by name) are left out,
after tests/lesson_cells.py has proved on the source that they never see the replaced encoder: they compute here
what nbval's default run computes (~18 s of this run)."""
from helpers import execute_lesson


def save_other_text_model(folder):
    """A randomly initialised small BERT (4 layers x 4 heads, hidden 128) with MiniLM's tokenizer, saved to ``folder``."""
    import torch
    from transformers import BertConfig, BertModel

    import xai_helpers as xh
    tokenizer = xh.load_text_model().tokenizer
    torch.manual_seed(0)
    config = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=128, num_hidden_layers=4, num_attention_heads=4,
                        intermediate_size=256)
    BertModel(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def test_the_lesson_reaches_its_end_with_another_encoder_and_lists_the_unchecked_readings(tmp_path):
    folder = save_other_text_model(tmp_path / "small-random-bert")
    nb, _ = execute_lesson("4.4a_attention_text.ipynb", tmp_path, {"XAI_TEXT_MODEL": folder},
                           skip_tag="same-for-any-text-model")
    text = "\n".join(out.get("text", "") for cell in nb.cells if cell.cell_type == "code" for out in cell.outputs)
    assert "small-random-bert" in text and "4 attention tensors" in text            # the other model really ran
    last = "".join(out.get("text", "") for out in nb.cells[-1].outputs)
    assert "readings were written for the default model and not checked" in last
    for reading in ("pure previous-word head", "[CLS] receives more than [SEP] in every layer",
                    "strongest determiner -> noun head"):
        assert reading in last, f"the reading about {reading!r} should be listed as not checked:\n{last}"
    assert "IG ranks 'ugly'" not in last     # section 6 (the classifier with its own encoder) is not listed as unchecked
