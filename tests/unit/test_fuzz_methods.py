"""Every public function of ``xai_helpers.methods`` given wrong kinds of arguments (harness: fuzz_support.py).

The models are tiny hand-built networks (a CNN, an ImageModel around it, a one-block ViT), so each case runs in
well under a second; ``attention_maps``, which needs a tokenizer, is fuzzed in the integration tier.
"""
import itertools

import numpy as np
import pytest
import torch
from torch import nn

import xai_helpers as xh
from fuzz_support import Case, fuzz
from xai_helpers.models import ImageModel, TinyViT, VisionModel

M = xh.methods
LABELS = ["cat", "dog", "fox"]
TOKENS = ["[CLS]", "the", "cat", "sat", "[SEP]"]


def _net():
    torch.manual_seed(0)
    return xh.models.freeze(nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                                          nn.Flatten(), nn.Linear(4, len(LABELS))))


def _wrapped():
    net = _net()
    return ImageModel(name="tiny", model=net, labels=LABELS, target_layer=net[1],
                      target_layer_name="1", mean=(0.5,) * 3, std=(0.25,) * 3, resize=16, crop=16,
                      device=torch.device("cpu"))


def _x():
    return torch.rand(1, 3, 16, 16, generator=torch.Generator().manual_seed(1))


def _attentions(layers=2, seq=5):
    torch.manual_seed(0)
    return torch.softmax(torch.randn(layers, 2, seq, seq), -1)


def _vit_attentions():
    return _attentions(seq=5)     # [CLS] + a 2x2 grid of patches


def _vision_model():
    torch.manual_seed(0)
    net = TinyViT(image_size=16, patch_size=8, depth=2, dim=8, heads=2, mlp_dim=8, stem_channels=2).eval()
    return VisionModel(name="tiny-vit", model=net, labels=[str(i) for i in range(10)], image_size=16,
                       patch_size=8, device=torch.device("cpu"))


_fresh = itertools.count()


def _new_method():
    return M.Method(f"fuzz_method_{next(_fresh)}", "fuzz", M.random_map, M.CONTROL)


@pytest.fixture(autouse=True)
def _registry_left_as_it_was():
    before = dict(M.METHODS)
    yield
    M.METHODS.clear()
    M.METHODS.update(before)


MODEL_ALIASES = {"model": ["image_model", "wrapped model"], "x": ["input"], "target": ["class"]}
VIT_ALIASES = {"model": ["VisionModel", "TextClassifier"], "x": ["image", "input"], "target": ["class"]}
ATTENTION = {"layers": ["layer"], "heads": ["head"], "tokens": ["token"]}

