"""xai_helpers: the companion package of the course "Interpreting deep learning models" (chapter 4).

``import xai_helpers as xh``. The folders show the layers; imports point one way (left uses right)::

    explore, interpret, check  ->  evaluation  ->  methods  ->  models  ->  device, data, digits, _validate
                  viz (draws arrays only; used by all of the above, uses none of them)

* ``models``: offline-first loading of every model (image, text encoder, sentiment classifier, ViT);
* ``methods``: attribution methods (gradients, CAM, Integrated Gradients) and attention maths;
* ``evaluation``: sanity, faithfulness, pointing, localisation, and ``groundtruth`` (4.5);
* ``interpret``: end-to-end interpreters and misclassification reports; ``explore``: interactive explorers;
* ``viz``: plots; ``check``: exercise checkers; ``_validate``: input checks shared by every public function.
"""
from . import _validate, data, device, digits  # noqa: F401  (the bottom layer)
from . import models, methods, viz, evaluation, interpret, explore, check  # noqa: E402,F401
from .device import get_device
from .data import COURSE_IMAGES, DATA_DIR, load_image, imagenet_labels
from .digits import erase_digits, make_cluttered_digits
from .models import (DEFAULT_IMAGE_MODEL, DEFAULT_TEXT_MODEL, DEFAULT_VIT_MODEL, IMAGE_MODELS, TEXT_MODELS,
                     ImageModel, ModelUnavailableError, TextClassifier, TextModel, TinyViT, VisionModel, freeze,
                     load_image_model, load_sentiment_data, load_text_classifier, load_text_model, load_vit_model,
                     predict)
from .methods import (BASELINE_NAMES, DEFAULT_IG_STEPS, attention_maps, attention_rollout, average_attention,
                      brightness_map, cls_attention_map, cls_queries, grad_cam, grad_cam_plus_plus,
                      gradient_x_input, head_profile, integrated_gradients, make_baseline, max_abs_over_channels,
                      most_attended, most_attended_by_layer, most_attended_table, noise_sigma, output_difference,
                      patch_brightness, rank_agreement, resolve_layer, rollout_map, smoothgrad, special_token_share,
                      stack_attentions, sum_over_channels, token_attention_by_layer, vanilla_gradients,
                      vit_attention)
from .evaluation import (box_patch_overlap, deletion_insertion_curves, faithfulness, format_table, groundtruth,
                         head_localisation, load_boxes, localisation_scores, model_randomisation_test,
                         object_attention_mass, pointing_game, spearman_rank_correlation)
from .interpret import (ImageClassifierInterpreter, TextClassifierInterpreter, captum_text_visualization,
                        diagnose_misclassification, image_explainers, plot_scene_attention, render_tokens_html,
                        show_token_attributions)
from .viz import (OfflineView, attention_explorer, compare_token_scores, head_view, model_view, overlay_heatmap,
                  plot_attention, plot_attention_head, plot_attention_row, plot_layer_heads,
                  plot_special_token_share, resize_map, show_map, show_panels, to_numpy)
from .explore import explore_image, explore_text  # interactive explorers (issue #18)
from .check import problem6 as check_problem6  # noqa: F401

from . import _compat  # noqa: E402  (old module paths: xai_helpers.cam, .vit, ... while lessons move)
_compat.install(__import__(__name__))

__version__ = "0.1.0"
