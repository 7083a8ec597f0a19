"""End-to-end readings (4.4b, 4.5): interpreters for an image and a text classifier, misclassification
reports, token rendering, and the scene-attention figure. They put ``models`` and ``methods`` together and draw
with ``viz``; nothing below them imports this package.
"""
from .diagnose import CONFIDENT_AT, MisclassificationReport, diagnose_misclassification, top_region_iou
from .explainers import DEFAULT_EXPLAINERS, IG_MAX_ERROR, image_explainers
from .image import ImageClassifierInterpreter, ImageInterpretation
from .scenes import plot_scene_attention
from .text import TEXT_QUANTITIES, TextClassifierInterpreter
from .tokens import TextInterpretation, captum_text_visualization, render_tokens_html, show_token_attributions

__all__ = ["ImageClassifierInterpreter", "ImageInterpretation", "image_explainers", "DEFAULT_EXPLAINERS",
           "TextClassifierInterpreter", "TextInterpretation", "render_tokens_html", "show_token_attributions",
           "captum_text_visualization", "diagnose_misclassification", "MisclassificationReport",
           "top_region_iou", "CONFIDENT_AT", "IG_MAX_ERROR", "TEXT_QUANTITIES", "plot_scene_attention"]
