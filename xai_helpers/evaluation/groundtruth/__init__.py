"""Explanations scored against a known answer: small CNNs on cluttered digits, and a planted shortcut (4.5).

On a photo nobody knows which pixels the model really uses, so no check of an explanation there can be
final. On the cluttered-digit scenes of section 4.4 (``make_cluttered_digits``) we know where the digit
is, and we can plant something else for the model to use: a small **mark**, a 4x4 pattern, one per
class, pasted near the border of a chosen share of the training scenes (the shortcut's *strength*).
Then each attribution method can be scored on what it should find:

* the **clean CNN** (strength 0) can only use the digit: a good map puts its mass on the digit's box;
* a **shortcut CNN** (strength 0.5, 0.9, 1.0) was offered the mark; on scenes that carry it, how much
  mass a map puts on the mark, compared with the digit, tells whether the method exposes the shortcut.

The CNN ends in global average pooling and one linear layer, so Grad-CAM at its last block equals CAM
(Zhou et al. 2016). Its weights (``assets/groundtruth/*.safetensors``, < 1 MB each) are made by
``python tools/train_groundtruth_cnns.py`` (fixed seeds, one thread, bit-reproducible, about 15 s of CPU
each); the package holds no training code. Scores: the share of |map| inside a box against the share of
pixels the box covers (chance), and the pointing game (Zhang et al. 2016: is the map's maximum inside the
box, give or take ``SCENE_POINTING_TOLERANCE`` pixels?).
"""
from . import cnn, plots, scenes, scoring
from ...digits import CANVAS
from .cnn import _file_name, _load  # noqa: F401  (tools/ and tests/ read these)
from .scenes import CASE_TRAIN_SEED, _case_setup, _clear_of  # noqa: F401
from .scoring import _blurred  # noqa: F401
from .cnn import (CASE_FILE, CNN_CONFIG, GROUNDTRUTH_DIR, GROUNDTRUTH_REBUILD_COMMAND, SEED_TABLE_COMMAND,
                  SEED_TABLE_FILE, SEED_TABLE_RANDOM_CNNS, SEED_TABLE_SCENES, STRENGTHS, TRAINING_SEEDS, DigitCNN,
                  accuracy_table, load_case, load_digit_cnn, predict_classes, random_digit_cnn, seed_table)
from .plots import plot_mark_mass, plot_scene_kinds, plot_scene_maps
from .scenes import (CASE_SEED, CASE_STRENGTH, LESSON_MARK, MARK_NOISE, MARK_SIZE, Mark, Scenes, add_mark, make_mark,
                     make_scenes)
from .scoring import (CAM_CELL, CONTROLS, IG_STEPS, NOISE_LEVEL, SCENE_BLUR_SIGMA, SCENE_POINTING_TOLERANCE,
                      SCORED_METHODS, SMOOTHGRAD_SAMPLES, AttributionMaps, attribution_maps, box_masks, mark_scores,
                      mass_in_boxes, method_table, pointing_hits, score_maps)

__all__ = ["DigitCNN", "Mark", "Scenes", "STRENGTHS", "TRAINING_SEEDS", "random_digit_cnn", "seed_table",
           "mark_scores", "CAM_CELL", "SCORED_METHODS", "CONTROLS", "LESSON_MARK", "make_mark",
           "add_mark",
           "make_scenes", "load_digit_cnn", "load_case", "predict_classes",
           "accuracy_table", "attribution_maps", "AttributionMaps", "box_masks", "mass_in_boxes",
           "pointing_hits", "score_maps", "method_table", "plot_mark_mass",
           "plot_scene_kinds", "plot_scene_maps", "GROUNDTRUTH_REBUILD_COMMAND", "SCENE_POINTING_TOLERANCE",
           "SCENE_BLUR_SIGMA", "IG_STEPS", "SMOOTHGRAD_SAMPLES", "NOISE_LEVEL"]
