"""xai_helpers: the companion package of the course "Interpreting deep learning models" (chapter 4).

``import xai_helpers as xh``. The folders show the layers; imports point one way (left uses right)::

    explore, interpret, check  ->  evaluation  ->  methods  ->  models  ->  device, data, digits, _validate,
                                                                           attention_arrays
                  viz (draws arrays only; used by all of the above, uses none of them)

* ``models``: offline-first loading of every model (image, text encoder, sentiment classifier, ViT);
* ``methods``: attribution methods (gradients, CAM, Integrated Gradients), their registry (``methods.METHODS``)
  and attention maths;
* ``evaluation``: sanity, faithfulness, pointing, localisation, and ``groundtruth`` (4.5);
* ``interpret``: end-to-end interpreters and misclassification reports; ``explore``: interactive explorers;
* ``viz``: plots; ``check``: exercise checkers; ``_validate``: input checks shared by every public function;
  ``attention_arrays``: stacking and indexing attention weights (shared by ``methods`` and ``viz``);
  ``_memory``: in a Jupyter kernel, freed memory goes back to the system after each cell (``XAI_MALLOC_TRIM=0``: not).

Heavy or optional libraries (torchvision, transformers, captum, quantus, ...) load when a function needs them.
"""
from . import _memory, _validate, attention_arrays, data, device, digits  # noqa: F401  (the bottom layer)
from . import models, methods, viz, evaluation, interpret, explore, check  # noqa: E402,F401
from .data import load_image
from .models import ModelUnavailableError, Prediction, load_image_model, load_text_classifier, load_text_model, load_vit_model, predict
from .methods import (attention_maps, attention_rollout, grad_cam, grad_cam_plus_plus, gradient_x_input,
                      integrated_gradients, max_abs_over_channels, smoothgrad, sum_over_channels, vanilla_gradients)
from .viz import overlay_heatmap, plot_attention, show_map, show_panels, to_numpy
from .interpret import ImageClassifierInterpreter, TextClassifierInterpreter
from .explore import explore_image, explore_text

#: What a learner calls in the lessons; everything else is ``xh.<subpackage>.<name>``.
__all__ = ["load_image", "load_image_model", "load_text_model", "load_text_classifier", "load_vit_model",
           "ModelUnavailableError", "predict", "Prediction", "vanilla_gradients", "gradient_x_input", "smoothgrad",
           "integrated_gradients", "grad_cam", "grad_cam_plus_plus", "max_abs_over_channels", "sum_over_channels",
           "attention_maps", "attention_rollout", "show_map", "show_panels", "overlay_heatmap", "plot_attention",
           "to_numpy", "ImageClassifierInterpreter", "TextClassifierInterpreter", "explore_image", "explore_text",
           "check"]

__version__ = "0.1.0"

_memory.trim_after_each_cell()
