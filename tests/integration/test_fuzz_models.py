"""Every public function of ``xai_helpers.models``, ``data``, ``device`` and ``digits`` -- and the methods of the
wrapped models a learner calls -- given wrong kinds of arguments (harness: fuzz_support.py).

The loaders of the default models cache them, so their cases load each model once; the image-model methods run
on a tiny hand-built network, the text and ViT methods on the course's own small models.
"""
import functools

import pytest
import torch
from torch import nn

import xai_helpers as xh
from fuzz_support import Case, fuzz
from xai_helpers.models.image import ImageModel


#: A missing file is answered with FileNotFoundError naming the argument and listing the course photos:
#: the clear error for a photo name or path that does not exist.
NO_SUCH_FILE = (FileNotFoundError,)
SELF = {"self": "the model the method is called on"}
LABELS = ["cat", "dog", "fox"]


class _TinyCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU())
        self.fc = nn.Linear(4, len(LABELS))

    def forward(self, x):
        return self.fc(self.features(x).mean((2, 3)))


class _TinyText(nn.Module):
    """A classifier shaped like the course's: ``forward(input_ids, attention_mask)`` and ``embeddings``."""

    def __init__(self):
        super().__init__()
        self.embeddings = nn.Embedding(30522, 4)
        self.head = nn.Linear(4, 2)

    def forward(self, input_ids, attention_mask):
        return self.head(self.embeddings(input_ids).mean(1))


@functools.lru_cache(maxsize=1)
def _image_model():
    torch.manual_seed(0)
    net = xh.models.freeze(_TinyCNN())
    return ImageModel(name="tiny", model=net, labels=LABELS, target_layer=net.features[1], target_layer_name="features.1",
                      mean=(0.5,) * 3, std=(0.25,) * 3, resize=16, crop=16, device=torch.device("cpu"))


def _x():
    return torch.rand(1, 3, 16, 16)


@functools.lru_cache(maxsize=1)
def _classifier():
    return xh.load_text_classifier()


def _scenes():
    return xh.digits.make_cluttered_digits(n=2)


