"""The course's offline sentiment classifier (xai_helpers.models.sentiment)."""
from pathlib import Path

import pytest

from xai_helpers.models.base import ModelUnavailableError
import xai_helpers.models.sentiment as S
from xai_helpers.models.sentiment import load_sentiment_data


def test_dataset_is_balanced_and_the_test_split_is_held_out():
    train_x, train_y = load_sentiment_data("train")
    test_x, test_y = load_sentiment_data("test")
    assert len(train_x) + len(test_x) >= 400
    for labels in (train_y, test_y):
        assert set(labels) == {"positive", "negative"}
        assert labels.count("positive") == labels.count("negative")
    normalise = lambda s: " ".join(s.lower().split())  # noqa: E731
    assert not {normalise(t) for t in train_x} & {normalise(t) for t in test_x}
    assert len(set(train_x)) == len(train_x) and len(set(test_x)) == len(test_x)


def test_the_package_does_not_train():
    source = Path(S.__file__).read_text()
    assert not hasattr(S, "train_sentiment_head") and not hasattr(S, "save_sentiment_head")
    assert "backward(" not in source and "optim" not in source


# nothing is loaded: the checkpoint is looked for before the encoder
def test_a_missing_checkpoint_is_an_error_naming_the_rebuild_command(monkeypatch, tmp_path):
    monkeypatch.setattr(S, "SENTIMENT_CHECKPOINT", tmp_path / "missing.safetensors")
    with pytest.raises(ModelUnavailableError, match=r"minilm_sentiment.*is missing.*python tools/train_text_classifier\.py"):
        S._load_course_classifier()
