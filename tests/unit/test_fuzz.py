"""Property-based input fuzzing of every public attribution method (hypothesis), on a tiny hand-built CNN.

Each call either returns a valid map (finite, on the CPU, the expected shape) or raises a ValueError/TypeError
raised by the package itself (never a raw error from deep inside torch) whose message says what to pass
instead; and no hook is ever left on the model, whose mode, modules and weights stay as they were.
"""
import re
import traceback

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch import nn

import xai_helpers as xh
from helpers import hook_count
from xai_helpers.models.image import ImageModel
from xai_helpers.models.vit import TinyViT, VisionModel

LABELS = ["cat", "dog", "fox", "owl", "eel"]
#: words that show a message tells the learner what to do (or what a valid value looks like)
NAMES_THE_FIX = re.compile(r"\b(pass|use|must|expected|choose|add|pick|move|call|needs?|give|one of|got|"
                           r"instead|check|shorten|reinstall|rebuild)\b|e\.g\.", re.IGNORECASE)


class TinyCNN(nn.Module):
    def __init__(self, channels=3, classes=len(LABELS)):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(channels, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, 6, 3, padding=1),
                                      nn.ReLU())
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(6, classes)

    def forward(self, x):
        return self.fc(self.pool(self.features(x)).flatten(1))


def _models():
    torch.manual_seed(0)
    net = xh.models.freeze(TinyCNN())
    wrapped = ImageModel(name="tiny", model=net, labels=LABELS, target_layer=net.features[3],
                         target_layer_name="features.3", mean=(0.5,) * 3, std=(0.25,) * 3, resize=16, crop=16,
                         device=torch.device("cpu"))
    return net, wrapped


NET, WRAPPED = _models()
OTHER = TinyCNN()


def _vit():
    torch.manual_seed(0)
    net = TinyViT(image_size=16, patch_size=8, depth=2, dim=8, heads=2, mlp_dim=8, stem_channels=2).eval()
    return VisionModel(name="tiny-vit", model=net, labels=[str(i) for i in range(10)], image_size=16, patch_size=8,
                       device=torch.device("cpu"))


VIT = _vit()


@st.composite
def inputs(draw):
    ndim = draw(st.sampled_from([4, 4, 4, 4, 3, 2, 5]))
    shape = [draw(st.sampled_from([1, 1, 1, 2, 0]))] if ndim >= 4 else []
    shape += [draw(st.sampled_from([3, 3, 3, 1, 4]))] if ndim >= 3 else []
    shape += [draw(st.integers(1, 12)), draw(st.integers(1, 12))] + [2] * max(0, ndim - 4)
    dtype = draw(st.sampled_from([torch.float32, torch.float32, torch.float32, torch.float64, torch.int64,
                                  torch.bool, torch.float16]))
    x = torch.randn(shape).to(dtype) if dtype != torch.bool else torch.randn(shape) > 0
    poison = draw(st.sampled_from([None, None, None, float("nan"), float("inf")]))
    if poison is not None and x.is_floating_point() and x.numel():
        x.view(-1)[0] = poison
    return draw(st.sampled_from([x, x, x, x, x.numpy(), x.tolist(), "cat"]))


TARGETS = st.one_of(st.integers(-3, 7), st.sampled_from(LABELS + ["Cat", "zebra", "", "3"]),
                    st.sampled_from([None, 1.0, True, torch.tensor(2), torch.tensor([1, 2]), [1]]))
LAYERS = st.sampled_from([None, "features.3", "features.1", "features", "fc", "nope", NET.features[3],
                          OTHER.features[3], 3])
BASELINES = st.sampled_from(["black", "white", "blur", "noise", "grey", None, 0.0, "tensor", "wrong shape"])
MODELS = st.sampled_from(["plain", "wrapped", "wrapped", "not a model"])

METHODS = {
    "vanilla_gradients": lambda m, x, t, layer, base: xh.vanilla_gradients(m, x, t),
    "gradient_x_input": lambda m, x, t, layer, base: xh.gradient_x_input(m, x, t),
    "smoothgrad": lambda m, x, t, layer, base: xh.smoothgrad(m, x, t, n_samples=3),
    "integrated_gradients": lambda m, x, t, layer, base: xh.integrated_gradients(m, x, t, base, n_steps=3),
    "grad_cam": lambda m, x, t, layer, base: xh.grad_cam(m, x, t, layer=layer),
    "grad_cam_plus_plus": lambda m, x, t, layer, base: xh.grad_cam_plus_plus(m, x, t, layer=layer),
    "smoothgrad_sq": lambda m, x, t, layer, base: xh.methods.smoothgrad_sq(m, x, t, n_samples=3),
    "vargrad": lambda m, x, t, layer, base: xh.methods.vargrad(m, x, t, n_samples=3),
    "guided_backprop": lambda m, x, t, layer, base: xh.methods.guided_backprop(m, x, t),
    "hires_cam": lambda m, x, t, layer, base: xh.methods.hires_cam(m, x, t, layer=layer),
    "layer_cam": lambda m, x, t, layer, base: xh.methods.layer_cam(m, x, t, layer=layer),
    "ablation_cam": lambda m, x, t, layer, base: xh.methods.ablation_cam(m, x, t, layer=layer, batch_size=4),
    "expected_gradients": lambda m, x, t, layer, base: xh.methods.expected_gradients(
        m, x, t, baselines=_baseline(base, x), n_samples=3),
}
TRANSFORMER_METHODS = {
    "gradient_rollout": lambda m, x, t: xh.methods.gradient_rollout(m, x, t),
    "value_norm_attention": lambda m, x, t: xh.methods.value_norm_attention(m, x, t),
    "patch_occlusion": lambda m, x, t: xh.methods.patch_occlusion(m, x, t, batch_size=3),
}
FUZZED_METHODS = {**METHODS, **TRANSFORMER_METHODS}
CAM_METHODS = ("grad_cam", "grad_cam_plus_plus", "hires_cam", "layer_cam", "ablation_cam")
PATH_METHODS = ("integrated_gradients", "expected_gradients")


