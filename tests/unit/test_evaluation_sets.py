"""The offline evaluation sets of xai_helpers.data: the photo set (data/photo_set.json), the composite scenes made
from it, the digit scenes of 4.4b/4.5, the sentence corpus and the held-out minimal pairs (data/sentences/).

Checked on the shipped files themselves (no model: the integration tier checks what the model says about them).
"""
import importlib.util
import inspect
import json
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

import xai_helpers as xh
from xai_helpers import data as D
from xai_helpers.evaluation import load_boxes
from xai_helpers.models.image import ImageModel

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


# --- composite scenes ------------------------------------------------------------------------------------
def _viewer():
    """An ImageModel with the default model's geometry (resize 256, crop 224) around a tiny network: its
    ``view`` is the model's view, computed independently of the loader."""
    net = nn.Sequential(nn.Conv2d(3, 2, 1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten()).eval()
    return ImageModel(name="viewer", model=net, labels=["a", "b"], target_layer=net[1], target_layer_name="1",
                      mean=(0.5,) * 3, std=(0.5,) * 3, device=torch.device("cpu"))


@pytest.fixture(scope="module")
def scenes():
    return D.load_composite_scenes()


def test_forty_scenes_by_default_each_a_224_view_with_its_box_inside(scenes):
    assert len(scenes) == 40 and len({s.name for s in scenes}) == 40
    for scene in scenes:
        assert scene.image.mode == "RGB" and scene.image.size == (224, 224)
        x0, y0, x1, y1 = scene.box
        assert 0 <= x0 < x1 <= 223 and 0 <= y0 < y1 <= 223
        assert D.SCENE_OBJECT_SIZE[0] <= max(x1 - x0 + 1, y1 - y0 + 1) <= D.SCENE_OBJECT_SIZE[1]


def test_the_box_holds_exactly_the_pasted_object_and_the_rest_is_the_background(scenes, photos):
    viewer, by_name = _viewer(), {p.name: p for p in photos}
    for scene in scenes[:12]:
        x0, y0, x1, y1 = scene.box
        cut = viewer.view(by_name[scene.object_photo].image).crop(
            tuple(np.add(by_name[scene.object_photo].boxes[scene.cls], (0, 0, 1, 1))))
        expected = cut.resize((x1 - x0 + 1, y1 - y0 + 1), Image.LANCZOS)
        inside = np.asarray(scene.image)[y0:y1 + 1, x0:x1 + 1]
        assert np.array_equal(inside, np.asarray(expected)) and np.array_equal(inside, np.asarray(scene.patch))
        background = np.asarray(viewer.view(by_name[scene.background].image)).copy()
        outside = np.asarray(scene.image).copy()
        background[y0:y1 + 1, x0:x1 + 1] = outside[y0:y1 + 1, x0:x1 + 1] = 0
        assert np.array_equal(outside, background), scene.name


def test_backgrounds_are_other_photos_whose_classes_differ(scenes, photos):
    by_name = {p.name: p for p in photos}
    for scene in scenes:
        assert scene.background != scene.object_photo
        assert scene.cls not in by_name[scene.background].classes
        assert D.imagenet_labels()[scene.index] == scene.cls
        assert (scene.object_photo, scene.cls) in D.SCENE_OBJECTS


def test_every_object_appears_equally_often(scenes):
    counts = {obj: sum((s.object_photo, s.cls) == obj for s in scenes) for obj in D.SCENE_OBJECTS}
    assert set(counts.values()) <= {40 // len(D.SCENE_OBJECTS), 40 // len(D.SCENE_OBJECTS) + 1}


def test_scenes_are_deterministic_for_a_seed_and_differ_for_another(scenes):
    again, other = D.load_composite_scenes(seed=0), D.load_composite_scenes(seed=1)
    assert [(s.name, s.box, s.image.tobytes()) for s in again] == [(s.name, s.box, s.image.tobytes()) for s in scenes]
    assert [s.box for s in other] != [s.box for s in scenes]
    assert sum(a.image.tobytes() != b.image.tobytes() for a, b in zip(other, scenes)) >= 35
    assert [s.box for s in D.load_composite_scenes(n=5)] == [s.box for s in scenes[:5]]


def test_a_changed_scene_does_not_change_the_next_call(scenes):
    first = D.load_composite_scenes(n=1)[0]
    first.image.paste((255, 0, 0), (0, 0, 224, 224))
    assert D.load_composite_scenes(n=1)[0].image.tobytes() == scenes[0].image.tobytes()


@pytest.mark.parametrize("kwargs, error, message", [
    (dict(n=0), ValueError, "n must be an integer >= 1"),
    (dict(seed=-1), ValueError, "seed must be an integer >= 0"),
    (dict(n=2.5), TypeError, "n"),
    (dict(seed="0"), TypeError, "seed"),
])
def test_bad_scene_arguments_get_a_clear_error(kwargs, error, message):
    with pytest.raises(error, match=message):
        D.load_composite_scenes(**kwargs)


# --- digit scenes ----------------------------------------------------------------------------------------
def test_digit_scenes_are_the_lessons_scenes_with_boxes_inside():
    scenes, lesson = D.load_digit_scenes(n=60), xh.digits.make_cluttered_digits("test", n=60)
    assert len(scenes) == 60 and torch.equal(scenes.images, lesson.images) and torch.equal(scenes.boxes, lesson.boxes)
    defaults = {k: v.default for k, v in inspect.signature(D.load_digit_scenes).parameters.items()}
    assert defaults == {"split": "test", "n": None}                           # all 540 test scenes by default
    top, left, bottom, right = scenes.boxes.T
    assert bool(((0 <= top) & (top < bottom) & (bottom <= 48) & (0 <= left) & (left < right) & (right <= 48)).all())
    few = D.load_digit_scenes("train", n=3)
    assert len(few) == 3 and torch.equal(few.labels, xh.digits.make_cluttered_digits("train", n=3).labels)


@pytest.mark.parametrize("kwargs, error", [(dict(split="val"), ValueError), (dict(n=0), ValueError),
                                           (dict(n="3"), TypeError)])
def test_bad_digit_scene_arguments_get_a_clear_error(kwargs, error):
    with pytest.raises(error):
        D.load_digit_scenes(**kwargs)


# --- sentences -------------------------------------------------------------------------------------------
def _labelled_texts():
    return [t for split in ("train", "test") for t in xh.models.load_sentiment_data(split)[0]]


def test_the_corpus_has_over_500_unique_sentences_in_a_fixed_order():
    corpus = D.load_sentence_corpus()
    assert len(corpus) >= 600 and len(set(corpus)) == len(corpus)
    assert all(isinstance(s, str) and s == s.strip() and s for s in corpus)
    assert corpus == D.load_sentence_corpus()
    assert set(_labelled_texts()) <= set(corpus) and corpus[0] == _labelled_texts()[0]


def test_the_new_corpus_sentences_vary_in_kind_and_length_and_are_new():
    rows = D._read_tsv("sentences", "corpus.tsv", columns=["kind", "text"])
    kinds = {row["kind"] for row in rows}
    assert {"review", "description", "question", "list"} <= kinds
    lengths = [len(row["text"].split()) for row in rows]
    assert min(lengths) >= 4 and max(lengths) <= 40 and max(lengths) >= 30
    assert sum(row["text"].endswith("?") for row in rows) >= 20
    assert not {row["text"].lower() for row in rows} & {t.lower() for t in _labelled_texts()}


def test_a_changed_corpus_list_does_not_change_the_next_call():
    first = D.load_sentence_corpus()
    first.clear()
    assert len(D.load_sentence_corpus()) >= 600


@pytest.fixture(scope="module")
def pairs():
    return D.load_minimal_pairs()


def _words(text):
    return text.rstrip(".").split()


def test_minimal_pairs_are_well_formed(pairs):
    assert list(pairs.columns) == ["pair_id", "kind", "base", "variant", "base_label", "variant_label"]
    assert len(pairs) >= 120 and pairs["pair_id"].is_unique and pairs["pair_id"].dtype.kind == "i"
    assert set(pairs["kind"]) == set(D.MINIMAL_PAIR_KINDS)
    assert (pairs["kind"].value_counts() >= 30).all()
    assert set(pairs["base_label"]) | set(pairs["variant_label"]) == {"positive", "negative"}
    sentences = list(pairs["base"]) + list(pairs["variant"])
    assert len(set(sentences)) == len(sentences) and all(s.endswith(".") for s in sentences)


def test_a_negation_inserts_not_and_flips_the_label(pairs):
    rows = pairs[pairs["kind"] == "negation"]
    for base, variant in zip(rows["base"], rows["variant"]):
        b, v = _words(base), _words(variant)
        at = v.index("not")
        assert v[:at] + v[at + 1:] == b, (base, variant)
    assert (rows["base_label"] != rows["variant_label"]).all()
    assert (rows["base_label"] == "negative").sum() >= 10          # negated negatives: "not bad"


def test_a_contrast_swaps_the_clauses_and_follows_the_clause_after_but(pairs):
    rows = pairs[pairs["kind"] == "contrast"]
    for base, variant in zip(rows["base"], rows["variant"]):
        a, b = base.rstrip(".").split(", but ")
        c, d = variant.rstrip(".").split(", but ")
        assert (c.lower(), d.lower()) == (b.lower(), a.lower()), (base, variant)
    assert (rows["base_label"] != rows["variant_label"]).all()
    assert set(rows["base_label"]) == {"positive", "negative"}


def test_an_intensifier_inserts_a_degree_word_and_keeps_the_label(pairs):
    rows = pairs[pairs["kind"] == "intensifier"]
    inserted = []
    for base, variant in zip(rows["base"], rows["variant"]):
        b, v = _words(base), _words(variant)
        assert v[:len(b) - 1] == b[:-1] and v[-1] == b[-1] and 1 <= len(v) - len(b) <= 2, (base, variant)
        inserted.append(" ".join(v[len(b) - 1:-1]))
    assert (rows["base_label"] == rows["variant_label"]).all()
    assert {"slightly", "a bit"} <= set(inserted) and {"very", "extremely"} <= set(inserted)


def test_minimal_pairs_share_no_sentence_with_the_training_data_or_the_corpus(pairs):
    held_out = {s.lower() for s in list(pairs["base"]) + list(pairs["variant"])}
    assert not held_out & {s.lower() for s in D.load_sentence_corpus()}


def test_a_changed_pairs_frame_does_not_change_the_next_call(pairs):
    first = D.load_minimal_pairs()
    first.loc[0, "base"] = "changed"
    assert D.load_minimal_pairs().loc[0, "base"] == pairs.loc[0, "base"] != "changed"


@pytest.mark.parametrize("content", ["pair_id\tkind\tbase\n1\tnegation\tThe soup was good.\n",
                                     "pair_id\tkind\tbase\tvariant\tbase_label\tvariant_label\n1\tnegation\tA.\n",
                                     "pair_id\tkind\tbase\tvariant\tbase_label\tvariant_label\n"
                                     "1\tsarcasm\tA.\tB.\tpositive\tnegative\n"])
def test_a_broken_pairs_file_gets_a_clear_error(tmp_path, monkeypatch, content):
    (tmp_path / "sentences").mkdir()
    (tmp_path / "sentences" / "minimal_pairs.tsv").write_text(content, encoding="utf-8")
    monkeypatch.setattr(D, "DATA_DIR", tmp_path)
    D._minimal_pairs.cache_clear()
    try:
        with pytest.raises(ValueError, match="minimal_pairs.tsv"):
            D.load_minimal_pairs()
    finally:
        monkeypatch.undo()
        D._minimal_pairs.cache_clear()


def test_the_sentences_readme_states_the_licence_and_that_the_pairs_are_held_out():
    readme = D.data_path("sentences", "README.md").read_text(encoding="utf-8")
    assert "CC0" in readme and "Held out" in readme and re.search(r"written on \d{4}-\d{2}-\d{2}", readme)


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
