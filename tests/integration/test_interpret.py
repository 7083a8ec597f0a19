"""End-to-end interpreters (xai_helpers.interpret)."""
import matplotlib
import numpy as np
import pytest
import torch

import xai_helpers as xh
from helpers import hook_count  # noqa: E402  (tests/helpers.py)
from xai_helpers.interpret import ImageClassifierInterpreter, TextClassifierInterpreter, captum_text_visualization, diagnose_misclassification, image_explainers, top_region_iou
from xai_helpers.methods.integrated import output_difference
from xai_helpers.models.sentiment import load_text_classifier

matplotlib.use("Agg")
CHEAP = dict(n_steps=4, n_samples=2)


@pytest.fixture(scope="module")
def cat_result(image_model):
    return ImageClassifierInterpreter(image_model, **CHEAP).interpret("cat")


@pytest.fixture(scope="module")
def clf():
    return load_text_classifier()


def test_predictions_are_the_models_top_k_with_names(image_model, cat_x, cat_result):
    assert [p[:2] for p in cat_result.predictions] == [p[:2] for p in xh.predict(image_model, cat_x, k=5)]
    probs = [p for _, _, p in cat_result.predictions]
    assert probs == sorted(probs, reverse=True)
    assert cat_result.target == cat_result.predictions[0][0]
    assert cat_result.target_label == image_model.labels[cat_result.target]


def test_three_maps_at_input_size_with_their_conventions(image_model, cat_x, cat_result):
    assert list(cat_result.maps) == ["grad_cam", "integrated_gradients", "smoothgrad"]
    for heat in cat_result.maps.values():
        assert heat.shape == (224, 224) and np.isfinite(heat).all()
    cam = cat_result.maps["grad_cam"]
    assert cam.min() >= 0 and cam.max() == pytest.approx(1.0)
    assert (cat_result.maps["integrated_gradients"] < 0).any()    # IG keeps its sign
    assert cat_result.maps["smoothgrad"].min() >= 0
    # IG's completeness: the map's sum equals the logit difference up to the reported delta
    diff = output_difference(image_model, cat_x, cat_result.target)
    assert cat_result.ig_score_difference == pytest.approx(diff, rel=1e-4)
    assert cat_result.maps["integrated_gradients"].sum() == pytest.approx(diff + cat_result.ig_delta, rel=1e-3, abs=1e-3)


def test_ig_maps_carry_their_completeness_error(image_model, cat_result):
    # 4 steps are far too few on this model: the result must say so, and the figure must warn
    assert cat_result.n_steps == 4 and cat_result.ig_relative_error > 0.05 and not cat_result.ig_reliable
    fig = ImageClassifierInterpreter.show(None, cat_result)
    titles = [ax.get_title() for ax in fig.axes]
    assert any("completeness error" in t and "do not read" in t for t in titles)
    matplotlib.pyplot.close(fig)
    explain = image_explainers(("integrated_gradients",), n_steps=4)["integrated_gradients"]
    with pytest.warns(UserWarning, match="completeness error"):
        explain(image_model, image_model.preprocess("cat"), cat_result.target_label)   # a name is resolved
    record, = explain.completeness
    assert record["steps"] == 4 and record["target"] == cat_result.target
    assert record["relative_error"] == pytest.approx(cat_result.ig_relative_error, rel=1e-3)  # same target, same map


def test_target_by_name_changes_the_maps(image_model):
    it = ImageClassifierInterpreter(image_model, **CHEAP)
    a = it.interpret("dog", methods=("grad_cam",))
    b = it.interpret("dog", target="pickup", methods=("grad_cam",))
    assert b.target_label == "pickup" and b.target == image_model.labels.index("pickup")
    assert top_region_iou(a.maps["grad_cam"], b.maps["grad_cam"]) < 0.5


def test_interpreters_leave_no_hooks_on_the_model(image_model):
    before = hook_count(image_model.model)
    interpreters = [ImageClassifierInterpreter(image_model, **CHEAP) for _ in range(5)]
    assert hook_count(image_model.model) == before
    interpreters[0].interpret("coffee", methods=("grad_cam",))
    assert hook_count(image_model.model) == before == 0


def test_works_on_another_catalog_architecture():
    resnet = xh.load_image_model("resnet18", random_weights=True)   # no download needed
    result = ImageClassifierInterpreter(resnet, **CHEAP).interpret("cat", target="tabby")
    assert result.maps["grad_cam"].shape == (224, 224)
    assert result.target_label == "tabby"
    assert hook_count(resnet.model) == 0


def test_show_draws_one_figure_with_a_panel_per_method(cat_result):
    fig = ImageClassifierInterpreter.show(None, cat_result)
    images = [ax for ax in fig.axes if ax.images]
    assert len(images) == 1 + 3
    assert "1." in images[0].get_title(loc="left")
    matplotlib.pyplot.close(fig)


# --- misclassification report ------------------------------------------------------------------
def test_diagnosis_numbers_come_from_the_model(image_model):
    report = diagnose_misclassification(image_model, "grace_hopper", "military uniform", methods=("grad_cam",))
    x = image_model.preprocess("grace_hopper")
    with torch.no_grad():
        probs = image_model.model(x).softmax(-1)[0]
    idx = image_model.labels.index("military uniform")
    assert report.true[0] == idx and report.true[2] == pytest.approx(float(probs[idx]), abs=1e-6)
    assert report.true_rank == int((probs > probs[idx]).sum()) + 1
    assert report.predicted[0] == int(probs.argmax())
    assert report.maps_true["grad_cam"].shape == (224, 224)
    text = report.report()
    assert f"rank {report.true_rank}" in text and "military uniform" in text
    assert not report.correct
    fig = report.show()
    assert len([ax for ax in fig.axes if ax.images]) == 4
    matplotlib.pyplot.close(fig)