M, IM, TC, VM = xh.models, ImageModel, xh.models.TextClassifier, xh.models.VisionModel
CASES = {
    # --- loaders (a wrong name gets the loader's list of names; the default models load once, then cache)
    "load_image_model": Case(M.load_image_model, lambda: dict(name=M.DEFAULT_IMAGE_MODEL, random_weights=False),
                             max_examples=12),
    "is_default_model": Case(M.is_default_model, lambda: dict(model=_image_model())),
    "for_default_model": Case(M.for_default_model, lambda: dict(model=_image_model(), reading="a reading")),
    "unchecked_readings": Case(M.unchecked_readings, lambda: dict()),
    "load_text_model": Case(M.load_text_model, lambda: dict(name=M.DEFAULT_TEXT_MODEL), max_examples=10),
    "load_text_classifier": Case(M.load_text_classifier, lambda: dict(name=None), max_examples=10),
    "load_vit_model": Case(M.load_vit_model, lambda: dict(name=M.DEFAULT_VIT_MODEL), max_examples=10),
    "load_sentiment_data": Case(M.load_sentiment_data, lambda: dict(split="test"), max_examples=10),
    "load_image": Case(xh.load_image, lambda: dict(name_or_path="cat"), feedback=NO_SUCH_FILE, max_examples=15),
    "get_device": Case(xh.device.get_device, dict),
    # --- models and their methods
    "freeze": Case(M.freeze, lambda: dict(model=nn.Linear(2, 2)), max_examples=15),
    "cam_head_net": Case(M.cam_head_net, lambda: dict(head="pool", size=4, channels=2, classes=2, seed=1)),
    # predict hands x to model.predict, whose check calls it inputs (or image, for a photo that is not there)
    "predict": Case(M.predict, lambda: dict(model=_image_model(), x=_x(), k=2), aliases={"x": ["inputs"]},
                    feedback=NO_SUCH_FILE),
    "ImageModel.probabilities": Case(IM.probabilities, lambda: dict(self=_image_model(), inputs=_x()), fixed=SELF,
                                     feedback=NO_SUCH_FILE),
    "ImageModel.predict": Case(IM.predict, lambda: dict(self=_image_model(), inputs=_x(), k=1), fixed=SELF,
                               feedback=NO_SUCH_FILE),
    "ImageModel.view": Case(IM.view, lambda: dict(self=_image_model(), image="cat"), fixed=SELF, feedback=NO_SUCH_FILE),
    "ImageModel.preprocess": Case(IM.preprocess, lambda: dict(self=_image_model(), image="cat"), fixed=SELF,
                                  feedback=NO_SUCH_FILE),
    "ImageModel.normalize": Case(IM.normalize, lambda: dict(self=_image_model(), pixels=_x()), fixed=SELF),
    "ImageModel.denormalize": Case(IM.denormalize, lambda: dict(self=_image_model(), x=_x()), fixed=SELF),
    "ImageModel.to_image": Case(IM.to_image, lambda: dict(self=_image_model(), x=_x()), fixed=SELF),
    "ImageModel.pixel_value_tensor": Case(IM.pixel_value_tensor, lambda: dict(self=_image_model(), value=0.5),
                                          fixed=SELF),
    "TextModel.encode": Case(M.TextModel.encode, lambda: dict(self=M.load_text_model(), text="The cat sat.",
                                                              max_length=16), fixed=SELF),
    "TextClassifier": Case(TC, lambda: dict(name="tiny", model=_TinyText(), tokenizer=_classifier().tokenizer,
                                            labels=["negative", "positive"], device="cpu", description="a toy")),
    "TextClassifier.encode": Case(TC.encode, lambda: dict(self=_classifier(), texts=["Great film."], truncation=True),
                                  fixed=SELF),
    "TextClassifier.predict": Case(TC.predict, lambda: dict(self=_classifier(), texts="I loved it.", k=1), fixed=SELF),
    "TextClassifier.probabilities": Case(TC.probabilities, lambda: dict(self=_classifier(), inputs=["Fine."]),
                                         fixed=SELF),
    "TextClassifier.predict_proba": Case(TC.predict_proba, lambda: dict(self=_classifier(), texts=["Great.", "Awful."],
                                                                        batch_size=1), fixed=SELF),
    "TextClassifier.accuracy": Case(TC.accuracy, lambda: dict(self=_classifier(), texts=["I loved it."],
                                                              labels=["positive"]), fixed=SELF),
    "TinyViT": Case(M.TinyViT, lambda: dict(image_size=16, patch_size=8, in_channels=1, num_classes=3, dim=8, depth=1,
                                            heads=2, mlp_dim=8, stem_channels=2), max_examples=40),
    "VisionModel.preprocess": Case(VM.preprocess, lambda: dict(self=M.load_vit_model(), image=torch.rand(48, 48)),
                                   fixed=SELF),
    "VisionModel.to_image": Case(VM.to_image, lambda: dict(self=M.load_vit_model(), x=torch.rand(1, 1, 48, 48)),
                                 fixed=SELF),
    "VisionModel.probabilities": Case(VM.probabilities, lambda: dict(self=M.load_vit_model(),
                                                                     inputs=torch.rand(2, 1, 48, 48)), fixed=SELF),
    "VisionModel.predict": Case(VM.predict, lambda: dict(self=M.load_vit_model(), inputs=torch.rand(48, 48), k=3),
                                fixed=SELF),
    # --- digits
    "make_cluttered_digits": Case(xh.digits.make_cluttered_digits, lambda: dict(split="test", seed=3, n=4),
                                  max_examples=20),
    "erase_digits": Case(xh.digits.erase_digits, lambda: dict(data=_scenes(), seed=1, noise=0.05)),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_wrong_kinds_of_arguments_get_a_clear_error(name):
    fuzz(CASES[name])
