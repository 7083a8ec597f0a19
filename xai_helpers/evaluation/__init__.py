"""How do we know an explanation is right? Measurable checks (section 4.5).

* ``sanity``: cascading model-parameter randomisation (Adebayo et al. 2018);
* ``deletion``: faithfulness, deletion and insertion curves (Petsiuk et al. 2018; Samek et al. 2017);
* ``road``: ROAD, deletion with noisy linear imputation instead of black or blur (Rong et al. 2022);
* ``quantus_bridge``: adapters to compute the pointing game, randomisation and deletion with Quantus, and where
  Quantus's numbers and the course's agree or differ;
* ``pointing``: the pointing game on the photos' boxes (Zhang et al. 2016);
* ``localisation``: ViT attention maps scored against the digits' true boxes (4.4b);
* ``stats``: intervals, paired comparisons and many random draws for every verdict; ``figures`` draws them;
* ``groundtruth``: small CNNs on cluttered digits with a planted shortcut, maps scored against known answers.

An *explainer* is any callable ``explain(image_model, x, target) -> 2-D map`` (HxW, larger = more
important) such as those of ``xai_helpers.interpret.image_explainers()``. Results are plain numbers,
lists, arrays and pandas DataFrames; ``format_table`` turns rows into a compact text table.
Imports point one way: ``evaluation`` uses ``models`` and ``methods``, never the other way round.
"""
from . import groundtruth
from .common import edge_map, format_table, random_map, spearman_rank_correlation
from .deletion import REPLACEMENTS, deletion_insertion_curves, faithfulness, replacement_image
from .localisation import box_patch_overlap, head_localisation, localisation_scores, object_attention_mass
from .results import Curves, FaithfulnessResult, PointingResult, RandomisationResult
from .pointing import (BOXES_PATH, POINTING_TOLERANCE, load_boxes, pointing_game, pointing_game_chance,
                       pointing_game_hit)
from .figures import legend_above, show_differences, show_intervals, show_randomisation
from .stats import LEVEL, N_BOOT, Comparison, Interval, Spread, compare, holm, interval, spread
from .quantus_bridge import PixelSpaceModel, pixel_space_model, pointing_masks
from .road import ROAD_NOISE, ROAD_ORDERS, ROAD_PERCENTILES, RoadResult, noisy_linear_imputation, road
from .sanity import model_randomisation_test, randomisation_stages, randomised_copy
from .signed import RANDOMISATION_METHODS, signed_maps

__all__ = ["spearman_rank_correlation", "randomisation_stages", "randomised_copy", "model_randomisation_test",
           "signed_maps", "show_randomisation", "RANDOMISATION_METHODS",
           "replacement_image", "deletion_insertion_curves", "faithfulness", "REPLACEMENTS",
           "pointing_game_hit", "pointing_game_chance", "pointing_game", "load_boxes",
           "edge_map", "random_map", "format_table", "BOXES_PATH", "POINTING_TOLERANCE",
           "Curves", "FaithfulnessResult", "PointingResult", "RandomisationResult", "box_patch_overlap",
           "object_attention_mass", "localisation_scores", "head_localisation", "groundtruth",
           "Interval", "Comparison", "Spread", "interval", "compare", "spread", "holm", "LEVEL", "N_BOOT",
           "show_intervals", "show_differences", "legend_above", "road", "noisy_linear_imputation", "RoadResult",
           "ROAD_PERCENTILES", "ROAD_ORDERS", "ROAD_NOISE", "pointing_masks", "pixel_space_model", "PixelSpaceModel"]
