"""The offline evaluation sets of xai_helpers.data: the photo set, read from data/photo_set.json.

Checked on the shipped files themselves (no model: the integration tier checks what the model says about them).
"""
import importlib.util
import json
import re
from pathlib import Path

import pytest
from PIL import Image

import xai_helpers as xh
from xai_helpers import data as D
from xai_helpers.evaluation import load_boxes

ROOT = Path(__file__).resolve().parents[2]


def _prepare_data():
    """tools/prepare_data.py as a module (it is a script, not part of the package)."""
    spec = importlib.util.spec_from_file_location("prepare_data", ROOT / "tools" / "prepare_data.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def photos():
    return D.load_photo_set()


def _catalogue():
    return json.loads(D.data_path(D.PHOTO_SET_FILE).read_text(encoding="utf-8"))


# --- the photo set ---------------------------------------------------------------------------------------
def test_the_set_has_at_least_30_photos_and_15_classes(photos):
    assert len(photos) >= 30
    assert len({c for p in photos for c in p.classes}) >= 15
    assert len({p.name for p in photos}) == len(photos)


def test_every_photo_is_rgb_with_a_short_side_of_200_to_320_px_and_under_150_kb(photos):
    for item in photos:
        assert isinstance(item.image, Image.Image) and item.image.mode == "RGB", item.name
        assert 200 <= min(item.image.size) <= 320, (item.name, item.image.size)
    for entry in _catalogue()["photos"].values():
        assert D.data_path(*entry["file"].split("/")).stat().st_size < 150_000, entry["file"]


def test_every_box_is_inside_the_224_view_and_not_degenerate(photos):
    for item in photos:
        assert set(item.boxes) == set(item.classes) and len(item.classes) >= 1, item.name
        for label, (x0, y0, x1, y1) in item.boxes.items():
            assert all(isinstance(v, int) for v in (x0, y0, x1, y1)), (item.name, label)
            assert 0 <= x0 < x1 <= 223 and 0 <= y0 < y1 <= 223, (item.name, label)
            assert (x1 - x0) >= 8 and (y1 - y0) >= 8, (item.name, label)


def test_classes_are_imagenet_names_and_indices_match_them(photos):
    labels = D.imagenet_labels()
    for item in photos:
        assert [labels[i] for i in item.indices] == list(item.classes), item.name


def test_course_photos_keep_their_short_names_and_the_old_boxes_agree(photos):
    by_name = {p.name: p for p in photos}
    assert {"cat", "dog", "coffee", "butterfly", "squirrel", "eagle", "grace_hopper"} <= set(by_name)
    for name in D.COURSE_IMAGES:
        assert xh.load_image(name).mode == "RGB"
    for photo, boxes in load_boxes().items():
        if photo in by_name:
            for label, box in boxes.items():
                assert by_name[photo].boxes[label] == tuple(box), (photo, label)


def test_every_call_returns_fresh_copies(photos):
    first = D.load_photo_set()
    first[0].image.paste((255, 0, 0), (0, 0, 10, 10))
    first[0].boxes["tabby"] = (1, 1, 2, 2)
    second = D.load_photo_set()
    assert second[0].image.getpixel((0, 0)) != (255, 0, 0)
    assert second[0].boxes == photos[0].boxes


def test_photo_items_are_frozen(photos):
    with pytest.raises(AttributeError):
        photos[0].name = "other"


def test_course_photos_without_an_imagenet_class_stay_out_of_the_set(photos):
    catalogue = _catalogue()["photos"]
    without = {name for name, entry in catalogue.items() if not entry["classes"]}
    assert without == {"robin", "giraffe"}
    assert without.isdisjoint(p.name for p in photos)
    assert len(photos) == len(catalogue) - len(without)


@pytest.mark.parametrize("entry, message", [
    ({"classes": {"not a class": [0, 0, 10, 10]}}, "not ImageNet-1k class names"),
    ({"classes": {"tabby": [0, 0, 300, 10]}}, "must be \\[x0, y0, x1, y1\\]"),
    ({"classes": {"tabby": [20, 0, 10, 10]}}, "must be \\[x0, y0, x1, y1\\]"),
])
def test_a_broken_catalogue_gets_a_clear_error(tmp_path, monkeypatch, entry, message):
    catalogue = _catalogue()
    catalogue["photos"] = {"cat": {**catalogue["photos"]["cat"], **entry}}
    (tmp_path / D.PHOTO_SET_FILE).write_text(json.dumps(catalogue), encoding="utf-8")
    (tmp_path / "cat.jpg").write_bytes(D.data_path("cat.jpg").read_bytes())
    monkeypatch.setattr(D, "DATA_DIR", tmp_path)
    D._photo_items.cache_clear()
    try:
        with pytest.raises(ValueError, match=message):
            D.load_photo_set()
    finally:
        monkeypatch.undo()
        D._photo_items.cache_clear()
    assert len(D.load_photo_set()) >= 30


# --- sources and the rebuild script ----------------------------------------------------------------------
def test_sources_md_lists_every_photo_file_with_its_licence():
    sources = D.data_path("SOURCES.md").read_text(encoding="utf-8")
    rows = {m.group(1): m.group(0) for m in re.finditer(r"^\| `([^`]+\.jpg)` \|.*$", sources, re.M)}
    shipped = {p.relative_to(D.DATA_DIR).as_posix() for p in D.DATA_DIR.rglob("*.jpg")}
    assert set(rows) == shipped
    for name, entry in _catalogue()["photos"].items():
        assert entry["licence"] in rows[entry["file"]] and f"`{name}`" in rows[entry["file"]], name


def test_prepare_data_accepts_the_shipped_files_and_flags_broken_ones(tmp_path):
    prepare = _prepare_data()
    assert prepare.check() == []
    catalogue = _catalogue()
    photos = catalogue["photos"]
    catalogue["photos"] = {"cat": photos["cat"], "dog": photos["dog"],
                           "coffee": {**photos["coffee"], "classes": {"espresso": [0, 0, 224, 5]}}}
    (tmp_path / prepare.PHOTO_SET.name).write_text(json.dumps(catalogue), encoding="utf-8")
    Image.new("L", (320, 400)).save(tmp_path / "cat.jpg")
    (tmp_path / "coffee.jpg").write_bytes(D.data_path("coffee.jpg").read_bytes())
    problems = prepare.check(tmp_path)
    assert len(problems) == 3, problems
    assert any(p.startswith("cat:") and "RGB" in p for p in problems)
    assert any(p.startswith("dog:") and "missing" in p for p in problems)
    assert any(p.startswith("coffee/espresso:") and "not inside" in p for p in problems)


def test_prepare_data_converts_and_crops_like_the_shipped_photos():
    prepare = _prepare_data()
    big = Image.new("RGBA", (1000, 800), (10, 20, 30, 255))
    assert prepare.convert(big).size == (400, 320) and prepare.convert(big).mode == "RGB"
    assert prepare.convert(big, crop=[0, 0, 300, 250]).size == (300, 250)      # never enlarged
