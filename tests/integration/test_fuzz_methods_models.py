"""``methods.attention_maps``, ``attention_maps_batch`` and ``token_occlusion`` given wrong kinds of arguments: they need the course's text encoder (or classifier) and its tokenizer.

Same contract as tests/unit/test_fuzz_methods.py (harness: fuzz_support.py). The encoder is loaded once (the
loader caches it); a wrong kind is refused before it runs, so only the valid call costs a forward pass.
"""
import pytest

import xai_helpers as xh
from fuzz_support import Case, fuzz

CASES = {
    "attention_maps": Case(xh.methods.attention_maps, lambda: dict(text_model=xh.load_text_model(),
                                                                   text="The cat sat.", max_length=16),
                           max_examples=20),
    "attention_maps_batch": Case(xh.methods.attention_maps_batch,
                                 lambda: dict(text_model=xh.load_text_model(), texts=["The cat sat.", "A dog."],
                                              batch_size=1, max_length=16), max_examples=20),
    "token_occlusion": Case(xh.methods.token_occlusion, lambda: dict(model=xh.load_text_classifier(), x="Not bad.",
                                                                     target="positive", replacement="[PAD]"),
                            aliases={"model": ["TextClassifier"], "target": ["class"]}, max_examples=20),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_wrong_kinds_of_arguments_get_a_clear_error(name):
    fuzz(CASES[name])
