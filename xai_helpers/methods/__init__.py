"""Attribution methods: input gradients (vanilla, gradient x input, SmoothGrad, SmoothGrad², VarGrad, Guided
Backprop), CAM (Grad-CAM, Grad-CAM++, HiResCAM, LayerCAM, Ablation-CAM), Integrated Gradients, expected
gradients, control maps, the maths of attention weights (text and ViT) and what to read instead of them
(gradient-weighted rollout, value-norm attention, occlusion of tokens and patches). ``registry`` lists the methods the
lessons' menus, tables and dispatchers offer (``METHODS``, ``get_method``); the newer ones are called directly.

Every public function checks the kinds of its arguments against its type hints (``methods.kinds`` names the
kinds a method takes: a model, a target class, a layer) and their values, and answers a wrong one with a
TypeError or ValueError that names the argument. Imports point one way: ``methods`` uses ``models`` (and
``_validate``), never ``evaluation``, ``interpret`` or ``viz``. Every map comes back on the CPU.
"""
from .attention import (attention_maps, attention_maps_batch, attention_rollout, average_attention, head_profile,
                        head_statistics, most_attended, most_attended_by_layer, most_attended_table, rank_agreement,
                        special_token_share, stack_attentions, token_attention_by_layer)
from .controls import centre_map, edge_map, random_map
from .cam import grad_cam, grad_cam_plus_plus, hires_cam, layer_cam, resolve_layer
from .ablation import DEFAULT_ABLATION_BATCH, ablation_cam
from .expected import DEFAULT_EG_SAMPLES, draw_baselines, expected_gradients
from .gradients import (DEFAULT_SMOOTHGRAD_BATCH, gradient_x_input, max_abs_over_channels, noise_sigma, smoothgrad,
                        smoothgrad_sq, sum_over_channels, vanilla_gradients, vargrad)
from .guided import ACTIVATIONS, guided_backprop
from .integrated import (BASELINE_NAMES, BLUR_SIGMA, DEFAULT_IG_BATCH, DEFAULT_IG_STEPS, integrated_gradients,
                         make_baseline, output_difference, quadrature, step_convergence)
from .registry import CAM, CONTROL, KINDS, METHODS, PATH, PIXEL, Method, get_method, method_names, register, title
from .transformer import gradient_rollout, patch_occlusion, token_occlusion, value_norm_attention
from .vit import brightness_map, cls_attention_map, cls_queries, patch_brightness, rollout_map, vit_attention

__all__ = ["vanilla_gradients", "gradient_x_input", "smoothgrad", "smoothgrad_sq", "vargrad", "guided_backprop",
           "ACTIVATIONS", "noise_sigma", "max_abs_over_channels",
           "sum_over_channels", "DEFAULT_SMOOTHGRAD_BATCH", "grad_cam", "grad_cam_plus_plus", "hires_cam", "layer_cam",
           "ablation_cam", "DEFAULT_ABLATION_BATCH", "expected_gradients", "draw_baselines", "DEFAULT_EG_SAMPLES",
           "gradient_rollout", "value_norm_attention", "token_occlusion", "patch_occlusion", "resolve_layer",
           "integrated_gradients", "step_convergence", "make_baseline", "output_difference", "quadrature", "BASELINE_NAMES", "BLUR_SIGMA",
           "DEFAULT_IG_STEPS", "DEFAULT_IG_BATCH", "attention_maps", "attention_maps_batch", "stack_attentions", "average_attention",
           "most_attended", "most_attended_table", "most_attended_by_layer", "token_attention_by_layer",
           "head_profile", "head_statistics", "special_token_share", "attention_rollout", "rank_agreement", "vit_attention",
           "cls_attention_map", "rollout_map", "patch_brightness", "brightness_map", "cls_queries", "edge_map", "centre_map",
           "random_map", "Method", "METHODS", "get_method", "method_names", "register", "title", "PIXEL", "PATH", "CAM",
           "CONTROL", "KINDS"]
