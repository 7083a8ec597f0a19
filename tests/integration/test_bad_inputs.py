"""Table-driven: bad input gets a clear error of a specific type -- or is handled, where users expect it."""

import pytest
import torch
from PIL import Image

import xai_helpers as xh
from helpers import made_file as _save
from xai_helpers.methods.cam import grad_cam


# --- image files ------------------------------------------------------------------------------------
def _huge_jpeg(path):
    Image.new("RGB", (8000, 6000), (10, 120, 40)).save(path, quality=50)


def test_tiny_and_huge_images_become_model_inputs_without_exhausting_memory(tmp_path, image_model):
    tiny = tmp_path / "tiny.png"
    Image.new("RGB", (1, 1), (1, 2, 3)).save(tiny)
    assert image_model.preprocess(tiny).shape == (1, 3, 224, 224)
    huge = _save(tmp_path, "huge.jpg", _huge_jpeg)
    img = xh.load_image(huge)  # decoded at reduced size (JPEG draft mode): 48 MP would be 144 MB
    assert img.width * img.height <= xh.data.MAX_PIXELS
    assert image_model.preprocess(huge).shape == (1, 3, 224, 224)


# --- tensors, targets, layers, models ---------------------------------------------------------
def _with(value):
    def make(x):
        y = x.clone()
        y[0, 1, 5, 5] = value
        return y
    return make


TENSOR_ERRORS = [
    ("NaN in the input", _with(float("nan")), 281, ValueError, "NaN"),
    ("inf in the input", _with(float("inf")), 281, ValueError, "infinite"),
    ("batch of two", lambda x: x.repeat(2, 1, 1, 1), 281, ValueError, "one\\s+example"),
    ("missing batch dimension", lambda x: x[0], 281, ValueError, "unsqueeze"),
    ("integer tensor", lambda x: (x * 100).long(), 281, TypeError, "floating-point"),
    ("numpy array instead of a tensor", lambda x: x.numpy(), 281, TypeError, "torch.Tensor"),
    ("target out of range", lambda x: x, 1000, ValueError, "out of range"),
    ("negative target", lambda x: x, -3, ValueError, "out of range"),
    ("unknown class name", lambda x: x, "tabby catt", ValueError, "Did you mean"),
    ("target of a wrong type", lambda x: x, [281], TypeError, "class index"),
]


@pytest.mark.parametrize("case, change, target, error, message", TENSOR_ERRORS,
                         ids=[c[0] for c in TENSOR_ERRORS])
@pytest.mark.parametrize("method", ["vanilla_gradients", "smoothgrad", "grad_cam"])
def test_bad_tensors_and_targets_get_clear_errors(image_model, cat_x, method, case, change, target, error,
                                                  message):
    fn = {"vanilla_gradients": lambda x, t: xh.vanilla_gradients(image_model, x, t),
          "smoothgrad": lambda x, t: xh.smoothgrad(image_model, x, t, n_samples=2),
          "grad_cam": lambda x, t: grad_cam(image_model, x, t)}[method]
    with pytest.raises(error, match=message):
        fn(change(cat_x), target)


def test_target_as_class_name_is_supported(image_model, cat_x):
    assert torch.equal(grad_cam(image_model, cat_x, "tabby"), grad_cam(image_model, cat_x, 281))


def test_layer_not_part_of_the_model(image_model, cat_x):
    other = torch.nn.Conv2d(3, 3, 1)
    with pytest.raises(ValueError, match="not part of this model"):
        grad_cam(image_model, cat_x, 281, layer=other)
    with pytest.raises(ValueError, match="no layer named"):
        grad_cam(image_model, cat_x, 281, layer="_conv_haed")


def test_model_left_in_train_mode_is_handled_with_a_warning(image_model, cat_x):
    net = image_model.model
    expected = xh.vanilla_gradients(image_model, cat_x, 281)
    net.train()
    try:
        with pytest.warns(UserWarning, match="train mode"):
            got = xh.vanilla_gradients(image_model, cat_x, 281)
    finally:
        net.eval()
    assert torch.equal(got, expected)


def test_unknown_model_names():
    with pytest.raises(ValueError, match="Choose one of"):
        xh.load_image_model("alexnet-9000")


# --- text ---------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def text_model():
    return xh.load_text_model()


@pytest.fixture(scope="module")
def classifier():
    return xh.load_text_classifier()


TEXT_ERRORS = [("empty text", "", ValueError, "empty"), ("whitespace only", " \n\t ", ValueError, "whitespace"),
               ("not a string", 42, TypeError, "str")]


@pytest.mark.parametrize("case, text, error, message", TEXT_ERRORS, ids=[c[0] for c in TEXT_ERRORS])
def test_bad_texts_get_clear_errors(text_model, classifier, case, text, error, message):
    with pytest.raises(error, match=message):
        xh.attention_maps(text_model, text)
    with pytest.raises(error, match=message):
        classifier.predict([text])
    with pytest.raises(error, match=message):
        xh.TextClassifierInterpreter(classifier, n_steps=4).interpret(text)


def test_a_single_string_is_one_input_to_predict_but_refused_by_predict_proba(classifier):
    assert classifier.predict("great film") == classifier.predict(["great film"])[0]
    with pytest.raises(TypeError, match="texts must be a sequence of strings; got str .great film."):
        classifier.predict_proba("great film")


def test_text_longer_than_the_model_is_truncated_with_a_warning(text_model, classifier):
    long_text = "the film was good " * 300
    with pytest.warns(UserWarning, match="reads at most 512"):
        tokens, attentions = xh.attention_maps(text_model, long_text)
    assert len(tokens) == 512 and attentions.shape[-1] == 512
    with pytest.warns(UserWarning, match="reads at most"):
        (_, label, p), = classifier.predict([long_text], k=1)[0]
    assert label in ("positive", "negative")
    with pytest.warns(UserWarning, match="reads at most"):
        result = xh.TextClassifierInterpreter(classifier, n_steps=4).interpret(long_text)
    assert len(result.tokens) == classifier.max_length


def test_non_latin_text_and_emoji_are_handled(text_model, classifier):
    text = "Кошка сидела на коврике 🐈 — 猫がマットに座った"
    tokens, attentions = xh.attention_maps(text_model, text)
    assert tokens[0] == "[CLS]" and tokens[-1] == "[SEP]" and attentions.shape[-1] == len(tokens)
    assert torch.isfinite(attentions).all()
    (_, label, p), = classifier.predict(text, k=1)
    assert 0 <= p <= 1


def test_script_tokens_are_rendered_as_text_not_markup(classifier):
    result = xh.TextClassifierInterpreter(classifier, n_steps=4).interpret("<script>alert(1)</script> great")
    page = xh.interpret.render_tokens_html(result.tokens, result.attributions)
    assert "<script>" not in page and "&lt;" in page
    tokens = ["[CLS]", "</script><script>alert(1)</script>", "[SEP]"]
    view = xh.viz.head_view(torch.full((1, 1, 3, 3), 1 / 3), tokens)
    assert "</script><script>alert(1)" not in view.data
