"""The evaluation photos against the default model: its top-5 holds a listed class wherever photo_set.json says so."""
import pytest

import xai_helpers as xh
from xai_helpers.data import load_photo_set


@pytest.fixture(scope="module")
def top5():
    model = xh.load_image_model()
    return {item.name: [p.label for p in model.predict(item.image, k=5)] for item in load_photo_set()}


def test_the_top5_holds_a_listed_class_for_every_photo_marked_so(top5):
    photos = load_photo_set()
    marked = [item for item in photos if item.top5_has_class]
    assert len(marked) >= 30
    missing = {item.name: top5[item.name] for item in marked if not set(item.classes) & set(top5[item.name])}
    assert missing == {}


def test_the_photos_marked_as_errors_are_errors(top5):
    errors = [item for item in load_photo_set() if not item.top5_has_class]
    assert errors, "the set keeps some photos the model gets wrong"
    assert all(not set(item.classes) & set(top5[item.name]) for item in errors), [i.name for i in errors]
