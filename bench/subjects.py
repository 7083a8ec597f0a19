"""The models the benchmark measures, and what "the same map" means."""
import os

MODELS = ("efficientnet_lite0", "resnet50")
MODEL_TITLE = {"efficientnet_lite0": "EfficientNet-Lite0 (shipped weights)",
               "resnet50": "ResNet-50 (random weights)", "resnet18": "ResNet-18 (random weights)",
               "tiny": "tiny CNN (random weights)"}
MAP_TOLERANCE = 1e-3   # max |a - b| / max |a| for "the same map" (float summation order differs by batch)


def load_subject(name, device="cpu"):
    """-> ImageModel.  ``efficientnet_lite0``: shipped weights; ``resnet50``/``resnet18``: random
    weights (no download); ``tiny``: a 4-layer CNN on 32x32 inputs for the smoke test."""
    import torch
    import xai_helpers as xh
    os.environ["XAI_DEVICE"] = device
    if name == "tiny":
        from torch import nn
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            net = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 16, 3, padding=1),
                                nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, 10))
        net = xh.models.freeze(net).to(device)
        return xh.models.ImageModel(name="tiny", model=net, labels=[f"class {i}" for i in range(10)],
                             target_layer=net[3], target_layer_name="3", mean=(0.5,) * 3, std=(0.5,) * 3,
                             resize=36, crop=32, device=torch.device(device))
    model = xh.load_image_model(name, random_weights=(name != "efficientnet_lite0"))
    if str(model.device) != device:
        raise RuntimeError(f"get_device() chose {model.device}, the benchmark asked for {device}; "
                           f"set XAI_DEVICE (see xai_helpers/device.py).")
    return model


def top1(image_model, x):
    import torch
    with torch.inference_mode():
        return int(image_model.model(x).argmax(1))


def subject_and_photo(model, device, photo="cat"):
    """(ImageModel, its input for ``photo``, the top-1 class) -- what most measurements start from."""
    image_model = load_subject(model, device)
    x = image_model.preprocess(photo)
    return image_model, x, top1(image_model, x)


def map_difference(a, b):
    """max |a - b| / max |a|: 0 for identical maps."""
    scale = float(a.abs().max())
    return float((a - b).abs().max()) / (scale if scale > 0 else 1.0)