def _model(kind):
    return {"plain": NET, "wrapped": WRAPPED, "not a model": "resnet"}[kind]


def _baseline(kind, x):
    if kind == "tensor":
        return torch.zeros_like(x) if isinstance(x, torch.Tensor) and x.is_floating_point() else torch.zeros(1, 3, 8, 8)
    if kind == "wrong shape":
        return torch.zeros(1, 3, 5, 7)
    return kind


def _state():
    """Hooks, train/eval mode, modules and weights of the models a call may touch."""
    return [(hook_count(net), net.training, [type(m).__name__ for m in net.modules()],
             [float(p.detach().sum()) for p in net.parameters()], [p.requires_grad for p in net.parameters()])
            for net in (NET, OTHER, VIT.model)]


def _check_result(name, out, x):
    tensor = out[0] if name in PATH_METHODS else out
    assert isinstance(tensor, torch.Tensor) and tensor.device.type == "cpu"
    assert torch.isfinite(tensor).all(), f"{name} returned NaN/inf"
    if name in CAM_METHODS:
        assert tensor.shape == x.shape[-2:]
    else:
        assert tensor.shape == x.shape
    if name in PATH_METHODS:
        assert isinstance(out[1], float)


def _raised_by_the_package(err):
    frames = traceback.extract_tb(err.__traceback__)
    return frames and "xai_helpers" in frames[-1].filename.replace("\\", "/")


@pytest.mark.parametrize("name", sorted(METHODS))
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True)
@given(x=inputs(), target=TARGETS, layer=LAYERS, baseline=BASELINES, model=MODELS)
def test_every_method_returns_a_valid_map_or_a_clear_error(name, x, target, layer, baseline, model):
    m = _model(model)
    before = _state()
    try:
        out = METHODS[name](m, x, target, layer, _baseline(baseline, x))
    except (ValueError, TypeError) as err:
        message = str(err)
        assert _raised_by_the_package(err), f"a raw error from inside torch/numpy: {err!r}"
        assert len(message) > 25 and NAMES_THE_FIX.search(message), f"the message names no fix: {message!r}"
    else:
        _check_result(name, out, x)
    assert _state() == before, "a hook was left on the model, or its mode, modules or weights changed"


VIT_INPUTS = st.one_of(inputs(), st.sampled_from(["valid 1x1x16x16", "valid 16x16", "valid batch of 2"]))


def _vit_input(kind):
    if isinstance(kind, str) and kind.startswith("valid"):
        shape = {"valid 1x1x16x16": (1, 1, 16, 16), "valid 16x16": (16, 16), "valid batch of 2": (2, 1, 16, 16)}[kind]
        return torch.rand(shape, generator=torch.Generator().manual_seed(0))
    return kind


@pytest.mark.parametrize("name", sorted(TRANSFORMER_METHODS))
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True)
@given(x=VIT_INPUTS, target=TARGETS, model=st.sampled_from(["vit", "vit", "vit", "cnn", "not a model"]))
def test_every_transformer_method_returns_a_valid_map_or_a_clear_error(name, x, target, model):
    m = {"vit": VIT, "cnn": WRAPPED, "not a model": "vit"}[model]
    before = _state()
    try:
        out = TRANSFORMER_METHODS[name](m, _vit_input(x), target)
    except (ValueError, TypeError) as err:
        message = str(err)
        assert _raised_by_the_package(err), f"a raw error from inside torch/numpy: {err!r}"
        assert len(message) > 25 and NAMES_THE_FIX.search(message), f"the message names no fix: {message!r}"
    else:
        assert isinstance(out, torch.Tensor) and out.device.type == "cpu" and torch.isfinite(out).all()
        assert out.shape == {"gradient_rollout": (5, 5), "value_norm_attention": (2, 2, 5, 5),
                             "patch_occlusion": (2, 2)}[name]
    assert _state() == before, "a hook was left on a model, or its mode, modules or weights changed"
