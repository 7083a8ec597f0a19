"""xai_helpers: the companion package of the course "Interpreting deep learning models" (chapter 4).

Everything a lesson uses more than once lives here: device choice, offline pretrained models and
their preprocessing, the course's photos, attribution helpers built on PyTorch and Captum, plots,
and checks of explanations. ``import xai_helpers as xh``.
"""
from .device import get_device
from .data import COURSE_IMAGES, DATA_DIR, load_image
from .models import (DEFAULT_IMAGE_MODEL, IMAGE_MODELS, ImageModel, ModelUnavailableError, freeze,
                     imagenet_labels, load_image_model)
from .gradients import (gradient_x_input, max_abs_over_channels, noise_sigma, smoothgrad,
                        sum_over_channels, vanilla_gradients)
from .cam import grad_cam, grad_cam_plus_plus, resolve_layer
from .integrated import (BASELINE_NAMES, DEFAULT_IG_STEPS, integrated_gradients, make_baseline,
                         output_difference)
from .text import DEFAULT_TEXT_MODEL, TEXT_MODELS, TextModel, load_text_model
from .attention import (attention_explorer, attention_maps, attention_rollout, average_attention,
                        compare_token_scores, most_attended, most_attended_table, plot_attention,
                        plot_attention_head, plot_layer_heads, plot_special_token_share,
                        special_token_share, stack_attentions)
from .attention import (head_profile, most_attended_by_layer, plot_attention_row, rank_agreement,
                        token_attention_by_layer)
from .bertviz_offline import OfflineView, head_view, model_view
from .vit import (DEFAULT_VIT_MODEL, TinyViT, VisionModel, cls_attention_map, load_vit_model,
                  localisation_scores, make_cluttered_digits, object_attention_mass,
                  plot_scene_attention, rollout_map, vit_attention)
from .vit import (box_patch_overlap, brightness_map, cls_queries, erase_digits, head_localisation,
                  patch_brightness)
from .text_classifier import TextClassifier, load_sentiment_data, load_text_classifier
from .interpret import (ImageClassifierInterpreter, TextClassifierInterpreter, captum_text_visualization,
                        diagnose_misclassification, image_explainers, render_tokens_html,
                        show_token_attributions)
from .evaluation import (deletion_insertion_curves, faithfulness, format_table, load_boxes,
                         model_randomisation_test, pointing_game, spearman_rank_correlation)
from .plotting import overlay_heatmap, resize_map, show_map, show_panels, to_numpy
from .predict import predict
from .explorer import explore_image, explore_text  # interactive explorers (issue #18)

from . import check  # noqa: E402  (exercise checkers: xh.check.problem1_maps(...))
from . import groundtruth, check_problem6  # noqa: E402  (xh.groundtruth: scored against known answers, 4.5)

__version__ = "0.1.0"