def test_diagnosis_of_a_correct_prediction_says_so_and_draws_one_row(image_model):
    report = diagnose_misclassification(image_model, "squirrel", "fox squirrel", methods=("grad_cam",))
    assert report.correct and report.true_rank == 1 and report.diagnosis[0].startswith("Correct")
    fig = report.show()
    assert len([ax for ax in fig.axes if ax.images]) == 2        # the same maps are not drawn twice
    matplotlib.pyplot.close(fig)


def test_diagnosis_reports_ig_completeness_and_ignores_unreadable_ig(image_model):
    with pytest.warns(UserWarning, match="completeness error"):
        report = diagnose_misclassification(image_model, "eagle", "bald eagle", n_steps=4)
    assert set(report.ig_errors) == {report.predicted[1], "bald eagle"}
    assert all(e > 0.05 for e in report.ig_errors.values())
    assert "not read" in report.report()
    assert not any("Integrated Gradients" in sentence for sentence in report.diagnosis)


def test_unknown_true_class_suggests_names(image_model):
    with pytest.raises(ValueError, match="Did you mean"):
        diagnose_misclassification(image_model, "eagle", "bald eagel", methods=("grad_cam",))


# --- text ------------------------------------------------------------------------------------
def test_text_attributions_one_per_token_and_complete(clf):
    it = TextClassifierInterpreter(clf, n_steps=50)
    r = it.interpret("The soup was cold but the staff were lovely.")
    assert r.quantity == "margin"
    p = r.probabilities[r.target_label]
    assert r.text_score == pytest.approx(np.log(p / (1 - p)), abs=1e-4)      # the margin = log-odds of the target
    assert r.score_difference == pytest.approx(r.text_score - r.reference_score)
    with torch.no_grad():
        ref = clf.model(it.reference_ids(clf.encode([r.text])["input_ids"]), clf.encode([r.text])["attention_mask"])[0]
    other = 1 - r.target
    assert r.reference_score == pytest.approx(float(ref[r.target] - ref[other]), abs=1e-4)
    assert r.tokens[0] == "[CLS]" and r.tokens[-1] == "[SEP]"
    assert len(r.attributions) == len(r.tokens)
    top = clf.predict(r.text, k=1)[0]
    assert r.prediction[:2] == top[:2]                                      # a Prediction: index, label
    assert r.prediction.probability == pytest.approx(top.probability, abs=1e-5)
    # completeness of Layer IG (Gauss-Legendre): sum of attributions = logit(x) - logit(reference)
    assert abs(r.attributions.sum() - r.score_difference - r.delta) < 1e-4
    assert r.relative_error < 1e-2
    assert r.reference_tokens[0] == "[CLS]" and r.reference_tokens[-1] == "[SEP]"
    assert set(r.reference_tokens[1:-1]) == {"[PAD]"}


def test_text_target_by_name_flips_the_sign(clf):
    it = TextClassifierInterpreter(clf, n_steps=32)
    pos = it.interpret("What a wonderful day.", target="positive")
    neg = it.interpret("What a wonderful day.", target="negative")
    assert neg.target_label == "negative"
    # two classes: the margin of 'negative' is minus the margin of 'positive', token by token
    assert np.allclose(neg.attributions, -pos.attributions, atol=1e-4)
    assert neg.reference_score == pytest.approx(-pos.reference_score, abs=1e-5)


def test_text_logit_mode_explains_one_logit(clf):
    it = TextClassifierInterpreter(clf, n_steps=50, explain="logit")
    r = it.interpret("What a wonderful day.", target="positive")
    enc = clf.encode([r.text])
    with torch.no_grad():
        logits = clf.model(enc["input_ids"], enc["attention_mask"])[0]
    assert r.quantity == "logit" and r.text_score == pytest.approx(float(logits[r.target]), abs=1e-4)
    assert abs(r.attributions.sum() - r.score_difference - r.delta) < 1e-4
    with pytest.raises(ValueError, match="margin"):
        TextClassifierInterpreter(clf, explain="probability")


def test_text_lig_leaves_no_hooks_and_never_truncates_silently(clf):
    # transformers 5 installs its own output-capturing hooks once, the first time attentions are asked
    # for (by any caller); what must hold is that interpreting adds none.
    before = hook_count(clf.model)
    it = TextClassifierInterpreter(clf, n_steps=8)
    it.interpret("fine")
    assert hook_count(clf.model) == before
    with pytest.warns(UserWarning, match="reads at most"):
        result = it.interpret("word " * (clf.max_length + 5))
    assert len(result.tokens) == clf.max_length and hook_count(clf.model) == before


def test_captum_visualisation_gets_escaped_tokens(clf):
    r = TextClassifierInterpreter(clf, n_steps=8).interpret("ok")
    r.tokens = ["[CLS]", "<script>", "[SEP]"]
    page = captum_text_visualization([r]).data
    assert "<script>" not in page and "&lt;script&gt;" in page
