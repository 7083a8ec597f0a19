"""One call shape and one set of parameter names across the package."""
import importlib
import inspect
import pkgutil

import pytest

import xai_helpers as xh

ATTRIBUTION_METHODS = ("vanilla_gradients", "gradient_x_input", "smoothgrad", "integrated_gradients", "grad_cam",
                       "grad_cam_plus_plus", "smoothgrad_sq", "vargrad", "guided_backprop", "hires_cam", "layer_cam",
                       "ablation_cam", "expected_gradients", "gradient_rollout", "value_norm_attention",
                       "token_occlusion", "patch_occlusion")
CAM_METHODS = ("grad_cam", "grad_cam_plus_plus", "hires_cam", "layer_cam", "ablation_cam")
#: Other spellings of n_samples, batch_size, n_steps and fractions: no public function uses them.
OTHER_SPELLINGS = {"smoothgrad_samples", "internal_batch_size", "ig_steps", "steps"}


def _public_callables():
    for info in pkgutil.walk_packages(xh.__path__, prefix="xai_helpers."):
        module = importlib.import_module(info.name)
        for name, value in vars(module).items():
            if name.startswith("_") or getattr(value, "__module__", None) != module.__name__:
                continue
            if inspect.isclass(value):
                yield f"{info.name}.{name}", value.__init__
            elif callable(value):
                yield f"{info.name}.{name}", value


@pytest.mark.parametrize("name", ATTRIBUTION_METHODS)
def test_every_attribution_method_is_model_x_target_then_keywords(name):
    parameters = list(inspect.signature(getattr(xh.methods, name)).parameters.values())
    assert [p.name for p in parameters[:3]] == ["model", "x", "target"]
    assert all(p.kind is p.KEYWORD_ONLY or p.default is not p.empty for p in parameters[3:]
               if p.kind is not p.VAR_POSITIONAL)          # after (model, x, target): only options
    if name in CAM_METHODS:
        layer = inspect.signature(getattr(xh.methods, name)).parameters["layer"]
        assert layer.kind is layer.KEYWORD_ONLY and layer.default is None


def test_no_public_function_uses_another_spelling_of_a_parameter_name():
    found = [(where, p) for where, f in _public_callables()
             for p in inspect.signature(f).parameters if p in OTHER_SPELLINGS]
    assert found == []
    checked = dict(_public_callables())
    assert len(checked) > 100 and "xai_helpers.evaluation.deletion.faithfulness" in checked


def test_a_wrong_keyword_is_pythons_own_type_error():
    with pytest.raises(TypeError, match="unexpected keyword argument 'ig_steps'"):
        xh.ImageClassifierInterpreter(object(), ig_steps=4)
    with pytest.raises(TypeError, match="unexpected keyword argument 'internal_batch_size'"):
        xh.integrated_gradients(None, None, 0, internal_batch_size=2)


def test_the_package_defaults_apply_when_the_explainers_get_no_batch_size():
    """image_explainers() without batch_size uses the measured defaults of IG and SmoothGrad."""
    parameters = inspect.signature(xh.interpret.image_explainers).parameters
    assert parameters["batch_size"].default is None and parameters["n_steps"].default == xh.methods.DEFAULT_IG_STEPS


def test_every_result_record_of_the_package_has_show():
    """Results that are more than a tensor are dataclasses with ``.show()`` (tables also ``.to_frame()``)."""
    import dataclasses
    records = [xh.interpret.ImageInterpretation, xh.interpret.TextInterpretation, xh.interpret.MisclassificationReport,
               xh.evaluation.Curves, xh.evaluation.FaithfulnessResult, xh.evaluation.PointingResult,
               xh.evaluation.RandomisationResult]
    assert all(dataclasses.is_dataclass(r) and callable(getattr(r, "show", None)) for r in records)
    assert all(callable(getattr(r, "to_frame", None)) for r in records[3:])