CASES = {
    "vanilla_gradients": Case(M.vanilla_gradients, lambda: dict(model=_wrapped(), x=_x(), target="dog"),
                              aliases=MODEL_ALIASES),
    "gradient_x_input": Case(M.gradient_x_input, lambda: dict(model=_net(), x=_x(), target=1), aliases=MODEL_ALIASES),
    "smoothgrad": Case(M.smoothgrad, lambda: dict(model=_wrapped(), x=_x(), target=torch.tensor(2), n_samples=3,
                                                  noise_level=0.1, batch_size=2, seed=4), aliases=MODEL_ALIASES),
    "noise_sigma": Case(M.noise_sigma, lambda: dict(x=_x(), noise_level=0.2)),
    "max_abs_over_channels": Case(M.max_abs_over_channels, lambda: dict(attribution=torch.randn(1, 3, 4, 4))),
    "sum_over_channels": Case(M.sum_over_channels, lambda: dict(attribution=torch.randn(3, 4, 4))),
    "grad_cam": Case(M.grad_cam, lambda: dict(model=_wrapped(), x=_x(), target=0, layer=None, upsample=True,
                                              normalize=True), aliases=MODEL_ALIASES),
    "grad_cam_plus_plus": Case(M.grad_cam_plus_plus, lambda: dict(model=_net(), x=_x(), target=1, layer="1",
                                                                  upsample=False, normalize=False),
                               aliases=MODEL_ALIASES),
    "smoothgrad_sq": Case(M.smoothgrad_sq, lambda: dict(model=_wrapped(), x=_x(), target="fox", n_samples=3,
                                                        noise_level=0.1, batch_size=2, seed=1), aliases=MODEL_ALIASES),
    "vargrad": Case(M.vargrad, lambda: dict(model=_net(), x=_x(), target=1, n_samples=3, noise_level=0.2,
                                            batch_size=None, seed=0), aliases=MODEL_ALIASES),
    "guided_backprop": Case(M.guided_backprop, lambda: dict(model=_wrapped(), x=_x(), target=2),
                            aliases=MODEL_ALIASES),
    "hires_cam": Case(M.hires_cam, lambda: dict(model=_wrapped(), x=_x(), target=0, layer=None, upsample=True,
                                                normalize=True), aliases=MODEL_ALIASES),
    "layer_cam": Case(M.layer_cam, lambda: dict(model=_net(), x=_x(), target=1, layer="1", upsample=False,
                                                normalize=False), aliases=MODEL_ALIASES),
    "ablation_cam": Case(M.ablation_cam, lambda: dict(model=_wrapped(), x=_x(), target="dog", layer="1", upsample=True,
                                                      normalize=True, batch_size=3), aliases=MODEL_ALIASES),
    "expected_gradients": Case(M.expected_gradients, lambda: dict(model=_wrapped(), x=_x(), target=1,
                                                                  baselines=torch.rand(3, 3, 16, 16), n_samples=4,
                                                                  batch_size=2, seed=5), aliases=MODEL_ALIASES),
    "draw_baselines": Case(M.draw_baselines, lambda: dict(n_baselines=4, n_samples=6, seed=2)),
    "gradient_rollout": Case(M.gradient_rollout, lambda: dict(model=_vision_model(), x=torch.rand(1, 1, 16, 16),
                                                              target="3"), aliases=VIT_ALIASES),
    "value_norm_attention": Case(M.value_norm_attention, lambda: dict(model=_vision_model(), x=torch.rand(16, 16),
                                                                      target=None, combine_heads=True),
                                 aliases=VIT_ALIASES),
    "patch_occlusion": Case(M.patch_occlusion, lambda: dict(model=_vision_model(), x=torch.rand(1, 16, 16), target=2,
                                                            fill=0.5, batch_size=3), aliases=VIT_ALIASES),
    "resolve_layer": Case(M.resolve_layer, lambda: dict(model=_wrapped(), layer="0"), aliases=MODEL_ALIASES),
    "integrated_gradients": Case(M.integrated_gradients, lambda: dict(model=_wrapped(), x=_x(), target="fox",
                                                                      baseline="noise", n_steps=3, method="riemann_left",
                                                                      batch_size=2), aliases=MODEL_ALIASES),
    "step_convergence": Case(M.step_convergence, lambda: dict(model=_wrapped(), x=_x(), target="dog", baseline="black",
                                                              n_steps=2, method="riemann_middle", batch_size=2),
                             aliases=MODEL_ALIASES),
    "make_baseline": Case(M.make_baseline, lambda: dict(image_model=_wrapped(), x=_x(), name="noise", sigma=1.0,
                                                        n_draws=2, seed=3), aliases={"name": ["baseline"]}),
    "quadrature": Case(M.quadrature, lambda: dict(method="gausslegendre", n_steps=5)),
    "output_difference": Case(M.output_difference, lambda: dict(model=_net(), x=_x(), target=0,
                                                                baseline=torch.zeros(1, 3, 16, 16)),
                              aliases=MODEL_ALIASES),
    "edge_map": Case(M.edge_map, lambda: dict(image_model=_wrapped(), x=_x(), target=None),
                     aliases={"image_model": ["wrapped model"]}),
    "centre_map": Case(M.centre_map, lambda: dict(image_model=None, x=_x(), target=1, sigma=0.3),
                       aliases={"image_model": ["wrapped model"]}),
    "random_map": Case(M.random_map, lambda: dict(image_model=None, x=_x(), target=1, seed=2),
                       aliases={"image_model": ["wrapped model"]}),
    "stack_attentions": Case(M.stack_attentions, lambda: dict(attentions=tuple(_attentions()[:, None]))),
    "average_attention": Case(M.average_attention, lambda: dict(attentions=_attentions(), layers=[0, -1], heads=1),
                              aliases=ATTENTION),
    "most_attended": Case(M.most_attended, lambda: dict(attentions=_attentions(), tokens=TOKENS, layers=0, heads=None,
                                                        exclude_special=True, exclude_self=True,
                                                        special_tokens=["[CLS]", "[SEP]"]), aliases=ATTENTION),
    "most_attended_table": Case(M.most_attended_table, lambda: dict(attentions=_attentions(), tokens=TOKENS, layers=1,
                                                                    heads=[0], special_tokens=None), aliases=ATTENTION),
    "most_attended_by_layer": Case(M.most_attended_by_layer, lambda: dict(attentions=_attentions(), tokens=TOKENS,
                                                                          exclude_self=False, exclude_special=True,
                                                                          special_tokens=["[CLS]"]), aliases=ATTENTION),
    "token_attention_by_layer": Case(M.token_attention_by_layer, lambda: dict(attentions=_attentions(), tokens=TOKENS,
                                                                              token="cat", special_tokens=None),
                                     aliases=ATTENTION),
    "head_profile": Case(M.head_profile, lambda: dict(attentions=_attentions(), tokens=TOKENS, layer=-1,
                                                      special_tokens=None), aliases=ATTENTION),
    "head_statistics": Case(M.head_statistics, lambda: dict(examples=[(TOKENS, _attentions()), (TOKENS, _attentions(3))],
                                                            special_tokens=None), aliases={"examples": ["example"]}),
    "special_token_share": Case(M.special_token_share, lambda: dict(attentions=_attentions(), tokens=TOKENS,
                                                                    special_tokens=["[SEP]"], per_head=True),
                                aliases=ATTENTION),
    "attention_rollout": Case(M.attention_rollout, lambda: dict(attentions=_attentions(), head_fusion="max",
                                                                discard_ratio=0.2, residual_weight=0.5)),
    "rank_agreement": Case(M.rank_agreement, lambda: dict(readings={"a": [np.arange(3.0), [2.0, 1.0]]},
                                                          reference=[[0.1, 0.5, 0.2], np.array([1.0, 3.0])],
                                                          n_permutations=20, seed=1)),
    "vit_attention": Case(M.vit_attention, lambda: dict(vision_model=_vision_model(), x=torch.rand(2, 1, 16, 16))),
    "cls_attention_map": Case(M.cls_attention_map, lambda: dict(attentions=_vit_attentions(), grid=2, layer=-1,
                                                                head=1)),
    "rollout_map": Case(M.rollout_map, lambda: dict(attentions=_vit_attentions(), grid=None, head_fusion="min",
                                                    discard_ratio=0.1)),
    "patch_brightness": Case(M.patch_brightness, lambda: dict(images=np.random.rand(2, 1, 16, 16), patch_size=8)),
    "brightness_map": Case(M.brightness_map, lambda: dict(images=torch.rand(1, 1, 16, 16), sharpness=5.0,
                                                          patch_size=4)),
    "cls_queries": Case(M.cls_queries, lambda: dict(vision_model=_vision_model(), images=torch.rand(2, 1, 16, 16),
                                                    layer=1)),
    "register": Case(M.register, lambda: dict(method=_new_method())),
    "get_method": Case(M.get_method, lambda: dict(name="smoothgrad"), aliases={"name": ["method"]}),
    "method_names": Case(M.method_names, lambda: dict(kinds=(M.CAM, M.CONTROL), variants=False)),
    "title": Case(M.title, lambda: dict(name="grad_cam")),
    "Method": Case(M.Method, lambda: dict(name="fuzzed", title="fuzzed map", function=M.edge_map, kind=M.CONTROL,
                                          reduce=None, signed=False, defaults={}, fixed={}, variant_of=None,
                                          passes=len)),
    "Method.variant": Case(M.Method.variant, lambda: dict(self=M.get_method("integrated_gradients"), name="ig_white",
                                                          title="IG (white)"),
                           fixed={"self": "the entry the method is called on"}),
    "Method.takes": Case(M.Method.takes, lambda: dict(self=M.get_method("smoothgrad"), setting="n_samples"),
                         fixed={"self": "the entry the method is called on"}),
    "Method.map": Case(M.Method.map, lambda: dict(self=M.get_method("grad_cam"), model=_wrapped(), x=_x(), target=1),
                       fixed={"self": "the entry the method is called on"}, aliases=MODEL_ALIASES),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_wrong_kinds_of_arguments_get_a_clear_error(name):
    fuzz(CASES[name])


def test_register_refuses_a_name_twice_and_method_checks_its_settings():
    method = M.register(_new_method())
    with pytest.raises(ValueError, match="already registered"):
        M.register(method)
    with pytest.raises(ValueError, match="takes no setting"):
        M.Method("bad", "bad", M.random_map, M.CONTROL, defaults={"n_steps": 3})
    with pytest.raises(TypeError, match="Method: signed must be True or False"):
        M.Method("bad", "bad", M.random_map, M.CONTROL, signed="yes")
