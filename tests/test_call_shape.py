"""One call shape and one set of parameter names across the package (issue #13)."""
import importlib
import inspect
import pkgutil

import pytest

import xai_helpers as xh
from xai_helpers._validate import renamed

ATTRIBUTION_METHODS = ("vanilla_gradients", "gradient_x_input", "smoothgrad", "integrated_gradients", "grad_cam",
                       "grad_cam_plus_plus")
OLD_NAMES = {"smoothgrad_samples", "internal_batch_size", "ig_steps", "steps"}


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
    later = [p for p in parameters[3:] if p.kind is not p.VAR_POSITIONAL]
    if name.startswith("grad_cam"):
        layer = inspect.signature(getattr(xh.methods, name)).parameters["layer"]
        assert layer.kind is layer.KEYWORD_ONLY and layer.default is None


def test_no_public_function_uses_an_old_parameter_name():
    found = [(where, p) for where, f in _public_callables()
             for p in inspect.signature(f).parameters if p in OLD_NAMES]
    assert found == []
    checked = dict(_public_callables())
    assert len(checked) > 100 and "xai_helpers.evaluation.deletion.faithfulness" in checked


def test_old_keyword_names_are_read_and_both_names_at_once_are_refused():
    @renamed(steps="fractions")
    def curve(x, fractions=10):
        return fractions
    assert curve(1, steps=4) == 4 == curve(1, fractions=4) and curve(1) == 10
    with pytest.raises(TypeError, match=r"pass fractions= only \(steps= is its old name\)"):
        curve(1, steps=4, fractions=5)


def test_the_package_defaults_apply_when_the_explainers_get_no_batch_size():
    """image_explainers() without batch_size uses the measured defaults of IG and SmoothGrad."""
    parameters = inspect.signature(xh.interpret.image_explainers).parameters
    assert parameters["batch_size"].default is None and parameters["n_steps"].default == xh.DEFAULT_IG_STEPS
